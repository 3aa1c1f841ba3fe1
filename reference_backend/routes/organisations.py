"""Organisations: search by country and keywords, details, near-duplicates, registration.

A newly registered organisation is ``pending`` until its country's NSO validates it, and it is
not linked to the user who registered it: they find it and add it to their profile (PL).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from api_client.models.common import ApiError, Page, Reason
from api_client.models.organisations import (
    OrganisationCreate,
    OrganisationCreated,
    OrganisationOut,
    OrganisationSummary,
    SimilarOrganisation,
)
from reference_backend import changes
from reference_backend.deps import Principal, current_account, current_user, get_db
from reference_backend.domain import rules
from reference_backend.domain.countries import COUNTRIES, SCHOOL_NUMBER_REQUIRED
from reference_backend.domain.search import (
    index_organisation,
    name_similarity,
    search_organisations,
    similar_organisations,
)
from reference_backend.errors import Conflict, Invalid, NotAllowed, NotFound
from reference_backend.tables import Account, Membership, Organisation, User
from reference_backend.text import fold
from reference_backend.uow import UnitOfWorkRoute

ERRORS = {
    401: {"model": ApiError},
    403: {"model": ApiError},
    404: {"model": ApiError},
    409: {"model": ApiError},
    422: {"model": ApiError},
}
router = APIRouter(
    prefix="/organisations", tags=["Organisations"], route_class=UnitOfWorkRoute, responses=ERRORS
)

MAX_PAGE = 50


def _country(value: str, field: str = "country") -> str:
    code = (value or "").strip().upper()
    if code not in COUNTRIES:
        raise Invalid(field, f"{field}: not an eTwinning country code (e.g. GR, PL, DE).")
    return code


def usable_id(value: str | None) -> bool:
    """Whether a path or query id can name an object at all (ids are short, NUL-free)."""
    return value is not None and 0 < len(value) <= 36 and "\x00" not in value


def _text(field: str, value: str | None) -> str | None:
    if value is not None and "\x00" in value:
        raise Invalid(field, f"{field}: must not contain NUL characters.")
    return value


def org_summary(org: Organisation) -> OrganisationSummary:
    return OrganisationSummary(
        id=org.id,
        public_name=org.public_name,
        country=org.country,
        city=org.city,
        type=org.type,
        state=org.state,
        standing=rules.org_standing(org),
    )


def _user_of(db: DbSession, account: Account | None) -> User | None:
    if account is None:
        return None
    return db.scalar(select(User).where(User.account_id == account.id))


def _is_staff_for(user: User | None, org: Organisation) -> bool:
    return user is not None and user.staff_country == org.country


def can_see(db: DbSession, user: User | None, org: Organisation) -> bool:
    """Pending and validated organisations are public; a rejected one only to those involved."""
    if org.state != "rejected":
        return True
    if user is None:
        return False
    if org.registered_by == user.id or _is_staff_for(user, org):
        return True
    return (
        db.scalar(
            select(Membership.id)
            .where(Membership.user_id == user.id, Membership.org_id == org.id)
            .limit(1)
        )
        is not None
    )


def org_out(org: Organisation, user: User | None) -> OrganisationOut:
    mine = user is not None and org.registered_by == user.id
    private = mine or _is_staff_for(user, org)
    return OrganisationOut(
        **org_summary(org).model_dump(),
        legal_name=org.legal_name,
        region=org.region or "",
        school_number=org.school_number,
        website=org.website,
        principal_name=org.principal_name if private else None,
        principal_email=org.principal_email if private else None,
        rejection_reason=org.rejection_reason if private else None,
        created_at=org.created_at,
        decided_at=org.decided_at,
        waiting_days=rules.days_waiting(org.created_at) if org.state == "pending" else None,
        registered_by_me=mine,
        version=org.version,
    )


@changes.serializer("organisation")
def _serialize(db: DbSession, principal: Principal, org_id: str) -> dict | None:
    org = db.get(Organisation, org_id)
    if org is None or principal.account is None or not can_see(db, principal.user, org):
        return None
    return org_out(org, principal.user).model_dump(mode="json")


@router.get("", response_model=Page[OrganisationOut])
def search(
    country: str = Query(..., min_length=2, max_length=2, description="country code"),
    q: str = Query(..., max_length=200, description="words of the name or city, in any case"),
    offset: int = Query(0, ge=0, le=100_000),
    limit: int = Query(20, ge=1, le=MAX_PAGE),
    account: Account = Depends(current_account),
    db: DbSession = Depends(get_db),
):
    """Organisations of a country whose name or city has words starting with every word of ``q``.

    Diacritics and case are folded (``szkola`` finds “Szkoła”, ``strasse`` “Straße”,
    ``δημοτικο`` “Δημοτικό”). Whole-word matches rank first, then the name. Rejected
    organisations are not listed.
    """
    code = _country(country)
    _text("q", q)
    if not fold(q).strip() or not any(ch.isalnum() for ch in q):
        raise Invalid("q", "q: type one or more words of the organisation's name or city.")
    rows, next_offset = search_organisations(db, country=code, q=q, offset=offset, limit=limit)
    user = _user_of(db, account)
    return Page[OrganisationOut](items=[org_out(o, user) for o in rows], next_offset=next_offset)


@router.get("/similar", response_model=list[SimilarOrganisation])
def similar(
    country: str = Query(..., min_length=2, max_length=2),
    city: str = Query(..., min_length=1, max_length=120),
    name: str = Query(..., min_length=1, max_length=300),
    school_number: str | None = Query(None, max_length=60),
    account: Account = Depends(current_account),
    db: DbSession = Depends(get_db),
):
    """Existing organisations a new registration may duplicate: same country and city with a
    similar name, or the same national school number. Ask this before registering."""
    code = _country(country)
    for field, value in (("city", city), ("name", name), ("school_number", school_number)):
        _text(field, value)
    user = _user_of(db, account)
    found = similar_organisations(
        db, country=code, city=city, name=name, school_number=school_number
    )
    return [_similar_out(o, name, school_number) for o in found if can_see(db, user, o)]


def _similar_out(org: Organisation, name: str, school_number: str | None) -> SimilarOrganisation:
    return SimilarOrganisation(
        **org_summary(org).model_dump(),
        legal_name=org.legal_name,
        school_number=org.school_number,
        similarity=round(name_similarity(name, org), 3),
        same_school_number=bool(school_number and org.school_number == school_number.strip()),
    )


@router.get("/{org_id}", response_model=OrganisationOut)
def get_one(
    org_id: str, account: Account = Depends(current_account), db: DbSession = Depends(get_db)
):
    org = db.get(Organisation, org_id) if usable_id(org_id) else None
    user = _user_of(db, account)
    if org is None or not can_see(db, user, org):
        raise NotFound("organisation")
    return org_out(org, user)


def _duplicate_reason(org: Organisation, name: str, school_number: str | None) -> Reason:
    same_number = bool(school_number and org.school_number == school_number)
    why = (
        f"has the same school number {org.school_number}"
        if same_number
        else f"in {org.city} has a similar name"
    )
    state = {"pending": "waiting for validation", "validated": "validated"}.get(
        org.state, org.state
    )
    return Reason(
        code="near_duplicate",
        message=f"“{org.public_name}” {why} ({state}).",
        fix="If it is your school, do not register it again: find it in the search and add it "
        "to your profile. If it really is another organisation, confirm and register.",
        action=f"use_existing:{org.id}",
    )


@router.post("", status_code=201, response_model=OrganisationCreated)
def register(
    body: OrganisationCreate,
    response: Response,
    user: User = Depends(current_user),
    db: DbSession = Depends(get_db),
):
    """Register a new organisation. It is ``pending`` until the NSO validates it, and it is not
    added to your profile: add it with your role afterwards (the ``hint`` says how).

    Without ``confirm_not_duplicate`` a near-duplicate answers 409 ``near_duplicate`` with one
    reason per existing candidate."""
    country = _country(body.country)
    if body.type not in rules.ORG_TYPES:
        raise Invalid("type", "type: one of " + ", ".join(rules.ORG_TYPES) + ".")
    school = body.type in rules.SCHOOL_TYPES
    if school and country in SCHOOL_NUMBER_REQUIRED and not body.school_number:
        raise Invalid(
            "school_number",
            f"school_number: schools in {COUNTRIES[country]} need their national school "
            "register number.",
        )
    if school and not body.principal_name:
        raise Invalid("principal_name", "principal_name: a school needs its principal's name.")
    if school and not body.principal_email:
        raise Invalid("principal_email", "principal_email: a school needs its principal's email.")
    public_name = body.public_name or body.legal_name
    if body.id is not None and db.get(Organisation, body.id) is not None:
        raise Conflict("exists", "An organisation with this id exists.", field="id")
    if not body.confirm_not_duplicate:
        candidates = similar_organisations(
            db,
            country=country,
            city=body.city,
            name=f"{public_name}",
            school_number=body.school_number,
        )
        if body.legal_name != public_name:
            seen = {o.id for o in candidates}
            candidates += [
                o
                for o in similar_organisations(
                    db, country=country, city=body.city, name=body.legal_name
                )
                if o.id not in seen
            ]
        candidates = [o for o in candidates if can_see(db, user, o)]
        if candidates:
            raise NotAllowed(
                "near_duplicate",
                "This organisation may already be registered. Use the existing one, or confirm "
                "that it is a different organisation.",
                [_duplicate_reason(o, public_name, body.school_number) for o in candidates],
            )
    org = Organisation(
        legal_name=body.legal_name,
        public_name=public_name,
        country=country,
        region=body.region,
        city=body.city,
        city_folded=fold(body.city),
        type=body.type,
        school_number=body.school_number,
        principal_name=body.principal_name if school else None,
        principal_email=body.principal_email if school else None,
        website=body.website,
        state="pending",
        registered_by=user.id,
    )
    if body.id is not None:
        org.id = body.id
    db.add(org)
    try:
        db.flush()
    except IntegrityError:
        raise Conflict("exists", "An organisation with this id exists.", field="id") from None
    index_organisation(db, org)
    db.flush()
    changes.record(db, [changes.user(user.id)], "organisation", org.id)
    changes.record(db, [changes.nso(country)], "nso_organisation", org.id)
    response.headers["Location"] = f"/organisations/{org.id}"
    return OrganisationCreated(
        organisation=org_out(org, user),
        linked=False,
        hint=Reason(
            code="not_linked",
            message=f"“{public_name}” is registered and waits for validation by the National "
            "Support Organisation. It is not on your profile yet.",
            fix="Add it to your profile with your role there (Profile › Organisations › Add).",
            action=f"add_membership:{org.id}",
        ),
    )
