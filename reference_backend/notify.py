"""Notifications: invitations, contact requests, decisions. Each also enters the change feed."""

from __future__ import annotations

from sqlalchemy.orm import Session as DbSession

from reference_backend import changes
from reference_backend.tables import Notification, new_id


def notify(
    db: DbSession,
    user_id: str,
    kind: str,
    text: str,
    subject_type: str | None = None,
    subject_id: str | None = None,
) -> Notification:
    row = Notification(
        id=new_id(),
        user_id=user_id,
        kind=kind,
        text=text,
        subject_type=subject_type,
        subject_id=subject_id,
    )
    db.add(row)
    changes.record(db, [changes.user(user_id)], "notification", row.id)
    return row
