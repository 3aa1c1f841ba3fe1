"""The app's link to one server: the API client, stored sign-in, and connectivity.

Screens call this, never the HTTP client or the credential store directly, so they stay the
same whether the server is the embedded one, a remote one, or (in tests) an in-process app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from esep_tui import paths
from esep_tui.settings import EMBEDDED, Settings, server_identity

if TYPE_CHECKING:
    import httpx

    from api_client.http import ApiClient
    from api_client.models.auth import AccountOut, TokenPair
    from esep_tui.embedded import EmbeddedServer

log = logging.getLogger("esep_tui.connection")

# the ASGI transport in tests needs some base URL; nothing resolves it
IN_PROCESS_URL = "http://esep.invalid"


def _credentials():
    """The credential store, or None while it cannot be imported (tokens then stay in memory)."""
    try:
        from esep_tui import credentials
    except ImportError:
        return None
    return credentials


def storage_kind() -> str:
    """Where tokens are kept: shown in Settings."""
    store = _credentials()
    if store is None or not hasattr(store, "storage_kind"):
        return "memory (not kept after exit)"
    try:
        return str(store.storage_kind())
    except Exception:
        return "unknown"


class StoredTokens:
    """The client's token provider: memory first, persisted per (server, account)."""

    def __init__(self, identity: str):
        self.identity = identity
        self.account: str | None = None
        self._pair: TokenPair | None = None

    def get(self) -> TokenPair | None:
        return self._pair

    def set(self, tokens: TokenPair) -> None:
        self._pair = tokens
        store = _credentials()
        if store is not None and self.account:
            try:
                store.save(self.identity, self.account, tokens)
            except Exception as exc:  # the session still works; it is just not remembered
                log.warning("could not store the sign-in: %s", type(exc).__name__)

    def clear(self) -> None:
        self._pair = None
        store = _credentials()
        if store is not None and self.account:
            try:
                store.delete(self.identity, self.account)
            except Exception as exc:
                log.warning("could not remove the stored sign-in: %s", type(exc).__name__)

    def load(self, account: str) -> bool:
        self.account = account
        store = _credentials()
        if store is None:
            return False
        try:
            pair = store.load(self.identity, account)
        except Exception as exc:
            log.warning("could not read the stored sign-in: %s", type(exc).__name__)
            return False
        if pair is None:
            return False
        if isinstance(pair, dict):
            from api_client.models.auth import TokenPair

            pair = TokenPair.model_validate(pair)
        self._pair = pair
        return True

    def __repr__(self) -> str:
        return f"StoredTokens({self.identity!r}, signed_in={self._pair is not None})"


def forget_tokens(settings: Settings, identities: list[str]) -> list[str]:
    """Remove every stored sign-in for these servers; returns "account on server" lines."""
    store = _credentials()
    removed: list[str] = []
    if store is None:
        return removed
    for identity in identities:
        try:
            if hasattr(store, "logout"):
                accounts = store.logout(identity)
            else:
                account = settings.last_account.get(identity)
                accounts = [account] if account and store.delete(identity, account) else []
        except Exception as exc:
            log.warning("could not remove a stored sign-in: %s", type(exc).__name__)
            continue
        removed.extend(f"{account} on {identity}" for account in accounts)
    return removed


def fallback_notice() -> str | None:
    """The one-time "tokens are in a private file" message, if it is due."""
    store = _credentials()
    notice = getattr(store, "fallback_notice", None)
    if notice is None:
        return None
    try:
        return notice()
    except Exception:
        return None


def remove_replicas(identity: str) -> list:
    """Delete every local replica of one server (``demo reset``)."""
    folder = paths.replica_path(identity, "any", create=False).parent
    if not folder.exists():
        return []
    files = [p for p in folder.rglob("*") if p.is_file()]
    shutil.rmtree(folder)
    return files


def _field_error(exc: Exception):
    """A request the client refused to send (pydantic validation) as the server would say it."""
    from api_client.errors import Rejected

    errors = exc.errors() if hasattr(exc, "errors") else []
    first = errors[0] if errors else {}
    field = ".".join(str(p) for p in first.get("loc", ())) or None
    message = str(first.get("msg", "Invalid value.")).removeprefix("Value error, ")
    kind = first.get("type", "")
    if first.get("input") == "":
        message = "This field is required."
    elif field == "email" and kind in ("string_pattern_mismatch", "string_too_short"):
        message = "Enter an email address like name@school.eu."
    elif field == "password" and kind == "string_too_short":
        minimum = first.get("ctx", {}).get("min_length")
        message = f"Use at least {minimum} characters." if minimum else message
    return Rejected(message, code="invalid", field=field, status=422)


class Connection:
    """One server. ``connect()`` runs in a worker; screens ``await ready()`` before calling."""

    def __init__(
        self,
        server: str | None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        embedded: EmbeddedServer | None = None,
    ):
        self.server = server
        self.identity = server_identity(server)
        self.transport = transport
        self.embedded = embedded
        self.tokens = StoredTokens(self.identity)
        self.client: ApiClient | None = None
        self.sync: Any = None
        self.failure: str | None = None
        self.work_offline = False
        self._ready = asyncio.Event()
        self._listeners: list[Callable[[str, int], None]] = []

    @property
    def is_embedded(self) -> bool:
        return self.identity == EMBEDDED

    @property
    def label(self) -> str:
        return "embedded server" if self.is_embedded else (self.server or "")

    async def connect(self) -> None:
        """Wait for the embedded server if there is one, then build the client."""
        try:
            if self.server:
                url = self.server
            elif self.embedded is not None:
                url = await asyncio.to_thread(self.embedded.wait, 600)
            else:
                url = IN_PROCESS_URL
            from api_client.http import ApiClient

            self.client = ApiClient(url, tokens=self.tokens, transport=self.transport)
            self.client.offline = self.work_offline
            self._attach_sync()
        except Exception as exc:
            self.failure = str(exc)
            raise
        finally:
            self._ready.set()

    async def settled(self) -> None:
        """Wait until the first connection attempt has finished, whatever its outcome."""
        await self._ready.wait()

    async def ready(self) -> ApiClient:
        await self._ready.wait()
        if self.client is None:
            from api_client.errors import Transient

            raise Transient(
                f"The server could not be started or reached: {self.failure}", code="network"
            )
        return self.client

    async def aclose(self) -> None:
        stop = getattr(self.sync, "stop", None) or getattr(self.sync, "aclose", None)
        if stop is not None:
            result = stop()
            if asyncio.iscoroutine(result):
                await result
        if self.client is not None:
            await self.client.aclose()

    # ------------------------------------------------------------ connectivity

    def on_connectivity(self, listener: Callable[[str, int], None]) -> None:
        """``listener(state, pending)`` on every change: online/offline/syncing/work_offline."""
        self._listeners.append(listener)

    def report(self, state: str, pending: int = 0) -> None:
        if self.work_offline and state in ("online", "offline"):
            state = "work_offline"
        for listener in list(self._listeners):
            listener(state, pending)

    def _attach_sync(self) -> None:
        """Hook the sync engine's connectivity monitor when the sync module offers one."""
        try:
            from esep_tui import sync as syncmod
        except ImportError:
            return
        engine_cls = getattr(syncmod, "SyncEngine", None)
        if engine_cls is None:
            return
        try:
            self.sync = engine_cls(self.client)
        except Exception as exc:  # it may need a replica, which needs an account
            log.info("sync engine not started yet: %s", type(exc).__name__)
            self.sync = None
            return
        monitor = getattr(self.sync, "monitor", self.sync)
        for name in ("subscribe", "add_listener", "on_change", "listen"):
            hook = getattr(monitor, name, None)
            if callable(hook):
                hook(self._from_monitor)
                break
        if self.work_offline:
            self.set_work_offline(True)

    def engine(self) -> Any:
        """The sync engine over the signed-in account's replica, made (and started) on first
        use; None before the client exists or while nobody is signed in."""
        account = self.tokens.account
        if getattr(self.sync, "account", None) == account and account:
            return self.sync
        if self.client is None or not account:
            return None
        from esep_tui.sync import SyncEngine
        from local_store.store import LocalStore

        self.sync = SyncEngine(LocalStore.for_account(self.identity, account), self.client)
        self.sync.account = account
        self.sync.monitor.subscribe(self._from_monitor)
        self.sync.set_work_offline(self.work_offline)
        with contextlib.suppress(RuntimeError):  # no running loop: the caller flushes
            self.sync.start()
        return self.sync

    def _from_monitor(self, *args) -> None:
        """Accept ``(state, pending)`` or one status object with ``.state``/``.pending``."""
        if len(args) >= 2:
            state, pending = args[0], args[1]
        elif args:
            status = args[0]
            state = getattr(status, "state", status)
            pending = getattr(status, "pending", 0)
        else:
            return
        self.report(str(getattr(state, "value", state)), int(pending or 0))

    async def check(self) -> bool:
        """Ask the server whether it is there; report the result."""
        client = await self.ready()
        if self.work_offline:
            self.report("work_offline")
            return False
        up = await client.probe()
        self.report("online" if up else "offline")
        return up

    def set_work_offline(self, flag: bool) -> None:
        self.work_offline = flag
        if self.client is not None:
            self.client.offline = flag
        switch = getattr(self.sync, "set_work_offline", None)
        if switch is not None:
            switch(flag)
        self.report("work_offline" if flag else "online")

    # ------------------------------------------------------------ EU Login

    async def _call(self, coro_fn, *args):
        from pydantic import ValidationError

        try:
            return await coro_fn(*args)
        except ValidationError as exc:
            raise _field_error(exc) from None

    async def sign_in(self, email: str, password: str) -> AccountOut:
        client = await self.ready()
        self.tokens.account = email.strip().lower()
        await self._call(client.sign_in, email.strip(), password)
        return await client.me()

    async def pupil_sign_in(self, username: str, code: str) -> str:
        client = await self.ready()
        self.tokens.account = f"pupil:{username.strip()}"
        await self._call(client.pupil_sign_in, username.strip(), code.strip())
        return username.strip()

    async def create_account(self, email: str, password: str, name: str) -> AccountOut:
        client = await self.ready()
        return await self._call(client.create_account, email.strip(), password, name.strip())

    async def restore(self, account: str) -> AccountOut | None:
        """Resume a stored sign-in; None when there is none or it has ended."""
        from api_client.errors import AuthError

        client = await self.ready()
        if not self.tokens.load(account):
            return None
        if account.startswith("pupil:"):
            return None
        try:
            return await client.me()
        except AuthError:
            self.tokens.clear()
            return None

    async def sign_out(self) -> None:
        client = await self.ready()
        await client.sign_out()
        self.tokens.account = None

    async def get(self, path: str) -> Any:
        client = await self.ready()
        return await client.request("GET", path)
