"""Partner finding: project-idea posts by validated teachers; interest, reports, expiry.

A post is listed until it expires (at most a year, 90 days by default) and while fewer than
``HIDE_AFTER_REPORTS`` people have reported it. Its author always sees it.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from api_client.models.common import ApiError, Page
from api_client.models.networking import (
    InterestCreate,
    InterestOut,
    PostCreate,
    PostOut,
    ReportCreate,
)
from reference_backend import changes, clock
from reference_backend.deps import Principal, current_user, get_db
from reference_backend.domain.countries import COUNTRIES
from reference_backend.domain.rules import etwinning_access
from reference_backend.errors import Conflict, Forbidden, Invalid, NotAllowed, NotFound
from reference_backend.notify import notify
from reference_backend.routes.people import brief, full_name, json_list_contains
from reference_backend.tables import PartnerPost, PostInterest, PostReport, User, new_id
from reference_backend.text import fold, tokens
from reference_backend.uow import UnitOfWorkRoute

router = APIRouter(
    prefix="/posts",
    tags=["Partner finding"],
    route_class=UnitOfWorkRoute,
    responses={
        401: {"model": ApiError},
        403: {"model": ApiError},
        404: {"model": ApiError},
        409: {"model": ApiError},
        422: {"model": ApiError},
    },
)

DEFAULT_LIFETIME = timedelta(days=90)
MAX_LIFETIME = timedelta(days=366)
HIDE_AFTER_REPORTS = 3
Q_SCAN_LIMIT = 5000  # posts examined for a free-text query (folded in Python)


def _expired(post: PartnerPost) -> bool:
    return post.expires_at <= clock.now()


def _listed(post: PartnerPost) -> bool:
    return not post.hidden and not _expired(post)


def post_out(db: DbSession, me: User, post: PartnerPost) -> PostOut:
    author = db.get(User, post.author_id)
    count = (
        db.scalar(
            select(func.count()).select_from(PostInterest).where(PostInterest.post_id == post.id)
        )
        or 0
    )
    interested = db.scalar(
        select(PostInterest.id).where(
            PostInterest.post_id == post.id, PostInterest.user_id == me.id
        )
    )
    reported = db.scalar(
        select(PostReport.id).where(PostReport.post_id == post.id, PostReport.user_id == me.id)
    )
    mine = post.author_id == me.id
    interests = None
    if mine:
        rows = db.execute(
            select(PostInterest, User)
            .join(User, User.id == PostInterest.user_id)
            .where(PostInterest.post_id == post.id)
            .order_by(PostInterest.created_at)
        )
        interests = [
            InterestOut(
                id=i.id, post_id=post.id, person=brief(u), note=i.note, created_at=i.created_at
            )
            for i, u in rows
        ]
    return PostOut(
        id=post.id,
        title=post.title,
        description=post.description,
        subjects=list(post.subjects or []),
        languages=list(post.languages or []),
        pupil_age_min=post.pupil_age_min,
        pupil_age_max=post.pupil_age_max,
        country=post.country,
        expires_at=post.expires_at,
        created_at=post.created_at,
        author=brief(author),
        mine=mine,
        hidden=post.hidden,
        expired=_expired(post),
        interest_count=count,
        interested=interested is not None,
        reported=reported is not None,
        interests=interests,
    )


@changes.serializer("post")
def _serialize(db: DbSession, principal: Principal, post_id: str) -> dict | None:
    post = db.get(PartnerPost, post_id)
    user = principal.user
    if post is None or user is None or (post.author_id != user.id and not _listed(post)):
        return None
    return post_out(db, user, post).model_dump(mode="json")


def _visible(db: DbSession, me: User, post_id: str) -> PartnerPost:
    post = db.get(PartnerPost, post_id[:36])
    if post is None or (post.author_id != me.id and not _listed(post)):
        raise NotFound("post")
    return post


@router.get("", response_model=Page[PostOut])
def list_posts(
    subject: str | None = Query(None, max_length=100),
    age: int | None = Query(None, ge=0, le=120),
    language: str | None = Query(None, max_length=40),
    country: str | None = Query(None, min_length=2, max_length=2),
    q: str | None = Query(None, max_length=200, description="words of the title or text"),
    mine: bool = Query(False, description="only my own posts, expired and hidden included"),
    offset: int = Query(0, ge=0, le=100_000),
    limit: int = Query(20, ge=1, le=100),
    me: User = Depends(current_user),
    db: DbSession = Depends(get_db),
):
    """Current posts, newest first. Expired and hidden posts are left out."""
    if mine:
        conditions = [PartnerPost.author_id == me.id]
    else:
        conditions = [PartnerPost.hidden.is_(False), PartnerPost.expires_at > clock.now()]
    if subject and subject.strip():
        conditions.append(json_list_contains(PartnerPost.subjects, subject.strip()))
    if language and language.strip():
        conditions.append(json_list_contains(PartnerPost.languages, language.strip()))
    if country:
        conditions.append(PartnerPost.country == country.upper())
    if age is not None:
        conditions.extend((PartnerPost.pupil_age_min <= age, PartnerPost.pupil_age_max >= age))
    stmt = (
        select(PartnerPost)
        .where(*conditions)
        .order_by(PartnerPost.created_at.desc(), PartnerPost.id)
    )
    words = tokens(q or "")[:8]
    if words:
        matching = [
            p
            for p in db.scalars(stmt.limit(Q_SCAN_LIMIT))
            if all(w in fold(f"{p.title} {p.description}") for w in words)
        ]
        total = len(matching)
        rows = matching[offset : offset + limit]
    else:
        total = db.scalar(select(func.count()).select_from(PartnerPost).where(*conditions)) or 0
        rows = list(db.scalars(stmt.offset(offset).limit(limit)))
    next_offset = offset + len(rows) if offset + len(rows) < total else None
    return Page[PostOut](
        items=[post_out(db, me, p) for p in rows], total=total, next_offset=next_offset
    )


@router.post("", status_code=201, response_model=PostOut)
def create_post(
    body: PostCreate,
    response: Response,
    me: User = Depends(current_user),
    db: DbSession = Depends(get_db),
):
    """Publish a project idea to find partners. Validated eTwinning teachers only."""
    if me.staff_country is not None:
        raise Forbidden("NSO staff accounts do not publish partner posts.", code="staff")
    reasons = etwinning_access(db, me)
    if reasons:
        raise NotAllowed(
            "not_validated", "Only validated eTwinning teachers can publish posts.", reasons
        )
    if body.pupil_age_min > body.pupil_age_max:
        raise Invalid("pupil_age_max", "The oldest pupils' age is below the youngest.")
    country = (body.country or me.country).upper()
    if country not in COUNTRIES:
        raise Invalid("country", "Not an eTwinning country.")
    now = clock.now()
    if body.expires_at is None:
        expires_at = now + DEFAULT_LIFETIME
    else:
        expires_at = body.expires_at
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        if expires_at <= now:
            raise Invalid("expires_at", "The expiry date is in the past.")
        if expires_at > now + MAX_LIFETIME:
            raise Invalid("expires_at", "A post can run for at most a year.")
    post_id = (body.id or new_id()).lower()
    if db.get(PartnerPost, post_id) is not None:
        raise Conflict("exists", "A post with this id exists.", field="id")
    post = PartnerPost(
        id=post_id,
        author_id=me.id,
        title=body.title,
        description=body.description,
        subjects=body.subjects,
        languages=body.languages,
        pupil_age_min=body.pupil_age_min,
        pupil_age_max=body.pupil_age_max,
        country=country,
        expires_at=expires_at,
    )
    db.add(post)
    db.flush()
    changes.record(db, [changes.user(me.id)], "post", post.id)
    response.headers["Location"] = f"/posts/{post.id}"
    return post_out(db, me, post)


@router.get("/{post_id}", response_model=PostOut)
def get_post(post_id: str, me: User = Depends(current_user), db: DbSession = Depends(get_db)):
    return post_out(db, me, _visible(db, me, post_id))


@router.delete("/{post_id}", status_code=204)
def delete_post(post_id: str, me: User = Depends(current_user), db: DbSession = Depends(get_db)):
    post = _visible(db, me, post_id)
    if post.author_id != me.id:
        raise Forbidden("Only the author can delete a post.")
    audiences = [changes.user(me.id)] + [
        changes.user(uid)
        for uid in db.scalars(select(PostInterest.user_id).where(PostInterest.post_id == post.id))
    ]
    db.query(PostInterest).filter(PostInterest.post_id == post.id).delete()
    db.query(PostReport).filter(PostReport.post_id == post.id).delete()
    db.delete(post)
    changes.record(db, audiences, "post", post.id, op="delete")
    return Response(status_code=204)


@router.post("/{post_id}/interest", status_code=201, response_model=PostOut)
def express_interest(
    post_id: str,
    response: Response,
    body: InterestCreate | None = None,
    me: User = Depends(current_user),
    db: DbSession = Depends(get_db),
):
    """Tell the author you would like to take part. Once per person; not on your own post."""
    post = _visible(db, me, post_id)
    if post.author_id == me.id:
        raise NotAllowed("own_post", "This is your own post.")
    if me.staff_country is not None:
        raise Forbidden("NSO staff accounts do not join projects.", code="staff")
    if db.scalar(
        select(PostInterest.id).where(
            PostInterest.post_id == post.id, PostInterest.user_id == me.id
        )
    ):
        raise Conflict("exists", "You already expressed interest in this post.")
    note = body.note if body else ""
    db.add(PostInterest(id=new_id(), post_id=post.id, user_id=me.id, note=note))
    try:
        db.flush()
    except IntegrityError:
        raise Conflict("exists", "You already expressed interest in this post.") from None
    notify(
        db,
        post.author_id,
        "post_interest",
        f"{full_name(me)} is interested in your post “{post.title}”."
        + (f" “{note}”" if note else ""),
        "post",
        post.id,
    )
    changes.record(db, [changes.user(post.author_id), changes.user(me.id)], "post", post.id)
    response.headers["Location"] = f"/posts/{post.id}"
    return post_out(db, me, post)


@router.post("/{post_id}/report", status_code=201, response_model=PostOut)
def report_post(
    post_id: str,
    body: ReportCreate,
    response: Response,
    me: User = Depends(current_user),
    db: DbSession = Depends(get_db),
):
    """Report an abusive or misplaced post. Once per person; hidden after three reports."""
    post = _visible(db, me, post_id)
    if post.author_id == me.id:
        raise NotAllowed("own_post", "You cannot report your own post; delete it instead.")
    if db.scalar(
        select(PostReport.id).where(PostReport.post_id == post.id, PostReport.user_id == me.id)
    ):
        raise Conflict("exists", "You already reported this post.")
    db.add(PostReport(id=new_id(), post_id=post.id, user_id=me.id, reason=body.reason))
    try:
        db.flush()
    except IntegrityError:
        raise Conflict("exists", "You already reported this post.") from None
    count = (
        db.scalar(select(func.count()).select_from(PostReport).where(PostReport.post_id == post.id))
        or 0
    )
    if count >= HIDE_AFTER_REPORTS and not post.hidden:
        post.hidden = True
        notify(
            db,
            post.author_id,
            "post_hidden",
            f"Your post “{post.title}” was reported by several people and is hidden.",
            "post",
            post.id,
        )
        changes.record(db, [changes.user(post.author_id)], "post", post.id)
    changes.record(db, [changes.user(me.id)], "post", post.id)
    response.headers["Location"] = f"/posts/{post.id}"
    return post_out(db, me, post)
