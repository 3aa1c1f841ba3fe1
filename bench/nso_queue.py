"""NSO triage with a 100,000-item queue: time to the first rows and key-to-next-item latency.

Seeds a fresh SQLite backend with 100,000 new organisations waiting for the Greek NSO, runs the
app headless at 80x24 against it in-process, opens the organisations queue and approves items
one key each. Prints figures (goals: first rows <= 300 ms, p95 <= 50 ms per decision, <= 2
keys per plain decision, <= 250 MB); it asserts nothing.

    .venv/bin/python bench/nso_queue.py [--items 100000] [--decisions 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PASSWORD = "bench password 2026"


def seed(app, n: int) -> str:
    """The staff member's email, after writing ``n`` pending organisations in one statement."""
    from reference_backend import clock, security
    from reference_backend.tables import Account, Organisation, User, new_id

    base = clock.now() - timedelta(days=40)
    with app.state.sessionmaker() as db, db.begin():
        account = Account(
            id=new_id(),
            email="nso.bench@example.org",
            password_hash=security.hash_password(PASSWORD),
            name="Bench NSO",
        )
        db.add(account)
        db.flush()
        db.add(
            User(
                id=new_id(),
                account_id=account.id,
                first_name="Bench",
                last_name="NSO",
                name_folded="bench nso",
                country="GR",
                capacity="school_staff",
                state="etwinning_validated",
                staff_country="GR",
            )
        )
        rows = [
            {
                "id": new_id(),
                "legal_name": f"Queued school {i:06d}",
                "public_name": f"Queued school {i:06d}",
                "country": "GR",
                "region": "Attica",
                "city": f"Town {i}",
                "city_folded": f"town {i}",
                "type": "primary",
                "state": "pending",
                "created_at": base + timedelta(seconds=i),
                "version": 1,
            }
            for i in range(n)
        ]
        db.execute(Organisation.__table__.insert(), rows)
    return account.email


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(backend, email: str, decisions: int) -> dict:
    import httpx
    from textual import events

    from esep_tui.app import EsepApp
    from esep_tui.settings import Settings
    from screens.nso_queue import NsoQueueScreen

    app = EsepApp(
        server="http://esep.bench",
        transport=httpx.ASGITransport(app=backend),
        settings=Settings.load(),
        probe_interval=None,
        start_delay=0.0,
    )
    out: dict = {}
    async with app.run_test(size=(80, 24)) as pilot:
        await app.connection.settled()
        await app.connection.sign_in(email, PASSWORD)
        await app.push_screen(NsoQueueScreen())
        screen = app.screen
        await pilot.pause()
        start = time.perf_counter()
        await pilot.press("2")
        vlist = screen.vlist
        while not (vlist.total and vlist.current is not None and screen.kind == "organisation"):
            await asyncio.sleep(0.001)
        out["first_rows_ms"] = (time.perf_counter() - start) * 1000
        out["total"] = vlist.total
        # let the prefetch of the next item's evidence land, as a person reading would
        await pilot.pause(0.3)
        latencies, write_ms, keys = [], [], 0
        for _ in range(decisions):
            before = vlist.cursor
            nxt = vlist.item(before + 1)
            while nxt is not None and ("organisation", nxt["id"]) not in screen.evidence:
                await asyncio.sleep(0.001)
            t0 = time.perf_counter()
            # the key goes in as a terminal would send it; the clock stops when the next item
            # and its evidence are on screen (pilot.press would also wait for the upload)
            app.post_message(events.Key("a", "a"))
            keys += 1
            while vlist.cursor == before or nxt["title"] not in screen.query_one("#evidence").text:
                await asyncio.sleep(0.0005)
            latencies.append((time.perf_counter() - t0) * 1000)
            write_ms.append(screen.last_write_ms)
        out["latencies"] = latencies
        out["keys_per_decision"] = keys / decisions
        out["write_ms"] = write_ms
        out["pages_loaded"] = len(vlist.loaded_pages())
        out["rows_rendered"] = vlist.rows_rendered
        engine = screen.engine
        deadline = time.perf_counter() + 60
        while engine.store.outbox.pending_count() and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        out["still_pending"] = engine.store.outbox.pending_count()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--decisions", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ESEP_TUI_HOME"] = str(Path(tmp) / "home")
        os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
        from reference_backend.app import create_app

        backend = create_app(f"sqlite:///{Path(tmp) / 'server.sqlite3'}")
        t0 = time.perf_counter()
        email = seed(backend, args.items)
        print(f"seeded {args.items:,} pending organisations in {time.perf_counter() - t0:.1f} s")
        result = asyncio.run(run(backend, email, args.decisions))
        backend.state.engine.dispose()
    lat = result["latencies"]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"queue total:            {result['total']:,}")
    print(f"time to first rows:     {result['first_rows_ms']:.0f} ms   (goal <= 300 ms)")
    print(
        f"key to next item:       p50 {statistics.median(lat):.1f} ms, p95 {pct(lat, 0.95):.1f} ms,"
        f" max {max(lat):.1f} ms over {len(lat)} decisions   (goal p95 <= 50 ms)"
    )
    print(
        f"of which outbox write: p50 {statistics.median(result['write_ms']):.1f} ms"
        " (durable: fsync before the decision counts as made)"
    )
    print(f"keystrokes per decision: {result['keys_per_decision']:.0f}   (goal <= 2)")
    print(
        f"pages in memory:        {result['pages_loaded']}, rows drawn: {result['rows_rendered']}"
    )
    print(f"decisions still queued: {result['still_pending']}")
    print(f"peak memory (client and in-process server): {peak_mb:.0f} MB   (goal <= 250 MB)")


if __name__ == "__main__":
    main()
