"""First run: what esep-tui is, which backend it talks to, and the three ways in."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from esep_tui import i18n
from esep_tui.i18n import _
from widgets.app_header import AppHeader
from widgets.untrusted import plain


class WelcomeScreen(Screen):
    """Shown once, on the first start; any way in remembers that it was seen."""

    CSS_PATH = "welcome.tcss"
    AUTO_FOCUS = "#welcome-ways"
    BINDINGS = [
        Binding("s", "way('signin')", "Sign in", id="welcome.signin"),
        Binding("c", "way('create')", "Create account", id="welcome.create"),
        Binding("d", "way('demo')", "Try the demo", id="welcome.demo"),
        Binding("l", "next_language", "Language", id="welcome.language"),
        Binding("escape", "way('signin')", "Skip", show=False, id="welcome.skip"),
    ]
    HELP = """\
## Welcome

esep-tui is a keyboard-driven client for the European School Education Platform and its
eTwinning area. Choose a way in:

- **s** sign in with your EU Login account;
- **c** create an EU Login account (use the email of your old eTwinning account, if any);
- **d** try the demo world on the embedded server, as one of its people.

**l** changes the interface language; Settings (**F2**) has the rest. This screen appears
on the first start only.
"""

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with VerticalScroll(classes="centred"), Vertical(id="welcome", classes="panel"):
            yield Static(
                _(
                    "esep-tui is a keyboard-driven client for the European School Education "
                    "Platform and its eTwinning area: registration, partners, projects, "
                    "TwinSpaces and national validation. What you have seen stays on this "
                    "computer, and changes made offline are sent when the link comes back."
                ),
                id="welcome-about",
            )
            yield Static(plain(self._server_line()), id="welcome-server")
            yield OptionList(*self._ways(), id="welcome-ways")
            yield Static(
                plain(
                    _("Language: {name} (l changes it)").format(
                        name=i18n.LANGUAGES.get(i18n.language(), i18n.language())
                    )
                ),
                id="welcome-language",
                classes="hint",
            )
        yield Footer()

    def on_mount(self) -> None:
        self.on_language_changed()

    def on_language_changed(self) -> None:
        self.query_one("#welcome").border_title = _("Welcome to esep-tui")
        self.query_one("#welcome-ways", OptionList).focus()

    def _server_line(self) -> str:
        connection = self.app.connection
        if connection.is_embedded:
            return _(
                "Server: the embedded server on this computer, with the demo world "
                "(no network needed)."
            )
        return _("Server: {address}").format(address=connection.label)

    def _ways(self) -> list[Option]:
        ways = [
            Option("s  " + _("Sign in with EU Login"), id="signin"),
            Option("c  " + _("Create an EU Login account"), id="create"),
        ]
        ways.append(Option("d  " + _("Try the demo: sign in as someone in it"), id="demo"))
        return ways

    @on(OptionList.OptionSelected, "#welcome-ways")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.action_way(str(event.option.id))

    def action_way(self, way: str) -> None:
        from screens.signin import SignInScreen

        self._remember()
        if way == "demo":
            self.app.action_personas()
            return
        self.app.switch_screen(SignInScreen())
        if way == "create":
            from screens.create_account import CreateAccountScreen

            self.app.push_screen(CreateAccountScreen())

    def action_next_language(self) -> None:
        codes = list(i18n.LANGUAGES)
        now = i18n.language()
        following = codes[(codes.index(now) + 1) % len(codes)] if now in codes else codes[0]
        self.app.set_language(following)

    def _remember(self) -> None:
        """Writing the settings file is what makes the next start not a first run."""
        self.app.settings.language = i18n.language()
        self.app._save_settings()
