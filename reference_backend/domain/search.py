"""Organisation search: country + keyword prefixes over folded name tokens, on any database."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session as DbSession

from reference_backend.tables import Organisation, OrganisationToken
from reference_backend.text import fold, tokens


def org_tokens(org: Organisation) -> list[str]:
    return tokens(f"{org.public_name} {org.legal_name} {org.city}")


def index_organisation(db: DbSession, org: Organisation) -> None:
    """(Re)build the search tokens of one organisation. Call after creating or renaming it."""
    org.city_folded = fold(org.city)
    db.execute(delete(OrganisationToken).where(OrganisationToken.org_id == org.id))
    db.add_all(
        OrganisationToken(org_id=org.id, token=tok, country=org.country) for tok in org_tokens(org)
    )
