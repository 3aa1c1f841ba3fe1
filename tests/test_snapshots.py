"""SVG snapshots of the key screens at 80x24 (regenerate with ``--snapshot-update``)."""

from __future__ import annotations

from textual.widgets import Input

from tests.tui_support import backend, make_app, settle, tui_home

__all__ = ["backend", "tui_home"]


async def _ready(pilot) -> None:
    await settle(pilot.app, pilot)
    # a blinking cursor would make the picture depend on the moment it is taken
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


def test_sign_in_screen(snap_compare, tui_home, backend):
    assert snap_compare(make_app(backend), terminal_size=(80, 24), run_before=_ready)


def test_sign_in_with_an_error(snap_compare, tui_home, backend):
    async def wrong_password(pilot) -> None:
        await _ready(pilot)
        await pilot.press(*"eleni@example.org", "tab", *"wrong", "enter")
        await _ready(pilot)

    assert snap_compare(make_app(backend), terminal_size=(80, 24), run_before=wrong_password)


def test_settings_screen(snap_compare, tui_home, backend, monkeypatch):
    from esep_tui import credentials

    # the real line names a temporary path, different on every run
    monkeypatch.setattr(
        credentials, "storage_kind", lambda: "private file (~/.config/esep-tui/credentials)"
    )

    async def open_settings(pilot) -> None:
        await _ready(pilot)
        await pilot.press("f2")
        await _ready(pilot)

    assert snap_compare(make_app(backend), terminal_size=(80, 24), run_before=open_settings)
