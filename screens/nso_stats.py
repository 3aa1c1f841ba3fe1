"""Queue statistics: decisions per day over the last 30 days, and the median queue age."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from api_client.models.nso import VALIDATION_DAYS
from esep_tui.i18n import N_, _
from screens.nso_queue import triage_engine
from widgets.app_header import AppHeader

QUEUE_TITLES = {
    "applications": N_("Teachers"),
    "organisations": N_("Organisations"),
    "projects": N_("Projects"),
}
BAR = 40


def stats_text(data: dict) -> Text:
    text = Text()
    text.append(_("Queues of NSO {country}").format(country=data.get("country", "")) + "\n", "bold")
    text.append(f"{'':14} {_('waiting'):>8} {_('median'):>8} {_('oldest'):>8}\n", "dim")
    for q in data.get("queues", []):
        median = q.get("median_age_days")
        oldest = q.get("oldest_age_days")
        late = oldest is not None and oldest > VALIDATION_DAYS
        text.append(f"{_(QUEUE_TITLES.get(q['queue'], q['queue'])):14} {q['count']:>8} ")
        text.append(f"{'—' if median is None else f'{median:.1f}d':>8} ")
        text.append(f"{'—' if oldest is None else f'{oldest}d':>8}", "bold red" if late else "")
        text.append("\n")
    days = data.get("days", [])
    peak = max((d.get("total", 0) for d in days), default=0) or 1
    week = sum(d.get("total", 0) for d in days[-7:])
    month = sum(d.get("total", 0) for d in days)
    text.append("\n" + _("Last 7 days: {n} decisions").format(n=week))
    text.append("  ·  " + _("last 30 days: {n}").format(n=month) + "\n")
    text.append("\n" + _("Decisions per day, newest first") + "\n", "bold")
    for d in reversed(days):
        total = d.get("total", 0)
        bar = "█" * round(BAR * total / peak) if total else ""
        text.append(f"{str(d.get('day', ''))[5:]} {total:>4} ")
        text.append(bar, "green")
        extra = []
        for key, label in (("approve", "✓"), ("reject", "✗"), ("request_info", "?")):
            if d.get(key):
                extra.append(f"{label}{d[key]}")
        if d.get("undo"):
            extra.append(_("{n} undone").format(n=d["undo"]))
        if extra:
            text.append(" " + " ".join(extra), "dim")
        text.append("\n")
    return text


class StatsLoaded(Message):
    def __init__(self, data: dict | None, error: str | None = None):
        super().__init__()
        self.data, self.error = data, error


class NsoStatsScreen(Screen):
    CSS_PATH = "nso_stats.tcss"
    BINDINGS = [
        Binding("r", "reload", "Refresh", id="stats.reload"),
        Binding("escape", "app.pop_screen", "Back", id="stats.back"),
    ]
    HELP = """\
## Queue statistics

How many decisions your NSO made each day over the last 30 days (approved ✓, rejected ✗,
information asked ?), and for each queue how many items wait, the median age and the oldest.
Validation is expected within 7 days: older queues are shown in red. **r** refreshes.
"""

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with VerticalScroll(id="stats-scroll"):
            yield Static(_("Loading…"), id="stats-body", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#stats-scroll").focus()
        self.action_reload()

    @work(exclusive=True, group="stats", exit_on_error=False)
    async def action_reload(self) -> None:
        await self.app.connection.ready()
        try:
            engine = triage_engine(self.app)
            if engine is not None:
                data = (await engine.fetch("nso_stats", path="/nso/stats")).data
            else:
                data = await self.app.connection.get("/nso/stats")
        except Exception as exc:
            self.post_message(StatsLoaded(None, getattr(exc, "message", str(exc))))
            return
        self.post_message(StatsLoaded(data if isinstance(data, dict) else None))

    @on(StatsLoaded)
    def _loaded(self, message: StatsLoaded) -> None:
        body = self.query_one("#stats-body", Static)
        if message.data is None:
            body.update(Text(message.error or _("Not available offline yet."), style="red"))
            return
        body.update(stats_text(message.data))
