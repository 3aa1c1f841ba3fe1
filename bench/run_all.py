"""Run every benchmark in bench/ (each ``*.py`` script but this one) and print their output.

    .venv/bin/python bench/run_all.py

Exits non-zero when any script does, after running them all.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def scripts() -> list[Path]:
    me = Path(__file__).resolve()
    return sorted(p for p in HERE.glob("*.py") if p.resolve() != me and not p.name.startswith("_"))


def main(argv: list[str]) -> int:
    failed = []
    for script in scripts():
        print(f"\n##### {script.name}", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(
            f"##### {script.name}: exit {code} after {time.perf_counter() - start:.1f} s",
            flush=True,
        )
        if code != 0:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
        return 1
    print("\nall benchmarks ran")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
