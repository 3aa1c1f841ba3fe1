"""Interface languages: complete catalogs, no UI string outside them, runtime switching."""

from __future__ import annotations

import ast
import json
from datetime import date
from pathlib import Path

import pytest
from textual.widgets import Button, Label, Select, Static

from esep_tui import i18n
from esep_tui.locale import catalogs
from screens.create_account import CreateAccountScreen
from screens.home import HomeScreen
from screens.settings import SettingsScreen
from screens.signin import SignInScreen
from tests.factories import PASSWORD, make_account
from tests.tui_support import backend, make_app, settle, tui_home

__all__ = ["backend", "tui_home"]

ROOT = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    i18n.set_language("en")


# ---------------------------------------------------------------- catalogs


def test_catalogs_are_complete_and_compiled():
    """Every msgid in the code is in every catalog, translated, and the .mo match the .po."""
    assert catalogs.languages() == ["el", "pl"]
    assert catalogs.problems() == []


def test_every_catalog_translates_the_same_keys():
    keys = {code: set(catalogs.compiled(code)) for code in catalogs.languages()}
    assert keys["el"] == keys["pl"]
    template = {m.id if isinstance(m.id, str) else m.id[0] for m in catalogs.read(catalogs.POT)}
    assert {k.split("\x00")[0] for k in keys["el"]} == template - {""}


def test_extraction_finds_binding_descriptions_and_help_texts():
    ids = {m.id for m in catalogs.extract_catalog()}
    assert "Sign in instead" in ids  # Binding(..., "Sign in instead")
    assert any(str(i).startswith("## Sign in\n") for i in ids)  # HELP = """..."""
    assert "slow link (Edge: 240 kbit/s, 840 ms)" in ids  # N_()


# widgets whose first argument, or these keywords, are shown as interface text
_SHOWN_CALLS = {"Static", "Label", "Button", "Option", "notify", "Checkbox", "RadioButton",
                "TabPane", "Tab", "FormField", "Switch", "Collapsible"}  # fmt: skip
_SHOWN_KEYWORDS = {"placeholder", "title", "label", "tooltip", "prompt", "description"}
_SHOWN_ATTRIBUTES = {"border_title", "border_subtitle", "tooltip"}
_NOT_TEXT = {"esep-tui"}  # the product's name


def _words(node) -> bool:
    """A literal (or an f-string with literal parts) that contains words."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    else:
        return False
    text = text.strip()
    if " " not in text and ("@" in text or "://" in text):
        return False  # an example address, the same in every language
    return text not in _NOT_TEXT and sum(c.isalpha() for c in text) >= 2


def _unwrapped(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
            if name in _SHOWN_CALLS:
                candidates = node.args[:1] + [
                    k.value for k in node.keywords if k.arg in _SHOWN_KEYWORDS
                ]
                found += [f"{path.relative_to(ROOT)}:{c.lineno}" for c in candidates if _words(c)]
        elif isinstance(node, ast.Assign) and _words(node.value):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr in _SHOWN_ATTRIBUTES:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_interface_string_is_left_outside_the_catalogs():
    """Text given straight to a widget, a notification or a border title must go through
    ``_()``: otherwise it is never extracted and never translated."""
    files = [p for folder in ("screens", "widgets") for p in sorted((ROOT / folder).glob("*.py"))]
    files += [ROOT / "esep_tui" / name for name in ("app.py", "trainer.py", "commands.py")]
    problems = [line for path in files for line in _unwrapped(path)]
    assert problems == []


def test_a_new_language_is_one_catalog(tmp_path, monkeypatch):
    """Drop a compiled catalog in the locale directory: the language is offered and used."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    for code in ("el", "pl"):
        folder = tmp_path / code / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / "esep_tui.mo").write_bytes(catalogs.mo_path(code).read_bytes())
    catalog = Catalog(locale="de", domain="esep_tui")
    catalog.add("Sign in", "Anmelden")
    (tmp_path / "de" / "LC_MESSAGES").mkdir(parents=True)
    with (tmp_path / "de" / "LC_MESSAGES" / "esep_tui.mo").open("wb") as fh:
        write_mo(fh, catalog)
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    languages = i18n._discover()
    assert set(languages) == {"en", "el", "pl", "de"}
    assert languages["de"] == "Deutsch"
    monkeypatch.setattr(i18n, "LANGUAGES", languages)
    assert i18n.set_language("de") == "de"
    assert i18n._("Sign in") == "Anmelden"


# ---------------------------------------------------------------- the machinery


def test_switching_translates_and_unknown_codes_fall_back_to_english():
    assert i18n.set_language("el") == "el"
    assert i18n._("Sign in") == "Σύνδεση"
    assert i18n.set_language("pl") == "pl"
    assert i18n._("Sign in") == "Zaloguj się"
    assert i18n.set_language("xx") == "en"
    assert i18n._("Sign in") == "Sign in"


def test_text_translated_before_a_switch_is_translated_again():
    i18n.set_language("el")
    greek = i18n._("Sign in instead")
    i18n.set_language("pl")
    assert i18n.retranslate(greek) == i18n._("Sign in instead") != greek
    i18n.set_language("en")
    assert i18n.retranslate(greek) == "Sign in instead"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LANG": "el_GR.UTF-8"}, "el"),
        ({"LANGUAGE": "pl:en", "LANG": "en_US.UTF-8"}, "pl"),
        ({"LC_ALL": "pl_PL.UTF-8", "LANG": "el_GR.UTF-8"}, "pl"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "fr_FR.UTF-8"}, "en"),
    ],
)
def test_the_default_comes_from_the_environment(monkeypatch, env, expected):
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setattr(i18n.locale, "getlocale", lambda: (None, None))
    assert i18n.default_language() == expected


def test_dates_and_numbers_follow_the_language():
    day = date(2022, 9, 30)
    i18n.set_language("en")
    assert i18n.format_date(day) == "30 Sept 2022"
    assert i18n.format_number(1234567.5) == "1,234,567.5"
    i18n.set_language("el")
    assert i18n.format_date(day) == "30 Σεπ 2022"
    assert i18n.format_number(1234567.5) == "1.234.567,5"
    i18n.set_language("pl")
    assert i18n.format_date(day) == "30 wrz 2022"
    assert i18n.format_number(1234567.5).replace("\xa0", " ") == "1 234 567,5"
    assert i18n.format_bytes(2_500_000).replace("\xa0", " ") == "2,5 MB"


# ---------------------------------------------------------------- in the app


async def test_settings_switches_the_language_at_once_and_it_persists(tui_home, backend):
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert str(app.screen.query_one("#sign-in", Button).label) == "Sign in"
        await pilot.press("f2")
        await settle(app, pilot)
        assert isinstance(app.screen, SettingsScreen)
        app.screen.query_one("#language", Select).value = "el"
        await settle(app, pilot)
        labels = [str(label.render()) for label in app.screen.query(Label)]
        assert "Γλώσσα" in labels  # "Language"
        assert app.screen.query_one("#settings").border_title == "Ρυθμίσεις"
        # the footer's descriptions too
        closing = app.screen._bindings.key_to_bindings["escape"][0]
        assert closing.description == "Κλείσιμο"
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, SignInScreen)
        assert str(app.screen.query_one("#sign-in", Button).label) == "Σύνδεση"
    saved = json.loads((tui_home / "config" / "settings.json").read_text())
    assert saved["language"] == "el"
    # the next start uses it
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert str(app.screen.query_one("#sign-in", Button).label) == "Σύνδεση"


async def test_the_palette_switches_the_language(tui_home, backend):
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Polski")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app, pilot)
        assert i18n.language() == "pl"
        assert app.settings.language == "pl"
        assert str(app.screen.query_one("#sign-in", Button).label) == "Zaloguj się"


async def test_an_unchosen_language_comes_from_the_locale(tui_home, backend, monkeypatch):
    monkeypatch.setenv("LANG", "pl_PL.UTF-8")
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert i18n.language() == "pl"
        assert app.screen.query_one("#form").border_title == "Zaloguj się przez EU Login"


async def test_domain_data_is_not_translated(tui_home, backend):
    make_account(backend, email="eleni@example.org", name="Sign in Settings")
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.set_language("el")
        await settle(app, pilot)
        await pilot.press(*"eleni@example.org", "enter", *PASSWORD, "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        # a name that happens to be interface words stays as the person wrote it
        assert str(app.screen.query_one("#home-name").render()) == "Sign in Settings"
        assert "Σύνδεση" not in app.account_label


# ---------------------------------------------------------------- nothing overflows


def _overflowing(screen) -> list[str]:
    """Widgets that stick out of the screen or of their parent's content area."""
    from rich.cells import cell_len

    width = screen.size.width
    out = []
    for widget in screen.query("Label, Button, Static, Input, Select"):
        if not widget.display or not widget.region:
            continue
        parent = widget.parent
        limit = min(width, parent.content_region.right if parent is not None else width)
        if widget.region.right <= limit:
            continue
        # a box wider than its room only matters when its text reaches past the room
        text = str(widget.render()) if isinstance(widget, (Label, Static)) else "x" * 999
        longest = max((cell_len(line) for line in text.splitlines()), default=0)
        if widget.region.x + longest + widget.styles.gutter.width > limit:
            out.append(f"{widget!r} ends at {widget.region.right} > {limit}")
    # the footer scrolls sideways rather than wrap: every key must be on the screen
    for key in screen.query("FooterKey"):
        if key.display and key.region.right > width:
            out.append(f"footer key {key.description!r} ends at {key.region.right} > {width}")
    return out


@pytest.mark.parametrize("code", ["el", "pl"])
async def test_first_steps_fit_80x24(tui_home, backend, code, monkeypatch):
    from esep_tui import credentials

    # the real line names a temporary path; this is what it looks like on a computer
    monkeypatch.setattr(
        credentials, "storage_kind", lambda: "private file (~/.config/esep-tui/credentials)"
    )
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.set_language(code)
        await settle(app, pilot)
        assert _overflowing(app.screen) == []
        await pilot.press("ctrl+n")
        await settle(app, pilot)
        assert isinstance(app.screen, CreateAccountScreen)
        assert _overflowing(app.screen) == []
        await pilot.press("escape", "f2")
        await settle(app, pilot)
        assert _overflowing(app.screen) == []


# ---------------------------------------------------------------- snapshots of the first steps


def _freeze_cursor(app) -> None:
    from textual.widgets import Input

    for field in app.screen.query(Input):
        field.cursor_blink = False


@pytest.mark.parametrize("code", ["el", "pl"])
def test_create_account_snapshot(snap_compare, tui_home, backend, code):
    """FAQ steps 1-4 (the EU Login account) in Greek and Polish at 80x24."""

    async def run_before(pilot) -> None:
        app = pilot.app
        await settle(app, pilot)
        app.set_language(code)
        await settle(app, pilot)
        await pilot.press("ctrl+n")
        await settle(app, pilot)
        _freeze_cursor(app)
        await pilot.pause()

    assert snap_compare(make_app(backend), terminal_size=(80, 24), run_before=run_before)


async def _open_wizard(app, pilot, code: str) -> None:
    await settle(app, pilot)
    app.set_language(code)
    await settle(app, pilot)
    await pilot.press(*"new@example.org", "enter", *PASSWORD, "enter")
    await settle(app, pilot)
    await pilot.press("w")
    await settle(app, pilot)
    app.clear_notifications()  # the sign-in storage notice names a temporary path
    _freeze_cursor(app)
    await pilot.pause()


@pytest.mark.parametrize("steps", [0, 1])
@pytest.mark.parametrize("code", ["el", "pl"])
def test_registration_wizard_snapshot(snap_compare, tui_home, backend, code, steps):
    """The wizard's first steps for a new EU Login account, in Greek and Polish."""
    make_account(backend, email="new@example.org", name="Νέα Εκπαιδευτικός")

    async def run_before(pilot) -> None:
        await _open_wizard(pilot.app, pilot, code)
        for _ in range(steps):
            await pilot.press("ctrl+n")
            await settle(pilot.app, pilot)
        pilot.app.clear_notifications()
        _freeze_cursor(pilot.app)
        await pilot.pause()

    assert snap_compare(make_app(backend), terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("code", ["el", "pl"])
async def test_registration_wizard_fits_80x24(tui_home, backend, code):
    from screens.registration import RegistrationScreen

    make_account(backend, email="new@example.org", name="Nowa Nauczycielka")
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_wizard(app, pilot, code)
        assert isinstance(app.screen, RegistrationScreen)
        assert _overflowing(app.screen) == []
        await pilot.press("ctrl+n")  # step 2, with a "previous step" key in the footer
        await settle(app, pilot)
        assert _overflowing(app.screen) == []
