"""Organisation search at national scale: p50/p95 on SQLite and PostgreSQL (target p95 <= 20 ms).

Seeds the world with 300,000 organisations (eTwinning has 295,000 schools) into a fresh SQLite
file and a fresh PostgreSQL schema ``esep_bench``, then runs a fixed query mix, folded and
unfolded, through ``search_organisations`` and prints the latency percentiles per database.

    .venv/bin/python bench/search.py [--schools 300000] [--runs 15] [--pg-url URL]

PostgreSQL is skipped, with a notice, when it is not reachable.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from sqlalchemy.orm import Session

from reference_backend import db as dbmod
from reference_backend.seed import seed_world

TARGET_MS = 20.0
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
SCHEMA = "esep_bench"

# (country, what a user types): folded and unfolded, common words, cities, prefixes, a miss
QUERIES: list[tuple[str, str]] = [
    ("PL", "szkola podstawowa"),
    ("PL", "Szkoła"),
    ("PL", "Szkoła Podstawowa nr 12"),
    ("PL", "szk pod"),
    ("PL", "lodz"),
    ("PL", "liceum krakow"),
    ("PL", "kopernika"),
    ("GR", "δημοτικο"),
    ("GR", "Δημοτικό σχολείο"),
    ("GR", "δημ σχ αθ"),
    ("GR", "θεσσαλονικη"),
    ("GR", "γυμνασιο"),
    ("DE", "strasse"),
    ("DE", "Goethestraße"),
    ("DE", "gymnasium"),
    ("DE", "grundschule munchen"),
    ("TR", "anadolu lisesi"),
    ("TR", "istanbul"),
    ("FR", "lycée victor"),
    ("IT", "liceo"),
    ("UA", "ліцей київ"),
    ("PL", "xyzzy"),
    ("DE", "qqq zzz"),
]


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def measure(engine, runs: int) -> tuple[list[float], dict[tuple[str, str], tuple[float, int]]]:
    from reference_backend.domain.search import search_organisations

    samples: list[float] = []
    per_query: dict[tuple[str, str], tuple[float, int]] = {}
    with Session(engine) as db:  # warm the caches once, like a running server
        for country, q in QUERIES:
            search_organisations(db, country=country, q=q)
    for country, q in QUERIES:
        times = []
        hits = 0
        for _ in range(runs):
            with Session(engine) as db:
                start = time.perf_counter()
                rows, _next = search_organisations(db, country=country, q=q, offset=0, limit=20)
                times.append((time.perf_counter() - start) * 1000)
                hits = len(rows)
        samples.extend(times)
        per_query[(country, q)] = (statistics.median(times), hits)
    return samples, per_query


def report(name: str, seeded: dict, samples: list[float], per_query) -> bool:
    p50, p95 = percentile(samples, 50), percentile(samples, 95)
    ok = p95 <= TARGET_MS
    print(f"\n== {name}: {seeded.get('organisations', '?')} organisations "
          f"(seeded in {seeded.get('seconds', '?')} s)")  # fmt: skip
    for (country, q), (median, hits) in per_query.items():
        print(f"   {country} {q!r:32} p50 {median:7.2f} ms  {hits:2d} rows")
    verdict = "OK" if ok else "ABOVE TARGET"
    print(
        f"   all queries: p50 {p50:.2f} ms, p95 {p95:.2f} ms (target p95 <= {TARGET_MS:.0f} ms): {verdict}"
    )
    return ok


def bench_sqlite(schools: int, runs: int) -> bool:
    with tempfile.TemporaryDirectory(prefix="esep-bench-") as tmp:
        engine = dbmod.make_engine(f"sqlite:///{tmp}/bench.sqlite3")
        dbmod.upgrade(engine)
        seeded = seed_world(engine, schools=schools)
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
        samples, per_query = measure(engine, runs)
        engine.dispose()
        return report("SQLite", seeded, samples, per_query)


def bench_postgres(url: str, schools: int, runs: int) -> bool | None:
    try:
        admin = dbmod.make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
    except Exception as exc:
        print(f"\n== PostgreSQL: SKIPPED, not reachable at {url} ({type(exc).__name__})")
        return None
    engine = dbmod.make_engine(url, schema=SCHEMA)
    try:
        dbmod.upgrade(engine)
        seeded = seed_world(engine, schools=schools)
        # a bulk load leaves the visibility map empty; VACUUM lets index-only scans work (a
        # deployment's autovacuum does the same some minutes later)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        samples, per_query = measure(engine, runs)
        return report("PostgreSQL", seeded, samples, per_query)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        admin.dispose()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=15, help="timed runs per query")
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args(argv)
    print(f"organisation search benchmark: {args.schools} organisations, "
          f"{len(QUERIES)} queries x {args.runs} runs")  # fmt: skip
    results = []
    if not args.skip_sqlite:
        results.append(bench_sqlite(args.schools, args.runs))
    results.append(bench_postgres(args.pg_url, args.schools, args.runs))
    return 0 if all(r is not False for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
