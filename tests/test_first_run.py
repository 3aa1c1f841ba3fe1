"""First run: the welcome screen, terminal conditions, and error screens with crash reports."""

from __future__ import annotations

import pytest
from textual.widgets import Input, OptionList

from esep_tui import cli, crash, i18n
from esep_tui.themes import THEMES
from screens.create_account import CreateAccountScreen
from screens.persona import PersonaScreen
from screens.signin import SignInScreen
from screens.welcome import WelcomeScreen
from tests.tui_support import TEST_SERVER, backend, make_app, settle, tui_home

__all__ = ["backend", "tui_home"]

TOKEN = "tok_8f3a2c9d1e7b4a6f0c5d8e2b9a1f3c7d"


@pytest.fixture(autouse=True)
def english():
    i18n.set_language("en")
    yield
    i18n.set_language("en")


def ways(app) -> list[str]:
    menu = app.screen.query_one("#welcome-ways", OptionList)
    return [str(menu.get_option_at_index(i).id) for i in range(menu.option_count)]


# ---------------------------------------------------------------- welcome


def test_the_first_start_opens_the_welcome_screen(tui_home, monkeypatch):
    import esep_tui.app as app_module

    started = []

    class Recorder:
        return_code = 0

        def __init__(self, **kwargs):
            started.append(kwargs)

        def run(self):
            pass

    monkeypatch.setattr(app_module, "EsepApp", Recorder)
    assert cli.first_run() is True
    cli.main([])
    assert started[-1]["start"] == "welcome"
    (tui_home / "config").mkdir(parents=True)
    (tui_home / "config" / "settings.json").write_text("{}")
    assert cli.first_run() is False
    cli.main([])
    assert started[-1]["start"] == "signin"
    cli.main(["--pupil"])
    assert started[-1]["start"] == "pupil"


async def test_welcome_says_what_and_where_and_offers_the_ways_in(tui_home, backend):
    app = make_app(backend, start="welcome")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, WelcomeScreen)
        about = str(app.screen.query_one("#welcome-about").render())
        assert "European School Education Platform" in about
        server = str(app.screen.query_one("#welcome-server").render())
        assert server == f"Server: {TEST_SERVER}"
        assert ways(app) == ["signin", "create", "demo"]
        assert app.focused is app.screen.query_one("#welcome-ways")


async def test_welcome_names_the_embedded_server(tui_home, backend):
    app = make_app(backend, start="welcome")
    app.connection.identity = "embedded"  # what the bundled backend is called
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        server = str(app.screen.query_one("#welcome-server").render())
        assert "embedded server on this computer" in server


@pytest.mark.parametrize(
    ("key", "screen"),
    [("s", SignInScreen), ("c", CreateAccountScreen), ("d", PersonaScreen)],
)
async def test_each_way_in_opens_and_is_remembered(tui_home, backend, key, screen):
    app = make_app(backend, start="welcome")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press(key)
        await settle(app, pilot)
        assert isinstance(app.screen, screen)
    assert (tui_home / "config" / "settings.json").exists()
    assert cli.first_run() is False


async def test_create_account_from_welcome_goes_back_to_sign_in(tui_home, backend):
    app = make_app(backend, start="welcome")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, CreateAccountScreen)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, SignInScreen)


async def test_the_welcome_language_key_cycles_languages(tui_home, backend):
    app = make_app(backend, start="welcome")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("l")
        await settle(app, pilot)
        assert i18n.language() == "el"
        assert app.screen.query_one("#welcome").border_title == "Καλώς ήρθατε στο esep-tui"
        assert app.focused is app.screen.query_one("#welcome-ways")
        await pilot.press("l")
        await settle(app, pilot)
        assert app.screen.query_one("#welcome").border_title == "Witamy w esep-tui"
        await pilot.press("l")
        await settle(app, pilot)
        assert i18n.language() == "en"


@pytest.mark.parametrize("code", ["en", "el", "pl"])
def test_welcome_snapshot(snap_compare, tui_home, backend, code):
    async def ready(pilot) -> None:
        await settle(pilot.app, pilot)
        pilot.app.set_language(code)
        await settle(pilot.app, pilot)
        pilot.app.clear_notifications()
        await pilot.pause()

    app = make_app(backend, start="welcome")
    assert snap_compare(app, terminal_size=(80, 24), run_before=ready)


# ---------------------------------------------------------------- terminal conditions


def test_a_high_contrast_theme_uses_the_terminals_16_colours():
    theme = {t.name: t for t in THEMES}["esep-high-contrast"]
    assert theme.ansi is True
    assert theme.primary.startswith("ansi_") and theme.background.startswith("ansi_")


async def test_the_high_contrast_theme_applies_and_focus_stays_visible(tui_home, backend):
    from esep_tui.settings import Settings

    settings = Settings.load()
    settings.theme = "esep-high-contrast"
    app = make_app(backend, start="welcome")
    app.settings = settings
    app.theme = "esep-high-contrast"
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.theme == "esep-high-contrast"
        await pilot.press("s")
        await settle(app, pilot)
        focused = app.focused
        assert isinstance(focused, Input)
        # the focused field is drawn differently from the others
        other = next(i for i in app.screen.query(Input) if i is not focused)
        assert focused.styles.border != other.styles.border or (
            focused.rich_style != other.rich_style
        )


# ---------------------------------------------------------------- crash reports


def test_redaction_removes_tokens_passwords_and_codes():
    text = (
        f"Authorization: Bearer {TOKEN}\n"
        f'{{"access_token": "{TOKEN}", "refresh_token": "r-{TOKEN}", "password": "hunter2-long"}}\n'
        "code=kite-7m4q token=abc.def\n"
    )
    clean = crash.redact(text)
    assert TOKEN not in clean
    assert "hunter2-long" not in clean
    assert "kite-7m4q" not in clean
    assert "abc.def" not in clean
    assert clean.count(crash.REDACTED) >= 5


class Boom(RuntimeError):
    pass


async def test_a_crash_writes_a_redacted_report_and_says_where(tui_home, backend):
    app = make_app(backend)
    with pytest.raises(Boom):
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)

            def explode() -> None:
                raise Boom(f"request failed with Authorization: Bearer {TOKEN}")

            app.call_later(explode)
            await pilot.pause(0.2)
    reports = list((tui_home / "data" / "crash-reports").glob("crash-*.txt"))
    assert len(reports) == 1
    report = reports[0].read_text()
    assert "Boom" in report and "Traceback" in report
    assert "screen: SignInScreen" in report
    assert TOKEN not in report
    assert oct(reports[0].stat().st_mode)[-3:] == "600"
    shown = app.crash_message
    assert str(reports[0]) in shown
    assert "Traceback" not in shown
    assert TOKEN not in shown
    assert "outbox" in shown


def test_a_crash_outside_the_app_loop_is_reported_too(tui_home, monkeypatch, capsys):
    import esep_tui.app as app_module

    class Failing:
        return_code = 0

        def __init__(self, **kwargs):
            pass

        def run(self):
            raise Boom(f"token={TOKEN}")

    monkeypatch.setattr(app_module, "EsepApp", Failing)
    assert cli.run_tui(server=None, start="signin") == 70
    err = capsys.readouterr().err
    assert "crash-reports" in err
    assert TOKEN not in err
    assert "Traceback" not in err
