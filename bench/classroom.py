"""A classroom on one laptop: N trainees at once against ``esep-tui serve --demo``.

Each simulated trainee gets a fresh "new teacher" EU Login account (as the trainer's persona
picker makes one), signs in, fills in the platform form, then for each round reads (own
account, an organisation search, a people search) and writes (a profile change with
``If-Match``). Latency percentiles per operation and every error are printed.

    .venv/bin/python bench/classroom.py                    # starts its own server, 30 clients
    .venv/bin/python bench/classroom.py --clients 30 --rounds 10 --workers 4
    .venv/bin/python bench/classroom.py --server http://10.0.0.5:8765

With no ``--server`` a fresh demo server is started in a temporary home (its own database),
exactly as a trainer would: ``esep-tui serve --demo --port P``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api_client.errors import ApiError, Conflict  # noqa: E402
from api_client.http import ApiClient  # noqa: E402

PASSWORD = "eTwinning-demo-2026"
SEARCHES = [("GR", "δημοτικο"), ("PL", "szkola"), ("GR", "athens"), ("PL", "lodz"), ("IT", "liceo")]


class Timings:
    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter[str] = Counter()

    async def time(self, op: str, coro):
        start = time.perf_counter()
        try:
            return await coro
        except ApiError as exc:
            self.errors[f"{op}: {exc.status or ''} {exc.code}"] += 1
            return None
        except Exception as exc:
            self.errors[f"{op}: {type(exc).__name__}"] += 1
            return None
        finally:
            self.samples[op].append((time.perf_counter() - start) * 1000)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = (len(ordered) - 1) * p
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


async def trainee(n: int, url: str, rounds: int, timings: Timings, start: asyncio.Event) -> bool:
    await start.wait()
    async with ApiClient(url, max_retries=0) as api:
        email = None
        for attempt in range(20):
            candidate = f"new.teacher.{100_000 + n * 100 + attempt}@demo.esep"
            began = time.perf_counter()
            try:
                await api.create_account(candidate, PASSWORD, f"Trainee {n}")
            except Conflict:  # taken (an earlier run): the next number
                continue
            except ApiError as exc:
                timings.errors[f"create account: {exc.status or ''} {exc.code}"] += 1
                return False
            finally:
                timings.samples["create account"].append((time.perf_counter() - began) * 1000)
            email = candidate
            break
        if email is None:
            return False
        if await timings.time("sign in", api.sign_in(email, PASSWORD)) is None:
            return False
        await timings.time(
            "platform form",
            api.request(
                "POST",
                "/platform/registration",
                json={"capacity": "school_staff", "country": "GR", "first_name": "Trainee",
                      "last_name": str(n)},
            ),
        )  # fmt: skip
        version = None
        for r in range(rounds):
            me = await timings.time("read /users/me", api.request("GET", "/users/me"))
            if isinstance(me, dict):
                version = me.get("version", version)
            country, q = SEARCHES[(n + r) % len(SEARCHES)]
            await timings.time(
                "read organisations",
                api.request("GET", "/organisations", params={"country": country, "q": q}),
            )
            await timings.time(
                "read people", api.request("GET", "/people", params={"country": "PL"})
            )
            headers = {"If-Match": f'"{version}"'} if version is not None else None
            patched = await timings.time(
                "write profile",
                api.request(
                    "PATCH",
                    "/users/me/profile",
                    json={"description": f"Round {r} of trainee {n}"},
                    headers=headers,
                ),
            )
            if isinstance(patched, dict):
                version = patched.get("version", version)
        return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: str, workers: int = 1) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, ESEP_TUI_HOME=home)
    args = ["serve", "--demo", "--port", str(port), "--workers", str(workers)]
    command = [str(ROOT / ".venv" / "bin" / "esep-tui"), *args]
    if not Path(command[0]).exists():
        command = [sys.executable, "-m", "esep_tui", *args]
    log = open(Path(home) / "serve.log", "w")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped; see {home}/serve.log")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, url
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("the server did not start within 120 s")


async def run(url: str, clients: int, rounds: int) -> int:
    timings = Timings()
    start = asyncio.Event()
    tasks = [asyncio.create_task(trainee(n, url, rounds, timings, start)) for n in range(clients)]
    began = time.perf_counter()
    start.set()  # everyone at once, as when a trainer says "go"
    done = await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    requests = sum(len(v) for v in timings.samples.values())
    print(f"{clients} clients x {rounds} rounds against {url}")
    print(f"{requests} requests in {elapsed:.1f} s ({requests / elapsed:.0f}/s); "
          f"{sum(done)} of {clients} trainees finished")  # fmt: skip
    print(f"{'operation':<20} {'n':>5} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    everything: list[float] = []
    for op, values in timings.samples.items():
        everything += values
        print(
            f"{op:<20} {len(values):>5} {percentile(values, 0.5):>8.1f} "
            f"{percentile(values, 0.9):>8.1f} {percentile(values, 0.99):>8.1f} {max(values):>8.1f}"
        )
    print(
        f"{'all':<20} {len(everything):>5} {percentile(everything, 0.5):>8.1f} "
        f"{percentile(everything, 0.9):>8.1f} {percentile(everything, 0.99):>8.1f} "
        f"{max(everything):>8.1f}  (mean {statistics.fmean(everything):.1f})"
    )
    errors = sum(timings.errors.values())
    print(f"errors: {errors}")
    for what, count in timings.errors.most_common():
        print(f"  {count:>4}  {what}")
    return 0 if errors == 0 and all(done) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", help="an already running server (default: start one)")
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    args = parser.parse_args(argv)
    if args.server:
        return asyncio.run(run(args.server.rstrip("/"), args.clients, args.rounds))
    with tempfile.TemporaryDirectory(prefix="esep-classroom-") as home:
        process, url = start_server(home, args.workers)
        try:
            return asyncio.run(run(url, args.clients, args.rounds))
        finally:
            process.terminate()
            process.wait(10)


if __name__ == "__main__":
    raise SystemExit(main())
