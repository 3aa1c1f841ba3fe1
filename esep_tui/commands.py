"""The command palette's provider: the app's own actions, by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from esep_tui.i18n import LANGUAGES, _, language

if TYPE_CHECKING:
    from esep_tui.app import EsepApp


@dataclass(frozen=True)
class AppCommand:
    title: str
    help: str
    action: str


def app_commands(app: EsepApp) -> list[AppCommand]:
    """What the palette lists right now (sign out only when signed in)."""
    offline = app.connection.work_offline
    commands = [
        AppCommand(_("Settings"), _("Server, language, theme, credential storage"), "settings"),
        AppCommand(_("Switch theme"), _("Choose one of the registered themes"), "change_theme"),
        AppCommand(
            _("Work online") if offline else _("Work offline"),
            _("Reconnect and send queued changes")
            if offline
            else _("Cut the link on purpose; changes wait in the outbox"),
            "toggle_offline",
        ),
        AppCommand(_("Help"), _("Keys and help for this screen (F1)"), "help"),
        AppCommand(
            _("Guided tour"), _("Show or hide the tour panel (F4 or ctrl+g)"), "toggle_tour"
        ),
    ]
    for code, name in LANGUAGES.items():
        if code != language():
            commands.append(
                AppCommand(
                    _("Language: {name}").format(name=name),
                    _("Show the interface in {name}").format(name=name),
                    f"language({code!r})",
                )
            )
    if app.account_label:
        commands.insert(
            0, AppCommand(_("Sign out"), _("End this session on this server"), "sign_out")
        )
    trainer = getattr(app, "trainer", None)
    if trainer is not None:
        commands += [AppCommand(*c) for c in trainer.commands()]
    elif app.connection.is_embedded:
        commands.append(
            AppCommand(
                _("Choose a demo persona"), _("Sign in as someone in the demo world"), "personas"
            )
        )
    commands.append(AppCommand(_("Quit"), _("Leave esep-tui"), "quit"))
    return commands


class AppCommands(Provider):
    """Lists the app's actions; typing filters them with the fuzzy matcher."""

    def _runner(self, action: str) -> Callable[[], object]:
        app = self.app

        async def run() -> None:
            await app.run_action(action)

        return run

    async def discover(self) -> Hits:
        for command in app_commands(self.app):  # type: ignore[arg-type]
            yield DiscoveryHit(command.title, self._runner(command.action), help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in app_commands(self.app):  # type: ignore[arg-type]
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(command.title),
                    self._runner(command.action),
                    text=command.title,
                    help=command.help,
                )
