"""Organisation search: country + keyword prefixes over folded name tokens, on any database.

Every word typed must be the start of some word of the organisation's name or city
(``szk pod`` finds "Szkoła Podstawowa"). The search walks the ``(country, token)`` index as a
range (``token >= t AND token < t + U+10FFFF``), starting from the most selective word, checks
the other words through the ``(org_id, token)`` primary key, and never looks at more than
``CANDIDATE_CAP`` organisations, so it stays fast at national scale on SQLite and PostgreSQL.
Ranking: organisations where more words match whole words first, then by name.
"""

from __future__ import annotations

from sqlalchemy import and_, case, delete, exists, func, literal, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import aliased

from reference_backend.tables import Organisation, OrganisationToken
from reference_backend.text import fold, similarity, tokens

# how many organisations one search considers at most (after the most selective word)
CANDIDATE_CAP = 300
# how far the selectivity estimate counts index entries per word
ESTIMATE_CAP = 2000
MAX_QUERY_TOKENS = 8
# the largest code point: every string starting with a prefix sorts below prefix + this
_TOP = "\U0010ffff"
NEAR_DUPLICATE = 0.5


def org_tokens(org: Organisation) -> list[str]:
    return tokens(f"{org.public_name} {org.legal_name} {org.city}")


def index_organisation(db: DbSession, org: Organisation) -> None:
    """(Re)build the search tokens of one organisation. Call after creating or renaming it."""
    org.city_folded = fold(org.city)
    db.execute(delete(OrganisationToken).where(OrganisationToken.org_id == org.id))
    db.add_all(
        OrganisationToken(org_id=org.id, token=tok, country=org.country) for tok in org_tokens(org)
    )


def query_tokens(q: str) -> list[str]:
    """The folded words of a query, longest first when there are too many."""
    words = tokens(q or "")
    if len(words) > MAX_QUERY_TOKENS:
        words = sorted(words, key=len, reverse=True)[:MAX_QUERY_TOKENS]
    return words


def _prefix(column, prefix: str):
    return and_(column >= prefix, column < prefix + _TOP)


def _estimate(db: DbSession, country: str, prefix: str) -> int:
    inner = (
        select(OrganisationToken.org_id)
        .where(OrganisationToken.country == country, _prefix(OrganisationToken.token, prefix))
        .limit(ESTIMATE_CAP)
        .subquery()
    )
    return db.scalar(select(func.count()).select_from(inner)) or 0


def _candidates(db: DbSession, country: str, words: list[str]) -> list[tuple[int, str, str]]:
    """``(-exact, name, id)`` of organisations matching every word, at most ``CANDIDATE_CAP``.

    ``exact`` counts the words that match a whole word of the organisation. The driving
    word's whole-word matches are collected first, then its longer matches.
    """
    if not words:
        return []
    counts = {w: _estimate(db, country, w) for w in words}
    if min(counts.values()) == 0:
        return []
    driving = min(words, key=lambda w: (counts[w], -len(w)))
    others = [w for w in words if w != driving]
    t1 = aliased(OrganisationToken)
    exact_terms = []
    for w in others:
        t3 = aliased(OrganisationToken)
        exact_terms.append(
            case((exists().where(t3.org_id == t1.org_id, t3.token == w), 1), else_=0)
        )

    def scan(condition, driving_exact: int, limit: int) -> list[tuple[str, int]]:
        # the token index alone (no join: planners misjudge it and scan every organisation)
        score = literal(driving_exact)
        for term in exact_terms:
            score = score + term
        stmt = select(t1.org_id, score).where(t1.country == country, condition)
        for w in others:
            t2 = aliased(OrganisationToken)
            stmt = stmt.where(exists().where(t2.org_id == t1.org_id, _prefix(t2.token, w)))
        return list(db.execute(stmt.limit(limit)))

    found: dict[str, int] = dict(scan(t1.token == driving, 1, CANDIDATE_CAP))
    if len(found) < CANDIDATE_CAP:
        longer = and_(t1.token > driving, t1.token < driving + _TOP)
        # one organisation can have several words with the prefix: ask for a few extra rows
        for org_id, exact in scan(longer, 0, 2 * CANDIDATE_CAP):
            if org_id not in found:
                found[org_id] = exact
                if len(found) >= CANDIDATE_CAP:
                    break
    if not found:
        return []
    rows = db.execute(
        select(Organisation.id, Organisation.public_name).where(
            Organisation.id.in_(list(found)), Organisation.state != "rejected"
        )
    )
    return [(-found[org_id], name.casefold(), org_id) for org_id, name in rows]


def search_organisations(
    db: DbSession, *, country: str, q: str, offset: int = 0, limit: int = 20
) -> tuple[list[Organisation], int | None]:
    """One page of organisations of ``country`` matching the words of ``q``, best first.

    Returns the rows and the offset of the next page (``None`` on the last page). Rejected
    organisations are not listed.
    """
    scored = sorted(_candidates(db, country, query_tokens(q)))
    page_ids = [org_id for *_rank, org_id in scored[offset : offset + limit]]
    if not page_ids:
        return [], None
    by_id = {o.id: o for o in db.scalars(select(Organisation).where(Organisation.id.in_(page_ids)))}
    page = [by_id[i] for i in page_ids if i in by_id]
    next_offset = offset + limit if offset + limit < len(scored) else None
    return page, next_offset


def name_similarity(name: str, org: Organisation) -> float:
    return max(similarity(name, org.public_name), similarity(name, org.legal_name))


def similar_organisations(
    db: DbSession,
    *,
    country: str,
    city: str,
    name: str,
    school_number: str | None = None,
    limit: int = 5,
) -> list[Organisation]:
    """Near-duplicates: same country and city with a similar name, or the same school number."""
    scored: dict[str, tuple[float, Organisation]] = {}
    if school_number and school_number.strip():
        for org in db.scalars(
            select(Organisation)
            .where(
                Organisation.country == country,
                Organisation.school_number == school_number.strip(),
            )
            .limit(limit)
        ):
            scored[org.id] = (2.0, org)  # the same register number outranks any name
    city_folded = fold(city or "").strip()
    if city_folded and tokens(name or ""):
        rows = db.execute(
            select(Organisation.id, Organisation.public_name, Organisation.legal_name)
            .where(Organisation.country == country, Organisation.city_folded == city_folded)
            .limit(20_000)
        )
        hits = []
        for org_id, public_name, legal_name in rows:
            score = max(similarity(name, public_name), similarity(name, legal_name))
            if score >= NEAR_DUPLICATE and org_id not in scored:
                hits.append((score, org_id))
        hits.sort(reverse=True)
        wanted = [org_id for _score, org_id in hits[:limit]]
        if wanted:
            orgs = {
                o.id: o for o in db.scalars(select(Organisation).where(Organisation.id.in_(wanted)))
            }
            for score, org_id in hits[:limit]:
                if org_id in orgs:
                    scored[org_id] = (score, orgs[org_id])
    ranked = sorted(scored.values(), key=lambda pair: (-pair[0], fold(pair[1].public_name)))
    return [org for _score, org in ranked[:limit]]
