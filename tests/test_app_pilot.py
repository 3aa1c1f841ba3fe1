"""The app driven by keys: sign-in, account creation, connectivity, palette, help."""

from __future__ import annotations

from textual.command import CommandPalette
from textual.widgets import OptionList

from esep_tui.settings import Settings
from screens.create_account import CreateAccountScreen
from screens.help import HelpScreen
from screens.home import HomeScreen
from screens.settings import SettingsScreen
from screens.signin import SignInScreen
from tests.factories import PASSWORD, make_account
from tests.tui_support import TEST_SERVER, backend, make_app, settle, tui_home
from widgets.connectivity import ConnectivityIndicator
from widgets.form_field import FormField

__all__ = ["backend", "tui_home"]


def field(app, name: str) -> FormField:
    return app.screen.query_one(f"#field-{name}", FormField)


async def type_into(pilot, text: str) -> None:
    await pilot.press(*text)


async def test_sign_in_opens_home_with_the_account_in_the_header(tui_home, backend):
    make_account(backend, email="eleni@example.org", name="Eleni Papadopoulou")
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, SignInScreen)
        await type_into(pilot, "eleni@example.org")
        await pilot.press("enter")  # moves to the password
        await type_into(pilot, PASSWORD)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        assert app.account_label == "Eleni Papadopoulou <eleni@example.org>"
        header = str(app.screen.query_one("#header-account").render())
        assert "Eleni Papadopoulou" in header
        state = str(app.screen.query_one("#home-state").render())
        assert "registration is not complete" in state
    # the account is remembered for this server (the tokens are not in the settings file)
    saved = Settings.load()
    assert saved.last_account == {TEST_SERVER: "eleni@example.org"}
    assert PASSWORD not in (tui_home / "config" / "settings.json").read_text()


async def test_wrong_password_shows_the_server_error_and_keeps_the_email(tui_home, backend):
    make_account(backend, email="eleni@example.org")
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await type_into(pilot, "eleni@example.org")
        await pilot.press("enter")
        await type_into(pilot, "not the password")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, SignInScreen)
        assert field(app, "password").error == "Wrong email or password."
        assert field(app, "password").has_class("-invalid")
        assert field(app, "email").value == "eleni@example.org"
        assert field(app, "email").error == ""
        assert app.focused is field(app, "password").input
        assert app.account_label == ""


async def test_empty_email_is_refused_next_to_the_field(tui_home, backend):
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.click("#sign-in")
        await settle(app, pilot)
        assert field(app, "email").error == "This field is required."
        assert isinstance(app.screen, SignInScreen)


async def test_create_account_signs_in(tui_home, backend):
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, CreateAccountScreen)
        await type_into(pilot, "Jan Kowalski")
        await pilot.press("enter")
        await type_into(pilot, "jan@szkola.pl")
        await pilot.press("enter")
        await type_into(pilot, "a long enough password")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        assert app.account is not None and app.account.email == "jan@szkola.pl"
        assert app.account_label.startswith("Jan Kowalski")


async def test_create_account_with_a_taken_email_shows_the_server_error(tui_home, backend):
    make_account(backend, email="jan@szkola.pl")
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        await type_into(pilot, "Jan Kowalski")
        await pilot.press("tab")
        await type_into(pilot, "jan@szkola.pl")
        await pilot.press("tab")
        await type_into(pilot, "a long enough password")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, CreateAccountScreen)
        assert "exists" in field(app, "email").error
        assert field(app, "name").value == "Jan Kowalski"
        assert field(app, "email").value == "jan@szkola.pl"
        assert field(app, "password").value == "a long enough password"


async def test_create_account_short_password_is_refused_at_the_password(tui_home, backend):
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        await type_into(pilot, "Jan")
        await pilot.press("tab")
        await type_into(pilot, "jan@szkola.pl")
        await pilot.press("tab")
        await type_into(pilot, "short")
        await pilot.press("enter")
        await settle(app, pilot)
        assert field(app, "password").has_class("-invalid")
        assert "10" in field(app, "password").error
        assert field(app, "email").error == ""


async def test_server_text_is_never_markup(tui_home, backend):
    make_account(backend, email="x@example.org", name="[@click=app.quit]Quit[/] \x1b[31mred")
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await type_into(pilot, "x@example.org")
        await pilot.press("tab")
        await type_into(pilot, PASSWORD)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        shown = str(app.screen.query_one("#home-name").render())
        assert "[@click=app.quit]Quit[/]" in shown
        assert "\x1b" not in shown
        assert app.is_running


async def test_connectivity_indicator_follows_the_monitor(tui_home, backend):
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)

        def indicator() -> ConnectivityIndicator:
            return app.screen.query_one(ConnectivityIndicator)

        assert str(indicator().render()) == "● online"
        app.connection.report("offline", 2)
        await pilot.pause()
        assert str(indicator().render()) == "○ offline · 2 pending"
        assert indicator().has_class("-offline")
        app.connection.report("syncing", 2)
        await pilot.pause()
        assert str(indicator().render()) == "⟳ syncing · 2 pending"
        app.connection.report("online", 0)
        await pilot.pause()
        assert str(indicator().render()) == "● online"
        assert not indicator().has_class("-offline")


async def test_work_offline_cuts_the_link_and_back(tui_home, backend):
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("f6")
        await settle(app, pilot)
        indicator = app.screen.query_one(ConnectivityIndicator)
        assert str(indicator.render()) == "○ working offline"
        assert app.connection.client.offline is True
        assert Settings.load().work_offline is True
        # a server-side "online" while switched off still reads as working offline
        app.connection.report("online")
        await pilot.pause()
        assert str(indicator.render()) == "○ working offline"
        await pilot.press("f6")
        await settle(app, pilot)
        assert str(indicator.render()) == "● online"
        assert app.connection.client.offline is False


async def test_unreachable_server_reads_offline(tui_home, backend):
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)

        async def down():
            return False

        app.connection.client.probe = down
        app._probe()
        await settle(app, pilot)
        assert str(app.screen.query_one(ConnectivityIndicator).render()) == "○ offline"


async def palette_prompts(app, pilot) -> list[str]:
    for _ in range(50):
        await pilot.pause(0.02)
        options = app.screen.query_one(OptionList).options
        if options:
            return [str(o.prompt) for o in options]
    return []


async def test_command_palette_lists_the_app_actions(tui_home, backend):
    make_account(backend, email="eleni@example.org", name="Eleni")
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        prompts = " | ".join(await palette_prompts(app, pilot))
        for title in ("Settings", "Switch theme", "Work offline", "Help", "Quit"):
            assert title in prompts
        assert "Sign out" not in prompts  # nobody is signed in yet
        await type_into(pilot, "settings")
        await pilot.pause(0.2)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, SettingsScreen)


async def test_sign_out_from_the_palette(tui_home, backend):
    make_account(backend, email="eleni@example.org", name="Eleni")
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await type_into(pilot, "eleni@example.org")
        await pilot.press("tab")
        await type_into(pilot, PASSWORD)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert "Sign out" in " | ".join(await palette_prompts(app, pilot))
        await type_into(pilot, "sign out")
        await pilot.pause(0.2)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, SignInScreen)
        assert app.account_label == ""
        assert app.connection.tokens.get() is None
    assert Settings.load().last_account == {}


async def test_f1_opens_help_for_the_screen(tui_home, backend):
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert isinstance(app.screen.about, SignInScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SignInScreen)


async def test_settings_change_theme_and_persist(tui_home, backend):
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        app.screen.query_one("#theme").value = "esep-light"
        await pilot.pause()
        assert app.theme == "esep-light"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SignInScreen)
    assert Settings.load().theme == "esep-light"


async def test_persona_picker_signs_in_as_the_chosen_persona(tui_home, backend, monkeypatch):
    from screens import persona

    make_account(backend, email="maria@demo.eu", name="Maria Georgiou")
    monkeypatch.setattr(
        persona,
        "load_personas",
        lambda: [
            persona.Persona(
                "gr", "Greek teacher", "validated, with contacts", "maria@demo.eu", PASSWORD
            )
        ],
    )
    app = make_app(backend, start="persona")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, persona.PersonaScreen)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        assert app.account.email == "maria@demo.eu"


async def test_stored_sign_in_resumes_at_home(tui_home, backend):
    make_account(backend, email="eleni@example.org", name="Eleni")
    first = make_app(backend)
    async with first.run_test(size=(80, 24)) as pilot:
        await settle(first, pilot)
        await type_into(pilot, "eleni@example.org")
        await pilot.press("tab")
        await type_into(pilot, PASSWORD)
        await pilot.press("enter")
        await settle(first, pilot)
        assert isinstance(first.screen, HomeScreen)
    second = make_app(backend)
    async with second.run_test(size=(80, 24)) as pilot:
        await settle(second, pilot)
        assert isinstance(second.screen, HomeScreen)
        assert second.account.email == "eleni@example.org"


async def test_pupil_sign_in_refusal_shows_under_the_code(tui_home, backend):
    app = make_app(backend, start="pupil")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, SignInScreen) and app.screen.pupil
        await type_into(pilot, "olive-owl")
        await pilot.press("enter")
        await type_into(pilot, "wrong-code")
        await pilot.press("enter")
        await settle(app, pilot)
        assert field(app, "code").has_class("-invalid")
        assert field(app, "code").error
        assert field(app, "username").value == "olive-owl"
        await pilot.press("ctrl+t")  # back to the teacher sign-in
        await pilot.pause()
        assert not app.screen.pupil
        assert field(app, "email").value == ""


async def test_a_server_that_cannot_start_says_what_to_do(tui_home, backend):
    class BrokenServer:
        def start(self):
            pass

        def wait(self, timeout=None):
            raise RuntimeError("the embedded server could not start: disk full")

        def stop(self, timeout=None):
            pass

    from esep_tui.app import EsepApp
    from esep_tui.settings import Settings

    app = EsepApp(embedded=BrokenServer(), settings=Settings.load(), start_delay=0.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert str(app.screen.query_one(ConnectivityIndicator).render()) == "○ offline"
        messages = [n.message for n in app._notifications]
        assert any("disk full" in m and "Settings" in m for m in messages)
        # signing in now says so at the form instead of failing silently
        await type_into(pilot, "eleni@example.org")
        await pilot.press("tab")
        await type_into(pilot, "whatever password")
        await pilot.press("enter")
        await settle(app, pilot)
        status = str(app.screen.query_one("#form-status").render())
        assert "could not be started or reached" in status
        assert field(app, "email").value == "eleni@example.org"
