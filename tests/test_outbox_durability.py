"""Outbox durability: a writer killed with SIGKILL at random points, 50 times, loses nothing it
acknowledged, leaves a sound file, and replay creates exactly one server object per key."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy import func, select

from api_client.http import ApiClient
from esep_tui.sync import SyncEngine
from local_store.store import LocalStore
from reference_backend import security
from reference_backend.app import create_app
from reference_backend.tables import Account
from tests.sync_helpers import LiveServer

ROOT = Path(__file__).resolve().parent.parent
KILLS = 50


def _run_writer(zygote: subprocess.Popen, ack_file: Path, delay: float) -> list[str]:
    zygote.stdin.write(f"run {ack_file}\n")
    zygote.stdin.flush()
    pid = int(zygote.stdout.readline())
    deadline = time.monotonic() + 10
    while not (ack_file.exists() and ack_file.read_bytes().startswith(b"ready")):
        assert time.monotonic() < deadline, "the writer did not start"
        time.sleep(0.002)
    time.sleep(delay)  # a random point after the writer opened its outbox
    os.kill(pid, signal.SIGKILL)
    status = zygote.stdout.readline().split()
    assert status[0] == "exit"
    assert os.WIFSIGNALED(int(status[1])) and os.WTERMSIG(int(status[1])) == signal.SIGKILL
    lines = ack_file.read_text().splitlines() if ack_file.exists() else []
    return [line.split()[1] for line in lines if line.startswith("ack ")]


def test_sigkilled_writer_loses_nothing_and_replay_is_exactly_once(tmp_path, monkeypatch):
    # the server objects are accounts; cheap hashing keeps fifty runs quick
    monkeypatch.setattr(
        security, "HASHER", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    )
    app = create_app(f"sqlite:///{tmp_path}/server.sqlite3")
    store_path = tmp_path / "replica.sqlite3"
    rng = random.Random(20240930)
    acked: list[str] = []
    with LiveServer(app) as server:
        zygote = subprocess.Popen(
            [sys.executable, "-m", "tests.sync_helpers", "zygote", str(store_path), server.url],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            for run in range(KILLS):
                ack_file = tmp_path / f"acks-{run}.txt"
                acked += _run_writer(zygote, ack_file, rng.uniform(0.0, 0.08))
        finally:
            zygote.stdin.close()
            zygote.wait(timeout=10)

        store = LocalStore(store_path)
        assert store.integrity_check() == "ok"
        items = store.outbox.items()
        keys = {i.idempotency_key for i in items}
        assert len(acked) >= 10  # the writers got somewhere
        assert set(acked) <= keys  # every acknowledged write is there
        assert len(keys) == len(items)

        async def replay():
            async with ApiClient(server.url) as client:
                engine = SyncEngine(store, client)
                while store.outbox.pending_count():
                    await engine.flush(force=True)
                return engine

        asyncio.run(replay())
        items = store.outbox.items()
        assert {i.state for i in items} == {"done"}, [
            (i.state, i.error_code) for i in items if i.state != "done"
        ]
        emails = [i.body["email"] for i in items]
        with app.state.sessionmaker() as db:
            count = db.scalar(select(func.count()).select_from(Account))
            per_email = dict(
                db.execute(select(Account.email, func.count()).group_by(Account.email)).all()
            )
        # one server object per outbox key, none twice, none missing
        assert count == len(items) == len(set(emails))
        assert all(per_email[e] == 1 for e in emails)
        store.close()
    app.state.engine.dispose()
