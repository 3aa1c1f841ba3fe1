"""The outbox: every write the user makes, durable before anything is sent.

An item's ``Idempotency-Key`` is created and committed (fsync) with the item itself, so a
crash at any point leaves either no item, or an item whose every send carries the same key:
replaying it never creates a second object on the server.

States: ``queued`` -> ``sending`` -> ``done``; a transient failure goes back to ``queued``
with a later ``next_attempt_at``; a refusal stops at ``rejected`` or ``conflict`` until the
user resends (a new key, the edited body) or discards it. Nothing leaves the table silently.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local_store.store import LocalStore

PENDING = ("queued", "sending")
ATTENTION = ("rejected", "conflict")
OPEN = PENDING + ATTENTION


@dataclass
class OutboxItem:
    seq: int
    idempotency_key: str
    method: str
    path: str
    body: Any
    headers: dict[str, str]
    entity_kind: str | None
    entity_id: str | None
    prior: Any
    current_path: str | None
    state: str
    attempts: int
    next_attempt_at: float
    error_status: int | None
    error_code: str | None
    error_message: str | None
    error_field: str | None
    error_reasons: list[dict]
    server_version: int | None
    server_data: Any
    response: Any
    created_at: float
    updated_at: float

    @property
    def entity(self) -> tuple[str, str] | None:
        if self.entity_kind is None or self.entity_id is None:
            return None
        return (self.entity_kind, self.entity_id)

    @property
    def error(self) -> dict[str, Any] | None:
        if self.error_code is None:
            return None
        return {
            "status": self.error_status,
            "code": self.error_code,
            "message": self.error_message,
            "field": self.error_field,
            "reasons": self.error_reasons,
        }


def _j(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), default=str)


def _l(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _item(row: sqlite3.Row) -> OutboxItem:
    return OutboxItem(
        seq=row["seq"],
        idempotency_key=row["idempotency_key"],
        method=row["method"],
        path=row["path"],
        body=_l(row["body"]),
        headers=_l(row["headers"]) or {},
        entity_kind=row["entity_kind"],
        entity_id=row["entity_id"],
        prior=_l(row["prior"]),
        current_path=row["current_path"],
        state=row["state"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        error_status=row["error_status"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        error_field=row["error_field"],
        error_reasons=_l(row["error_reasons"]) or [],
        server_version=row["server_version"],
        server_data=_l(row["server_data"]),
        response=_l(row["response"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class Outbox:
    def __init__(self, store: LocalStore):
        self._store = store

    # ------------------------------------------------------------ writing

    def append(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        entity: tuple[str, str] | None = None,
        optimistic: dict | None = None,
        headers: dict[str, str] | None = None,
        key: str | None = None,
        current_path: str | None = None,
    ) -> OutboxItem:
        """Queue a write; the key and the optimistic copy are committed with it, durably."""
        now = self._store.now()
        key = key or str(uuid.uuid4())
        with self._store.transaction(durable=True) as c:
            prior = None
            if entity is not None:
                row = c.execute(
                    "SELECT data, deleted FROM entities WHERE kind = ? AND id = ?", entity
                ).fetchone()
                prior = None if row is None or row["deleted"] else _l(row["data"])
                if optimistic is not None:
                    merged = dict(prior) if isinstance(prior, dict) else {}
                    merged.update(optimistic)
                    self._store.put_entity(
                        entity[0], entity[1], merged, dirty=True, fetched_at=now, conn=c
                    )
                elif method.upper() == "DELETE":
                    self._store.delete_entity(entity[0], entity[1], conn=c)
            cur = c.execute(
                "INSERT INTO outbox (idempotency_key, method, path, body, headers, entity_kind, "
                "entity_id, prior, current_path, state, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
                (
                    key,
                    method.upper(),
                    path,
                    _j(body),
                    _j(headers or {}),
                    entity[0] if entity else None,
                    entity[1] if entity else None,
                    _j(prior),
                    current_path,
                    now,
                    now,
                ),
            )
            seq = cur.lastrowid
        item = self.get(seq)
        assert item is not None
        return item

    def _update(self, seq: int, durable: bool = True, **fields: Any) -> None:
        fields["updated_at"] = self._store.now()
        cols = ", ".join(f"{name} = ?" for name in fields)
        with self._store.transaction(durable=durable) as c:
            c.execute(f"UPDATE outbox SET {cols} WHERE seq = ?", (*fields.values(), seq))
            self._settle_entity(c, seq)

    def _settle_entity(self, c: sqlite3.Connection, seq: int) -> None:
        """An entity stays dirty while any open outbox item still concerns it."""
        row = c.execute(
            "SELECT entity_kind, entity_id FROM outbox WHERE seq = ?", (seq,)
        ).fetchone()
        if row is None or row["entity_kind"] is None:
            return
        still = c.execute(
            "SELECT 1 FROM outbox WHERE entity_kind = ? AND entity_id = ? AND state IN "
            "('queued', 'sending', 'rejected', 'conflict') LIMIT 1",
            (row["entity_kind"], row["entity_id"]),
        ).fetchone()
        c.execute(
            "UPDATE entities SET dirty = ? WHERE kind = ? AND id = ?",
            (1 if still else 0, row["entity_kind"], row["entity_id"]),
        )

    def mark_sending(self, seq: int) -> None:
        self._update(seq, state="sending", attempts=self._attempts(seq) + 1)

    def _attempts(self, seq: int) -> int:
        rows = self._store.query("SELECT attempts FROM outbox WHERE seq = ?", (seq,))
        return rows[0]["attempts"] if rows else 0

    def mark_done(self, seq: int, response: Any = None) -> None:
        self._update(
            seq,
            state="done",
            response=_j(response),
            error_status=None,
            error_code=None,
            error_message=None,
            error_field=None,
            error_reasons=None,
        )

    def mark_retry(self, seq: int, error: dict, next_attempt_at: float) -> None:
        self._update(
            seq,
            state="queued",
            next_attempt_at=next_attempt_at,
            error_status=error.get("status"),
            error_code=error.get("code"),
            error_message=error.get("message"),
            error_field=error.get("field"),
            error_reasons=_j(error.get("reasons") or []),
        )

    def mark_rejected(self, seq: int, error: dict) -> None:
        self._update(
            seq,
            state="rejected",
            error_status=error.get("status"),
            error_code=error.get("code"),
            error_message=error.get("message"),
            error_field=error.get("field"),
            error_reasons=_j(error.get("reasons") or []),
        )

    def mark_conflict(
        self, seq: int, error: dict, server_data: Any = None, server_version: int | None = None
    ) -> None:
        if server_version is None and isinstance(server_data, dict):
            version = server_data.get("version")
            server_version = version if isinstance(version, int) else None
        self._update(
            seq,
            state="conflict",
            error_status=error.get("status"),
            error_code=error.get("code"),
            error_message=error.get("message"),
            error_field=error.get("field"),
            error_reasons=_j(error.get("reasons") or []),
            server_data=_j(server_data),
            server_version=server_version,
        )

    def resend(
        self, seq: int, body: Any = None, *, headers: dict[str, str] | None = None
    ) -> OutboxItem:
        """Queue a rejected or conflicting item again, with the edited body and a new key.

        The item keeps its place in the order (its ``seq``).
        """
        item = self.get(seq)
        if item is None or item.state not in ATTENTION:
            raise ValueError(f"outbox item {seq} is not waiting for attention")
        merged = dict(item.headers)
        merged.update(headers or {})
        self._update(
            seq,
            state="queued",
            idempotency_key=str(uuid.uuid4()),
            body=_j(item.body if body is None else body),
            headers=_j(merged),
            attempts=0,
            next_attempt_at=0,
        )
        result = self.get(seq)
        assert result is not None
        return result

    def discard(self, seq: int) -> OutboxItem:
        """The user gives up this write; it stays in the table as ``discarded``."""
        item = self.get(seq)
        if item is None or item.state not in OPEN:
            raise ValueError(f"outbox item {seq} cannot be discarded")
        self._update(seq, state="discarded")
        result = self.get(seq)
        assert result is not None
        return result

    def recover(self) -> int:
        """After a restart: items caught mid-send go back to the queue (same key, safe)."""
        with self._store.transaction(durable=True) as c:
            return c.execute("UPDATE outbox SET state = 'queued' WHERE state = 'sending'").rowcount

    def wake(self) -> None:
        """The link is back: every queued item is due now."""
        with self._store.transaction(durable=True) as c:
            c.execute("UPDATE outbox SET next_attempt_at = 0 WHERE state = 'queued'")

    # ------------------------------------------------------------ reading

    def get(self, seq: int) -> OutboxItem | None:
        rows = self._store.query("SELECT * FROM outbox WHERE seq = ?", (seq,))
        return _item(rows[0]) if rows else None

    def by_key(self, key: str) -> OutboxItem | None:
        rows = self._store.query("SELECT * FROM outbox WHERE idempotency_key = ?", (key,))
        return _item(rows[0]) if rows else None

    def items(self, states: tuple[str, ...] | None = None) -> list[OutboxItem]:
        if states is None:
            rows = self._store.query("SELECT * FROM outbox ORDER BY seq")
        else:
            marks = ", ".join("?" for _ in states)
            rows = self._store.query(
                f"SELECT * FROM outbox WHERE state IN ({marks}) ORDER BY seq", tuple(states)
            )
        return [_item(r) for r in rows]

    def head(self) -> OutboxItem | None:
        """The oldest item still to send (in order; it may not be due yet)."""
        rows = self._store.query(
            "SELECT * FROM outbox WHERE state IN ('queued', 'sending') ORDER BY seq LIMIT 1"
        )
        return _item(rows[0]) if rows else None

    def pending_count(self) -> int:
        rows = self._store.query(
            "SELECT COUNT(*) AS n FROM outbox WHERE state IN ('queued', 'sending')"
        )
        return rows[0]["n"]

    def attention(self) -> list[OutboxItem]:
        return self.items(ATTENTION)

    def open_for(self, kind: str, id: str) -> list[OutboxItem]:
        rows = self._store.query(
            "SELECT * FROM outbox WHERE entity_kind = ? AND entity_id = ? AND state IN "
            "('queued', 'sending', 'rejected', 'conflict') ORDER BY seq",
            (kind, id),
        )
        return [_item(r) for r in rows]
