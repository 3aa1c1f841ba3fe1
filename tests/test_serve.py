"""``esep-tui serve``: argument parsing, and a real uvicorn answering /openapi.json."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from reference_backend import serve

ROOT = Path(__file__).resolve().parent.parent


def test_defaults(monkeypatch, tmp_path):
    monkeypatch.setattr(
        "reference_backend.app.default_database_url", lambda: f"sqlite:///{tmp_path}/d.sqlite3"
    )
    args = serve.parse_args([])
    assert (args.host, args.port, args.seed, args.schools, args.workers) == (
        "127.0.0.1",
        8765,
        "none",
        None,
        1,
    )
    assert args.database_url == f"sqlite:///{tmp_path}/d.sqlite3"


def test_demo_and_options():
    args = serve.parse_args(
        ["--demo", "--host", "0.0.0.0", "--port", "9000", "--database-url", "sqlite:///x.db",
         "--schools", "3000", "--workers", "4"]
    )  # fmt: skip
    assert args.seed == "demo"
    assert (args.host, args.port, args.schools, args.workers) == ("0.0.0.0", 9000, 3000, 4)
    assert args.database_url == "sqlite:///x.db"
    assert serve.parse_args(["--seed", "demo", "--database-url", "sqlite://"]).seed == "demo"


@pytest.mark.parametrize(
    "argv",
    [["--seed", "lots"], ["--port", "eighty"], ["--workers", "0"], ["--schools", "-5"], ["--x"]],
)
def test_bad_arguments_are_a_usage_error(argv, capsys):
    assert serve.main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_help_exits_cleanly(capsys):
    assert serve.main(["--help"]) == 0
    assert "--database-url" in capsys.readouterr().out


def test_password_hidden_in_startup_line():
    shown = serve.shown_url("postgresql://esep:secret@db.example/esep")
    assert "secret" not in shown and "db.example" in shown


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(argv: list[str]) -> subprocess.Popen:
    code = "import sys; from reference_backend.serve import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", code, *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(url: str, proc: subprocess.Popen, deadline_s: float = 120) -> httpx.Response:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stdout.read()}")
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("server did not answer")


def _stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:  # pragma: no cover
        proc.kill()
        out, _ = proc.communicate()
    return out


@pytest.mark.parametrize("workers", [1, 2])
def test_real_server_answers_openapi(tmp_path, workers):
    port = _free_port()
    db = tmp_path / "served.sqlite3"
    argv = ["--port", str(port), "--database-url", f"sqlite:///{db}", "--workers", str(workers)]
    if workers > 1:
        argv += ["--demo", "--schools", "200"]
    proc = _start(argv)
    try:
        r = _wait_for(f"http://127.0.0.1:{port}/openapi.json", proc)
        assert r.status_code == 200
        assert "/eulogin/sessions" in r.json()["paths"]
        if workers > 1:  # the demo world was seeded once, before the workers started
            from reference_backend.seed import DEMO_PASSWORD, PERSONA

            signed = httpx.post(
                f"http://127.0.0.1:{port}/eulogin/sessions",
                json={"email": PERSONA["greek_teacher"]["email"], "password": DEMO_PASSWORD},
                timeout=10,
            )
            assert signed.status_code == 201
    finally:
        out = _stop(proc)
    assert f"http://127.0.0.1:{port}" in out
    assert str(db) in out
