"""Fault injection: a flaky link, a backend killed mid-write, a client killed mid-flush, a stall.

* 200 seeded runs drop the link at random points while two replicas flush their outboxes and
  sync one page: no write is lost, none is duplicated, the replicas converge with the server.
* The backend is SIGKILLed during writes, 30 times on SQLite and on PostgreSQL: the database
  stays consistent and every acknowledged write is present.
* The client is SIGKILLed mid-flush and restarted: the outbox resumes with the same keys.
* A stalled link: the request times out, the item is retried, the user is told once.

``python -m tests.test_faults flush STORE URL`` is the client process the kill test uses.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text

from api_client import crdt
from api_client.errors import ApiError
from api_client.http import ApiClient, MemoryTokens
from api_client.models.auth import TokenPair
from esep_tui.link_shaper import PRESETS, Faults, LinkShaper, ShaperThread, split_url
from esep_tui.sync import OFFLINE, ONLINE, SYNCING, SyncEngine
from local_store.store import LocalStore
from reference_backend import db as dbmod
from reference_backend.app import create_app
from reference_backend.tables import Change, IdempotencyRecord, Page
from tests.conftest import PG_URL
from tests.sync_helpers import free_port
from tests.test_twinspace_pages import make_space

ROOT = Path(__file__).resolve().parent.parent
DROP_RUNS = 200
KILL_RUNS = 30


def _tokens(persona) -> MemoryTokens:
    return MemoryTokens(
        TokenPair(access_token=persona.token, refresh_token=persona.refresh, expires_in=900)
    )


def _client(url: str, persona, **kwargs) -> ApiClient:
    kwargs.setdefault("timeout", 5.0)
    # plain http on loopback: no TLS context to build for each of hundreds of clients
    transport = httpx.AsyncHTTPTransport(verify=False)
    return ApiClient(url, tokens=_tokens(persona), max_retries=0, transport=transport, **kwargs)


def _fast_dir(fallback: Path) -> Path:
    """A directory in memory when the machine has one: the runs measure faults, not fsync."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return Path(tempfile.mkdtemp(prefix="esep-faults-", dir=shm))
    return fallback


class _Served:
    """The backend in a forked process of its own (so it runs beside the test, not in it)."""

    def __init__(self, app, url: str, schema: str | None = None):
        self.app, self.db_url, self.schema = app, url, schema
        self.proc = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> _Served:
        self.app.state.engine.dispose()  # nothing shared with the child
        self.port = free_port()
        fork = multiprocessing.get_context("fork")
        self.proc = fork.Process(target=_serve, args=(self.app, self.port), daemon=True)
        self.proc.start()
        _wait_port(self.port, self.proc)
        return self

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.join(10)


def _warm(app, space) -> None:
    """One request in-process first: the forked servers inherit warm imports and caches."""
    from starlette.testclient import TestClient

    with TestClient(app) as c:
        r = c.post(
            f"/projects/{space.project_id}/pages",
            json={"title": "Warm-up", "markdown": "x"},
            headers=space.admin.headers,
        )
        assert r.status_code == 201, r.text
        c.post(f"/pages/{r.json()['id']}/sync", json={}, headers=space.admin.headers)


@pytest.fixture(scope="module")
def world(tmp_path_factory, sqlite_template):
    """One served backend (SQLite) with an approved project, for the flaky-link runs."""
    folder = _fast_dir(tmp_path_factory.mktemp("faults"))
    path = folder / "server.sqlite3"
    shutil.copy(sqlite_template, path)
    app = create_app(f"sqlite:///{path}", migrate=False)
    space = make_space(app)
    _warm(app, space)
    live = _Served(app, f"sqlite:///{path}").start()
    try:
        with httpx.Client(base_url=live.url, timeout=10) as direct:
            yield app, space, live, direct
    finally:
        live.kill()
        app.state.engine.dispose()
        if folder.parent == Path("/dev/shm"):
            shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------- page replicas


def page_load(store: LocalStore, page_id: str, data: dict) -> None:
    doc = crdt.doc_from_update(crdt.b64decode(data["doc"]))
    store.save_page(page_id, doc=doc.get_update(), server_state=doc.get_state())


def page_edit(store: LocalStore, page_id: str, append: str) -> None:
    """A local edit: merged into the replica's document and its pending updates, durably."""
    doc = crdt.doc_from_update(store.get_page(page_id).doc)
    before = doc.get_state()
    crdt.set_text(doc, crdt.get_text(doc) + append)
    store.add_page_update(page_id, doc.get_update(before))


def page_text(store: LocalStore, page_id: str) -> str:
    return crdt.get_text(crdt.doc_from_update(store.get_page(page_id).doc))


async def page_sync(client: ApiClient, store: LocalStore, page_id: str) -> None:
    """Send the pending update with the state vector; keep what comes back."""
    row = store.get_page(page_id)
    doc = crdt.doc_from_update(row.doc)
    body = {
        "state_vector": crdt.b64encode(doc.get_state()),
        "update": crdt.b64encode(row.pending) if row.pending else None,
    }
    answer = await client.send("POST", f"/pages/{page_id}/sync", json=body, retries=0)
    crdt.apply_remote(doc, crdt.b64decode(answer.data["update"]))
    store.save_page(
        page_id,
        doc=doc.get_update(),
        server_state=crdt.b64decode(answer.data["state_vector"]),
        clear_pending=True,
    )


# --------------------------------------------------------------------- random link drops


async def _drop_run(seed: int, world, tmp: Path) -> None:
    app, space, live, direct = world
    rng = random.Random(seed)
    created = direct.post(
        f"/projects/{space.project_id}/pages",
        json={"title": f"Shared {seed}", "markdown": "Start.\n"},
        headers=space.admin.headers,
    )
    assert created.status_code == 201, created.text
    shared = created.json()["id"]
    faults = Faults(drop=rng.uniform(0.05, 0.3))
    shaper = await LinkShaper(split_url(live.url), faults=faults, seed=seed).start()
    replicas = []
    for name, persona in (("a", space.admin), ("b", space.partner)):
        store = LocalStore(tmp / f"{seed}-{name}.sqlite3")
        client = _client(shaper.url, persona)
        engine = SyncEngine(store, client, send_retries=0)
        page_load(store, shared, direct.get(f"/pages/{shared}", headers=persona.headers).json())
        replicas.append((name, store, client, engine))
    titles: list[str] = []
    markers: list[str] = []
    for name, store, _api, engine in replicas:
        for i in range(rng.randint(1, 3)):
            title = f"Run {seed} {name} {i}"
            titles.append(title)
            if rng.random() < 0.5:  # an offline create with a client id
                engine.create("page", f"/projects/{space.project_id}/pages", {"title": title})
            else:  # only the Idempotency-Key keeps a replay from creating a second page
                engine.write("POST", f"/projects/{space.project_id}/pages", {"title": title})
        marker = f"[{name}{seed}]"
        markers.append(marker)
        page_edit(store, shared, f"{marker}\n")
    synced = {name: 0 for name, *_ in replicas}
    for round_no in range(60):
        if round_no == 40:
            faults.drop = 0.0  # the link comes back for good
        before = dict(synced)
        for name, store, client, engine in replicas:
            await engine.flush(force=True)
            try:
                await page_sync(client, store, shared)
            except ApiError:
                continue
            synced[name] += 1
        flushed = all(e.store.outbox.pending_count() == 0 for *_, e in replicas)
        # every replica pushed its edit in an earlier round and pulled in this one
        if flushed and all(before[n] >= 1 and synced[n] > before[n] for n in synced):
            break
    await shaper.stop()
    server_text = direct.get(f"/pages/{shared}", headers=space.admin.headers).json()["text"]
    with app.state.sessionmaker() as db:
        counts = dict(
            db.execute(
                select(Page.title, func.count()).where(Page.title.in_(titles)).group_by(Page.title)
            ).all()
        )
    for name, store, client, engine in replicas:
        assert engine.store.outbox.pending_count() == 0, (seed, name)
        assert engine.needs_attention() == [], (seed, name)
        assert page_text(store, shared) == server_text, (seed, name)
        assert store.get_page(shared).pending is None
        await client.aclose()
        store.close()
    assert counts == {t: 1 for t in titles}, seed  # none lost, none twice
    for marker in markers:
        assert server_text.count(marker) == 1, (seed, marker)
    return shaper.stats.drops


async def test_random_link_drops_lose_and_duplicate_nothing(world, tmp_path):
    folder = _fast_dir(tmp_path)
    drops = 0
    try:
        for seed in range(DROP_RUNS):
            drops += await _drop_run(seed, world, folder)
    finally:
        if folder != tmp_path:
            shutil.rmtree(folder, ignore_errors=True)
    assert drops > DROP_RUNS  # the link really did break, many times


# --------------------------------------------------------------------- backend SIGKILL


def _serve(app, port: int) -> None:  # the forked backend: the parent's warm app
    import uvicorn

    app.state.engine.dispose(close=False)  # its own connections, never the parent's
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="critical", lifespan="off")


def _wait_port(port: int, proc) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if not proc.is_alive():
            raise RuntimeError("the backend died while starting")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.01)
    raise RuntimeError("the backend did not start")


async def _writes_until_killed(served, space, rng, sent, acked) -> None:
    async def lane():
        async with httpx.AsyncClient(base_url=served.url, timeout=5) as http:
            while True:
                pid, key = str(uuid.uuid4()), str(uuid.uuid4())
                sent[key] = pid
                try:
                    r = await http.post(
                        f"/projects/{space.project_id}/pages",
                        json={"id": pid, "title": f"K {pid[:8]}", "markdown": "x" * 300},
                        headers={**space.admin.headers, "Idempotency-Key": key},
                    )
                except httpx.TransportError:
                    return
                if r.status_code == 201:
                    acked[key] = pid
                    first.set()
                else:
                    raise AssertionError(r.text)

    first = asyncio.Event()  # the new process answers its first request slowly
    lanes = [asyncio.ensure_future(lane()) for _ in range(4)]
    await asyncio.wait_for(first.wait(), 20)
    await asyncio.sleep(rng.uniform(0.0, 0.3))
    served.kill()
    await asyncio.wait_for(asyncio.gather(*lanes), 20)


def _check_consistent(app, space, sent: dict, acked: dict) -> None:
    with app.state.sessionmaker() as db:
        ids = list(sent.values())
        pages = set(db.scalars(select(Page.id).where(Page.id.in_(ids))).all())
        changed = set(
            db.scalars(
                select(Change.entity_id).where(Change.entity == "page", Change.entity_id.in_(ids))
            ).all()
        )
        records = {
            r.key: r
            for r in db.scalars(
                select(IdempotencyRecord).where(IdempotencyRecord.key.in_(list(sent)))
            )
        }
    missing = [pid for pid in acked.values() if pid not in pages]
    assert not missing, f"acknowledged writes lost: {missing}"
    assert pages <= changed, "a page without its change-feed entry"
    for key, pid in sent.items():
        rec = records.get(key)
        if rec is None or rec.state == "in_flight":
            # never started, or its work rolled back with the process: no half-made page
            assert key not in acked and pid not in pages
        else:
            assert rec.status_code == 201 and pid in pages


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_backend_killed_mid_write_keeps_every_acknowledged_write(kind, tmp_path):
    schema = None
    if kind == "sqlite":
        path = tmp_path / "server.sqlite3"
        url = f"sqlite:///{path}"
    else:
        url, schema = PG_URL, f"esep_faults_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin = dbmod.make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
    app = create_app(url, schema=schema)
    try:
        space = make_space(app)
        _warm(app, space)
        rng = random.Random(8)
        sent: dict[str, str] = {}
        acked: dict[str, str] = {}
        served = _Served(app, url, schema)
        for _ in range(KILL_RUNS):
            served.start()
            asyncio.run(_writes_until_killed(served, space, rng, sent, acked))
            assert served.proc.exitcode == -signal.SIGKILL
            _check_consistent(app, space, sent, acked)
            if kind == "sqlite":
                with sqlite3.connect(path) as check:
                    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert len(acked) > KILL_RUNS and len(sent) > len(acked)
        # a replayed acknowledged write answers the first answer, and makes nothing new
        with app.state.sessionmaker() as db:
            before = db.scalar(select(func.count()).select_from(Page))
        served.start()
        key, pid = next(iter(acked.items()))
        with httpx.Client(base_url=served.url, timeout=10) as http:
            again = http.post(
                f"/projects/{space.project_id}/pages",
                json={"id": pid, "title": f"K {pid[:8]}", "markdown": "x" * 300},
                headers={**space.admin.headers, "Idempotency-Key": key},
            )
        served.kill()
        assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true"
        with app.state.sessionmaker() as db:
            assert db.scalar(select(func.count()).select_from(Page)) == before
    finally:
        app.state.engine.dispose()
        if schema is not None:
            admin = dbmod.make_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()


# --------------------------------------------------------------------- client SIGKILL


async def _flush_forever(store_path: str, url: str) -> None:
    store = LocalStore(store_path)
    engine = SyncEngine(store, ApiClient(url, max_retries=0, timeout=30), send_retries=0)
    print("ready", flush=True)
    while True:
        await engine.flush(force=True)
        await asyncio.sleep(0.01)


def _accounts(app, emails: list[str]) -> dict[str, int]:
    from reference_backend.tables import Account

    with app.state.sessionmaker() as db:
        rows = db.execute(
            select(Account.email, func.count())
            .where(Account.email.in_(emails))
            .group_by(Account.email)
        ).all()
    return dict(rows)


async def test_client_killed_mid_flush_resumes_with_the_same_keys(world, tmp_path):
    app, _space, live, _direct = world
    caught_sending = 0
    for run in range(4):
        store_path = tmp_path / f"client-{run}.sqlite3"
        store = LocalStore(store_path)
        emails = [f"k{run}-{i}-{uuid.uuid4().hex[:6]}@example.org" for i in range(8)]
        for i, email in enumerate(emails):
            body = {"email": email, "password": "correct horse battery", "name": f"K {i}"}
            store.outbox.append("POST", "/eulogin/accounts", body)
        keys = {i.seq: i.idempotency_key for i in store.outbox.items()}
        shaper = ShaperThread(split_url(live.url), PRESETS["lan"]).start()
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.test_faults", "flush", str(store_path), shaper.url],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout.readline().strip() == "ready"
            deadline = time.monotonic() + 30
            while len(_accounts(app, emails)) < 2 + run and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            shaper.stall(True)  # the next send hangs on the wire: the kill lands mid-flush
            while time.monotonic() < deadline:
                if store.query("SELECT 1 FROM outbox WHERE state = 'sending'"):
                    break
                await asyncio.sleep(0.01)
            if run % 2:
                await asyncio.sleep(0.2)  # the request reached the server, or not: both safe
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
        finally:
            if child.poll() is None:
                child.kill()
            shaper.stop()
        if store.query("SELECT 1 FROM outbox WHERE state = 'sending'"):
            caught_sending += 1
        assert store.integrity_check() == "ok"
        # restarted: the same items, the same keys, sent again until done
        engine = SyncEngine(store, ApiClient(live.url, max_retries=0), send_retries=0)
        assert {i.seq: i.idempotency_key for i in store.outbox.items()} == keys
        assert store.outbox.pending_count() > 0
        for _ in range(50):
            await engine.flush(force=True)
            if store.outbox.pending_count() == 0:
                break
            await asyncio.sleep(0.05)
        items = store.outbox.items()
        assert [i.state for i in items] == ["done"] * len(emails)
        assert {i.seq: i.idempotency_key for i in items} == keys
        assert _accounts(app, emails) == {e: 1 for e in emails}
        await engine.client.aclose()
        store.close()
    assert caught_sending == 4


# --------------------------------------------------------------------- stalled link


async def test_stalled_link_times_out_retries_and_tells_the_user_once(world, tmp_path):
    app, space, live, _direct = world
    async with LinkShaper(split_url(live.url)) as shaper:
        store = LocalStore(tmp_path / "stall.sqlite3")
        engine = SyncEngine(store, _client(shaper.url, space.admin), send_retries=0)
        assert await engine.check()
        engine.client._http.timeout = httpx.Timeout(0.4)  # a short wait, to keep the test short
        told: list[str] = []  # the indicator's states, each time it changes

        def listen(monitor) -> None:
            if not told or told[-1] != monitor.state:
                told.append(monitor.state)

        engine.monitor.subscribe(listen)
        shaper.stall(True)
        item = engine.create(
            "page", f"/projects/{space.project_id}/pages", {"title": "Written on a stall"}
        )
        # the write is on screen and queued before any byte moved
        assert engine.read("page", item.entity_id).data["title"] == "Written on a stall"
        for _ in range(3):
            assert await engine.flush(force=True) == 0
        again = store.outbox.get(item.seq)
        assert again.state == "queued" and again.attempts == 3
        assert again.error_code == "timeout"
        assert again.idempotency_key == item.idempotency_key
        assert told == [ONLINE, SYNCING, OFFLINE]  # told once, not on every retry
        assert engine.monitor.last_error == "The server took too long to answer."
        shaper.stall(False)
        engine.client._http.timeout = httpx.Timeout(10.0)
        # the stalled copies now reach the server too; while one is being processed the retry
        # hears "in flight" and tries again: the same key makes it one page either way
        for _ in range(40):
            await engine.flush(force=True)
            if store.outbox.get(item.seq).state == "done":
                break
            await asyncio.sleep(0.05)
        assert store.outbox.get(item.seq).state == "done"
        assert told[:4] == [ONLINE, SYNCING, OFFLINE, ONLINE]
        assert told.count(OFFLINE) == 1
        await engine.client.aclose()
        store.close()
    with app.state.sessionmaker() as db:
        assert db.scalar(select(func.count()).where(Page.title == "Written on a stall")) == 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "flush":
        asyncio.run(_flush_forever(sys.argv[2], sys.argv[3]))
    else:
        sys.exit("usage: python -m tests.test_faults flush STORE URL")
