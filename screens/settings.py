"""Settings: server, language, theme, where tokens are kept, and the work-offline switch."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Select, Static, Switch

from esep_tui.i18n import LANGUAGES, _
from widgets.app_header import AppHeader
from widgets.untrusted import plain


class SettingsScreen(Screen):
    """Every change is saved at once; the server address applies from the next start."""

    CSS_PATH = "settings.tcss"
    AUTO_FOCUS = "#server"
    BINDINGS = [Binding("escape", "close", "Close", id="settings.close")]
    HELP = """\
## Settings

- **Server**: leave empty for the embedded server (the demo world on this computer), or enter
  a backend's address such as `http://10.0.0.5:8765`. Used from the next start.
- **Language** and **Theme** apply at once.
- **Credentials** shows where sign-in tokens are kept: the system keyring, or a private file
  when this computer has no keyring.
- **Work offline** cuts the link on purpose; changes wait in the outbox until you switch back.
"""

    def compose(self) -> ComposeResult:
        from esep_tui.connection import storage_kind

        app = self.app
        cfg = app.settings
        themes = sorted(app.available_themes)
        yield AppHeader()
        with VerticalScroll(classes="centred"), Vertical(id="settings", classes="panel"):
            with Horizontal(classes="setting"):
                yield Label(_("Server"), classes="setting-label")
                yield Input(
                    value=cfg.server or "",
                    placeholder=_("empty: embedded server; enter saves"),
                    id="server",
                    max_length=500,
                )
            with Horizontal(classes="setting"):
                yield Label(_("Language"), classes="setting-label")
                yield Select(
                    [(label, code) for code, label in LANGUAGES.items()],
                    value=cfg.language,
                    allow_blank=False,
                    id="language",
                )
            with Horizontal(classes="setting"):
                yield Label(_("Theme"), classes="setting-label")
                yield Select(
                    [(name, name) for name in themes],
                    value=app.theme if app.theme in themes else themes[0],
                    allow_blank=False,
                    id="theme",
                )
            with Horizontal(classes="setting -short"):
                yield Label(_("Credentials"), classes="setting-label")
                yield Static(plain(storage_kind()), id="storage")
            with Horizontal(classes="setting"):
                yield Label(_("Work offline"), classes="setting-label")
                yield Switch(value=app.connection.work_offline, id="work-offline")
            yield Static("", id="settings-status", classes="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#settings").border_title = _("Settings")

    def on_language_changed(self) -> None:
        self.query_one("#settings").border_title = _("Settings")
        self.query_one("#language", Select).focus()

    @on(Input.Submitted, "#server")
    def _server_changed(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        status = self.query_one("#settings-status", Static)
        if value and not value.startswith(("http://", "https://")):
            status.update(_("The address starts with http:// or https://."))
            status.add_class("-error")
            return
        status.remove_class("-error")
        self.app.settings.server = value or None
        self.app._save_settings()
        status.update(
            _("Saved: {server}. Used from the next start.").format(
                server=value or _("embedded server")
            )
        )

    @on(Select.Changed, "#language")
    def _language_changed(self, event: Select.Changed) -> None:
        if event.value != self.app.settings.language:
            self.app.set_language(str(event.value))

    @on(Select.Changed, "#theme")
    def _theme_changed(self, event: Select.Changed) -> None:
        if event.value != self.app.theme:
            self.app.theme = str(event.value)

    @on(Switch.Changed, "#work-offline")
    def _offline_changed(self, event: Switch.Changed) -> None:
        if event.value != self.app.connection.work_offline:
            self.app.set_work_offline(event.value)

    def action_close(self) -> None:
        self.app.pop_screen()
