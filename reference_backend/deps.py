"""Request dependencies: the unit-of-work session and who is asking."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from reference_backend import clock
from reference_backend.errors import Forbidden, Unauthorized
from reference_backend.security import token_hash
from reference_backend.tables import Account, Pupil, Session, User


def get_db(request: Request) -> DbSession:
    """The request's session. The route class commits it (see ``uow``); handlers only flush."""
    return request.state.db


@dataclass
class Principal:
    session: Session
    account: Account | None = None
    user: User | None = None
    pupil: Pupil | None = None

    @property
    def id(self) -> str:
        if self.pupil is not None:
            return f"pupil:{self.pupil.id}"
        return f"account:{self.account.id}"

    @property
    def is_staff(self) -> bool:
        return self.user is not None and self.user.staff_country is not None


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def resolve_principal(db: DbSession, token: str) -> Principal | None:
    row = db.scalar(select(Session).where(Session.access_hash == token_hash(token)))
    if row is None or row.revoked_at is not None or row.access_expires <= clock.now():
        return None
    if row.subject_kind == "pupil":
        pupil = db.get(Pupil, row.subject_id)
        if pupil is None or (pupil.expires_at is not None and pupil.expires_at <= clock.now()):
            return None
        return Principal(session=row, pupil=pupil)
    account = db.get(Account, row.subject_id)
    if account is None or account.disabled:
        return None
    user = db.scalar(select(User).where(User.account_id == account.id))
    return Principal(session=row, account=account, user=user)


def optional_principal(request: Request, db: DbSession = Depends(get_db)) -> Principal | None:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = bearer_token(request)
    if token is None:
        return None
    principal = resolve_principal(db, token)
    request.state.principal = principal
    return principal


# Declares the bearer scheme in the OpenAPI document for every operation that needs a session
# (the token itself is read by ``optional_principal``); it never refuses on its own.
bearer_scheme = HTTPBearer(auto_error=False, description="An EU Login or pupil access token.")


def current_principal(
    principal: Principal | None = Depends(optional_principal),
    _declared: HTTPAuthorizationCredentials | None = Security(bearer_scheme),
) -> Principal:
    if principal is None:
        raise Unauthorized("Your session has expired or was signed out; sign in again.")
    return principal


def current_account(principal: Principal = Depends(current_principal)) -> Account:
    if principal.account is None:
        raise Forbidden("Pupil accounts cannot do this.")
    return principal.account


def current_user(principal: Principal = Depends(current_principal)) -> User:
    """A registered platform user (teacher or staff)."""
    if principal.account is None:
        raise Forbidden("Pupil accounts cannot do this.")
    if principal.user is None:
        raise Forbidden(
            "Finish the platform registration form first.", code="registration_incomplete"
        )
    if not principal.user.active:
        raise Forbidden("This account has been switched off by staff.", code="inactive")
    return principal.user


def current_staff(user: User = Depends(current_user)) -> User:
    if user.staff_country is None:
        raise Forbidden("Only National Support Organisation staff can do this.")
    return user


def current_pupil_or_user(principal: Principal = Depends(current_principal)) -> Principal:
    if principal.pupil is None and principal.user is None:
        raise Forbidden(
            "Finish the platform registration form first.", code="registration_incomplete"
        )
    return principal


def check_if_match(request: Request, version: int) -> None:
    """Refuse a write made against a stale copy: ``If-Match`` carries the version the client saw.

    Writes without ``If-Match`` are last-writer-wins; offline clients always send it.
    """
    from reference_backend.errors import DomainError

    header = request.headers.get("if-match")
    if header is None:
        return
    seen = {tag.strip().removeprefix("W/").strip('"') for tag in header.split(",")}
    if "*" in seen or str(version) in seen:
        return
    raise DomainError(
        "version_conflict",
        "Someone else changed this since you loaded it; review their version and retry.",
        status=412,
    )
