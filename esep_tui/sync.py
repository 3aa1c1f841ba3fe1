"""The sync engine: replica-first reads, optimistic writes through the outbox, the change feed.

* :meth:`SyncEngine.read` answers at once from the replica and refreshes in the background;
  subscribers hear about fresh data (:meth:`SyncEngine.subscribe`).
* :meth:`SyncEngine.write` applies the change to the replica, queues it in the outbox (its
  ``Idempotency-Key`` committed first) and returns; the flusher sends in order when online.
* Outcomes: transient -> retried later with backoff; rejected (4xx) -> kept for the user with
  the server's reason (:meth:`needs_attention`, :meth:`resend`, :meth:`discard`); conflict
  (409/412) -> kept with the server's current copy beside the user's. Nothing is dropped.
* :class:`ConnectivityMonitor` says online / offline / syncing and how many writes wait;
  :meth:`SyncEngine.set_work_offline` cuts the link on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api_client.errors import ApiError, AuthError, Conflict, Offline, Rejected, Transient
from api_client.http import ApiClient
from local_store.outbox import OutboxItem
from local_store.store import LocalStore

log = logging.getLogger("esep_tui.sync")

ONLINE, OFFLINE, SYNCING = "online", "offline", "syncing"
# a 409 that only means "the same request is still being processed": try again shortly
_TRANSIENT_CONFLICTS = frozenset({"request_in_flight"})


def new_id() -> str:
    """A client-made id for an object created offline (the server accepts it as the id)."""
    return str(uuid.uuid4())


@dataclass
class Snapshot:
    """The replica's copy: ``data`` is None when nothing was ever fetched."""

    data: Any
    fetched_at: float | None = None
    dirty: bool = False  # local writes not yet accepted by the server

    @property
    def found(self) -> bool:
        return self.data is not None


@dataclass
class Change:
    """What a subscriber is told: an entity (``id``) or a list query (``query``) changed."""

    kind: str
    id: str | None
    data: Any
    source: str  # "server" (a refresh), "feed" (the change feed), "local" (the user's write)
    query: str | None = None


@dataclass
class Attention:
    """A write the server refused or that conflicts: both sides, and the server's reason."""

    seq: int
    state: str  # rejected | conflict
    method: str
    path: str
    body: Any  # what the user wrote, kept so it can be fixed and resent
    entity: tuple[str, str] | None
    status: int | None
    code: str | None
    message: str | None
    field: str | None
    reasons: list[dict] = field(default_factory=list)
    server: Any = None  # the server's current copy (conflicts)
    server_version: int | None = None
    local: Any = None  # the replica's optimistic copy


class ConnectivityMonitor:
    """The state behind the always-visible indicator. ``subscribe(fn)``: fn(monitor)."""

    def __init__(self) -> None:
        self.state = OFFLINE
        self.pending = 0
        self.attention = 0
        self.work_offline = False
        self.signed_out = False  # the server wants a new sign-in before writes can go
        self.last_error: str | None = None
        self._listeners: list[Callable[[ConnectivityMonitor], Any]] = []

    def __repr__(self) -> str:
        return f"ConnectivityMonitor({self.label!r})"

    @property
    def label(self) -> str:
        base = "working offline" if self.work_offline else self.state
        if self.pending:
            base += f" · {self.pending} pending"
        if self.attention:
            base += f" · {self.attention} need attention"
        return base

    def subscribe(self, fn: Callable[[ConnectivityMonitor], Any]) -> Callable[[], None]:
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    def update(self, **values: Any) -> None:
        changed = False
        for name, value in values.items():
            if getattr(self, name) != value:
                setattr(self, name, value)
                changed = True
        if changed:
            for fn in list(self._listeners):
                try:
                    fn(self)
                except Exception:
                    log.exception("connectivity listener failed")


def _query_key(path: str, params: dict | None) -> str:
    if not params:
        return path
    items = sorted((k, str(v)) for k, v in params.items() if v is not None)
    return path + "?" + json.dumps(items, separators=(",", ":"), ensure_ascii=False)


class SyncEngine:
    def __init__(
        self,
        store: LocalStore,
        client: ApiClient,
        *,
        clock: Callable[[], float] = time.time,
        poll_interval: float = 60.0,
        probe_interval: float = 15.0,
        send_retries: int = 1,
        backoff_cap: float = 300.0,
    ):
        self.store = store
        self.client = client
        self.client.etags = store.http_cache  # revalidation survives restarts
        self.monitor = ConnectivityMonitor()
        self._clock = clock
        self.poll_interval = poll_interval
        self.probe_interval = probe_interval
        self.send_retries = send_retries
        self.backoff_cap = backoff_cap
        self._subscribers: list[tuple[str | None, Callable[[Change], Any]]] = []
        self._inflight: dict[str, asyncio.Task] = {}
        self._background: set[asyncio.Future] = set()
        self._flush_lock = asyncio.Lock()
        self._kick = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._last_pull = 0.0
        self.store.outbox.recover()
        self._count()

    def __repr__(self) -> str:
        return f"SyncEngine({self.store!r}, {self.monitor.label!r})"

    @property
    def work_offline(self) -> bool:
        return self.monitor.work_offline

    # ------------------------------------------------------------ subscribers

    def subscribe(self, fn: Callable[[Change], Any], kind: str | None = None) -> Callable[[], None]:
        """``fn(change)`` (plain or async) whenever data of ``kind`` (or any) changes."""
        entry = (kind, fn)
        self._subscribers.append(entry)
        return lambda: self._subscribers.remove(entry) if entry in self._subscribers else None

    def _notify(self, change: Change) -> None:
        for kind, fn in list(self._subscribers):
            if kind is not None and kind != change.kind:
                continue
            try:
                result = fn(change)
                if inspect.isawaitable(result):
                    task = asyncio.ensure_future(result)
                    self._background.add(task)
                    task.add_done_callback(self._background.discard)
            except Exception:
                log.exception("subscriber failed for %s", change.kind)

    def _count(self) -> None:
        outbox = self.store.outbox
        self.monitor.update(pending=outbox.pending_count(), attention=len(outbox.attention()))

    # ------------------------------------------------------------ reads

    def read(
        self,
        kind: str,
        id: str | None = None,
        *,
        path: str | None = None,
        params: dict | None = None,
        refresh: bool = True,
    ) -> Snapshot:
        """The replica's copy at once; with ``path``, a background refresh is scheduled."""
        snapshot = self._local(kind, id, path, params)
        if refresh and path is not None and not self.work_offline:
            self._spawn(kind, id, path, params)
        return snapshot

    async def fetch(
        self, kind: str, id: str | None = None, *, path: str, params: dict | None = None
    ) -> Snapshot:
        """Refresh now and return the copy (the replica's one when the server is out of reach)."""
        task = self._spawn(kind, id, path, params)
        if task is not None:
            await asyncio.shield(task)
        return self._local(kind, id, path, params)

    def _local(self, kind: str, id: str | None, path: str | None, params: dict | None):
        if id is not None:
            entity = self.store.get_entity(kind, id)
            if entity is None:
                return Snapshot(None)
            return Snapshot(entity.data, entity.fetched_at, entity.dirty)
        if path is None:
            return Snapshot([e.data for e in self.store.list_entities(kind)])
        cached = self.store.get_query(kind, _query_key(path, params))
        if cached is None:
            return Snapshot(None)
        return Snapshot(cached[0], cached[1])

    def _spawn(self, kind, id, path, params) -> asyncio.Task | None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return None
        key = f"{kind}|{id}|{_query_key(path, params)}"
        task = self._inflight.get(key)
        if task is None or task.done():
            task = asyncio.ensure_future(self._refresh(kind, id, path, params))
            self._inflight[key] = task
            task.add_done_callback(lambda _t: self._inflight.pop(key, None))
        return task

    async def _refresh(self, kind, id, path, params) -> None:
        try:
            result = await self.client.send("GET", path, params=params)
        except Offline:
            return
        except Transient as exc:
            self._went_offline(exc)
            return
        except Rejected as exc:
            if exc.status in (404, 410) and id is not None:
                self.store.delete_entity(kind, id)
                self._notify(Change(kind, id, None, "server"))
            return
        except ApiError as exc:
            log.info("refresh of %s refused: %s", kind, exc.code)
            if isinstance(exc, AuthError) and exc.status == 401:
                self.monitor.update(signed_out=True)
            return
        self._came_online()
        if id is not None:
            entity = self.store.get_entity(kind, id, include_deleted=True)
            if entity is not None and entity.dirty:
                return  # the user's pending change stays visible until the server takes it
            if result.from_cache and entity is not None and not entity.deleted:
                return
            self.store.put_entity(kind, id, result.data, etag=result.etag)
            self._notify(Change(kind, id, result.data, "server"))
            return
        query = _query_key(path, params)
        cached = self.store.get_query(kind, query)
        if result.from_cache and cached is not None:
            return
        self.store.put_query(kind, query, result.data, etag=result.etag)
        items = result.data.get("items") if isinstance(result.data, dict) else result.data
        if isinstance(items, list):
            with self.store.transaction() as c:
                for item in items:
                    if isinstance(item, dict) and isinstance(item.get("id"), str):
                        row = c.execute(
                            "SELECT dirty FROM entities WHERE kind = ? AND id = ?",
                            (kind, item["id"]),
                        ).fetchone()
                        if row is None or not row["dirty"]:
                            self.store.put_entity(kind, item["id"], item, conn=c)
        self._notify(Change(kind, None, result.data, "server", query=query))

    # ------------------------------------------------------------ writes

    def write(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        entity: tuple[str, str] | None = None,
        optimistic: dict | None = None,
        if_match: int | str | None = None,
        current_path: str | None = None,
    ) -> OutboxItem:
        """Apply to the replica, queue durably, return at once. Sent in order when online.

        ``current_path``: where the server's current copy is read when this write conflicts
        (default: ``path`` itself for PATCH/PUT/DELETE).
        """
        if hasattr(body, "model_dump"):
            body = body.model_dump(mode="json", exclude_unset=True)
        headers = {}
        if if_match is not None:
            headers["If-Match"] = f'"{if_match}"' if isinstance(if_match, int) else if_match
        item = self.store.outbox.append(
            method,
            path,
            body,
            entity=entity,
            optimistic=optimistic,
            headers=headers,
            current_path=current_path,
        )
        if entity is not None:
            local = self.store.get_entity(*entity)
            self._notify(Change(entity[0], entity[1], local.data if local else None, "local"))
        self._count()
        self.kick()
        return item

    def create(self, kind: str, path: str, body: dict, *, id: str | None = None) -> OutboxItem:
        """Create an object with a client id (works offline); the replica shows it at once."""
        oid = id or new_id()
        body = {**body, "id": oid}
        return self.write(
            "POST",
            path,
            body,
            entity=(kind, oid),
            optimistic=body,
            current_path=f"{path.rstrip('/')}/{oid}",
        )

    def kick(self) -> None:
        """Wake the background flusher (if running)."""
        self._kick.set()

    def _backoff(self, attempts: int) -> float:
        return min(self.backoff_cap, 2.0 ** max(0, attempts)) * random.uniform(0.5, 1.0)

    async def flush(self, *, force: bool = False) -> int:
        """Send queued writes in order until one must wait; returns how many the server took.

        ``force`` ignores the backoff times (the link just came back).
        """
        if self.work_offline:
            return 0
        sent = 0
        async with self._flush_lock:
            outbox = self.store.outbox
            if outbox.head() is None:
                return 0
            if self.monitor.state != OFFLINE:
                # while the link is down, a retry does not flash "syncing": the user was
                # told once that it is down, and hears again only when it is back
                self.monitor.update(state=SYNCING)
            reached = True
            try:
                while True:
                    item = outbox.head()
                    if item is None:
                        break
                    if not force and item.next_attempt_at > self._clock():
                        break
                    outcome = await self._send(item)
                    if outcome == "done":
                        sent += 1
                    elif outcome == "wait":
                        reached = False
                        break
                    elif outcome == "stop":
                        break
            finally:
                self._count()
                if self.work_offline or not reached:
                    self.monitor.update(state=OFFLINE)
                else:
                    self.monitor.update(state=ONLINE)
        return sent

    async def _send(self, item: OutboxItem) -> str:
        outbox = self.store.outbox
        outbox.mark_sending(item.seq)
        try:
            result = await self.client.send(
                item.method,
                item.path,
                json=item.body,
                headers=item.headers,
                idempotency_key=item.idempotency_key,
                retries=self.send_retries,
            )
        except Offline:
            outbox.mark_retry(item.seq, {"code": "offline", "message": "Working offline."}, 0)
            return "wait"
        except Transient as exc:
            self._retry_later(item, exc)
            if exc.status is None:
                self._went_offline(exc)
                return "wait"
            return "stop"
        except Conflict as exc:
            if exc.code in _TRANSIENT_CONFLICTS:
                self._retry_later(item, exc)
                return "stop"
            server = await self._current_copy(item)
            outbox.mark_conflict(item.seq, exc.as_dict(), server)
            log.info("write %s conflicts: %s", item.seq, exc.code)
            self._attention(item)
            return "conflict"
        except AuthError as exc:
            if exc.status == 401:
                # not the user's data at fault: hold the queue until they sign in again
                self._retry_later(item, exc)
                self.monitor.update(signed_out=True)
                return "stop"
            outbox.mark_rejected(item.seq, exc.as_dict())
            self._attention(item)
            return "rejected"
        except ApiError as exc:
            outbox.mark_rejected(item.seq, exc.as_dict())
            log.info("write %s rejected: %s", item.seq, exc.code)
            self._attention(item)
            return "rejected"
        self._came_online()
        outbox.mark_done(item.seq, result.data)
        if item.entity is not None and not outbox.open_for(*item.entity):
            kind, eid = item.entity
            if item.method == "DELETE":
                self.store.delete_entity(kind, eid)
                self._notify(Change(kind, eid, None, "server"))
            elif isinstance(result.data, dict):
                self.store.put_entity(kind, eid, result.data, etag=result.etag)
                self._notify(Change(kind, eid, result.data, "server"))
        return "done"

    def _retry_later(self, item: OutboxItem, exc: ApiError) -> None:
        wait = exc.retry_after if exc.retry_after is not None else self._backoff(item.attempts)
        self.store.outbox.mark_retry(item.seq, exc.as_dict(), self._clock() + wait)

    async def _current_copy(self, item: OutboxItem) -> Any:
        path = item.current_path
        if path is None and item.method in ("PATCH", "PUT", "DELETE"):
            path = item.path
        if path is None:
            return None
        try:
            result = await self.client.send("GET", path, retries=0, conditional=False)
        except ApiError as exc:
            log.info("could not read the server's copy for write %s: %s", item.seq, exc.code)
            return None
        return result.data

    def _attention(self, item: OutboxItem) -> None:
        if item.entity is not None:
            local = self.store.get_entity(*item.entity)
            self._notify(
                Change(item.entity[0], item.entity[1], local.data if local else None, "local")
            )

    # ------------------------------------------------------------ needs attention

    def needs_attention(self) -> list[Attention]:
        result = []
        for item in self.store.outbox.attention():
            local = self.store.get_entity(*item.entity) if item.entity else None
            result.append(
                Attention(
                    seq=item.seq,
                    state=item.state,
                    method=item.method,
                    path=item.path,
                    body=item.body,
                    entity=item.entity,
                    status=item.error_status,
                    code=item.error_code,
                    message=item.error_message,
                    field=item.error_field,
                    reasons=item.error_reasons,
                    server=item.server_data,
                    server_version=item.server_version,
                    local=local.data if local else None,
                )
            )
        return result

    def resend(
        self,
        seq: int,
        new_body: Any = None,
        *,
        if_match: int | str | None = None,
        optimistic: dict | None = None,
    ) -> OutboxItem:
        """Queue a refused write again with the user's fix. For a conflict, the default
        ``If-Match`` is the server version the user has now seen (keep mine)."""
        item = self.store.outbox.get(seq)
        if item is None:
            raise ValueError(f"no outbox item {seq}")
        if if_match is None and item.state == "conflict" and "If-Match" in item.headers:
            if_match = item.server_version
        headers = {}
        if if_match is not None:
            headers["If-Match"] = f'"{if_match}"' if isinstance(if_match, int) else if_match
        if hasattr(new_body, "model_dump"):
            new_body = new_body.model_dump(mode="json", exclude_unset=True)
        updated = self.store.outbox.resend(seq, new_body, headers=headers)
        if item.entity is not None and (optimistic or isinstance(new_body, dict)):
            current = self.store.get_entity(*item.entity)
            merged = dict(current.data) if current and isinstance(current.data, dict) else {}
            merged.update(optimistic if optimistic is not None else new_body)
            self.store.put_entity(*item.entity, merged, dirty=True)
            self._notify(Change(item.entity[0], item.entity[1], merged, "local"))
        self._count()
        self.kick()
        return updated

    def discard(self, seq: int) -> OutboxItem:
        """Drop the user's write on their explicit request; the replica goes back to the
        server's copy (or to what it was before the write)."""
        item = self.store.outbox.discard(seq)
        if item.entity is not None and not self.store.outbox.open_for(*item.entity):
            kind, eid = item.entity
            restored = item.server_data if item.server_data is not None else item.prior
            if restored is not None:
                self.store.put_entity(kind, eid, restored)
            else:
                self.store.forget_entity(kind, eid)
            self._notify(Change(kind, eid, restored, "local"))
        self._count()
        return item

    # ------------------------------------------------------------ change feed

    async def pull(self) -> int:
        """Bring the replica up to date from the change feed; returns the changes applied."""
        if self.work_offline or self.client.tokens.get() is None:
            return 0
        applied = 0
        while True:
            since = self.store.get_cursor()
            try:
                feed = await self.client.changes(since=since)
            except Transient as exc:
                if not isinstance(exc, Offline):
                    self._went_offline(exc)
                return applied
            except AuthError as exc:
                if exc.status == 401:
                    self.monitor.update(signed_out=True)
                return applied
            self._came_online()
            notes = []
            with self.store.transaction() as c:
                for ch in feed.changes:
                    row = c.execute(
                        "SELECT dirty FROM entities WHERE kind = ? AND id = ?", (ch.entity, ch.id)
                    ).fetchone()
                    if row is not None and row["dirty"]:
                        continue
                    if ch.op == "delete" or ch.data is None:
                        self.store.delete_entity(ch.entity, ch.id, conn=c)
                    else:
                        self.store.put_entity(ch.entity, ch.id, ch.data, conn=c)
                    notes.append(Change(ch.entity, ch.id, ch.data, "feed"))
                self.store.set_cursor(feed.cursor, conn=c)
            applied += len(notes)
            for note in notes:
                self._notify(note)
            self._last_pull = self._clock()
            if not feed.more or feed.cursor <= since:
                return applied

    async def sync_now(self) -> tuple[int, int]:
        """Flush the outbox (ignoring backoff), then pull the feed: (sent, changes)."""
        sent = await self.flush(force=True)
        return sent, await self.pull()

    # ------------------------------------------------------------ connectivity

    def _went_offline(self, exc: ApiError) -> None:
        self.monitor.update(state=OFFLINE, last_error=exc.message)

    def _came_online(self) -> None:
        was = self.monitor.state
        self.monitor.update(signed_out=False, last_error=None)
        if was == OFFLINE:
            self.monitor.update(state=ONLINE)
            self.store.outbox.wake()
            self.kick()

    def set_work_offline(self, flag: bool) -> None:
        """Cut the link on purpose (or restore it): nothing is sent while set."""
        self.client.offline = flag
        self.monitor.update(work_offline=flag, state=OFFLINE if flag else self.monitor.state)
        if not flag:
            self.store.outbox.wake()
            self.kick()

    async def check(self) -> bool:
        """Probe the server; on the way back online, everything queued becomes due."""
        if self.work_offline:
            return False
        up = await self.client.probe()
        if up:
            self._came_online()
        else:
            self.monitor.update(state=OFFLINE)
        return up

    # ------------------------------------------------------------ background loop

    def start(self) -> asyncio.Task:
        """Run the flusher/poller in the background (call from the running event loop)."""
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())
        return self._task

    async def _run(self) -> None:
        while True:
            try:
                if not self.work_offline:
                    if self.monitor.state != ONLINE:
                        await self.check()
                    if self.monitor.state != OFFLINE:
                        await self.flush()
                        if self._clock() - self._last_pull >= self.poll_interval:
                            await self.pull()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sync loop step failed")
            self._kick.clear()
            timeout = self.probe_interval if self.monitor.state == OFFLINE else self.poll_interval
            head = self.store.outbox.head()
            if head is not None:
                timeout = min(timeout, max(0.05, head.next_attempt_at - self._clock()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), timeout)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for pending in list(self._inflight.values()):
            pending.cancel()

    aclose = stop
