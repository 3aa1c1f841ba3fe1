"""The replica: schema and migrations, WAL, entities, cursors, page documents, the outbox."""

from __future__ import annotations

import sqlite3

import pytest
from pycrdt import Doc, Text

from esep_tui import paths
from local_store import schema
from local_store.store import LocalStore


@pytest.fixture
def store(tmp_path):
    s = LocalStore(tmp_path / "r.sqlite3")
    yield s
    s.close()


def test_schema_version_and_wal(store, tmp_path):
    assert store.schema_version == schema.VERSION >= 1
    assert store.query("PRAGMA journal_mode")[0][0] == "wal"
    assert store.integrity_check() == "ok"
    store.close()
    # reopening does not migrate again
    again = LocalStore(tmp_path / "r.sqlite3")
    assert again.schema_version == schema.VERSION
    again.close()


def test_newer_schema_is_refused_untouched(tmp_path):
    path = tmp_path / "new.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.VERSION + 5}")
    conn.close()
    with pytest.raises(schema.SchemaTooNew):
        LocalStore(path)


def test_a_later_migration_applies_on_open(tmp_path, monkeypatch):
    path = tmp_path / "m.sqlite3"
    LocalStore(path).close()
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, "ALTER TABLE meta ADD note"])
    monkeypatch.setattr(schema, "VERSION", len(schema.MIGRATIONS))
    s = LocalStore(path)
    assert s.schema_version == schema.VERSION
    assert "note" in [r["name"] for r in s.query("PRAGMA table_info(meta)")]
    s.close()


def test_entities_with_etag_version_and_tombstones(store):
    store.put_entity("project", "p1", {"id": "p1", "title": "Bees", "version": 3}, etag='W/"a"')
    e = store.get_entity("project", "p1")
    assert e.data["title"] == "Bees" and e.version == 3 and e.etag == 'W/"a"'
    assert e.fetched_at is not None and not e.dirty
    store.put_entity("project", "p2", {"id": "p2"}, dirty=True)
    assert [x.id for x in store.list_entities("project")] == ["p1", "p2"]
    store.delete_entity("project", "p1")
    assert store.get_entity("project", "p1") is None
    assert store.get_entity("project", "p1", include_deleted=True).deleted
    assert [x.id for x in store.list_entities("project")] == ["p2"]


def test_queries_cursors_meta_and_http_cache(store):
    store.put_query("post", "/posts?x", {"items": [1, 2]})
    assert store.get_query("post", "/posts?x")[0] == {"items": [1, 2]}
    assert store.get_cursor() == 0
    store.set_cursor(42)
    assert store.get_cursor() == 42
    store.set_meta("account", "anna")
    assert store.get_meta("account") == "anna"
    store.http_cache.put("http://s/me", 'W/"e"', b'{"a":1}')
    assert store.http_cache.get("http://s/me") == ('W/"e"', b'{"a":1}')
    store.http_cache.clear()
    assert store.http_cache.get("http://s/me") is None


def test_page_documents_keep_pending_updates_and_state(store):
    doc = Doc()
    doc["body"] = text = Text()
    text += "Hello"
    first = doc.get_update()
    store.add_page_update("page-1", first)
    text += " world"
    store.add_page_update("page-1", doc.get_update(Doc().get_state()))
    page = store.get_page("page-1")
    replay = Doc()
    replay["body"] = body = Text()
    replay.apply_update(page.doc)
    assert str(body) == "Hello world"
    assert page.pending is not None and page.server_state is None
    store.save_page("page-1", server_state=b"\x01\x02", clear_pending=True)
    page = store.get_page("page-1")
    assert page.pending is None and page.server_state == b"\x01\x02" and page.doc


def test_outbox_states_and_optimistic_apply(store):
    store.put_entity("post", "p1", {"id": "p1", "title": "Old", "version": 1})
    ob = store.outbox
    item = ob.append(
        "PATCH",
        "/posts/p1",
        {"title": "New"},
        entity=("post", "p1"),
        optimistic={"title": "New"},
        headers={"If-Match": '"1"'},
    )
    assert item.state == "queued" and len(item.idempotency_key) == 36
    assert item.prior["title"] == "Old"
    e = store.get_entity("post", "p1")
    assert e.data["title"] == "New" and e.dirty
    assert ob.pending_count() == 1 and ob.head().seq == item.seq
    ob.mark_sending(item.seq)
    assert ob.get(item.seq).attempts == 1
    ob.mark_rejected(item.seq, {"status": 422, "code": "invalid", "message": "Too long"})
    assert ob.pending_count() == 0 and [a.seq for a in ob.attention()] == [item.seq]
    assert store.get_entity("post", "p1").dirty  # still the user's, until resolved
    again = ob.resend(item.seq, {"title": "Newer"})
    assert again.idempotency_key != item.idempotency_key and again.body == {"title": "Newer"}
    assert again.headers["If-Match"] == '"1"' and again.attempts == 0
    ob.mark_done(item.seq, {"id": "p1"})
    assert not store.get_entity("post", "p1").dirty
    with pytest.raises(ValueError):
        ob.discard(item.seq)  # done items cannot be discarded


def test_outbox_recover_wake_and_discard(store):
    ob = store.outbox
    a = ob.append("POST", "/x", {"n": 1}, key="fixed-key")
    b = ob.append("DELETE", "/x/2")
    assert ob.by_key("fixed-key").seq == a.seq
    ob.mark_sending(a.seq)
    ob.mark_retry(b.seq, {"code": "network", "message": "down"}, 10**12)
    assert ob.recover() == 1
    assert ob.get(a.seq).state == "queued"
    ob.wake()
    assert ob.get(b.seq).next_attempt_at == 0
    ob.mark_conflict(b.seq, {"status": 412, "code": "version_conflict"}, {"version": 7})
    assert ob.get(b.seq).server_version == 7
    assert ob.discard(b.seq).state == "discarded"
    assert [i.seq for i in ob.items()] == [a.seq, b.seq]  # nothing vanished


def test_replica_path_per_server_and_account(tmp_path, monkeypatch):
    monkeypatch.setenv("ESEP_TUI_HOME", str(tmp_path))
    a = paths.replica_path("https://Esep.Example.org:443/", "anna@example.org")
    b = paths.replica_path("https://esep.example.org", "anna@example.org")
    c = paths.replica_path("https://esep.example.org", "kostas@example.org")
    d = paths.replica_path("embedded", "anna@example.org")
    assert a == b != c and a.parent == c.parent and d.parent != a.parent
    assert str(a).startswith(str(tmp_path / "data"))
    assert paths.locate()["config"] == str(tmp_path / "config")
    s = LocalStore.for_account("embedded", "anna@example.org")
    assert s.path == d
    s.close()
