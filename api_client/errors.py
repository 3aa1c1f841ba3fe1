"""Typed exceptions for server answers and link failures.

Every server refusal carries the server's ``{code, message, field, reasons}``. The class says
what the caller should do about it:

* :class:`Rejected` (4xx): the request itself is at fault; fix the data and resend;
* :class:`Conflict` (409, 412): someone else changed the object, or it already exists;
* :class:`AuthError` (401, 403): sign in again, or the role does not allow it;
* :class:`Transient` (network errors, timeouts, 5xx, 429): try again later.

Messages never contain credentials: they are built from the server's error body and the
request's method and path only.
"""

from __future__ import annotations

from typing import Any

from api_client.models.common import Reason


class ApiError(Exception):
    """Base of every client-side failure talking to the server."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str = "error",
        field: str | None = None,
        reasons: list[Reason] | None = None,
        retry_after: float | None = None,
        method: str | None = None,
        path: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.reasons: list[Reason] = list(reasons or [])
        self.retry_after = retry_after
        self.method = method
        self.path = path

    def __str__(self) -> str:
        where = f" ({self.method} {self.path})" if self.method and self.path else ""
        status = f"{self.status} " if self.status is not None else ""
        return f"{status}{self.code}: {self.message}{where}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r}, field={self.field!r})"
        )

    def as_dict(self) -> dict[str, Any]:
        """The server's reason, as the outbox stores it and screens show it."""
        return {
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "field": self.field,
            "reasons": [r.model_dump() for r in self.reasons],
        }


class Rejected(ApiError):
    """A 4xx answer: the request is wrong as sent (validation, not found, not allowed)."""


class Conflict(ApiError):
    """409 or 412: the object exists already, or changed since the client saw it."""


class AuthError(ApiError):
    """401 (signed out, the session could not be refreshed) or 403 (not allowed)."""


class Transient(ApiError):
    """The link or the server failed for now: network error, timeout, 5xx, 429."""


class Offline(Transient):
    """The client is switched to work offline; nothing was sent."""


def error_for_status(
    status: int,
    body: Any,
    *,
    method: str | None = None,
    path: str | None = None,
    retry_after: float | None = None,
) -> ApiError:
    """Build the typed exception for an error answer from its status and JSON body."""
    code, message, field, reasons = f"http_{status}", f"The server answered {status}.", None, []
    if isinstance(body, dict):
        code = str(body.get("code") or code)[:200]
        message = str(body.get("message") or message)[:2000]
        field = body.get("field") if isinstance(body.get("field"), str) else None
        for raw in body.get("reasons") or []:
            try:
                reasons.append(Reason.model_validate(raw))
            except Exception:  # a reason from a newer server we cannot read
                continue
    if status in (401, 403):
        cls: type[ApiError] = AuthError
    elif status in (409, 412):
        cls = Conflict
    elif status == 429 or status >= 500:
        cls = Transient
    else:
        cls = Rejected
    return cls(
        message,
        status=status,
        code=code,
        field=field,
        reasons=reasons,
        retry_after=retry_after,
        method=method,
        path=path,
    )
