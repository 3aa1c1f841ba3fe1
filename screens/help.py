"""F1: help for the screen you were on, and the keys that work there."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Markdown

from esep_tui.i18n import N_, _

GENERAL = N_("""\
## Everywhere

Everything works with the keyboard: **tab** and **shift+tab** move between fields, **enter**
confirms. **ctrl+p** opens the command palette (sign out, settings, language, theme, work
offline, help, quit). **F4** or **ctrl+g** shows or hides the guided tour. The indicator at
the top right says whether the server is reachable and how many changes wait to be sent.
""")


def _keys_table(screen: Screen) -> str:
    rows = []
    seen = set()
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.description or (binding.action, binding.description) in seen:
            continue
        seen.add((binding.action, binding.description))
        rows.append(f"| `{screen.app.get_key_display(binding)}` | {binding.description} |")
    if not rows:
        return ""
    heading = "## " + _("Keys") + "\n\n| " + _("key") + " | " + _("does") + " |\n|---|---|\n"
    return heading + "\n".join(rows) + "\n"


class HelpScreen(ModalScreen[None]):
    """Help text is the app's own (trusted) markdown; nothing from the server is shown here."""

    BINDINGS = [
        Binding("escape,f1,q", "close", "Close", id="help.close"),
    ]
    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 76;
        max-width: 100%;
        height: 90%;
        background: $surface;
        border: round $primary;
        border-title-style: bold;
        padding: 0 1;
    }
    """

    def __init__(self, about: Screen):
        super().__init__()
        self.about = about

    def compose(self) -> ComposeResult:
        help_text = getattr(self.about, "HELP", None) or ""
        text = _(help_text).strip() if help_text else ""
        with VerticalScroll(id="help") as scroll:
            scroll.border_title = _("Help (escape closes)")
            parts = (text, _keys_table(self.about), _(GENERAL))
            yield Markdown("\n\n".join(p for p in parts if p))

    def on_mount(self) -> None:
        self.query_one("#help").focus()

    def action_close(self) -> None:
        self.dismiss(None)
