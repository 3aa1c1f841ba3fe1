"""Simulated EU Login: accounts, sign-in with rotating refresh tokens, sign-out."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from api_client.models.auth import (
    AccountCreate,
    AccountOut,
    Credentials,
    LegacyMatch,
    RefreshRequest,
    TokenPair,
)
from api_client.models.common import ApiError
from reference_backend import clock, security
from reference_backend.deps import Principal, current_account, current_principal, get_db
from reference_backend.errors import Conflict, DomainError, Forbidden, Unauthorized
from reference_backend.tables import Account, LegacyAccount, Session, User
from reference_backend.uow import UnitOfWorkRoute

ERRORS = {
    401: {"model": ApiError},
    403: {"model": ApiError},
    409: {"model": ApiError},
    422: {"model": ApiError},
    429: {"model": ApiError},
}
router = APIRouter(
    prefix="/eulogin", tags=["EU Login"], route_class=UnitOfWorkRoute, responses=ERRORS
)

BAD_CREDENTIALS = "Wrong email or password."


def account_out(db: DbSession, account: Account) -> AccountOut:
    user = db.scalar(select(User).where(User.account_id == account.id))
    legacy = None
    if user is None:
        row = db.scalar(
            select(LegacyAccount).where(
                LegacyAccount.email == account.email, LegacyAccount.migrated_to.is_(None)
            )
        )
        if row is not None:
            legacy = LegacyMatch.model_validate(row)
    return AccountOut(
        id=account.id,
        email=account.email,
        name=account.name,
        created_at=account.created_at,
        user_id=user.id if user else None,
        legacy=legacy,
    )


def _tokens(session: Session, access: str, refresh: str) -> TokenPair:
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        expires_in=int(security.ACCESS_TTL.total_seconds()),
        account_id=session.subject_id if session.subject_kind == "account" else None,
        pupil_id=session.subject_id if session.subject_kind == "pupil" else None,
    )


@router.post("/accounts", status_code=201, response_model=AccountOut)
def create_account(body: AccountCreate, response: Response, db: DbSession = Depends(get_db)):
    """Create an EU Login account. Use the email of any old eTwinning account, so it links."""
    password_hash = security.hash_password(body.password)  # before the write lock is taken
    if db.scalar(select(Account.id).where(Account.email == body.email)) is not None:
        raise Conflict(
            "email_taken",
            "An EU Login account with this email exists; sign in with it instead.",
            field="email",
        )
    account = Account(email=body.email, password_hash=password_hash, name=body.name)
    db.add(account)
    try:
        db.flush()
    except IntegrityError:
        raise Conflict("email_taken", "An EU Login account with this email exists.") from None
    response.headers["Location"] = "/eulogin/me"
    return account_out(db, account)


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/sessions",
    status_code=201,
    response_model=TokenPair,
    openapi_extra={"x-secret-response": True},
)
def sign_in(
    body: Credentials, request: Request, response: Response, db: DbSession = Depends(get_db)
):
    """Sign in. Unknown email and wrong password get the same answer, in the same time."""
    email = body.email.strip().lower()
    account_key, address_key = f"account:{email}", f"ip:{_client_address(request)}"
    if (
        security.failures(db, account_key) >= security.MAX_FAILURES_PER_ACCOUNT
        or security.failures(db, address_key) >= security.MAX_FAILURES_PER_ADDRESS
    ):
        raise DomainError(
            "too_many_attempts",
            "Too many failed sign-ins; wait 15 minutes and try again.",
            status=429,
            headers={"Retry-After": str(int(security.RATE_WINDOW.total_seconds()))},
        )
    account = db.scalar(select(Account).where(Account.email == email))
    stored_hash = account.password_hash if account else None
    account_id = account.id if account else None
    # end the transaction while hashing: on SQLite it holds the one write lock
    db.rollback()
    if not security.verify_password(stored_hash, body.password):
        # kept even though this request rolls back: a separate, committed transaction (the
        # request's own transaction is ended first; SQLite has one writer at a time)
        db.rollback()
        with request.app.state.sessionmaker() as side, side.begin():
            security.record_failure(side, account_key, address_key)
        raise Unauthorized(BAD_CREDENTIALS, code="invalid_credentials")
    account = db.get(Account, account_id)
    if account is None or account.disabled:
        raise Forbidden("This EU Login account has been disabled.", code="account_disabled")
    security.clear_failures(db, account_key)
    if security.HASHER.check_needs_rehash(account.password_hash):
        account.password_hash = security.hash_password(body.password)
    session, access, refresh = security.issue_session(db, "account", account.id)
    response.headers["Location"] = "/eulogin/me"
    return _tokens(session, access, refresh)


@router.post(
    "/sessions/refresh",
    status_code=201,
    response_model=TokenPair,
    openapi_extra={"x-secret-response": True},
)
def refresh(
    body: RefreshRequest, request: Request, response: Response, db: DbSession = Depends(get_db)
):
    """Trade a refresh token for a new pair. A refresh token works once: reuse ends the family."""
    row = db.scalar(
        select(Session).where(Session.refresh_hash == security.token_hash(body.refresh_token))
    )
    if row is not None and row.rotated_at is not None:
        # someone replayed an old refresh token: end every session of this sign-in
        family = row.family_id
        db.rollback()
        with request.app.state.sessionmaker() as side, side.begin():
            security.revoke_family(side, family)
        raise Unauthorized(
            "This sign-in was ended for safety (an old token was reused); sign in again.",
            code="refresh_reused",
        )
    if row is None or row.revoked_at is not None or row.refresh_expires <= clock.now():
        raise Unauthorized("Your session has ended; sign in again.", code="session_ended")
    row.rotated_at = clock.now()
    row.revoked_at = clock.now()
    session, access, new_refresh = security.issue_session(
        db, row.subject_kind, row.subject_id, family_id=row.family_id
    )
    response.headers["Location"] = "/eulogin/me"
    return _tokens(session, access, new_refresh)


@router.delete("/sessions/current", status_code=204)
def sign_out(principal: Principal = Depends(current_principal), db: DbSession = Depends(get_db)):
    """Sign out: this session and its refresh token stop working at once."""
    security.revoke_family(db, principal.session.family_id)
    return Response(status_code=204)


@router.get("/me", response_model=AccountOut)
def me(account: Account = Depends(current_account), db: DbSession = Depends(get_db)):
    return account_out(db, account)
