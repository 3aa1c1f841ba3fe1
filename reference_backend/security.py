"""Passwords (Argon2id), opaque tokens (stored hashed), sign-in rate limits."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session as DbSession

from reference_backend import clock
from reference_backend.tables import LoginAttempt, Session, new_id

# OWASP's minimum for Argon2id: m=19 MiB, t=2, p=1. Hashing takes ~20 ms on a laptop core.
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16)

ACCESS_TTL = timedelta(minutes=15)
REFRESH_TTL = timedelta(days=30)

RATE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 10
MAX_FAILURES_PER_ADDRESS = 50

# Verified against when the account does not exist, so both answers cost the same time.
_DUMMY_HASH = HASHER.hash("not a real password, only for timing")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_session(db: DbSession, subject_kind: str, subject_id: str, family_id: str | None = None):
    """Create a session row; returns (session, access_token, refresh_token)."""
    access = "at_" + secrets.token_urlsafe(32)
    refresh = "rt_" + secrets.token_urlsafe(32)
    now = clock.now()
    row = Session(
        id=new_id(),
        family_id=family_id or new_id(),
        subject_kind=subject_kind,
        subject_id=subject_id,
        access_hash=token_hash(access),
        access_expires=now + ACCESS_TTL,
        refresh_hash=token_hash(refresh),
        refresh_expires=now + REFRESH_TTL,
    )
    db.add(row)
    db.flush()
    return row, access, refresh


def revoke_family(db: DbSession, family_id: str) -> None:
    now = clock.now()
    for row in db.scalars(
        select(Session).where(Session.family_id == family_id, Session.revoked_at.is_(None))
    ):
        row.revoked_at = now


def revoke_subject(db: DbSession, subject_kind: str, subject_id: str) -> None:
    """End every session of an account or pupil (disabled account, erased pupil)."""
    now = clock.now()
    for row in db.scalars(
        select(Session).where(
            Session.subject_kind == subject_kind,
            Session.subject_id == subject_id,
            Session.revoked_at.is_(None),
        )
    ):
        row.revoked_at = now


def failures(db: DbSession, key: str) -> int:
    since = clock.now() - RATE_WINDOW
    return (
        db.scalar(select(func.count()).where(LoginAttempt.key == key, LoginAttempt.at >= since))
        or 0
    )


def record_failure(db: DbSession, *keys: str) -> None:
    for key in keys:
        db.add(LoginAttempt(key=key))


def clear_failures(db: DbSession, key: str) -> None:
    db.execute(delete(LoginAttempt).where(LoginAttempt.key == key))
