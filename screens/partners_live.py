"""Replica-first data for the networking and project screens.

A screen reads through the sync engine (cached copy at once, refreshed in the background) and
hears about fresh data as a ``Refreshed`` message; writes go through the outbox. Screens built
on this work offline: without an engine (nobody signed in yet) they show nothing and say so.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message

from esep_tui.i18n import _


class Refreshed(Message):
    """Data of ``kind`` changed in the replica (server refresh, change feed, or a local write)."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind


def items_of(data: Any) -> list[dict]:
    if isinstance(data, dict):
        data = data.get("items")
    return [i for i in data or [] if isinstance(i, dict)]


def error_text(error: dict | None) -> str:
    if not error:
        return ""
    lines = [str(error.get("message") or error.get("code") or "")]
    for r in error.get("reasons") or []:
        msg = r.get("message") if isinstance(r, dict) else getattr(r, "message", "")
        fix = r.get("fix") if isinstance(r, dict) else getattr(r, "fix", "")
        lines.append(f"✗ {msg}" + (f" → {fix}" if fix else ""))
    return "\n".join(line for line in lines if line)


class LiveData:
    """Mixin for screens: ``live(kind, path, params)`` and ``send(...)`` through the outbox."""

    LIVE_KINDS: tuple[str, ...] = ()

    def engine(self):
        return self.app.connection.engine()

    def start_live(self) -> None:
        """Subscribe to ``LIVE_KINDS`` (call from the screen's on_mount)."""
        self._unsubscribe = []
        engine = self.engine()
        if engine is None:
            return
        for kind in self.LIVE_KINDS:
            self._unsubscribe.append(engine.subscribe(self._changed, kind))

    def stop_live(self) -> None:
        for stop in getattr(self, "_unsubscribe", []):
            stop()

    def _changed(self, change) -> None:
        self.post_message(Refreshed(change.kind))

    def live(self, kind: str, path: str, params: dict | None = None, *, refresh: bool = True):
        """The cached answer (None if never fetched); a background refresh follows."""
        engine = self.engine()
        if engine is None:
            return None
        params = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        return engine.read(kind, path=path, params=params or None, refresh=refresh).data

    def entity(self, kind: str, id: str, path: str | None = None, *, refresh: bool = True):
        engine = self.engine()
        if engine is None:
            return None
        return engine.read(kind, id, path=path, refresh=refresh).data

    def local_entities(self, kind: str) -> list[tuple[dict, bool]]:
        """(data, dirty) for every replica entity of ``kind``."""
        engine = self.engine()
        if engine is None:
            return []
        return [(e.data, e.dirty) for e in engine.store.list_entities(kind) if e.data]

    def send(self, method: str, path: str, body: Any = None, **kwargs):
        """Queue a write; the outbox sends it when the link allows. None when signed out."""
        engine = self.engine()
        if engine is None:
            self.notify(_("Sign in first."), severity="warning")
            return None
        return engine.write(method, path, body, **kwargs)

    def attention_for(self, kind: str, id: str) -> str:
        """The server's refusal of a queued write to this object, if any."""
        engine = self.engine()
        if engine is None:
            return ""
        for item in engine.needs_attention():
            if item.entity == (kind, id):
                return error_text(
                    {"message": item.message, "code": item.code, "reasons": item.reasons}
                )
        return ""

    def queued_for(self, kind: str, id: str) -> bool:
        engine = self.engine()
        return bool(engine and engine.store.outbox.open_for(kind, id))


def merged(engine, kind: str, data: Any, *, overlay: str | None = None) -> list[dict]:
    """A cached list, with the replica's newer copies of its items and the user's own
    unsent creations on top. ``overlay``: a second kind holding fuller copies (the feed's)."""
    if engine is None:
        return items_of(data)
    store = engine.store
    kinds = [k for k in (overlay, kind) if k]
    rows: list[dict] = []
    seen: set[str] = set()
    for item in items_of(data):
        iid = item.get("id")
        copy, gone = item, False
        for k in kinds:
            e = store.get_entity(k, iid, include_deleted=True) if isinstance(iid, str) else None
            if e is None:
                continue
            if e.deleted:
                gone = True
                break
            if isinstance(e.data, dict) and (
                e.dirty or (e.data.get("version") or 0) >= (item.get("version") or 0)
            ):
                copy = {**item, **e.data, "_dirty": e.dirty}
                break
        if not gone:
            rows.append(copy)
            seen.add(iid)
    for k in kinds:
        for e in store.list_entities(k):
            if e.id not in seen and isinstance(e.data, dict) and (e.dirty or k == overlay):
                rows.insert(0, {**e.data, "id": e.id, "_dirty": e.dirty})
                seen.add(e.id)
    return rows
