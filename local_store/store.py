"""The offline replica: one SQLite file per (server, account).

One connection per store, guarded by a lock; every operation is small and synchronous. WAL is
on; writes to the outbox commit with ``synchronous=FULL`` (fsync on every commit), cache
writes with ``NORMAL`` (a power cut may lose the newest cached copy, never corrupt the file).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_store import schema


@dataclass
class Entity:
    kind: str
    id: str
    data: Any
    etag: str | None
    version: int | None
    fetched_at: float | None
    dirty: bool
    deleted: bool = False


@dataclass
class PageDoc:
    page_id: str
    doc: bytes | None  # the whole CRDT document, as one update
    pending: bytes | None  # local updates not yet acknowledged by the server
    server_state: bytes | None  # the server's state vector at the last sync
    updated_at: float | None


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), default=str)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


class LocalStore:
    """The replica. ``LocalStore(path)`` opens (and migrates) it."""

    def __init__(self, path: str | Path, *, clock=time.time):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, timeout=10
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._sync_mode = "FULL"
        schema.migrate(self._conn)
        from local_store.outbox import Outbox

        self.outbox = Outbox(self)
        self.http_cache = HttpCache(self)

    @classmethod
    def for_account(cls, server: str, account: str) -> LocalStore:
        from esep_tui.paths import replica_path

        return cls(replica_path(server, account))

    def __repr__(self) -> str:
        return f"LocalStore({str(self.path)!r})"

    def now(self) -> float:
        return self._clock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @property
    def schema_version(self) -> int:
        return self._conn.execute("PRAGMA user_version").fetchone()[0]

    def integrity_check(self) -> str:
        with self._lock:
            return self._conn.execute("PRAGMA integrity_check").fetchone()[0]

    @contextmanager
    def transaction(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction; ``durable`` commits with fsync (the outbox)."""
        with self._lock:
            mode = "FULL" if durable else "NORMAL"
            if mode != self._sync_mode:
                self._conn.execute(f"PRAGMA synchronous={mode}")
                self._sync_mode = mode
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    # ------------------------------------------------------------ entities

    @staticmethod
    def _entity(row: sqlite3.Row | None) -> Entity | None:
        if row is None:
            return None
        return Entity(
            kind=row["kind"],
            id=row["id"],
            data=_loads(row["data"]),
            etag=row["etag"],
            version=row["version"],
            fetched_at=row["fetched_at"],
            dirty=bool(row["dirty"]),
            deleted=bool(row["deleted"]),
        )

    def get_entity(self, kind: str, id: str, *, include_deleted: bool = False) -> Entity | None:
        rows = self.query("SELECT * FROM entities WHERE kind = ? AND id = ?", (kind, id))
        entity = self._entity(rows[0] if rows else None)
        if entity is not None and entity.deleted and not include_deleted:
            return None
        return entity

    def list_entities(self, kind: str) -> list[Entity]:
        rows = self.query(
            "SELECT * FROM entities WHERE kind = ? AND deleted = 0 ORDER BY id", (kind,)
        )
        return [e for e in map(self._entity, rows) if e is not None]

    def put_entity(
        self,
        kind: str,
        id: str,
        data: Any,
        *,
        etag: str | None = None,
        version: int | None = None,
        dirty: bool = False,
        fetched_at: float | None = None,
        conn: sqlite3.Connection | None = None,
    ) -> None:
        if version is None and isinstance(data, dict) and isinstance(data.get("version"), int):
            version = data["version"]
        args = (kind, id, _dumps(data), etag, version, fetched_at or self.now(), int(dirty))
        sql = (
            "INSERT INTO entities (kind, id, data, etag, version, fetched_at, dirty, deleted) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT (kind, id) DO UPDATE SET "
            "data = excluded.data, etag = excluded.etag, version = excluded.version, "
            "fetched_at = excluded.fetched_at, dirty = excluded.dirty, deleted = 0"
        )
        if conn is not None:
            conn.execute(sql, args)
            return
        with self.transaction() as c:
            c.execute(sql, args)

    def delete_entity(self, kind: str, id: str, *, conn: sqlite3.Connection | None = None) -> None:
        """Mark gone (kept as a tombstone, so a late refresh does not resurrect it)."""
        sql = (
            "INSERT INTO entities (kind, id, data, fetched_at, dirty, deleted) "
            "VALUES (?, ?, NULL, ?, 0, 1) ON CONFLICT (kind, id) DO UPDATE SET "
            "data = NULL, deleted = 1, fetched_at = excluded.fetched_at"
        )
        if conn is not None:
            conn.execute(sql, (kind, id, self.now()))
            return
        with self.transaction() as c:
            c.execute(sql, (kind, id, self.now()))

    def forget_entity(self, kind: str, id: str, *, conn: sqlite3.Connection | None = None) -> None:
        sql = "DELETE FROM entities WHERE kind = ? AND id = ?"
        if conn is not None:
            conn.execute(sql, (kind, id))
            return
        with self.transaction() as c:
            c.execute(sql, (kind, id))

    # ------------------------------------------------------------ list queries

    def get_query(self, kind: str, query: str) -> tuple[Any, float | None] | None:
        rows = self.query(
            "SELECT data, fetched_at FROM queries WHERE kind = ? AND query = ?", (kind, query)
        )
        return (_loads(rows[0]["data"]), rows[0]["fetched_at"]) if rows else None

    def put_query(self, kind: str, query: str, data: Any, *, etag: str | None = None) -> None:
        with self.transaction() as c:
            c.execute(
                "INSERT INTO queries (kind, query, data, etag, fetched_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (kind, query) DO UPDATE SET data = excluded.data, "
                "etag = excluded.etag, fetched_at = excluded.fetched_at",
                (kind, query, _dumps(data), etag, self.now()),
            )

    # ------------------------------------------------------------ cursors

    def get_cursor(self, name: str = "changes") -> int:
        rows = self.query("SELECT value FROM cursors WHERE name = ?", (name,))
        return int(rows[0]["value"]) if rows else 0

    def set_cursor(
        self, value: int, name: str = "changes", *, conn: sqlite3.Connection | None = None
    ) -> None:
        sql = (
            "INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at"
        )
        if conn is not None:
            conn.execute(sql, (name, value, self.now()))
            return
        with self.transaction() as c:
            c.execute(sql, (name, value, self.now()))

    # ------------------------------------------------------------ page documents

    def get_page(self, page_id: str) -> PageDoc | None:
        rows = self.query("SELECT * FROM pages WHERE page_id = ?", (page_id,))
        if not rows:
            return None
        r = rows[0]
        return PageDoc(r["page_id"], r["doc"], r["pending"], r["server_state"], r["updated_at"])

    def save_page(
        self,
        page_id: str,
        *,
        doc: bytes | None = None,
        pending: bytes | None = None,
        server_state: bytes | None = None,
        clear_pending: bool = False,
    ) -> None:
        """Store what is given; leave the rest. Page edits are user work: committed durably."""
        with self.transaction(durable=True) as c:
            row = c.execute("SELECT * FROM pages WHERE page_id = ?", (page_id,)).fetchone()
            new_doc = doc if doc is not None else (row["doc"] if row else None)
            new_pending = None if clear_pending else (row["pending"] if row else None)
            if pending is not None:
                new_pending = pending
            new_state = (
                server_state if server_state is not None else (row["server_state"] if row else None)
            )
            c.execute(
                "INSERT INTO pages (page_id, doc, pending, server_state, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (page_id) DO UPDATE SET doc = excluded.doc, "
                "pending = excluded.pending, server_state = excluded.server_state, "
                "updated_at = excluded.updated_at",
                (page_id, new_doc, new_pending, new_state, self.now()),
            )

    def add_page_update(self, page_id: str, update: bytes) -> None:
        """Record a local edit: merged into the document and into the pending updates."""
        from pycrdt import merge_updates

        with self.transaction(durable=True) as c:
            row = c.execute("SELECT * FROM pages WHERE page_id = ?", (page_id,)).fetchone()
            doc = merge_updates(row["doc"], update) if row and row["doc"] else update
            pending = merge_updates(row["pending"], update) if row and row["pending"] else update
            c.execute(
                "INSERT INTO pages (page_id, doc, pending, server_state, updated_at) "
                "VALUES (?, ?, ?, NULL, ?) ON CONFLICT (page_id) DO UPDATE SET "
                "doc = excluded.doc, pending = excluded.pending, updated_at = excluded.updated_at",
                (page_id, doc, pending, self.now()),
            )

    # ------------------------------------------------------------ meta

    def get_meta(self, key: str) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0]["value"] if rows else None

    def set_meta(self, key: str, value: str | None) -> None:
        with self.transaction() as c:
            c.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )


class HttpCache:
    """ETag + body per URL in the replica, so revalidation survives a restart."""

    def __init__(self, store: LocalStore, max_entries: int = 2000):
        self._store = store
        self._max = max_entries

    def get(self, url: str) -> tuple[str, bytes] | None:
        rows = self._store.query("SELECT etag, body FROM http_cache WHERE url = ?", (url,))
        return (rows[0]["etag"], bytes(rows[0]["body"])) if rows else None

    def put(self, url: str, etag: str, body: bytes) -> None:
        with self._store.transaction() as c:
            c.execute(
                "INSERT INTO http_cache (url, etag, body, fetched_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, body = excluded.body, "
                "fetched_at = excluded.fetched_at",
                (url, etag, body, self._store.now()),
            )
            c.execute(
                "DELETE FROM http_cache WHERE url IN (SELECT url FROM http_cache "
                "ORDER BY fetched_at DESC LIMIT -1 OFFSET ?)",
                (self._max,),
            )

    def clear(self) -> None:
        with self._store.transaction() as c:
            c.execute("DELETE FROM http_cache")
