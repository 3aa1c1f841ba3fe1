"""Contacts: request -> accept / decline; either side removes. Only people available for
projects can be added."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session as DbSession

from api_client.models.common import ApiError, Page, Reason
from api_client.models.networking import ContactCreate, ContactOut
from reference_backend import changes, clock
from reference_backend.deps import Principal, current_user, get_db
from reference_backend.errors import Conflict, Forbidden, Invalid, NotAllowed, NotFound
from reference_backend.notify import notify
from reference_backend.routes.people import full_name, person_out
from reference_backend.tables import Contact, User, new_id
from reference_backend.uow import UnitOfWorkRoute

router = APIRouter(
    prefix="/contacts",
    tags=["Contacts"],
    route_class=UnitOfWorkRoute,
    responses={
        401: {"model": ApiError},
        403: {"model": ApiError},
        404: {"model": ApiError},
        409: {"model": ApiError},
        422: {"model": ApiError},
    },
)


def contact_out(db: DbSession, me: User, contact: Contact) -> ContactOut:
    outgoing = contact.requester_id == me.id
    other = db.get(User, contact.addressee_id if outgoing else contact.requester_id)
    return ContactOut(
        id=contact.id,
        state=contact.state,
        direction="outgoing" if outgoing else "incoming",
        person=person_out(db, me.id, other),
        note=contact.note,
        created_at=contact.created_at,
        decided_at=contact.decided_at,
    )


@changes.serializer("contact")
def _serialize(db: DbSession, principal: Principal, contact_id: str) -> dict | None:
    contact = db.get(Contact, contact_id)
    user = principal.user
    if (
        contact is None
        or user is None
        or user.id not in (contact.requester_id, contact.addressee_id)
    ):
        return None
    return contact_out(db, user, contact).model_dump(mode="json")


def addable_reasons(other: User) -> list[Reason]:
    """Why ``other`` cannot be added as a contact (empty: they can)."""
    reasons = []
    if not other.active:
        reasons.append(
            Reason(
                code="inactive",
                message=f"{full_name(other)}'s account has been switched off.",
                fix="Nothing to do here; their National Support Organisation can switch it on.",
                fixed_by="nso",
            )
        )
    if not other.available_for_projects:
        reasons.append(
            Reason(
                code="not_available_for_projects",
                message=f"{full_name(other)} is not “available for eTwinning projects”.",
                fix="Only they can set it (Profile › edit › “Available for eTwinning "
                "projects”); ask them, e.g. by expressing interest in one of their posts.",
                fixed_by="other",
            )
        )
    return reasons


def _between(a: str, b: str):
    return or_(
        (Contact.requester_id == a) & (Contact.addressee_id == b),
        (Contact.requester_id == b) & (Contact.addressee_id == a),
    )


def _audiences(contact: Contact) -> list[str]:
    return [changes.user(contact.requester_id), changes.user(contact.addressee_id)]


def _not_staff(me: User) -> None:
    if me.staff_country is not None:
        raise Forbidden("NSO staff accounts do not keep contacts.", code="staff")


def _visible(db: DbSession, me: User, contact_id: str) -> Contact:
    contact = db.get(Contact, contact_id[:36])
    if contact is None or me.id not in (contact.requester_id, contact.addressee_id):
        raise NotFound("contact")
    return contact


@router.get("", response_model=Page[ContactOut])
def list_contacts(
    state: str | None = Query(None, pattern="^(pending|accepted|declined)$"),
    direction: str | None = Query(None, pattern="^(incoming|outgoing)$"),
    offset: int = Query(0, ge=0, le=100_000),
    limit: int = Query(100, ge=1, le=500),
    me: User = Depends(current_user),
    db: DbSession = Depends(get_db),
):
    """Accepted contacts and pending requests both ways (declined ones only when asked)."""
    conditions = [or_(Contact.requester_id == me.id, Contact.addressee_id == me.id)]
    conditions.append(
        Contact.state == state if state else Contact.state.in_(("pending", "accepted"))
    )
    if direction == "incoming":
        conditions.append(Contact.addressee_id == me.id)
    elif direction == "outgoing":
        conditions.append(Contact.requester_id == me.id)
    total = db.scalar(select(func.count()).select_from(Contact).where(*conditions)) or 0
    rows = list(
        db.scalars(
            select(Contact)
            .where(*conditions)
            .order_by(Contact.created_at.desc(), Contact.id)
            .offset(offset)
            .limit(limit)
        )
    )
    next_offset = offset + len(rows) if offset + len(rows) < total else None
    return Page[ContactOut](
        items=[contact_out(db, me, c) for c in rows], total=total, next_offset=next_offset
    )


@router.post("", status_code=201, response_model=ContactOut)
def request_contact(
    body: ContactCreate,
    response: Response,
    me: User = Depends(current_user),
    db: DbSession = Depends(get_db),
):
    """Ask someone to become a contact. They are notified and accept or decline."""
    _not_staff(me)
    if body.user_id == me.id:
        raise Invalid("user_id", "You cannot add yourself as a contact.", code="self_contact")
    other = db.get(User, body.user_id)
    if other is None or other.staff_country is not None:
        raise NotFound("person")
    if body.id is not None and db.get(Contact, body.id.lower()) is not None:
        raise Conflict("exists", "A contact with this id exists.", field="id")
    existing = list(db.scalars(select(Contact).where(_between(me.id, other.id))))
    for c in existing:
        if c.state == "accepted":
            raise Conflict("exists", f"{full_name(other)} is already one of your contacts.")
        if c.state == "pending":
            if c.requester_id == me.id:
                raise Conflict("exists", f"You already asked {full_name(other)}; they decide.")
            raise Conflict(
                "exists",
                f"{full_name(other)} already asked you to be a contact; accept their request.",
            )
    reasons = addable_reasons(other)
    if reasons:
        raise NotAllowed(
            "not_available", f"{full_name(other)} cannot be added as a contact.", reasons
        )
    for c in existing:  # an earlier declined request gives way to the new one
        changes.record(db, _audiences(c), "contact", c.id, op="delete")
        db.delete(c)
    db.flush()
    contact = Contact(
        id=(body.id or new_id()).lower(),
        requester_id=me.id,
        addressee_id=other.id,
        state="pending",
        note=body.note,
    )
    db.add(contact)
    db.flush()
    notify(
        db,
        other.id,
        "contact_request",
        f"{full_name(me)} asks to become your contact." + (f" “{body.note}”" if body.note else ""),
        "contact",
        contact.id,
    )
    changes.record(db, _audiences(contact), "contact", contact.id)
    response.headers["Location"] = f"/contacts/{contact.id}"
    return contact_out(db, me, contact)


def _decide(db: DbSession, me: User, contact_id: str, accept: bool) -> Contact:
    contact = _visible(db, me, contact_id)
    if contact.addressee_id != me.id:
        raise Forbidden("Only the person asked can answer a contact request.")
    if contact.state != "pending":
        raise NotAllowed("not_pending", f"This request was already {contact.state}.")
    contact.state = "accepted" if accept else "declined"
    contact.decided_at = clock.now()
    changes.record(db, _audiences(contact), "contact", contact.id)
    return contact


@router.post("/{contact_id}/accept", response_model=ContactOut)
def accept_contact(
    contact_id: str, me: User = Depends(current_user), db: DbSession = Depends(get_db)
):
    contact = _decide(db, me, contact_id, accept=True)
    notify(
        db,
        contact.requester_id,
        "contact_accepted",
        f"{full_name(me)} accepted your contact request.",
        "contact",
        contact.id,
    )
    return contact_out(db, me, contact)


@router.post("/{contact_id}/decline", response_model=ContactOut)
def decline_contact(
    contact_id: str, me: User = Depends(current_user), db: DbSession = Depends(get_db)
):
    """Decline quietly: the requester is not notified."""
    return contact_out(db, me, _decide(db, me, contact_id, accept=False))


@router.delete("/{contact_id}", status_code=204)
def remove_contact(
    contact_id: str, me: User = Depends(current_user), db: DbSession = Depends(get_db)
):
    """Either side removes a contact, or withdraws / dismisses a request."""
    contact = _visible(db, me, contact_id)
    changes.record(db, _audiences(contact), "contact", contact.id, op="delete")
    db.delete(contact)
    return Response(status_code=204)


def are_contacts(db: DbSession, a: str, b: str) -> bool:
    return (
        db.scalar(select(Contact.id).where(_between(a, b), Contact.state == "accepted")) is not None
    )
