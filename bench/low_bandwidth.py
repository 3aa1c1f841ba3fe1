"""The teacher journey, then a TwinSpace session, over shaped links: time to usable, bytes, trips.

    .venv/bin/python bench/low_bandwidth.py [--presets 2g,edge,3g] [--write docs/performance.md]

The demo world is served on loopback behind the link shaper (esep_tui/link_shaper.py). The
journey is driven through the API client and the sync engine the screens use: each screen is
read replica-first (``SyncEngine.read``) and counts as usable when it has data to show; a
screen seen before is usable at once and revalidates in the background. Writes go through the
outbox and the time until ``write()`` returns is reported (it never waits for the network).

Each preset runs: a first visit (cold replica), a second visit (warm: served from the replica,
revalidated with ETags), an offline visit (the link cut), then the TwinSpace session (open a
project, edit three pages, attach one small file). A baseline repeats the first and second
visits with caching, compression and conditional requests switched off.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api_client import crdt  # noqa: E402
from api_client.http import ApiClient  # noqa: E402
from esep_tui.link_shaper import PRESETS, ShaperThread, split_url  # noqa: E402
from esep_tui.sync import SyncEngine  # noqa: E402
from local_store.store import LocalStore  # noqa: E402

EMAIL, PASSWORD = "maria.papadopoulou@demo.esep", "eTwinning-demo-2026"
KB = 1024
GOALS = "seen screens ≤ 1 s (offline too) · writes never wait · Edge search ≤ 4 s · journey ≤ 64 KB"

# (screen, [(kind, path, params)]): what each screen of the teacher journey reads
JOURNEY = [
    ("home", [("account", "/eulogin/me", None), ("user", "/users/me", None)]),
    ("profile", [("membership", "/users/me/memberships", None)]),
    ("org search", [("organisation", "/organisations", {"country": "PL", "q": "szkola lodz"})]),
    ("partners", [("person", "/people", {"country": "PL"}), ("contact", "/contacts", None)]),
    ("posts", [("post", "/posts", None)]),
    ("projects", [("project", "/projects", None)]),
    ("notifications", [("notification", "/notifications", None)]),
]


def serve_demo(folder: Path) -> tuple[str, object]:
    import uvicorn

    from reference_backend.app import create_app

    app = create_app(f"sqlite:///{folder / 'server.sqlite3'}", seed="demo")
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return f"http://127.0.0.1:{port}", server


class Meter:
    """Bytes and round trips between two marks, as the shaper and the client saw them."""

    def __init__(self, shaper: ShaperThread, client: ApiClient):
        self.shaper, self.client = shaper, client
        self.mark()

    def mark(self) -> None:
        s = self.shaper.stats
        self._at = (s.bytes_up, s.bytes_down, self.client.stats.round_trips)

    def take(self) -> tuple[int, int, int]:
        s = self.shaper.stats
        now = (s.bytes_up, s.bytes_down, self.client.stats.round_trips)
        out = tuple(b - a for a, b in zip(self._at, now, strict=True))
        self._at = now
        return out  # type: ignore[return-value]


async def visit(engine: SyncEngine, meter: Meter, *, cached: bool, label: str, rows: list):
    """Open every journey screen; usable = data to show (replica first when ``cached``)."""
    for screen, reads in JOURNEY:
        meter.mark()
        start = time.perf_counter()
        usable = None
        pending = []
        for kind, path, params in reads:
            snap = engine.read(kind, path=path, params=params, refresh=False) if cached else None
            if snap is not None and snap.found:
                pending.append(engine.fetch(kind, path=path, params=params))  # revalidate
            else:
                await engine.fetch(kind, path=path, params=params)
        usable = time.perf_counter() - start
        if pending:
            await asyncio.gather(*pending)
        up, down, trips = meter.take()
        rows.append((label, screen, usable, up, down, trips))


async def twinspace(engine: SyncEngine, meter: Meter, label: str, rows: list, writes: list):
    client = engine.client
    meter.mark()
    start = time.perf_counter()
    projects = await client.request("GET", "/projects")
    items = projects.get("items", projects) if isinstance(projects, dict) else projects
    running = next(p for p in items if p.get("state") == "approved")
    tree = await engine.fetch("page", path=f"/projects/{running['id']}/pages")
    pages = tree.data.get("items") if isinstance(tree.data, dict) else tree.data
    pages = [p for p in pages if isinstance(p, dict)][:3]
    up, down, trips = meter.take()
    rows.append((label, "twinspace open", time.perf_counter() - start, up, down, trips))
    meter.mark()
    start = time.perf_counter()
    docs = {}
    for page in pages:
        data = await client.request("GET", f"/pages/{page['id']}")
        doc = crdt.doc_from_update(crdt.b64decode(data["doc"]))
        engine.store.save_page(page["id"], doc=doc.get_update(), server_state=doc.get_state())
        docs[page["id"]] = doc
    loaded = time.perf_counter() - start
    for page_id, doc in docs.items():  # the edits: local, durable, no network
        t = time.perf_counter()
        before = doc.get_state()
        crdt.set_text(doc, crdt.get_text(doc) + "\n\nNotes from our class visit to the river.")
        engine.store.add_page_update(page_id, doc.get_update(before))
        writes.append(time.perf_counter() - t)
    for page_id in docs:  # then synced: the state vector and only the diff
        row = engine.store.get_page(page_id)
        answer = await client.request(
            "POST",
            f"/pages/{page_id}/sync",
            json={"state_vector": crdt.b64encode(docs[page_id].get_state()),
                  "update": crdt.b64encode(row.pending)},
        )  # fmt: skip
        engine.store.save_page(
            page_id, server_state=crdt.b64decode(answer["state_vector"]), clear_pending=True
        )
    up, down, trips = meter.take()
    rows.append((label, "edit 3 pages", loaded, up, down, trips))
    meter.mark()
    t = time.perf_counter()
    small = base64.b64encode(b"%PDF-1.4\n" + b"0" * 3000).decode()
    engine.write(
        "POST",
        f"/pages/{pages[0]['id']}/materials",
        {"filename": "worksheet.pdf", "content_type": "application/pdf", "data_base64": small},
    )
    writes.append(time.perf_counter() - t)
    await engine.flush(force=True)
    up, down, trips = meter.take()
    rows.append((label, "attach a file", time.perf_counter() - t, up, down, trips))


async def run_preset(url: str, name: str, folder: Path, *, baseline: bool = False):
    rows: list = []
    writes: list[float] = []
    shaper = ShaperThread(split_url(url), PRESETS[name]).start()
    label = f"{PRESETS[name].name}{' baseline' if baseline else ''}"
    store = LocalStore(folder / f"{name}-{'base' if baseline else 'opt'}.sqlite3")
    client = ApiClient(shaper.url, timeout=60)
    if baseline:  # no compression, no conditional requests, no replica reads
        client._http.headers["Accept-Encoding"] = "identity"
        original = client.send

        async def send(*args, **kwargs):
            kwargs["conditional"] = False
            return await original(*args, **kwargs)

        client.send = send  # type: ignore[method-assign]
    engine = SyncEngine(store, client)
    meter = Meter(shaper, client)
    start = time.perf_counter()
    await client.sign_in(EMAIL, PASSWORD)
    up, down, trips = meter.take()
    rows.append((label, "sign in", time.perf_counter() - start, up, down, trips))
    await visit(engine, meter, cached=not baseline, label=label + " first", rows=rows)
    await visit(engine, meter, cached=not baseline, label=label + " again", rows=rows)
    if not baseline:
        shaper.cut()
        await visit(engine, meter, cached=True, label=label + " offline", rows=rows)
        shaper.set_profile(PRESETS[name])
        engine.store.outbox.wake()
        await twinspace(engine, meter, label, rows, writes)
    await client.aclose()
    store.close()
    shaper.stop()
    return rows, writes


def _sum(rows, prefix: str, screens=None) -> tuple[int, int]:
    picked = [r for r in rows if r[0].startswith(prefix) and (screens is None or r[1] in screens)]
    return sum(r[3] for r in picked), sum(r[4] for r in picked)


def report(results: dict) -> list[str]:
    out = [f"Goals: {GOALS}", ""]
    out.append(f"{'run':<22} {'screen':<15} {'usable':>8} {'up':>8} {'down':>8} {'trips':>5}")
    for name, (rows, writes, base) in results.items():
        for label, screen, usable, up, down, trips in rows + base:
            out.append(
                f"{label:<22} {screen:<15} {usable * 1000:>6.0f}ms {up:>8} {down:>8} {trips:>5}"
            )
        journey_labels = {"sign in"} | {s for s, _ in JOURNEY}
        p = PRESETS[name].name
        up, down = _sum(rows, p, journey_labels)
        base_up, base_down = _sum(base, p, journey_labels)
        seen = [r[2] for r in rows if r[0].endswith(("again", "offline"))]
        search = [r[2] for r in rows if r[1] == "org search" and r[0].endswith("first")]
        total, base_total = up + down, base_up + base_down
        out.append(
            f"== {p}: teacher journey (first + second visit) {total / KB:.1f} KB "
            f"(baseline {base_total / KB:.1f} KB, ratio {base_total / max(1, total):.1f}x); "
            f"seen screens usable in ≤ {max(seen) * 1000:.0f} ms; fresh org search "
            f"{search[0]:.2f} s; longest write wait {max(writes) * 1000:.1f} ms"
        )
        first_up, first_down = _sum(rows, p + " first", journey_labels - {"sign in"})
        out.append(f"   first visit alone {(first_up + first_down) / KB:.1f} KB")
        out.append("")
    return out


async def main_async(presets: list[str]) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="esep-bench-"))
    url, server = serve_demo(folder)
    results = {}
    try:
        for name in presets:
            rows, writes = await run_preset(url, name, folder)
            base, _ = await run_preset(url, name, folder, baseline=True)
            results[name] = (rows, writes, base)
            print(f"... {name} done", file=sys.stderr, flush=True)
    finally:
        server.should_exit = True
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="2g,edge,3g")
    parser.add_argument("--write", metavar="FILE", default=str(ROOT / "docs" / "performance.md"))
    args = parser.parse_args(argv)
    presets = [p.strip().lower() for p in args.presets.split(",") if p.strip()]
    lines = report(asyncio.run(main_async(presets)))
    print("\n".join(lines))
    if args.write:
        write_section(Path(args.write), lines)
    return 0


BEGIN, END = "<!-- low_bandwidth:begin -->", "<!-- low_bandwidth:end -->"


def write_section(path: Path, lines: list[str]) -> None:
    """Replace this benchmark's section of the performance page (other sections stay)."""
    section = "\n".join(
        [BEGIN, "## Low bandwidth (bench/low_bandwidth.py)", "", "```", *lines, "```", END]
    )
    text = path.read_text() if path.exists() else "# Performance\n\nGenerated by `make bench`.\n"
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        text = head + section + tail
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
