"""The async HTTP client: one ``httpx.AsyncClient`` per server, built for slow, flaky links.

* timeouts suited to slow links (connect 10 s, read 30 s);
* gzip responses (``Accept-Encoding: gzip``);
* conditional GETs: the ETag and body of every GET are kept per URL, ``If-None-Match`` is sent,
  and a 304 answers from the kept body;
* a 401 refreshes the access token once (``POST /eulogin/sessions/refresh``) and retries;
* retries with exponential backoff and jitter, for idempotent requests only (GET, and writes
  that carry an ``Idempotency-Key``), on network errors, 5xx and 429 (``Retry-After`` honoured);
* every write carries an ``Idempotency-Key``: the caller's (outbox items) or a fresh one;
* byte accounting: bytes up and down as they cross the wire (compressed) and round trips.

Tokens are read from a provider (``get()/set()/clear()``) and never logged, put in exception
messages or shown in reprs.
"""

from __future__ import annotations

import asyncio
import email.utils
import json as jsonlib
import logging
import random
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import httpx
from pydantic import Field, TypeAdapter

from api_client.errors import ApiError, AuthError, Offline, Transient, error_for_status
from api_client.models.auth import AccountCreate, AccountOut, Credentials, TokenPair
from api_client.models.common import ChangeFeed

log = logging.getLogger("esep_tui.http")

T = TypeVar("T")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
REFRESH_PATH = "/eulogin/sessions/refresh"
# requests that must not trigger a refresh when they answer 401
_NO_REFRESH = frozenset({REFRESH_PATH, "/eulogin/sessions", "/pupil-login"})


class SessionTokens(TokenPair):
    """A token pair whose secrets never appear in its repr."""

    access_token: str = Field(repr=False)
    refresh_token: str = Field(repr=False)


class TokenProvider(Protocol):
    def get(self) -> TokenPair | None: ...
    def set(self, tokens: TokenPair) -> None: ...
    def clear(self) -> None: ...


class MemoryTokens:
    """Tokens kept in memory only (tests, short sessions)."""

    def __init__(self, tokens: TokenPair | None = None):
        self._tokens = tokens

    def get(self) -> TokenPair | None:
        return self._tokens

    def set(self, tokens: TokenPair) -> None:
        self._tokens = tokens

    def clear(self) -> None:
        self._tokens = None

    def __repr__(self) -> str:
        return f"MemoryTokens(signed_in={self._tokens is not None})"


@dataclass
class WireStats:
    """What crossed the wire: bytes as sent and received (compressed), and round trips."""

    bytes_up: int = 0
    bytes_down: int = 0
    round_trips: int = 0
    not_modified: int = 0  # 304 answers (a kept body reused)
    retries: int = 0
    started: float = field(default_factory=time.monotonic)

    def reset(self) -> None:
        self.bytes_up = self.bytes_down = self.round_trips = 0
        self.not_modified = self.retries = 0
        self.started = time.monotonic()

    def snapshot(self) -> dict[str, int]:
        return {
            "bytes_up": self.bytes_up,
            "bytes_down": self.bytes_down,
            "round_trips": self.round_trips,
            "not_modified": self.not_modified,
            "retries": self.retries,
        }


class EtagCache(Protocol):
    def get(self, url: str) -> tuple[str, bytes] | None: ...
    def put(self, url: str, etag: str, body: bytes) -> None: ...
    def clear(self) -> None: ...


class MemoryEtagCache:
    """ETag + body per URL, least recently used first out."""

    def __init__(self, max_entries: int = 512):
        self._items: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self._max = max_entries

    def get(self, url: str) -> tuple[str, bytes] | None:
        item = self._items.get(url)
        if item is not None:
            self._items.move_to_end(url)
        return item

    def put(self, url: str, etag: str, body: bytes) -> None:
        self._items[url] = (etag, body)
        self._items.move_to_end(url)
        while len(self._items) > self._max:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


@dataclass
class Result:
    """A successful answer: status, headers, decoded JSON (or None), and where it came from."""

    status: int
    headers: httpx.Headers
    data: Any
    from_cache: bool = False  # a 304: the body is the one kept from the last 200

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def location(self) -> str | None:
        return self.headers.get("location")


def _header_bytes(headers: httpx.Headers) -> int:
    return sum(len(k) + len(v) + 4 for k, v in headers.raw) + 2


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _decode(body: bytes) -> Any:
    if not body:
        return None
    try:
        return jsonlib.loads(body)
    except ValueError:
        return None


class ApiClient:
    """Talks to one server. Use as ``async with ApiClient(url, tokens=...) as api``."""

    def __init__(
        self,
        base_url: str,
        *,
        tokens: TokenProvider | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | float | None = None,
        user_agent: str = "esep-tui",
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        max_retry_after: float = 30.0,
        etag_cache: EtagCache | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ):
        self.base_url = base_url.rstrip("/")
        self.tokens: TokenProvider = tokens if tokens is not None else MemoryTokens()
        self.stats = WireStats()
        self.etags: EtagCache = etag_cache if etag_cache is not None else MemoryEtagCache()
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_retry_after = max_retry_after
        # "work offline": nothing leaves the machine while set
        self.offline = False
        self._sleep = sleep
        self._refresh_lock = asyncio.Lock()
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
            headers={
                "User-Agent": user_agent,
                "Accept": "application/json",
                "Accept-Encoding": "gzip",
            },
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"ApiClient({self.base_url!r}, offline={self.offline})"

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ core

    def _backoff(self, attempt: int) -> float:
        """Full jitter: a random wait up to base * 2^attempt, capped."""
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * 2**attempt))

    async def _exchange(self, request: httpx.Request) -> tuple[httpx.Response, bytes]:
        """One round trip, counted as it crosses the wire."""
        if self.offline:
            raise Offline(
                "Working offline; nothing was sent.",
                code="offline",
                method=request.method,
                path=request.url.path,
            )
        line = len(request.method) + len(request.url.raw_path) + 12
        self.stats.bytes_up += line + _header_bytes(request.headers) + len(request.content)
        self.stats.round_trips += 1
        try:
            response = await self._http.send(request, stream=True)
            try:
                body = await response.aread()
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise Transient(
                "The server took too long to answer.",
                code="timeout",
                method=request.method,
                path=request.url.path,
            ) from exc
        except httpx.TransportError as exc:
            raise Transient(
                "The server cannot be reached.",
                code="network",
                method=request.method,
                path=request.url.path,
            ) from exc
        self.stats.bytes_down += (
            15 + len(response.reason_phrase or "") + _header_bytes(response.headers)
        )
        self.stats.bytes_down += response.num_bytes_downloaded
        return response, body

    def _build(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: dict | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> httpx.Request:
        merged: dict[str, str] = dict(headers or {})
        tokens = self.tokens.get() if auth else None
        if tokens is not None:
            merged["Authorization"] = f"Bearer {tokens.access_token}"
        if content is None and json is not None:
            content = jsonlib.dumps(json, separators=(",", ":"), ensure_ascii=False).encode()
            merged.setdefault("Content-Type", "application/json")
        return self._http.build_request(
            method, path, content=content, params=params, headers=merged
        )

    async def _refresh_tokens(self, stale_access: str | None) -> bool:
        """Trade the refresh token for a new pair, once per stale access token."""
        async with self._refresh_lock:
            current = self.tokens.get()
            if current is None:
                return False
            if stale_access is not None and current.access_token != stale_access:
                return True  # another request refreshed already
            request = self._build(
                "POST",
                REFRESH_PATH,
                json={"refresh_token": current.refresh_token},
                headers={"Idempotency-Key": str(uuid.uuid4())},
                auth=False,
            )
            try:
                response, body = await self._exchange(request)
            except Transient:
                raise
            if response.status_code >= 400:
                log.info("session refresh refused (%s); signing out", response.status_code)
                self.tokens.clear()
                self.etags.clear()
                return False
            pair = SessionTokens.model_validate(_decode(body))
            # keep the subject if the server left it out
            if pair.account_id is None and pair.pupil_id is None:
                pair = pair.model_copy(
                    update={"account_id": current.account_id, "pupil_id": current.pupil_id}
                )
            self.tokens.set(pair)
            log.debug("session refreshed")
            return True

    async def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: dict | None = None,
        headers: dict[str, str] | None = None,
        idempotency_key: str | bool = True,
        if_match: int | str | None = None,
        retries: int | None = None,
        auth: bool = True,
        conditional: bool = True,
    ) -> Result:
        """Send one request with every behaviour above; return the answer or raise ApiError.

        ``idempotency_key``: a string to use (outbox items), True for a fresh key, False for
        none (such a write is never retried). ``if_match``: the version the caller saw.
        """
        method = method.upper()
        headers = dict(headers or {})
        if method in WRITE_METHODS and idempotency_key:
            key = idempotency_key if isinstance(idempotency_key, str) else str(uuid.uuid4())
            headers["Idempotency-Key"] = key
        if if_match is not None:
            headers["If-Match"] = f'"{if_match}"' if isinstance(if_match, int) else if_match
        retryable = method in IDEMPOTENT_METHODS or "Idempotency-Key" in headers
        budget = self.max_retries if retries is None else retries
        refreshed = False
        attempt = 0
        while True:
            request = self._build(
                method, path, json=json, content=content, params=params, headers=headers, auth=auth
            )
            cache_key = str(request.url)
            kept = self.etags.get(cache_key) if method == "GET" and conditional else None
            if kept is not None:
                request.headers["If-None-Match"] = kept[0]
            try:
                response, body = await self._exchange(request)
            except Offline:
                raise
            except Transient:
                if retryable and attempt < budget:
                    await self._sleep(self._backoff(attempt))
                    attempt += 1
                    self.stats.retries += 1
                    continue
                raise
            status = response.status_code
            log.debug("%s %s -> %s", method, request.url.path, status)
            if status == 304 and kept is not None:
                self.stats.not_modified += 1
                return Result(200, response.headers, _decode(kept[1]), from_cache=True)
            if status == 401 and auth and not refreshed and path not in _NO_REFRESH:
                stale = request.headers.get("authorization", "").partition(" ")[2] or None
                refreshed = True
                if self.tokens.get() is not None and await self._refresh_tokens(stale):
                    continue
            if status < 400:
                if method == "GET" and conditional and response.headers.get("etag"):
                    self.etags.put(cache_key, response.headers["etag"], body)
                return Result(status, response.headers, _decode(body))
            wait = _retry_after(response.headers.get("retry-after"))
            error = error_for_status(
                status, _decode(body), method=method, path=request.url.path, retry_after=wait
            )
            if (
                isinstance(error, Transient)
                and retryable
                and attempt < budget
                and (wait is None or wait <= self.max_retry_after)
            ):
                await self._sleep(wait if wait is not None else self._backoff(attempt))
                attempt += 1
                self.stats.retries += 1
                continue
            raise error

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict | None = None,
        model: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Send and return the JSON answer, validated as ``model`` (a type or ``list[X]``)."""
        if hasattr(json, "model_dump"):
            json = json.model_dump(mode="json", exclude_unset=True)
        result = await self.send(method, path, json=json, params=params, **kwargs)
        if model is None:
            return result.data
        return TypeAdapter(model).validate_python(result.data)

    async def probe(self) -> bool:
        """True when the server answers at all (any HTTP status)."""
        try:
            await self._exchange(self._http.build_request("HEAD", "/", headers={}))
        except ApiError:
            return False
        return True

    # ------------------------------------------------------------------ EU Login

    async def create_account(self, email: str, password: str, name: str) -> AccountOut:
        body = AccountCreate(email=email, password=password, name=name)
        return await self.request(
            "POST", "/eulogin/accounts", json=body, model=AccountOut, auth=False
        )

    async def sign_in(self, email: str, password: str) -> SessionTokens:
        body = Credentials(email=email, password=password)
        pair = await self.request(
            "POST", "/eulogin/sessions", json=body, model=SessionTokens, auth=False
        )
        self.tokens.set(pair)
        self.etags.clear()
        return pair

    async def pupil_sign_in(self, username: str, code: str, **extra: Any) -> SessionTokens:
        """Pupil login to one TwinSpace (pseudonymous username + activation code)."""
        body = {"username": username, "code": code, **extra}
        pair = await self.request(
            "POST", "/pupil-login", json=body, model=SessionTokens, auth=False
        )
        self.tokens.set(pair)
        self.etags.clear()
        return pair

    async def refresh(self) -> bool:
        """Refresh the session now; False when it had ended (tokens then cleared)."""
        current = self.tokens.get()
        return await self._refresh_tokens(current.access_token if current else None)

    async def sign_out(self) -> None:
        """End the session on the server (if reachable) and forget the tokens."""
        try:
            if self.tokens.get() is not None:
                await self.send("DELETE", "/eulogin/sessions/current", retries=0)
        except (AuthError, Transient):
            pass
        finally:
            self.tokens.clear()
            self.etags.clear()

    async def me(self) -> AccountOut:
        return await self.request("GET", "/eulogin/me", model=AccountOut)

    # ------------------------------------------------------------------ sync

    async def changes(self, since: int = 0, limit: int = 500) -> ChangeFeed:
        return await self.request(
            "GET",
            "/sync/changes",
            params={"since": since, "limit": limit},
            model=ChangeFeed,
            conditional=False,
        )
