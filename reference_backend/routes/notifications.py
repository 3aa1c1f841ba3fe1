"""Notifications: invitations, contact requests, decisions. Each person reads only their own."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from api_client.models.common import ApiError
from api_client.models.networking import NotificationOut, NotificationPage
from reference_backend import changes, clock
from reference_backend.deps import Principal, current_user, get_db
from reference_backend.errors import NotFound
from reference_backend.tables import Notification, User
from reference_backend.uow import UnitOfWorkRoute

router = APIRouter(
    prefix="/notifications",
    tags=["Notifications"],
    route_class=UnitOfWorkRoute,
    responses={401: {"model": ApiError}, 403: {"model": ApiError}, 404: {"model": ApiError}},
)


@changes.serializer("notification")
def _serialize(db: DbSession, principal: Principal, notification_id: str) -> dict | None:
    row = db.get(Notification, notification_id)
    if row is None or principal.user is None or row.user_id != principal.user.id:
        return None
    return NotificationOut.model_validate(row).model_dump(mode="json")


@router.get("", response_model=NotificationPage)
def list_notifications(
    unread: bool = Query(False, description="only the unread ones"),
    offset: int = Query(0, ge=0, le=100_000),
    limit: int = Query(50, ge=1, le=200),
    me: User = Depends(current_user),
    db: DbSession = Depends(get_db),
):
    """My notifications, newest first, with the number still unread."""
    mine = [Notification.user_id == me.id]
    unread_count = (
        db.scalar(
            select(func.count())
            .select_from(Notification)
            .where(*mine, Notification.read_at.is_(None))
        )
        or 0
    )
    conditions = [*mine, Notification.read_at.is_(None)] if unread else mine
    total = db.scalar(select(func.count()).select_from(Notification).where(*conditions)) or 0
    rows = list(
        db.scalars(
            select(Notification)
            .where(*conditions)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )
    next_offset = offset + len(rows) if offset + len(rows) < total else None
    return NotificationPage(
        items=[NotificationOut.model_validate(r) for r in rows],
        total=total,
        next_offset=next_offset,
        unread=unread_count,
    )


@router.post("/{notification_id}/read", response_model=NotificationOut)
def mark_read(
    notification_id: str, me: User = Depends(current_user), db: DbSession = Depends(get_db)
):
    """Mark one notification read (reading it again changes nothing)."""
    row = db.get(Notification, notification_id[:36])
    if row is None or row.user_id != me.id:
        raise NotFound("notification")
    if row.read_at is None:
        row.read_at = clock.now()
        changes.record(db, [changes.user(me.id)], "notification", row.id)
    return NotificationOut.model_validate(row)
