"""Fixtures for the app's pilot and snapshot tests: isolated dirs, an in-process backend."""

from __future__ import annotations

import asyncio
import shutil

import httpx
import pytest

from reference_backend.app import create_app

TEST_SERVER = "http://esep.test"


@pytest.fixture
def tui_home(tmp_path, monkeypatch):
    """Config, data and cache under tmp; no keyring of the machine; no ESEP_* from outside."""
    home = tmp_path / "home"
    monkeypatch.setenv("ESEP_TUI_HOME", str(home))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    from esep_tui import credentials

    # the credential store keeps its directory once made: start each test with a fresh one
    monkeypatch.setattr(credentials, "_default", None)
    for name in ("ESEP_SERVER", "ESEP_THEME", "ESEP_LANGUAGE", "ESEP_WORK_OFFLINE", "ESEP_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def backend(tmp_path, sqlite_template):
    path = tmp_path / "server.sqlite3"
    shutil.copy(sqlite_template, path)
    application = create_app(f"sqlite:///{path}", migrate=False)
    yield application
    application.state.engine.dispose()


def make_app(backend, **kwargs):
    from esep_tui.app import EsepApp
    from esep_tui.settings import Settings

    kwargs.setdefault("server", TEST_SERVER)
    kwargs.setdefault("probe_interval", None)
    kwargs.setdefault("start_delay", 0.0)
    return EsepApp(transport=httpx.ASGITransport(app=backend), settings=Settings.load(), **kwargs)


async def settle(app, pilot) -> None:
    """Let the connection settle, workers finish and their messages land."""
    await pilot.pause()
    await asyncio.wait_for(app.connection.settled(), 30)
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()
