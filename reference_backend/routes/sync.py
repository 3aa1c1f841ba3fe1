"""The change feed: an offline client asks what changed for it since its cursor."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from api_client.models.common import ApiError, ChangeFeed, ChangeItem
from reference_backend import changes, clock
from reference_backend.deps import Principal, current_principal, get_db
from reference_backend.tables import Change, ProjectMember
from reference_backend.uow import UnitOfWorkRoute

router = APIRouter(
    prefix="/sync",
    tags=["Sync"],
    route_class=UnitOfWorkRoute,
    responses={401: {"model": ApiError}, 422: {"model": ApiError}},
)

# On PostgreSQL, sequence numbers can commit out of order; rows this young are re-sent next
# time rather than skipped, so the cursor never passes a change still being committed.
SETTLE = timedelta(seconds=5)


def audiences(db: DbSession, principal: Principal) -> list[str]:
    if principal.pupil is not None:
        return [changes.project(principal.pupil.project_id), f"pupil:{principal.pupil.id}"]
    result = [f"account:{principal.account.id}"]
    user = principal.user
    if user is not None:
        result.append(changes.user(user.id))
        result.extend(
            changes.project(pid)
            for pid in db.scalars(
                select(ProjectMember.project_id).where(ProjectMember.user_id == user.id)
            )
        )
        if user.staff_country:
            result.append(changes.nso(user.staff_country))
    return result


@router.get("/changes", response_model=ChangeFeed)
def changes_since(
    since: int = Query(0, ge=0, le=2**62),
    limit: int = Query(500, ge=1, le=2000),
    principal: Principal = Depends(current_principal),
    db: DbSession = Depends(get_db),
):
    """Entities changed for the caller since ``since``, each once, with its current data."""
    rows = db.execute(
        select(Change.seq, Change.entity, Change.entity_id, Change.op, Change.at)
        .where(Change.audience.in_(audiences(db, principal)), Change.seq > since)
        .order_by(Change.seq)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    latest: dict[tuple[str, str], tuple[int, str]] = {}
    for seq, entity, entity_id, op, _at in rows:
        latest[(entity, entity_id)] = (seq, op)
    cursor = rows[-1][0] if rows else since
    if db.get_bind().dialect.name != "sqlite" and rows:
        young = [seq for seq, *_rest, at in rows if at > clock.now() - SETTLE]
        if young:
            cursor = max(since, min(young) - 1)
    items = []
    for (entity, entity_id), (seq, op) in sorted(latest.items(), key=lambda kv: kv[1][0]):
        data = None
        if op != "delete" and entity in changes.SERIALIZERS:
            data = changes.SERIALIZERS[entity](db, principal, entity_id)
            if data is None:
                op = "delete"  # gone, or no longer visible to this reader
        items.append(ChangeItem(entity=entity, id=entity_id, op=op, seq=seq, data=data))
    if not rows:
        cursor = max(since, 0)
    return ChangeFeed(changes=items, cursor=cursor, more=more)


@router.get("/cursor", response_model=ChangeFeed)
def current_cursor(
    principal: Principal = Depends(current_principal), db: DbSession = Depends(get_db)
):
    """The newest cursor, for a client that has just fetched everything fresh."""
    _ = principal
    top = db.scalar(select(func.max(Change.seq))) or 0
    return ChangeFeed(changes=[], cursor=top, more=False)
