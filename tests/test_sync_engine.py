"""The sync engine: replica-first reads, the outbox flushed in order, outcomes kept for the
user (rejected, conflict), the change feed, the connectivity monitor and "work offline"."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from api_client.http import ApiClient, SessionTokens
from esep_tui.sync import SyncEngine, new_id
from local_store.store import LocalStore
from reference_backend.app import create_app
from tests.sync_helpers import LiveServer

PW = "correct horse battery"


def _account(n: int, password: str = PW) -> dict:
    return {"email": f"queued{n}@example.org", "password": password, "name": f"Queued {n}"}


class FakeServer:
    """A scripted server behind httpx.MockTransport: posts with versions and If-Match."""

    def __init__(self):
        self.posts: dict[str, dict] = {}
        self.requests: list[httpx.Request] = []
        self.fail_next: list[int] = []
        self.feed: list[dict] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.fail_next:
            return httpx.Response(self.fail_next.pop(0), json={"code": "down", "message": "x"})
        path, method = request.url.path, request.method
        if path == "/sync/changes":
            since = int(request.url.params["since"])
            page = [c for c in self.feed if c["seq"] > since][:2]
            more = len([c for c in self.feed if c["seq"] > since]) > 2
            cursor = page[-1]["seq"] if page else since
            return httpx.Response(200, json={"changes": page, "cursor": cursor, "more": more})
        if path == "/posts" and method == "POST":
            body = json.loads(request.content)
            if not body.get("title"):
                return httpx.Response(
                    422, json={"code": "invalid", "message": "Give a title.", "field": "title"}
                )
            if body["id"] in self.posts:
                return httpx.Response(409, json={"code": "exists", "message": "Exists."})
            self.posts[body["id"]] = {**body, "version": 1}
            return httpx.Response(201, json=self.posts[body["id"]])
        pid = path.rsplit("/", 1)[-1]
        post = self.posts.get(pid)
        if post is None:
            return httpx.Response(404, json={"code": "not_found", "message": "No such post."})
        if method == "GET":
            return httpx.Response(200, json=post)
        if method == "PATCH":
            seen = request.headers.get("if-match", "").strip('"')
            if seen and seen != str(post["version"]):
                return httpx.Response(
                    412,
                    json={
                        "code": "version_conflict",
                        "message": "Someone else changed this since you loaded it.",
                    },
                )
            post.update(json.loads(request.content))
            post["version"] += 1
            return httpx.Response(200, json=post)
        if method == "DELETE":
            del self.posts[pid]
            return httpx.Response(204)
        return httpx.Response(405, json={"code": "method_not_allowed", "message": "No."})


async def _no_sleep(_seconds):
    return None


@pytest.fixture
def fake(tmp_path):
    server = FakeServer()
    store = LocalStore(tmp_path / "replica.sqlite3")
    client = ApiClient("http://fake", transport=httpx.MockTransport(server), sleep=_no_sleep)
    client.tokens.set(SessionTokens(access_token="t" * 20, refresh_token="r" * 20, expires_in=9))
    engine = SyncEngine(store, client)
    yield server, store, engine
    store.close()


async def test_read_returns_the_replica_at_once_and_refreshes_in_background(fake):
    server, _store, engine = fake
    server.posts["p1"] = {"id": "p1", "title": "Bees", "version": 1}
    heard = asyncio.Event()
    seen = []
    engine.subscribe(lambda ch: (seen.append(ch), heard.set()), kind="post")
    first = engine.read("post", "p1", path="/posts/p1")
    assert first.data is None and not first.found  # nothing cached yet, and no waiting
    await asyncio.wait_for(heard.wait(), 5)
    assert seen[0].data["title"] == "Bees" and seen[0].source == "server"
    server.posts["p1"]["title"] = "Bees and flowers"
    again = engine.read("post", "p1", path="/posts/p1")
    assert again.data["title"] == "Bees"  # the cached copy, immediately
    await engine.fetch("post", "p1", path="/posts/p1")
    assert engine.read("post", "p1", refresh=False).data["title"] == "Bees and flowers"
    assert engine.monitor.state == "online"


async def test_offline_create_uses_a_client_uuid_and_shows_at_once(fake):
    server, _store, engine = fake
    item = engine.create("post", "/posts", {"title": "Partner wanted"})
    pid = item.entity_id
    assert len(new_id()) == 36 and item.body["id"] == pid
    local = engine.read("post", pid, refresh=False)
    assert local.data["title"] == "Partner wanted" and local.dirty
    assert engine.monitor.pending == 1
    assert await engine.flush() == 1
    assert server.posts[pid]["title"] == "Partner wanted"
    after = engine.read("post", pid, refresh=False)
    assert after.data["version"] == 1 and not after.dirty
    assert engine.monitor.pending == 0


async def test_rejected_write_keeps_the_users_data_and_can_be_resent(fake):
    server, _store, engine = fake
    item = engine.create("post", "/posts", {"title": "", "description": "my long text"})
    follow = engine.create("post", "/posts", {"title": "Second"})
    assert await engine.flush() == 1  # the refused one is set aside, the next still goes
    assert follow.entity_id in server.posts
    [att] = engine.needs_attention()
    assert (att.seq, att.state, att.status, att.code) == (item.seq, "rejected", 422, "invalid")
    assert att.message == "Give a title." and att.field == "title"
    assert att.body["description"] == "my long text"  # kept for fixing
    assert engine.monitor.attention == 1
    engine.resend(item.seq, {**att.body, "title": "Fixed"})
    assert await engine.flush() == 1
    assert server.posts[item.entity_id]["description"] == "my long text"
    assert engine.needs_attention() == []


async def test_conflict_keeps_both_versions_until_the_user_decides(fake):
    server, _store, engine = fake
    server.posts["p1"] = {"id": "p1", "title": "Ours", "version": 1}
    await engine.fetch("post", "p1", path="/posts/p1")
    server.posts["p1"].update(title="Theirs", version=2)  # someone else edited meanwhile
    item = engine.write(
        "PATCH",
        "/posts/p1",
        {"title": "Mine"},
        entity=("post", "p1"),
        optimistic={"title": "Mine"},
        if_match=1,
    )
    assert engine.read("post", "p1", refresh=False).data["title"] == "Mine"
    assert await engine.flush() == 0
    [att] = engine.needs_attention()
    assert att.state == "conflict" and att.status == 412 and att.code == "version_conflict"
    assert att.body == {"title": "Mine"} and att.local["title"] == "Mine"
    assert att.server["title"] == "Theirs" and att.server_version == 2
    # keep mine: resend against the version now seen
    engine.resend(item.seq)
    assert await engine.flush() == 1
    assert server.posts["p1"]["title"] == "Mine" and server.posts["p1"]["version"] == 3


async def test_discarding_a_conflict_takes_the_servers_copy_and_keeps_a_record(fake):
    server, store, engine = fake
    server.posts["p1"] = {"id": "p1", "title": "Theirs", "version": 5}
    item = engine.write(
        "PATCH", "/posts/p1", {"title": "Mine"}, entity=("post", "p1"),
        optimistic={"title": "Mine"}, if_match=4,
    )  # fmt: skip
    await engine.flush()
    engine.discard(item.seq)
    snap = engine.read("post", "p1", refresh=False)
    assert snap.data["title"] == "Theirs" and not snap.dirty
    assert store.outbox.get(item.seq).state == "discarded"  # never dropped silently
    assert engine.needs_attention() == []


async def test_transient_failures_back_off_and_keep_order(fake):
    server, store, engine = fake
    a = engine.create("post", "/posts", {"title": "A"})
    b = engine.create("post", "/posts", {"title": "B"})
    server.fail_next = [503, 503]  # the client retries once, then the item waits
    assert await engine.flush() == 0
    first = store.outbox.get(a.seq)
    assert first.state == "queued" and first.attempts == 1 and first.error_code == "down"
    assert first.next_attempt_at > store.now()
    assert store.outbox.get(b.seq).attempts == 0  # B never overtook A
    sent = len(server.requests)
    assert await engine.flush() == 0 and len(server.requests) == sent  # not due yet
    assert await engine.flush(force=True) == 2
    assert list(server.posts) == [a.entity_id, b.entity_id]


async def test_work_offline_switch_cuts_the_link(fake):
    server, _store, engine = fake
    states = []
    engine.monitor.subscribe(lambda m: states.append(m.label))
    engine.set_work_offline(True)
    engine.create("post", "/posts", {"title": "Offline"})
    before = len(server.requests)
    assert await engine.flush(force=True) == 0
    assert engine.read("post", "x", path="/posts/x").data is None
    await asyncio.sleep(0)
    assert len(server.requests) == before  # nothing left the machine
    assert engine.monitor.label == "working offline · 1 pending"
    engine.set_work_offline(False)
    assert await engine.flush() == 1
    assert engine.monitor.label == "online"
    assert "working offline · 1 pending" in states and states[-1] == "online"


async def test_change_feed_pulls_by_cursor_and_spares_pending_edits(fake):
    server, store, engine = fake
    store.put_entity("post", "mine", {"id": "mine", "title": "Local edit"}, dirty=True)
    server.feed = [
        {"entity": "post", "id": "p1", "op": "upsert", "seq": 3, "data": {"id": "p1"}},
        {"entity": "post", "id": "mine", "op": "upsert", "seq": 4, "data": {"title": "S"}},
        {"entity": "post", "id": "p2", "op": "upsert", "seq": 7, "data": {"id": "p2"}},
        {"entity": "post", "id": "p1", "op": "delete", "seq": 9},
    ]
    heard = []
    engine.subscribe(heard.append)
    assert await engine.pull() == 3
    assert store.get_cursor() == 9
    assert store.get_entity("post", "p1") is None and store.get_entity("post", "p2")
    assert store.get_entity("post", "mine").data["title"] == "Local edit"
    assert [c.id for c in heard] == ["p1", "p2", "p1"]
    calls = len(server.requests)
    assert await engine.pull() == 0 and len(server.requests) == calls + 1


async def test_background_loop_flushes_when_kicked(fake):
    server, _store, engine = fake
    engine.start()
    engine.create("post", "/posts", {"title": "Looped"})
    for _ in range(200):
        if server.posts:
            break
        await asyncio.sleep(0.01)
    await engine.stop()
    assert [p["title"] for p in server.posts.values()] == ["Looped"]


async def test_offline_journey_against_a_stopped_and_restarted_backend(tmp_path):
    app = create_app(f"sqlite:///{tmp_path}/server.sqlite3")
    replica = tmp_path / "replica.sqlite3"
    server = LiveServer(app).start()
    client = ApiClient(server.url, sleep=_no_sleep)
    await client.create_account("anna@example.org", PW, "Anna Nowak")
    await client.sign_in("anna@example.org", PW)
    store = LocalStore(replica)
    engine = SyncEngine(store, client)
    await engine.fetch("account", "me", path="/eulogin/me")

    server.stop()  # the backend is gone
    cached = engine.read("account", "me", path="/eulogin/me")
    assert cached.data["name"] == "Anna Nowak"  # the screen still shows it
    queued = [engine.write("POST", "/eulogin/accounts", _account(n)) for n in range(3)]
    assert await engine.flush() == 0
    assert engine.monitor.state == "offline" and engine.monitor.pending == 3
    assert store.outbox.get(queued[0].seq).error_code == "network"
    await client.aclose()
    store.close()

    # the app restarts, and so does the backend
    server.start()
    store = LocalStore(replica)
    tokens = client.tokens
    client = ApiClient(server.url, tokens=tokens, sleep=_no_sleep)
    engine = SyncEngine(store, client)
    assert engine.monitor.pending == 3
    assert engine.read("account", "me", refresh=False).data["email"] == "anna@example.org"
    assert await engine.check() is True and engine.monitor.state == "online"
    assert await engine.flush() == 3
    done = [store.outbox.get(q.seq) for q in queued]
    assert [d.state for d in done] == ["done"] * 3
    created = [d.response["created_at"] for d in done]
    assert created == sorted(created)  # they reached the server in order
    assert [d.response["email"] for d in done] == [f"queued{n}@example.org" for n in range(3)]
    await engine.fetch("account", "me", path="/eulogin/me")
    assert client.stats.not_modified >= 1  # revalidated from the replica's ETag
    await client.aclose()
    store.close()
    server.stop()
    app.state.engine.dispose()


async def test_rejected_by_the_real_server_with_its_message(tmp_path):
    app = create_app(f"sqlite:///{tmp_path}/server.sqlite3")
    client = ApiClient("http://test", transport=httpx.ASGITransport(app=app))
    store = LocalStore(tmp_path / "replica.sqlite3")
    engine = SyncEngine(store, client)
    item = engine.write("POST", "/eulogin/accounts", _account(1, password="short"))
    taken = engine.write("POST", "/eulogin/accounts", _account(2))
    again = engine.write("POST", "/eulogin/accounts", {**_account(2), "name": "Twin"})
    assert await engine.flush() == 1
    by_seq = {a.seq: a for a in engine.needs_attention()}
    bad = by_seq[item.seq]
    assert bad.state == "rejected" and bad.field == "password" and "password" in bad.message
    assert bad.body["email"] == "queued1@example.org"
    dup = by_seq[again.seq]
    assert dup.state == "conflict" and dup.code == "email_taken" and dup.body["name"] == "Twin"
    assert store.outbox.get(taken.seq).state == "done"
    engine.resend(item.seq, {**bad.body, "password": PW})
    assert await engine.flush() == 1
    await client.aclose()
    store.close()
    app.state.engine.dispose()
