"""The esep-tui command: lean --help, --version, locate, logout, demo reset, serve delegation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from esep_tui import __version__, cli

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("textual", "httpx", "reference_backend", "pydantic", "sqlalchemy", "fastapi", "keyring")


@pytest.fixture
def home(tmp_path, monkeypatch):
    from esep_tui import credentials

    monkeypatch.setenv("ESEP_TUI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.delenv("ESEP_CONFIG", raising=False)
    monkeypatch.delenv("ESEP_SERVER", raising=False)
    monkeypatch.setattr(credentials, "_default", None)
    return tmp_path / "home"


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=ROOT, env=environment
    )


def test_help_imports_no_ui_network_or_backend():
    probe = (
        "import sys\n"
        "from esep_tui.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    result = run("-c", probe)
    assert result.returncode == 0, result.stderr
    assert "usage: esep-tui" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_help_is_lean_by_importtime():
    result = run("-X", "importtime", "-m", "esep_tui", "--help")
    assert result.returncode == 0
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines()}
    assert "esep_tui" in imported  # the probe works: our own package shows up
    assert not imported & set(HEAVY)
    for command in ("serve", "locate", "logout", "demo"):
        assert command in result.stdout


def test_version():
    result = run("-m", "esep_tui", "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"esep-tui {__version__}"


def test_locate_prints_the_directories(home, capsys):
    assert cli.main(["locate"]) == 0
    out = capsys.readouterr().out
    lines = dict(
        line.split(None, 1)
        for line in out.splitlines()
        if not line.startswith(("embedded", "settings"))
    )
    assert lines["config"].strip() == str(home / "config")
    assert lines["data"].strip() == str(home / "data")
    assert lines["cache"].strip() == str(home / "cache")
    assert str(home / "data" / "server.sqlite3") in out


def test_config_file_override(home, tmp_path, monkeypatch, capsys):
    other = tmp_path / "elsewhere.json"
    other.write_text(json.dumps({"theme": "esep-light", "server": "http://10.0.0.5:8765"}))
    monkeypatch.setenv("ESEP_CONFIG", str(other))
    from esep_tui.settings import Settings

    cfg = Settings.load()
    assert (cfg.theme, cfg.server) == ("esep-light", "http://10.0.0.5:8765")
    monkeypatch.setenv("ESEP_THEME", "esep-high-contrast")  # the environment wins over the file
    assert Settings.load().theme == "esep-high-contrast"


def test_damaged_settings_file_means_defaults(home):
    from esep_tui.settings import Settings, config_file

    config_file().parent.mkdir(parents=True)
    config_file().write_text("{not json")
    assert Settings.load().theme == "esep-dark"


def test_logout_removes_stored_tokens(home, capsys):
    from api_client.models.auth import TokenPair
    from esep_tui import credentials
    from esep_tui.settings import Settings

    pair = TokenPair(access_token="a" * 40, refresh_token="r" * 40, expires_in=900)
    credentials.save("embedded", "eleni@example.org", pair)
    cfg = Settings(last_account={"embedded": "eleni@example.org"})
    cfg.save()
    assert credentials.load("embedded", "eleni@example.org") is not None
    assert cli.main(["logout"]) == 0
    out = capsys.readouterr().out
    assert "eleni@example.org on embedded" in out
    assert "a" * 40 not in out
    assert credentials.load("embedded", "eleni@example.org") is None
    assert Settings.load().last_account == {}
    assert cli.main(["logout"]) == 0
    assert "No stored sign-in" in capsys.readouterr().out


def test_demo_reset_needs_yes(home, capsys):
    from esep_tui import embedded

    path = embedded.database_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"keep me")
    assert cli.main(["demo", "reset"]) == 2
    assert "--yes" in capsys.readouterr().err
    assert path.read_bytes() == b"keep me"


def test_demo_reset_replaces_the_database_and_replicas(home, capsys):
    import sqlite3

    from esep_tui import embedded, paths

    path = embedded.database_path()
    path.parent.mkdir(parents=True)
    sqlite3.connect(path).execute("CREATE TABLE leftover (x)").connection.commit()
    replica = paths.replica_path("embedded", "eleni@example.org")
    replica.write_bytes(b"old replica")
    other_server = paths.replica_path("http://10.0.0.5:8765", "eleni@example.org")
    other_server.write_bytes(b"not the demo")
    assert cli.main(["demo", "reset", "--yes"]) == 0
    assert "Demo world restored" in capsys.readouterr().out
    assert not replica.exists()
    assert other_server.exists()
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    assert "leftover" not in tables
    assert "accounts" in tables or "account" in tables


def test_serve_delegates_its_arguments(monkeypatch):
    seen = []
    fake = types.ModuleType("reference_backend.serve")
    fake.main = lambda argv: seen.append(argv) or 0
    monkeypatch.setitem(sys.modules, "reference_backend.serve", fake)
    assert cli.main(["serve", "--port", "9000", "--seed", "demo"]) == 0
    assert seen == [["--port", "9000", "--seed", "demo"]]


def test_no_arguments_opens_the_tui_on_the_embedded_server(monkeypatch):
    calls = []
    monkeypatch.setattr(cli, "run_tui", lambda **kw: calls.append(kw) or 0)
    assert cli.main([]) == 0
    assert cli.main(["--server", "http://10.0.0.5:8765"]) == 0
    assert cli.main(["--pupil"]) == 0
    assert cli.main(["demo"]) == 0
    assert calls == [
        {"server": None, "start": "signin"},
        {"server": "http://10.0.0.5:8765", "start": "signin"},
        {"server": None, "start": "pupil"},
        {"server": None, "start": "persona"},
    ]


def test_bad_values_in_the_file_or_environment_are_ignored(home, monkeypatch):
    from esep_tui.settings import Settings, config_file

    config_file().parent.mkdir(parents=True)
    config_file().write_text(json.dumps({"language": "xx", "work_offline": "maybe", "theme": 3}))
    monkeypatch.setenv("ESEP_WORK_OFFLINE", "yes")
    cfg = Settings.load()
    assert (cfg.language, cfg.work_offline, cfg.theme) == ("en", True, "3")
