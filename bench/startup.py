"""Startup time: process start to the first interactive screen, in a pseudo-terminal.

Runs esep-tui on the embedded backend and a bare "hello" Textual app the same way, several
times each, and prints the medians, their ratio (goal: esep-tui <= 1.3x hello) and the peak
memory (VmHWM) of each, plus esep-tui's peak once its embedded server is up.

    .venv/bin/python bench/startup.py [--runs 7] [--size 80x24]

"First interactive screen" is the moment a screen's text is on the terminal: the sign-in
form for esep-tui, the greeting for hello. The embedded server starts after that paint, so it
is measured separately ("online").
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANSI = re.compile(
    rb"\x1b\[[0-9;?<>=$]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[=>()][0-9A-Za-z]?"
)

HELLO = textwrap.dedent(
    """
    from textual.app import App
    from textual.widgets import Footer, Static


    class Hello(App):
        def compose(self):
            yield Static("hello from a bare Textual app")
            yield Footer()


    Hello().run()
    """
)


@dataclass
class Run:
    first_screen: float  # seconds from spawn to the marker
    peak_kib: int  # VmHWM at that moment
    online: float | None = None
    peak_online_kib: int | None = None


def _peak_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _spawn(argv: list[str], env: dict[str, str], size: tuple[int, int]) -> tuple[int, int]:
    pid, fd = pty.fork()
    if pid == 0:  # the child: a fresh terminal of the given size
        os.execvpe(argv[0], argv, env)
    cols, rows = size
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return pid, fd


def _wait_for(fd: int, markers: list[bytes], started: float, timeout: float) -> dict[bytes, float]:
    """Read the terminal until every marker has appeared; when each one did."""
    seen: dict[bytes, float] = {}
    raw = b""
    while len(seen) < len(markers) and time.perf_counter() - started < timeout:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        raw += chunk
        text = ANSI.sub(b"", raw)
        for marker in markers:
            if marker not in seen and marker in text:
                seen[marker] = time.perf_counter() - started
        # answer the terminal queries Textual sends (cursor position, device attributes)
        if b"\x1b[6n" in chunk:
            os.write(fd, b"\x1b[1;1R")
    return seen


def measure(
    argv: list[str], env: dict[str, str], first: bytes, later: bytes | None, size, timeout=60.0
) -> Run:
    started = time.perf_counter()
    pid, fd = _spawn(argv, env, size)
    try:
        seen = _wait_for(fd, [first], started, timeout)
        if first not in seen:
            raise RuntimeError(f"{argv} never showed {first!r}")
        run = Run(seen[first], _peak_kib(pid))
        if later is not None:
            more = _wait_for(fd, [later], started, timeout)
            if later in more:
                run.online, run.peak_online_kib = more[later], _peak_kib(pid)
        return run
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--size", default="80x24")
    args = parser.parse_args(argv)
    size = tuple(int(n) for n in args.size.split("x"))

    with tempfile.TemporaryDirectory(prefix="esep-bench-") as tmp:
        env = dict(
            os.environ,
            TERM="xterm-256color",
            COLORTERM="truecolor",
            ESEP_TUI_HOME=str(Path(tmp) / "home"),
            PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
            PYTHONPATH=str(ROOT),
        )
        env.pop("TEXTUAL", None)
        hello_path = Path(tmp) / "hello.py"
        hello_path.write_text(HELLO)
        app_cmd = [sys.executable, "-m", "esep_tui"]
        hello_cmd = [sys.executable, str(hello_path)]

        # warm-up: compiles bytecode, creates and seeds the embedded database
        print("warming up (first run migrates and seeds the embedded database)…", flush=True)
        measure(app_cmd, env, b"Sign in with your EU Login", b"online", size, timeout=600)
        measure(hello_cmd, env, b"hello from a bare", None, size)

        app_runs, hello_runs = [], []
        for i in range(args.runs):
            # interleaved, so drift in machine load hits both alike
            hello_runs.append(measure(hello_cmd, env, b"hello from a bare", None, size))
            app_runs.append(measure(app_cmd, env, b"Sign in with your EU Login", b"online", size))
            print(
                f"run {i + 1}: esep-tui {app_runs[-1].first_screen * 1000:.0f} ms, "
                f"hello {hello_runs[-1].first_screen * 1000:.0f} ms",
                flush=True,
            )

    def ms(values):
        return statistics.median(values) * 1000

    app_ms = ms([r.first_screen for r in app_runs])
    hello_ms = ms([r.first_screen for r in hello_runs])
    online = [r.online for r in app_runs if r.online is not None]
    ratio = app_ms / hello_ms
    print()
    print(f"terminal {size[0]}x{size[1]}, {args.runs} runs each, medians")
    print(
        f"  hello Textual app   first screen {hello_ms:7.0f} ms   peak {max(r.peak_kib for r in hello_runs) / 1024:6.1f} MiB"
    )
    print(
        f"  esep-tui (embedded) first screen {app_ms:7.0f} ms   peak {max(r.peak_kib for r in app_runs) / 1024:6.1f} MiB"
    )
    if online:
        peak_online = max(r.peak_online_kib or 0 for r in app_runs) / 1024
        print(
            f"  esep-tui server up  (online)     {ms(online):7.0f} ms   peak {peak_online:6.1f} MiB"
        )
    verdict = "ok" if ratio <= 1.3 else "OVER the 1.3x goal"
    print(f"  ratio esep-tui / hello: {ratio:.2f}x ({verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
