"""One unit of work per request, plus the behaviours offline clients rely on.

Every route uses :class:`UnitOfWorkRoute`:

* the request gets one database session; handlers only ``flush``. The session commits when the
  response status is below 400 and rolls back otherwise, so a refusal never half-applies;
* writes carrying ``Idempotency-Key`` are recorded: the same key and body replay the first
  response (``Idempotent-Replayed: true``), the same key with another body answers 422, and a
  request still in flight answers 409. The record is completed in the same transaction as the
  work itself, so a crash leaves either both or neither. Responses that carry secrets (tokens,
  pupils' activation codes) are marked ``x-secret-response`` on their route and are never
  stored: a replay of one answers 409 ``secret_not_replayed`` instead;
* GET responses carry a weak ETag of their body and answer 304 to a matching
  ``If-None-Match``: a client on a slow link re-validates its cache for a few hundred bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from reference_backend import clock
from reference_backend.errors import Conflict, DomainError
from reference_backend.security import token_hash
from reference_backend.tables import IdempotencyRecord, Session

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
IN_FLIGHT_TAKEOVER = timedelta(seconds=60)
MAX_KEY = 200
# headers worth replaying; the rest are recomputed by the server stack
_REPLAYED_HEADERS = ("content-type", "location", "etag")


def _etag_of(body: bytes) -> str:
    return 'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _matches(if_none_match: str, etag: str) -> bool:
    wanted = {tag.strip() for tag in if_none_match.split(",")}
    bare = etag.removeprefix("W/")
    return "*" in wanted or etag in wanted or bare in wanted or f"W/{bare}" in wanted


def _principal_key(request: Request, sessionmaker) -> str:
    """Idempotency records are per signed-in subject (stable across token refresh)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return "anon"
    with sessionmaker() as db:
        row = db.scalar(select(Session).where(Session.access_hash == token_hash(token.strip())))
        if row is None:
            return "anon"
        return f"{row.subject_kind}:{row.subject_id}"


class _Idempotency:
    def __init__(self, principal: str, key: str, method: str, path: str, body_hash: str):
        self.principal, self.key = principal, key
        self.method, self.path, self.body_hash = method, path, body_hash

    def claim(self, sessionmaker) -> Response | None:
        """Insert the in-flight record, or answer from an earlier one."""
        with sessionmaker() as db, db.begin():
            rec = db.get(IdempotencyRecord, (self.principal, self.key))
            if rec is not None:
                if rec.body_hash != self.body_hash:
                    raise DomainError(
                        "idempotency_key_reused",
                        "This Idempotency-Key was already used for a different request.",
                        field="Idempotency-Key",
                        status=422,
                    )
                if rec.state == "done":
                    headers = dict(rec.response_headers or {})
                    headers["Idempotent-Replayed"] = "true"
                    return Response(
                        content=rec.response_body or b"",
                        status_code=rec.status_code or 200,
                        headers=headers,
                    )
                if clock.now() - rec.created_at < IN_FLIGHT_TAKEOVER:
                    raise Conflict(
                        "request_in_flight",
                        "The same request is still being processed; retry in a moment.",
                    )
                rec.created_at = clock.now()  # its worker died; take it over
                return None
            db.add(
                IdempotencyRecord(
                    principal=self.principal,
                    key=self.key,
                    method=self.method,
                    path=self.path,
                    body_hash=self.body_hash,
                    state="in_flight",
                )
            )
            try:
                db.flush()
            except IntegrityError:
                raise Conflict(
                    "request_in_flight",
                    "The same request is still being processed; retry in a moment.",
                ) from None
        return None

    def complete(self, db, response: Response, *, secret: bool = False) -> None:
        rec = db.get(IdempotencyRecord, (self.principal, self.key))
        if rec is None:  # pragma: no cover - claimed above
            return
        rec.state = "done"
        if secret:
            rec.status_code = 409
            rec.response_body = json.dumps(
                {
                    "code": "secret_not_replayed",
                    "message": "This request already succeeded; what it returned is shown "
                    "only once. Sign in again, or reset the codes, to get new ones.",
                }
            ).encode()
            rec.response_headers = {"content-type": "application/json"}
            return
        rec.status_code = response.status_code
        rec.response_body = bytes(response.body)
        rec.response_headers = {
            k: v for k, v in response.headers.items() if k.lower() in _REPLAYED_HEADERS
        }

    def release(self, sessionmaker) -> None:
        with sessionmaker() as db, db.begin():
            db.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.principal == self.principal,
                    IdempotencyRecord.key == self.key,
                    IdempotencyRecord.state == "in_flight",
                )
            )


class UnitOfWorkRoute(APIRoute):
    def get_route_handler(self) -> Callable:
        original = super().get_route_handler()
        secret = bool((self.openapi_extra or {}).get("x-secret-response"))

        async def handler(request: Request) -> Response:
            state = request.app.state
            method = request.method.upper()
            writes = method in WRITE_METHODS
            maker = state.sessionmaker if writes else state.read_sessionmaker

            idem = None
            key = request.headers.get("idempotency-key")
            if writes and key is not None:
                key = key.strip()
                if not key or len(key) > MAX_KEY:
                    raise DomainError(
                        "invalid",
                        f"Idempotency-Key must be 1 to {MAX_KEY} characters.",
                        field="Idempotency-Key",
                        status=422,
                    )
                body = await request.body()
                digest = hashlib.sha256(
                    method.encode() + b" " + request.url.path.encode() + b"\n" + body
                ).hexdigest()
                principal = await run_in_threadpool(_principal_key, request, state.sessionmaker)
                idem = _Idempotency(principal, key, method, request.url.path, digest)
                replay = await run_in_threadpool(idem.claim, state.sessionmaker)
                if replay is not None:
                    return replay

            db = maker()
            request.state.db = db
            try:
                response = await original(request)
                if response.status_code < 400:
                    if idem is not None:
                        idem.complete(db, response, secret=secret)
                    # not in a thread: a cancellation must not interleave with the commit
                    db.commit()
                else:
                    db.rollback()
                    if idem is not None:
                        idem.release(state.sessionmaker)
            except GeneratorExit:
                # the coroutine is being destroyed with its event loop: a worker thread may
                # still be using the session, so leave it to the pool's reset-on-return
                raise
            except BaseException:
                # synchronously: when the request is cancelled (client gone, server stopping) an
                # await here would be cancelled too and leave the connection "idle in
                # transaction", holding its locks
                db.rollback()
                if idem is not None:
                    idem.release(state.sessionmaker)
                db.close()
                raise
            db.close()

            if method == "GET" and response.status_code == 200 and hasattr(response, "body"):
                etag = response.headers.get("etag") or _etag_of(bytes(response.body))
                response.headers["etag"] = etag
                inm = request.headers.get("if-none-match")
                if inm and _matches(inm, etag):
                    return Response(status_code=304, headers={"etag": etag})
            return response

        return handler
