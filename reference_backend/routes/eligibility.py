"""Eligibility: can this user use eTwinning, create a project, be added to one?

Each answer lists every failing condition as a reason ``{code, message, fix, fixed_by,
action}`` (FAQ problems 1 and 3), so the client explains *why* without knowing the rules.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import aliased

from api_client.models.common import ApiError, Eligibility
from reference_backend.deps import get_db
from reference_backend.domain import rules
from reference_backend.errors import NotFound
from reference_backend.routes.organisations import usable_id
from reference_backend.routes.users import registered_user
from reference_backend.tables import Contact, ProjectMember, User
from reference_backend.uow import UnitOfWorkRoute

router = APIRouter(
    prefix="/eligibility",
    tags=["Eligibility"],
    route_class=UnitOfWorkRoute,
    responses={401: {"model": ApiError}, 403: {"model": ApiError}, 404: {"model": ApiError}},
)


def _answer(reasons) -> Eligibility:
    return Eligibility(allowed=not reasons, reasons=list(reasons))


def can_look_at(db: DbSession, viewer: User, target: User) -> bool:
    """Self, an accepted contact, someone in a project with the viewer, or their NSO staff."""
    if viewer.id == target.id:
        return True
    if viewer.staff_country is not None and viewer.staff_country == target.country:
        return True
    contact = db.scalar(
        select(Contact.id)
        .where(
            Contact.state == "accepted",
            or_(
                and_(Contact.requester_id == viewer.id, Contact.addressee_id == target.id),
                and_(Contact.requester_id == target.id, Contact.addressee_id == viewer.id),
            ),
        )
        .limit(1)
    )
    if contact is not None:
        return True
    mine, theirs = aliased(ProjectMember), aliased(ProjectMember)
    shared = db.scalar(
        select(mine.id)
        .join(theirs, theirs.project_id == mine.project_id)
        .where(mine.user_id == viewer.id, theirs.user_id == target.id)
        .limit(1)
    )
    return shared is not None


@router.get("/etwinning", response_model=Eligibility)
def etwinning(user: User = Depends(registered_user), db: DbSession = Depends(get_db)):
    """Whether you have eTwinning access now, and every reason you do not (FAQ problem 1)."""
    return _answer(rules.etwinning_access(db, user))


@router.get("/project-creation", response_model=Eligibility)
def project_creation(user: User = Depends(registered_user), db: DbSession = Depends(get_db)):
    """Whether you can create an eTwinning project, and why not."""
    return _answer(rules.project_creator(db, user))


@router.get("/project-member", response_model=Eligibility)
def project_member(
    user_id: str | None = Query(None, max_length=36),
    user: User = Depends(registered_user),
    db: DbSession = Depends(get_db),
):
    """Whether a user can be added to a project (FAQ problem 3). ``user_id`` defaults to you;
    others must be your contacts or in a project with you."""
    if user_id and not usable_id(user_id):
        raise NotFound("user")
    target = user if not user_id or user_id == user.id else db.get(User, user_id)
    if target is None or (target.staff_country is not None and target.id != user.id):
        raise NotFound("user")
    if not can_look_at(db, user, target):
        raise NotFound("user")
    return _answer(rules.project_member(db, target))
