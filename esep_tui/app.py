"""The App: header with account and connectivity, a short footer, palette, help, themes."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive

from esep_tui import i18n
from esep_tui.connection import Connection
from esep_tui.i18n import N_, _
from esep_tui.settings import Settings
from esep_tui.themes import DEFAULT_THEME, THEMES
from widgets.connectivity import Connectivity

if TYPE_CHECKING:
    import httpx

    from api_client.models.auth import AccountOut
    from esep_tui.embedded import EmbeddedServer


def _app_commands():
    # imported when the palette first opens, not before the first paint
    from esep_tui.commands import AppCommands

    return AppCommands


# Textual's own words that the footer shows (translated with the app's bindings)
TEXTUAL_WORDS = (N_("palette"), N_("Open the command palette"))

# seconds between the first paint and the start of the connection (see on_mount)
BACKGROUND_START_DELAY = 0.2

# without a sync engine monitor the app asks the server itself this often (seconds)
PROBE_INTERVAL = 15.0


class Connected(Message):
    """The client exists and the server answered (or not)."""


class ConnectFailed(Message):
    def __init__(self, reason: str):
        super().__init__()
        self.reason = reason


class ConnectivityChanged(Message):
    def __init__(self, state: str, pending: int = 0):
        super().__init__()
        self.state = state
        self.pending = pending


class SignedIn(Message):
    """Someone signed in: ``account`` for EU Login accounts, ``pupil`` for pupils."""

    def __init__(self, account: AccountOut | None = None, pupil: str | None = None):
        super().__init__()
        self.account = account
        self.pupil = pupil


class SignedOut(Message):
    pass


class EsepApp(App[int]):
    """esep-tui. ``transport`` runs the API over an in-process ASGI app (tests)."""

    TITLE = "esep-tui"
    CSS_PATH = "app.tcss"
    COMMANDS = {_app_commands}
    BINDINGS = [
        Binding("f1", "help", "Help", id="app.help"),
        Binding("f2", "settings", "Settings", id="app.settings"),
        Binding("f4,ctrl+g", "toggle_tour", "Tour", show=False, id="app.tour"),
        Binding("f6", "toggle_offline", "Work offline", show=False, id="app.toggle_offline"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit"),
    ]

    account_label: reactive[str] = reactive("")
    server_label: reactive[str] = reactive("")
    wire_label: reactive[str] = reactive("")  # bytes that crossed the wire (trainer mode)
    connectivity: reactive[Connectivity] = reactive(Connectivity)

    def __init__(
        self,
        *,
        server: str | None = None,
        start: str = "signin",
        transport: httpx.AsyncBaseTransport | None = None,
        settings: Settings | None = None,
        embedded: EmbeddedServer | None = None,
        probe_interval: float | None = PROBE_INTERVAL,
        start_delay: float = BACKGROUND_START_DELAY,
    ):
        super().__init__()
        self.settings = settings if settings is not None else Settings.load()
        self.settings.language = i18n.set_language(
            self.settings.language
            if self.settings.language != i18n.SOURCE_LANGUAGE
            else i18n.startup_language()
        )
        server = server or self.settings.server
        if server is None and transport is None and embedded is None:
            from esep_tui.embedded import EmbeddedServer

            embedded = EmbeddedServer()
        self.embedded = embedded
        self.start = start
        self.probe_interval = probe_interval
        self.start_delay = start_delay
        self.connection = Connection(server, transport=transport, embedded=embedded)
        self.connection.work_offline = self.settings.work_offline
        self.connection.on_connectivity(self._connectivity_from_any_thread)
        self.account: AccountOut | None = None
        self.pupil: str | None = None
        from esep_tui.trainer import Trainer

        self.trainer = Trainer(self)
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = (
            self.settings.theme if self.settings.theme in self.available_themes else DEFAULT_THEME
        )

    # ------------------------------------------------------------ start and stop

    async def on_mount(self) -> None:
        self.server_label = self.connection.label
        self._translate_bindings(self)
        self.screen_change_signal.subscribe(self, self._screen_changed)
        screen = self._start_screen()
        await self.push_screen(screen)
        # the backend's imports and migrations start only once the first screen is on the
        # terminal: the frame is written by another thread, which they would starve of the GIL
        if self.start_delay > 0:
            screen.call_after_refresh(self.set_timer, self.start_delay, self._begin)
        else:
            screen.call_after_refresh(self._begin)

    def _start_screen(self):
        if self.start == "welcome":
            from screens.welcome import WelcomeScreen

            return WelcomeScreen()
        if self.start == "persona":
            from screens.persona import PersonaScreen

            return PersonaScreen()
        from screens.signin import SignInScreen

        return SignInScreen(pupil=self.start == "pupil")

    def _begin(self) -> None:
        if self.embedded is not None:
            self.embedded.start()
        self.connect()

    @work(exclusive=True, group="connect", exit_on_error=False)
    async def connect(self) -> None:
        try:
            await self.connection.connect()
        except Exception as exc:
            self.post_message(ConnectFailed(str(exc)))
            return
        self.post_message(Connected())
        await self.connection.check()
        account = self.settings.last_account.get(self.connection.identity)
        if account and self.start not in ("persona", "welcome"):
            restored = await self.connection.restore(account)
            if restored is not None:
                self.post_message(SignedIn(restored))

    async def on_unmount(self) -> None:
        await self.connection.aclose()
        if self.embedded is not None:
            import asyncio

            await asyncio.to_thread(self.embedded.stop, 3.0)

    @on(Connected)
    def _connected(self) -> None:
        if self.trainer.demo:
            self.trainer.start_counter()
        if self.probe_interval and self.connection.sync is None:
            self.set_interval(self.probe_interval, self._probe)

    @on(ConnectFailed)
    def _connect_failed(self, message: ConnectFailed) -> None:
        self.connectivity = Connectivity("offline")
        self.notify(
            message.reason
            + "\n"
            + _(
                "Check the address in Settings (F2), or run `esep-tui locate` to find the server log."
            ),
            title=_("Cannot reach the server"),
            severity="error",
            markup=False,
            timeout=15,
        )

    @work(exclusive=True, group="probe", exit_on_error=False)
    async def _probe(self) -> None:
        await self.connection.check()

    # ------------------------------------------------------------ connectivity

    def _connectivity_from_any_thread(self, state: str, pending: int) -> None:
        message = ConnectivityChanged(state, pending)
        if threading.get_ident() == self._thread_id:
            self.post_message(message)
        else:
            self.call_from_thread(self.post_message, message)

    @on(ConnectivityChanged)
    def _connectivity_changed(self, message: ConnectivityChanged) -> None:
        self.connectivity = Connectivity(message.state, message.pending)

    # ------------------------------------------------------------ session

    @on(SignedIn)
    def _signed_in(self, message: SignedIn) -> None:
        from screens.home import HomeScreen

        self.account, self.pupil = message.account, message.pupil
        if message.account is not None:
            self.account_label = f"{message.account.name} <{message.account.email}>"
            remembered = message.account.email
        else:
            self.account_label = _("pupil {username}").format(username=message.pupil)
            remembered = f"pupil:{message.pupil}"
        self.settings.last_account[self.connection.identity] = remembered
        self._save_settings()
        from esep_tui.connection import fallback_notice

        notice = fallback_notice()
        if notice:
            self.notify(notice, title=_("Sign-in storage"), markup=False, timeout=10)
        self._show(HomeScreen(account=message.account, pupil=message.pupil))

    @on(SignedOut)
    def _signed_out(self) -> None:
        from screens.signin import SignInScreen

        self.account = self.pupil = None
        self.account_label = ""
        self.settings.last_account.pop(self.connection.identity, None)
        self._save_settings()
        self._show(SignInScreen())
        self.notify(_("Signed out."))

    def _show(self, screen) -> None:
        """Replace the base screen (sign-in, home...), closing any dialog above it."""
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(screen)

    # ------------------------------------------------------------ actions

    def action_help(self) -> None:
        from screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_settings(self) -> None:
        from screens.settings import SettingsScreen

        if not isinstance(self.screen, SettingsScreen):
            self.push_screen(SettingsScreen())

    def action_personas(self) -> None:
        from screens.persona import PersonaScreen

        self._show(PersonaScreen())

    def action_toggle_offline(self) -> None:
        self.set_work_offline(not self.connection.work_offline)

    def set_work_offline(self, flag: bool) -> None:
        self.settings.work_offline = flag
        self._save_settings()
        self.connection.set_work_offline(flag)
        if not flag:
            self._probe()
        self.notify(
            _("Working offline: changes wait in the outbox.") if flag else _("Working online.")
        )

    @work(exclusive=True, group="session", exit_on_error=False)
    async def action_sign_out(self) -> None:
        if not self.account_label:
            return
        try:
            await self.connection.sign_out()
        finally:
            self.post_message(SignedOut())

    # ------------------------------------------------------------ settings

    def watch_theme(self, theme: str) -> None:
        if self.is_mounted and self.settings.theme != theme:
            self.settings.theme = theme
            self._save_settings()

    def _save_settings(self) -> None:
        try:
            self.settings.save()
        except OSError as exc:
            self.notify(
                _("Settings could not be saved: {reason}.").format(reason=exc.strerror),
                severity="warning",
                markup=False,
            )

    # ------------------------------------------------------------ languages

    def set_language(self, code: str) -> None:
        """Switch the interface language now, and remember it."""
        code = i18n.set_language(code)
        if self.settings.language != code:
            self.settings.language = code
            self._save_settings()
        self._translate_bindings(self)
        for screen in list(self.screen_stack):
            self._retranslate_screen(screen)
        self.notify(_("Language: {name}").format(name=i18n.LANGUAGES.get(code, code)))

    @work(group="retranslate", exit_on_error=False)
    async def _retranslate_screen(self, screen) -> None:
        """Screens that can refill themselves (``on_language_changed``) are composed again;
        the others keep their content and show the new language the next time they open."""
        hook = getattr(screen, "on_language_changed", None)
        if hook is not None and screen.is_mounted:
            await screen.recompose()
            hook()
            self._focus_again(screen)
        self._translate_bindings(screen)
        self.trainer.language_changed(screen)

    @staticmethod
    def _focus_again(screen) -> None:
        """A screen composed again has lost its focus: give it back as on its first mount."""
        selector = screen.AUTO_FOCUS if screen.AUTO_FOCUS is not None else screen.app.AUTO_FOCUS
        if screen.focused is None and selector:
            for widget in screen.query(selector):
                if widget.focusable:
                    screen.set_focus(widget)
                    break

    def _screen_changed(self, screen) -> None:
        self._translate_bindings(screen)
        self.trainer.screen_changed(screen)

    def _translate_bindings(self, node) -> None:
        """Footer and help show binding descriptions as given: give them in this language."""
        nodes = [node] if node is self else list(node.walk_children(with_self=True))
        for each in nodes:
            bindings = getattr(each, "_bindings", None)
            table = getattr(bindings, "key_to_bindings", None)
            if not table:
                continue
            for key, items in table.items():
                table[key] = [self._translated(b) if b.description else b for b in items]
        if node is not self:
            node.refresh_bindings()

    def _translated(self, binding):
        """The binding in the current language, from the English it was declared with (two
        sources may share one translation, so the English is remembered, not guessed)."""
        from dataclasses import replace

        sources = self.__dict__.setdefault("_binding_sources", {})
        known = sources.get(id(binding))
        if known is not None and known[1] == (binding.description, binding.tooltip):
            description, tooltip = known[0]
        else:
            description, tooltip = binding.description, binding.tooltip
        new = replace(
            binding,
            description=_(description),
            tooltip=_(tooltip) if tooltip else tooltip,
        )
        sources[id(new)] = ((description, tooltip), (new.description, new.tooltip))
        return new

    # ------------------------------------------------------------ trainer and tour

    def action_toggle_tour(self) -> None:
        self.trainer.toggle_tour()

    def action_link(self, mode: str) -> None:
        self.trainer.set_link(mode)

    def action_reset_demo(self) -> None:
        self.trainer.confirm_reset()

    def action_language(self, code: str) -> None:
        self.set_language(code)

    def action_switch_persona(self, key: str) -> None:
        self.trainer.switch_persona(key)

    # ------------------------------------------------------------ crashes

    def _handle_exception(self, error: Exception) -> None:
        self._crash = error
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        """No traceback on the terminal: a report in the data directory, and where it is."""
        from esep_tui.crash import message_for, write_report

        error = getattr(self, "_crash", None) or self._exception
        path = write_report(error, context=self._crash_context())
        self.bell()
        from rich.text import Text

        self.crash_message = message_for(error, path)
        self._exit_renderables.append(Text(self.crash_message))
        self._close_messages_no_wait()

    def _crash_context(self) -> dict[str, str]:
        try:
            screen = type(self.screen).__name__
        except Exception:
            screen = "?"
        return {
            "screen": screen,
            "server": self.connection.label,
            "language": i18n.language(),
            "theme": str(self.theme),
        }
