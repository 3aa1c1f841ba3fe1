"""Pupils: pseudonymous accounts a teacher makes, scoped to one TwinSpace, and their sign-in.

No email, no birth date: a pupil is a generated username (``blue-otter-4821``), the nickname
the teacher typed (seen only by the project's teachers) and an activation code, stored as an
Argon2 hash and shown once, in the answer that created or reset it.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from api_client.models.auth import TokenPair
from api_client.models.common import ApiError
from api_client.models.twinspace import (
    PupilList,
    PupilLogin,
    PupilOut,
    PupilPatch,
    PupilsCreate,
    PupilsCreated,
    PupilWithCode,
)
from reference_backend import changes, clock, security
from reference_backend.deps import Principal, current_principal, get_db
from reference_backend.domain import twinspace as ts
from reference_backend.errors import DomainError, Forbidden, NotFound, Unauthorized
from reference_backend.routes.twinspace import twinspace_principal
from reference_backend.tables import Pupil, Session
from reference_backend.uow import UnitOfWorkRoute

ERRORS = {code: {"model": ApiError} for code in (401, 403, 404, 409, 422, 429)}
router = APIRouter(tags=["Pupils"], route_class=UnitOfWorkRoute, responses=ERRORS)

BAD_CREDENTIALS = "Wrong username or activation code."
MAX_PUPILS = 500  # per TwinSpace

ADJECTIVES = [
    "amber",
    "azure",
    "bold",
    "brave",
    "bright",
    "calm",
    "clever",
    "coral",
    "cosmic",
    "crisp",
    "daring",
    "eager",
    "fair",
    "fast",
    "gentle",
    "golden",
    "green",
    "happy",
    "honest",
    "jolly",
    "kind",
    "lively",
    "lucky",
    "merry",
    "mighty",
    "misty",
    "noble",
    "olive",
    "proud",
    "quick",
    "quiet",
    "rapid",
    "royal",
    "ruby",
    "silver",
    "sunny",
    "swift",
    "teal",
    "tidy",
    "vivid",
    "warm",
    "wise",
]
ANIMALS = [
    "badger",
    "bear",
    "beaver",
    "bison",
    "crane",
    "dolphin",
    "eagle",
    "falcon",
    "ferret",
    "finch",
    "fox",
    "gecko",
    "heron",
    "ibex",
    "koala",
    "lark",
    "lemur",
    "lynx",
    "marten",
    "mole",
    "newt",
    "otter",
    "owl",
    "panda",
    "puffin",
    "quail",
    "raven",
    "robin",
    "salmon",
    "seal",
    "shrew",
    "sparrow",
    "stork",
    "swan",
    "tiger",
    "toucan",
    "turtle",
    "walrus",
    "whale",
    "wolf",
    "wren",
    "yak",
]
CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud, typed by kids


def _username(db: DbSession, taken: set[str]) -> str:
    for _ in range(50):
        name = (
            f"{secrets.choice(ADJECTIVES)}-{secrets.choice(ANIMALS)}-"
            f"{secrets.randbelow(9000) + 1000}"
        )
        if name in taken:
            continue
        if db.scalar(select(Pupil.id).where(Pupil.username == name)) is None:
            taken.add(name)
            return name
    raise DomainError(  # pragma: no cover - 17 million names
        "username_space_full", "Could not find a free pupil username; try again.", status=409
    )


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _out(pupil: Pupil) -> PupilOut:
    return PupilOut.model_validate(pupil)


def _with_code(pupil: Pupil, code: str) -> PupilWithCode:
    return PupilWithCode(**_out(pupil).model_dump(), code=code)


def _record(db: DbSession, pupil: Pupil, op: str = "upsert") -> None:
    changes.record(db, [changes.project(pupil.project_id)], "pupil", pupil.id, op)


@changes.serializer("pupil")
def _pupil_feed(db: DbSession, principal: Principal, pupil_id: str) -> dict | None:
    pupil = db.get(Pupil, pupil_id)
    if pupil is None:
        return None
    if principal.pupil is not None:
        return _out(pupil).model_dump(mode="json") if principal.pupil.id == pupil.id else None
    if not ts.can_manage_pupils(ts.member_role(db, principal, pupil.project_id)):
        return None
    return _out(pupil).model_dump(mode="json")


def _managed_pupil(db: DbSession, principal: Principal, pupil_id: str, *, write: bool) -> Pupil:
    """A pupil of a TwinSpace where the caller manages pupils (404 when not visible)."""
    pupil = db.get(Pupil, pupil_id) if 0 < len(pupil_id) <= 36 else None
    if pupil is None:
        raise NotFound("pupil")
    try:
        _project, role = ts.twinspace_for(db, principal, pupil.project_id, write=write)
    except NotFound:
        raise NotFound("pupil") from None
    if principal.pupil is not None:
        raise NotFound("pupil")
    if not ts.can_manage_pupils(role):
        raise Forbidden("Only the project's teachers manage pupil accounts.")
    return pupil


def _revoke(db: DbSession, pupil_id: str) -> None:
    security.revoke_subject(db, "pupil", pupil_id)


@router.get("/projects/{project_id}/pupils", response_model=PupilList)
def list_pupils(
    project_id: str,
    principal: Principal = Depends(twinspace_principal),
    db: DbSession = Depends(get_db),
):
    """The project's pupil accounts (never their codes). Teachers only."""
    project, role = ts.twinspace_for(db, principal, project_id)
    if not ts.can_manage_pupils(role):
        raise Forbidden("Only the project's teachers see the pupil accounts.")
    rows = db.scalars(
        select(Pupil).where(Pupil.project_id == project.id).order_by(Pupil.created_at, Pupil.id)
    )
    return PupilList(items=[_out(p) for p in rows])


@router.post(
    "/projects/{project_id}/pupils",
    status_code=201,
    response_model=PupilsCreated,
    openapi_extra={"x-secret-response": True},
)
def create_pupils(
    project_id: str,
    body: PupilsCreate,
    response: Response,
    principal: Principal = Depends(twinspace_principal),
    db: DbSession = Depends(get_db),
):
    """Make pupil accounts from a list of nicknames (1 to 100). Each answer item carries the
    pupil's activation code: print the sheet now, it is not shown again."""
    project, role = ts.twinspace_for(db, principal, project_id, write=True)
    if not ts.can_manage_pupils(role):
        raise Forbidden("Only the project's teachers create pupil accounts.")
    existing = len(db.scalars(select(Pupil.id).where(Pupil.project_id == project.id)).all())
    if existing + len(body.nicknames) > MAX_PUPILS:
        raise DomainError(
            "too_many_pupils",
            f"A TwinSpace has at most {MAX_PUPILS} pupil accounts; it has {existing}.",
            field="nicknames",
            status=409,
        )
    taken: set[str] = set()
    created = []
    for nickname in body.nicknames:
        code = new_code()
        pupil = Pupil(
            project_id=project.id,
            username=_username(db, taken),
            nickname=nickname,
            code_hash=security.hash_password(normalise_code(code)),
            role=body.role,
            created_by=principal.user.id,
        )
        db.add(pupil)
        created.append((pupil, code))
    db.flush()
    for pupil, _code in created:
        _record(db, pupil)
    response.headers["Location"] = f"/projects/{project.id}/pupils"
    response.headers["Cache-Control"] = "no-store"
    return PupilsCreated(items=[_with_code(p, c) for p, c in created])


@router.post(
    "/pupils/{pupil_id}/reset-code",
    response_model=PupilWithCode,
    openapi_extra={"x-secret-response": True},
)
def reset_code(
    pupil_id: str,
    response: Response,
    principal: Principal = Depends(twinspace_principal),
    db: DbSession = Depends(get_db),
):
    """A new activation code; the old one and every session of the pupil stop working."""
    pupil = _managed_pupil(db, principal, pupil_id, write=True)
    code = new_code()
    pupil.code_hash = security.hash_password(normalise_code(code))
    _revoke(db, pupil.id)
    db.flush()
    response.headers["Cache-Control"] = "no-store"
    return _with_code(pupil, code)


@router.patch("/pupils/{pupil_id}", response_model=PupilOut)
def patch_pupil(
    pupil_id: str,
    body: PupilPatch,
    principal: Principal = Depends(twinspace_principal),
    db: DbSession = Depends(get_db),
):
    """Switch between pupil (reads published pages) and pupil admin (edits pages)."""
    pupil = _managed_pupil(db, principal, pupil_id, write=True)
    if pupil.role != body.role:
        pupil.role = body.role
        db.flush()
        _record(db, pupil)
    return _out(pupil)


@router.delete("/pupils/{pupil_id}", status_code=204)
def delete_pupil(
    pupil_id: str,
    principal: Principal = Depends(twinspace_principal),
    db: DbSession = Depends(get_db),
):
    """Remove a pupil account; its sessions end at once. Allowed in a closed project too, so
    pupil accounts can be erased once the project is over."""
    pupil = _managed_pupil(db, principal, pupil_id, write=False)
    _revoke(db, pupil.id)
    _record(db, pupil, "delete")
    db.delete(pupil)
    return Response(status_code=204)


@router.get("/pupils/me", response_model=PupilOut)
def pupil_me(principal: Principal = Depends(current_principal)):
    """The signed-in pupil, with the one project whose TwinSpace they can reach."""
    if principal.pupil is None:
        raise Forbidden("Only pupil accounts have this.", code="not_a_pupil")
    return _out(principal.pupil)


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/pupil-login",
    status_code=201,
    response_model=TokenPair,
    openapi_extra={"x-secret-response": True},
)
def pupil_login(
    body: PupilLogin, request: Request, response: Response, db: DbSession = Depends(get_db)
):
    """Pupil sign-in with username and activation code. Unknown username and wrong code get
    the same answer; failures are rate-limited per username and per address."""
    username = body.username.strip().lower()
    user_key, address_key = f"pupil:{username}", f"ip:{_client_address(request)}"
    if (
        security.failures(db, user_key) >= security.MAX_FAILURES_PER_ACCOUNT
        or security.failures(db, address_key) >= security.MAX_FAILURES_PER_ADDRESS
    ):
        raise DomainError(
            "too_many_attempts",
            "Too many failed sign-ins; wait 15 minutes and try again.",
            status=429,
            headers={"Retry-After": str(int(security.RATE_WINDOW.total_seconds()))},
        )
    pupil = db.scalar(select(Pupil).where(Pupil.username == username))
    if pupil is not None and pupil.expires_at is not None and pupil.expires_at <= clock.now():
        pupil = None
    if not security.verify_password(pupil.code_hash if pupil else None, normalise_code(body.code)):
        db.rollback()
        with request.app.state.sessionmaker() as side, side.begin():
            security.record_failure(side, user_key, address_key)
        raise Unauthorized(BAD_CREDENTIALS, code="invalid_credentials")
    security.clear_failures(db, user_key)
    session, access, refresh = security.issue_session(db, "pupil", pupil.id)
    response.headers["Location"] = "/pupils/me"
    return _tokens(session, access, refresh)


def _tokens(session: Session, access: str, refresh: str) -> TokenPair:
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        expires_in=int(security.ACCESS_TTL.total_seconds()),
        pupil_id=session.subject_id,
    )
