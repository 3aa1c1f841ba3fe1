"""The audit log: every decision of this NSO, newest first: who, when, what, why.

Paged like the queues (a national log has hundreds of thousands of entries); filters by
action, kind of item, staff member and date go to the server.
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Select, Static

from esep_tui.i18n import N_, _
from screens.nso_queue import triage_engine
from widgets.app_header import AppHeader
from widgets.untrusted import clean, plain
from widgets.virtual_list import VirtualList

PAGE = 50
ACTIONS = [
    ("approve", N_("approve")),
    ("reject", N_("reject")),
    ("request_info", N_("ask for information")),
    ("undo", N_("undo")),
    ("deactivate", N_("switch off")),
    ("activate", N_("switch on")),
]
SUBJECTS = [
    ("application", N_("teacher application")),
    ("organisation", N_("organisation")),
    ("project", N_("project")),
    ("user", N_("user")),
]
ACTION_WORDS = {
    "approve": N_("approved"),
    "reject": N_("rejected"),
    "request_info": N_("asked about"),
    "undo": N_("took back a decision on"),
    "deactivate": N_("switched off"),
    "activate": N_("switched on"),
}
SUBJECT_WORDS = dict(SUBJECTS)


def audit_row(entry: dict, width: int) -> str:
    at = str(entry.get("at", ""))[:16].replace("T", " ")
    reason = f" — {entry['reason']}" if entry.get("reason") else ""
    title = entry.get("subject_title") or entry.get("subject_id", "")
    action = _(ACTION_WORDS.get(entry.get("action", ""), entry.get("action", "")))
    subject = _(SUBJECT_WORDS.get(entry.get("subject_type", ""), entry.get("subject_type", "")))
    return (
        f"{at}  {clean(entry.get('actor_name', ''))}: {clean(action)} "
        f"{clean(subject)} {clean(title)}{clean(reason)}"
    )


class AuditPage(Message):
    def __init__(self, generation: int, page: int, data: dict | None, error: str | None = None):
        super().__init__()
        self.generation, self.page, self.data, self.error = generation, page, data, error


class AuditScreen(Screen):
    CSS_PATH = "audit.tcss"
    BINDINGS = [
        Binding("slash", "focus_filters", "Filter", id="audit.filter"),
        Binding("ctrl+r", "reload", "Reload", id="audit.reload"),
        Binding("ctrl+l", "focus_list", "List", show=False, id="audit.list"),
        Binding("escape", "back", "Back", id="audit.back"),
    ]
    HELP = """\
## Audit log

Every decision of your country's NSO, newest first: who decided, when, what and why. The
filters at the top narrow it down: the action, the kind of item, a staff member (yours: type
**me**) and the first day (YYYY-MM-DD). **/** jumps to the filters, **escape** back to the list,
**j/k** move, **enter** in a filter applies it.
"""

    def __init__(self) -> None:
        super().__init__()
        self.generation = 0
        self.filters: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Horizontal(id="audit-filters"):
            yield Select(
                [(_(label), code) for code, label in ACTIONS],
                prompt=_("any action"),
                id="audit-action",
            )
            yield Select(
                [(_(label), code) for code, label in SUBJECTS],
                prompt=_("any item"),
                id="audit-subject",
            )
            yield Input(placeholder=_("staff (me)"), id="audit-actor")
            yield Input(placeholder=_("since YYYY-MM-DD"), id="audit-since")
        yield Static("", id="audit-status", markup=False)
        yield VirtualList(audit_row, page_size=PAGE, id="audit-list")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#audit-list").focus()
        self._restart()

    @property
    def vlist(self) -> VirtualList:
        return self.query_one("#audit-list", VirtualList)

    def _restart(self) -> None:
        self.generation += 1
        self.vlist.reset(0)
        self.vlist.empty_text = _("Loading…")
        self._fetch(self.generation, 0, dict(self.filters))

    @on(VirtualList.PageNeeded, "#audit-list")
    def _page_needed(self, message: VirtualList.PageNeeded) -> None:
        self._fetch(self.generation, message.page, dict(self.filters))

    @work(group="audit-pages", exit_on_error=False)
    async def _fetch(self, generation: int, page: int, filters: dict) -> None:
        await self.app.connection.ready()
        params = {"offset": page * PAGE, "limit": PAGE, **filters}
        if params.get("actor") == "me":
            account = getattr(self.app, "account", None)
            params["actor"] = getattr(account, "user_id", None) or ""
        try:
            engine = triage_engine(self.app)
            if engine is not None:
                data = (await engine.fetch("nso_audit", path="/nso/audit", params=params)).data
            else:
                data = await self.app.connection.get("/nso/audit")
        except Exception as exc:
            self.post_message(AuditPage(generation, page, None, getattr(exc, "message", str(exc))))
            return
        self.post_message(AuditPage(generation, page, data if isinstance(data, dict) else None))

    @on(AuditPage)
    def _loaded(self, message: AuditPage) -> None:
        if message.generation != self.generation:
            return
        vlist = self.vlist
        if message.data is None:
            vlist.empty_text = message.error or _("Not available offline yet.")
            vlist.forget_page(message.page)
            return
        if message.page == 0:
            total = message.data.get("total") or 0
            vlist.empty_text = _("No decision matches these filters.") if not total else ""
            vlist.set_total(total)
            self.query_one("#audit-status", Static).update(
                plain(_("{n} decisions").format(n=total))
            )
        vlist.set_page(message.page, message.data.get("items", []))

    def _read_filters(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        action = self.query_one("#audit-action", Select).value
        subject = self.query_one("#audit-subject", Select).value
        if isinstance(action, str):
            values["action"] = action
        if isinstance(subject, str):
            values["subject_type"] = subject
        actor = self.query_one("#audit-actor", Input).value.strip()
        if actor:
            values["actor"] = actor
        since = self.query_one("#audit-since", Input).value.strip()
        if since:
            values["since"] = since
        return values

    @on(Select.Changed)
    @on(Input.Submitted)
    def _apply(self) -> None:
        filters = self._read_filters()
        if filters != self.filters:
            self.filters = filters
            self._restart()

    def action_focus_filters(self) -> None:
        self.query_one("#audit-action").focus()

    def action_focus_list(self) -> None:
        self.vlist.focus()

    def action_reload(self) -> None:
        self._restart()

    def action_back(self) -> None:
        if self.focused is not self.vlist:
            self.vlist.focus()
        else:
            self.app.pop_screen()
