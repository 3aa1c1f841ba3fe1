"""Every refusal is a JSON ``{code, message, field?, reasons?}`` with a 4xx status."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api_client.models.common import ApiError, Reason

log = logging.getLogger("reference_backend")


class DomainError(Exception):
    """A rule said no. Raised anywhere in a request; rendered as ``ApiError``."""

    status = 400

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        reasons: list[Reason] | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.reasons = reasons or []
        self.headers = headers
        if status is not None:
            self.status = status

    def body(self) -> dict:
        return ApiError(
            code=self.code, message=self.message, field=self.field, reasons=self.reasons
        ).model_dump(exclude_none=True)


class NotFound(DomainError):
    status = 404

    def __init__(self, what: str = "object"):
        super().__init__("not_found", f"No such {what}, or you may not see it.")


class Forbidden(DomainError):
    status = 403

    def __init__(self, message: str = "Your role does not allow this.", code: str = "forbidden"):
        super().__init__(code, message)


class Unauthorized(DomainError):
    status = 401

    def __init__(self, message: str = "Sign in first.", code: str = "unauthorized"):
        super().__init__(code, message, headers={"WWW-Authenticate": "Bearer"})


class Conflict(DomainError):
    status = 409


class Invalid(DomainError):
    status = 422

    def __init__(self, field: str, message: str, code: str = "invalid"):
        super().__init__(code, message, field=field)


class NotAllowed(DomainError):
    """A state transition the rules refuse; carries every failing reason."""

    status = 409

    def __init__(self, code: str, message: str, reasons: list[Reason] | None = None):
        super().__init__(code, message, reasons=reasons)


def _field_of(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError):
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "Invalid request."}
        field = _field_of(tuple(first.get("loc", ())))
        msg = str(first.get("msg", "Invalid value.")).removeprefix("Value error, ")
        message = f"{field}: {msg}" if field else msg
        return JSONResponse(
            ApiError(code="invalid", message=message, field=field or None).model_dump(
                exclude_none=True
            ),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(
            exc.status_code, "http_error"
        )
        message = exc.detail if isinstance(exc.detail, str) else "Request refused."
        return JSONResponse(
            ApiError(code=code, message=message).model_dump(exclude_none=True),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(OperationalError)
    async def _busy(_request: Request, exc: OperationalError):
        # SQLite's single writer: a lock wait that ran out is worth a retry, not a crash
        if "locked" in str(exc.orig).lower() or "busy" in str(exc.orig).lower():
            return JSONResponse(
                ApiError(code="busy", message="The server is busy; retry in a moment.").model_dump(
                    exclude_none=True
                ),
                status_code=503,
                headers={"Retry-After": "1"},
            )
        return await _unexpected(_request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception):  # pragma: no cover - a bug
        log.exception("unexpected error", exc_info=exc)
        return JSONResponse(
            ApiError(
                code="server_error", message="The server hit an unexpected error; try again."
            ).model_dump(exclude_none=True),
            status_code=500,
        )
