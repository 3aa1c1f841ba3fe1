"""People search: find a collaborator by name, country, subject, pupils' age, language.

Only validated, active teachers whose profile is visible to the platform appear; NSO staff
never do. Profiles are public ones: no email address ever leaves the server here.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Query
from sqlalchemy import Text, cast, func, or_, select
from sqlalchemy.orm import Session as DbSession

from api_client.models.common import ApiError, Page
from api_client.models.networking import PersonBrief, PersonOut, SchoolRef
from reference_backend.deps import current_user, get_db
from reference_backend.domain.rules import BLOCKING_ROLES, is_etwinning_school
from reference_backend.errors import NotFound
from reference_backend.tables import Contact, Membership, Organisation, ProjectMember, User
from reference_backend.text import tokens
from reference_backend.uow import UnitOfWorkRoute

router = APIRouter(
    prefix="/people",
    tags=["People"],
    route_class=UnitOfWorkRoute,
    responses={401: {"model": ApiError}, 403: {"model": ApiError}, 404: {"model": ApiError}},
)


def full_name(user: User) -> str:
    return f"{user.first_name} {user.last_name}".strip()


def brief(user: User) -> PersonBrief:
    return PersonBrief(id=user.id, name=full_name(user), country=user.country)


def _escape_like(text: str) -> str:
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def json_list_contains(column, value: str):
    """``value`` is one entry of the JSON list ``column`` (ASCII case-insensitive), on any DB."""
    patterns = {json.dumps(value), json.dumps(value, ensure_ascii=False)}
    text = cast(column, Text)
    return or_(*(text.ilike(f"%{_escape_like(p)}%", escape="!") for p in patterns))


def searchable():
    """The conditions for appearing in people search."""
    return (
        User.state == "etwinning_validated",
        User.active.is_(True),
        User.visibility == "platform",
        User.staff_country.is_(None),
    )


def schools_of(db: DbSession, user_ids: list[str]) -> dict[str, list[SchoolRef]]:
    out: dict[str, list[SchoolRef]] = {uid: [] for uid in user_ids}
    if not user_ids:
        return out
    rows = db.execute(
        select(Membership.user_id, Membership.role, Organisation)
        .join(Organisation, Organisation.id == Membership.org_id)
        .where(Membership.user_id.in_(user_ids), Membership.left_at.is_(None))
        .order_by(Membership.created_at)
    )
    for user_id, role, org in rows:
        if role not in BLOCKING_ROLES and is_etwinning_school(org):
            out[user_id].append(
                SchoolRef(
                    id=org.id, public_name=org.public_name, country=org.country, city=org.city
                )
            )
    return out


def contact_states(db: DbSession, me: str, user_ids: list[str]) -> dict[str, tuple[str, str]]:
    """person id -> (contact id, accepted | pending_in | pending_out) for the caller."""
    if not user_ids:
        return {}
    rows = db.scalars(
        select(Contact).where(
            Contact.state.in_(("pending", "accepted")),
            or_(
                (Contact.requester_id == me) & Contact.addressee_id.in_(user_ids),
                (Contact.addressee_id == me) & Contact.requester_id.in_(user_ids),
            ),
        )
    )
    out = {}
    for c in rows:
        other = c.addressee_id if c.requester_id == me else c.requester_id
        if c.state == "accepted":
            out[other] = (c.id, "accepted")
        else:
            out[other] = (c.id, "pending_out" if c.requester_id == me else "pending_in")
    return out


def people_out(db: DbSession, me: str, users: list[User]) -> list[PersonOut]:
    ids = [u.id for u in users]
    schools = schools_of(db, ids)
    contacts = contact_states(db, me, ids)
    result = []
    for u in users:
        cid, cstate = contacts.get(u.id, (None, None))
        result.append(
            PersonOut(
                id=u.id,
                first_name=u.first_name,
                last_name=u.last_name,
                name=full_name(u),
                country=u.country,
                subjects=list(u.subjects or []),
                languages=list(u.languages or []),
                pupil_age_min=u.pupil_age_min,
                pupil_age_max=u.pupil_age_max,
                description=u.description or "",
                available_for_projects=u.available_for_projects,
                schools=schools[u.id],
                contact_state=cstate,
                contact_id=cid,
            )
        )
    return result


def person_out(db: DbSession, me: str, user: User) -> PersonOut:
    return people_out(db, me, [user])[0]


def can_see_profile(db: DbSession, me: User, other: User) -> bool:
    """Searchable profiles, one's own, and people one has a contact or a project with."""
    if other.id == me.id:
        return True
    if other.staff_country is not None:
        return False
    if other.state == "etwinning_validated" and other.active and other.visibility == "platform":
        return True
    related = db.scalar(
        select(Contact.id).where(
            Contact.state.in_(("pending", "accepted")),
            or_(
                (Contact.requester_id == me.id) & (Contact.addressee_id == other.id),
                (Contact.addressee_id == me.id) & (Contact.requester_id == other.id),
            ),
        )
    )
    if related is not None:
        return True
    mine = select(ProjectMember.project_id).where(ProjectMember.user_id == me.id)
    shared = db.scalar(
        select(ProjectMember.id).where(
            ProjectMember.user_id == other.id, ProjectMember.project_id.in_(mine)
        )
    )
    return shared is not None


@router.get("", response_model=Page[PersonOut])
def search_people(
    q: str | None = Query(None, max_length=200, description="words of the name, any accents"),
    country: str | None = Query(None, min_length=2, max_length=2),
    subject: str | None = Query(None, max_length=100),
    age: int | None = Query(None, ge=0, le=120, description="pupils' age taught"),
    language: str | None = Query(None, max_length=40),
    offset: int = Query(0, ge=0, le=100_000),
    limit: int = Query(20, ge=1, le=100),
    me: User = Depends(current_user),
    db: DbSession = Depends(get_db),
):
    """Validated teachers with a public profile, by name (folded), country, subject, age, language."""
    conditions = [*searchable(), User.id != me.id]
    for word in tokens(q or "")[:8]:
        w = _escape_like(word)
        conditions.append(
            or_(
                User.name_folded.like(f"{w}%", escape="!"),
                User.name_folded.like(f"% {w}%", escape="!"),
            )
        )
    if country:
        conditions.append(User.country == country.upper())
    if subject and subject.strip():
        conditions.append(json_list_contains(User.subjects, subject.strip()))
    if language and language.strip():
        conditions.append(json_list_contains(User.languages, language.strip()))
    if age is not None:
        conditions.extend((User.pupil_age_min <= age, User.pupil_age_max >= age))
    total = db.scalar(select(func.count()).select_from(User).where(*conditions)) or 0
    users = list(
        db.scalars(
            select(User)
            .where(*conditions)
            .order_by(User.name_folded, User.id)
            .offset(offset)
            .limit(limit)
        )
    )
    next_offset = offset + len(users) if offset + len(users) < total else None
    return Page[PersonOut](items=people_out(db, me.id, users), total=total, next_offset=next_offset)


@router.get("/{user_id}", response_model=PersonOut)
def get_person(user_id: str, me: User = Depends(current_user), db: DbSession = Depends(get_db)):
    other = db.get(User, user_id[:36])
    if other is None or not can_see_profile(db, me, other):
        raise NotFound("person")
    return person_out(db, me.id, other)
