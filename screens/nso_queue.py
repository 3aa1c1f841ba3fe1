"""NSO triage: the country's three validation queues, decided from the keyboard.

The list is virtual (pages of 50 fetched as the cursor moves), so a queue of 100,000 items
opens as fast as one of ten. Decisions go through the outbox: they never wait for the network,
work offline, and a decision someone else made first comes back as a conflict, not an
overwrite. The evidence of the next item is fetched before the current one is decided.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Label, OptionList, Static, Tab, Tabs
from textual.widgets.option_list import Option

from api_client.models.nso import UNDO_SECONDS
from esep_tui.i18n import N_, _
from widgets.app_header import AppHeader
from widgets.evidence import EvidencePane
from widgets.untrusted import clean, plain
from widgets.virtual_list import VirtualList

PAGE = 50
QUEUES = {
    "applications": (N_("Teachers"), "application"),
    "organisations": (N_("Organisations"), "organisation"),
    "projects": (N_("Projects"), "project"),
}
SORTS = ["-age", "age", "name"]
SORT_LABELS = {"-age": N_("oldest first"), "age": N_("newest first"), "name": N_("by name")}
VERBS = {"approve": N_("approved"), "reject": N_("rejected"), "request_info": N_("info asked")}
MARKS = {"approve": "✓", "reject": "✗", "request_info": "?"}
FLAG_MARKS = {
    "duplicate_suspected": N_("dup?"),
    "company_staff_only": N_("company"),
    "no_school": N_("no school"),
    "school_pending": N_("school pending"),
    "school_number_missing": N_("no number"),
    "other_nso_approved": N_("other NSO ✓"),
    "other_nso_pending": N_("other NSO …"),
}


def triage_engine(app) -> Any:
    """The sync engine of the signed-in account (made on first use); None before connecting."""
    conn = app.connection
    if conn.client is None:
        return None
    from esep_tui.paths import replica_path

    account = conn.tokens.account or "anonymous"
    expected = replica_path(conn.identity, account)
    engine = conn.sync
    if engine is not None and getattr(getattr(engine, "store", None), "path", None) == expected:
        return engine
    from esep_tui.sync import SyncEngine
    from local_store.store import LocalStore

    engine = SyncEngine(LocalStore(expected), conn.client)
    engine.monitor.subscribe(conn._from_monitor)
    engine.start()
    conn.sync = engine
    return engine


def row_text(item: dict, width: int) -> str:
    age = f"{item.get('age_days', 0):>3}d{'!' if item.get('overdue') else ' '}"
    flags = [_(FLAG_MARKS[f]) if f in FLAG_MARKS else f for f in item.get("flags") or []]
    if item.get("state") == "info_requested":
        flags.insert(0, _("info requested"))
    tail = f"  [{', '.join(flags)}]" if flags else ""
    detail = f" · {item['detail']}" if item.get("detail") else ""
    return f"{age} {clean(item.get('title', ''))}{clean(detail)}{tail}"


@dataclass
class Decision:
    """A decision sent through the outbox, and the row it belongs to."""

    seq: int
    queue: str
    rows: list[int]
    items: list[dict]
    action: str
    made_at: float
    audit_id: int | None = None
    state: str = "queued"  # queued | done | conflict | rejected | undone


class PageLoaded(Message):
    def __init__(self, generation: int, page: int, data: dict | None, error: str | None = None):
        super().__init__()
        self.generation, self.page, self.data, self.error = generation, page, data, error


class EvidenceLoaded(Message):
    def __init__(self, kind: str, item_id: str, data: dict | None):
        super().__init__()
        self.kind, self.item_id, self.data = kind, item_id, data


class SummaryLoaded(Message):
    def __init__(self, data: dict | None):
        super().__init__()
        self.data = data


class OutboxMoved(Message):
    """Something this screen wrote was sent, refused or conflicted."""


# --- dialogs -------------------------------------------------------------------------------


class ReasonScreen(ModalScreen[tuple[str | None, str | None] | None]):
    """Pick a template or type a reason. Returns (template, text) or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="reason.cancel")]

    def __init__(self, title: str, templates: list[dict]):
        super().__init__()
        self.title_text = title
        self.templates = templates

    def compose(self) -> ComposeResult:
        with Vertical(id="reason-dialog", classes="dialog"):
            yield Label(self.title_text, id="reason-title")
            options = [Option(plain(t["text"]), id=t["code"]) for t in self.templates]
            yield OptionList(*options, id="reason-templates")
            yield Input(placeholder=_("…or type a reason and press enter"), id="reason-text")

    def on_mount(self) -> None:
        target = "#reason-templates" if self.templates else "#reason-text"
        self.query_one("#reason-templates").display = bool(self.templates)
        self.query_one(target).focus()

    @on(OptionList.OptionSelected, "#reason-templates")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss((event.option.id, None))

    @on(Input.Submitted, "#reason-text")
    def _typed(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss((None, event.value.strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)


class FilterScreen(ModalScreen[dict | None]):
    """Words, region, type and minimum age of the items to show."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="filter.cancel")]
    FIELDS = [
        ("q", N_("Words of the name")),
        ("region", N_("Region")),
        ("type", N_("Type (primary, secondary…; national/european for projects)")),
        ("min_age_days", N_("Waiting at least (days)")),
    ]

    def __init__(self, current: dict):
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="filter-dialog", classes="dialog"):
            yield Label(_("Filter the queue (enter applies, empty clears)"))
            for name, label in self.FIELDS:
                yield Label(_(label))
                yield Input(str(self.current.get(name) or ""), id=f"filter-{name}")

    @on(Input.Submitted)
    def _apply(self) -> None:
        values: dict[str, Any] = {}
        for name, _label in self.FIELDS:
            value = self.query_one(f"#filter-{name}", Input).value.strip()
            if value:
                values[name] = value
        if "min_age_days" in values:
            try:
                values["min_age_days"] = max(0, min(int(values["min_age_days"]), 36500))
            except ValueError:
                self.notify(_("Days is a whole number."), severity="error")
                return
        self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)


# --- the screen ----------------------------------------------------------------------------


class NsoQueueScreen(Screen):
    CSS_PATH = "nso_queue.tcss"
    BINDINGS = [
        Binding("a", "decide('approve')", "Approve", id="nso.approve"),
        Binding("r", "decide('reject')", "Reject", id="nso.reject"),
        Binding("i", "decide('request_info')", "Info", id="nso.info"),
        Binding("space", "select", "Select", key_display="␣", id="nso.select"),
        Binding("u", "undo", "Undo", id="nso.undo"),
        Binding("enter", "detail", "Detail", id="nso.detail"),
        Binding("slash", "filter", "Filter", id="nso.filter"),
        Binding("s", "sort", "Sort", id="nso.sort"),
        Binding("tab", "next_queue", "Next queue", show=False, id="nso.next_queue"),
        Binding("shift+tab", "previous_queue", "Previous queue", show=False, id="nso.prev_queue"),
        Binding("1", "queue('applications')", "Teachers", show=False, id="nso.q1"),
        Binding("2", "queue('organisations')", "Organisations", show=False, id="nso.q2"),
        Binding("3", "queue('projects')", "Projects", show=False, id="nso.q3"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="nso.reload"),
        Binding("escape", "back", "Back", show=False, id="nso.back"),
    ]
    HELP = """\
## Validation queues

Your country's queues: teacher eTwinning applications, new organisations, and projects
waiting for this NSO. Each tab shows how many items wait and the age of the oldest; items over
the 7-day norm are marked with **!**.

**j/k** or the arrows move, **enter** shows the whole evidence, **a** approves, **r** rejects
with a reason (pick a template or type one), **i** asks for more information. **space** selects
items; **a** or **r** then decide all selected at once. **u** takes back your last decision
within 30 seconds. **/** filters (words, region, type, age), **s** changes the order,
**1 2 3** or **tab** switch queues.

Decisions are queued in the outbox and sent at once when online (offline they wait). If
someone else decided an item first, it is marked **!** and both decisions are shown; nothing
is overwritten. Every decision is in the audit log.
"""

    def __init__(self) -> None:
        super().__init__()
        self.queue = "applications"
        self.sort = "-age"
        self.filters: dict[str, Any] = {}
        self.generation = 0
        self.evidence: dict[tuple[str, str], dict] = {}
        self.decisions: list[Decision] = []
        self.decided_rows: dict[int, Decision] = {}  # this queue's rows decided this session
        self.templates: list[dict] | None = None
        self.summary: dict | None = None
        self._unsubscribe = None
        # undo writes in flight: seq -> (queue, row, generation); the row's version follows
        self.undos: dict[int, tuple[str, int, int]] = {}
        self.last_write_ms = 0.0  # the durable outbox write of the last decision (benchmark)

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield Tabs(
            *(Tab(_(title), id=f"tab-{name}") for name, (title, _k) in QUEUES.items()),
            id="queue-tabs",
        )
        yield Static("", id="queue-status", markup=False)
        yield VirtualList(row_text, page_size=PAGE, id="queue-list")
        yield EvidencePane(id="evidence")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#queue-tabs", Tabs).can_focus = False
        self.query_one("#queue-list").focus()
        self._connect()

    @work(exclusive=True, group="nso-connect", exit_on_error=False)
    async def _connect(self) -> None:
        await self.app.connection.ready()
        self.engine = triage_engine(self.app)
        if self.engine is not None:
            self._unsubscribe = self.engine.subscribe(self._outbox_change, "nso_decision")
        self.post_message(SummaryLoaded(None))  # start the list from the replica

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    @property
    def kind(self) -> str:
        return QUEUES[self.queue][1]

    @property
    def vlist(self) -> VirtualList:
        return self.query_one("#queue-list", VirtualList)

    # ------------------------------------------------------------ reads

    async def _get(self, kind: str, path: str, params: dict | None = None, id: str | None = None):
        """The server's answer, or the replica's copy when the server is out of reach."""
        engine = getattr(self, "engine", None)
        if engine is None:
            return await self.app.connection.get(path)
        snapshot = await engine.fetch(kind, id, path=path, params=params)
        return snapshot.data

    @on(SummaryLoaded)
    def _summary_loaded(self, message: SummaryLoaded) -> None:
        if message.data is None:
            self._load_summary()
            self._restart()
            return
        self.summary = message.data
        for q in message.data.get("queues", []):
            name = q["queue"]
            if name not in QUEUES:
                continue
            label = f"{_(QUEUES[name][0])} {q['count']}"
            if q.get("oldest_age_days") is not None:
                label += f" · {q['oldest_age_days']}d"
            if q.get("overdue"):
                label += f" !{q['overdue']}"
            self.query_one(f"#tab-{name}", Tab).label = label
        self._show_status()

    @work(exclusive=True, group="nso-summary", exit_on_error=False)
    async def _load_summary(self) -> None:
        data = await self._get("nso_queues", "/nso/queues")
        if isinstance(data, dict):
            self.post_message(SummaryLoaded(data))

    def _params(self, page: int) -> dict:
        start = page * PAGE
        shift = sum(1 for row, d in self.decided_rows.items() if row < start and d.state == "done")
        params = {"offset": max(0, start - shift), "limit": PAGE, "sort": self.sort}
        params.update(self.filters)
        return params

    def _restart(self) -> None:
        self.generation += 1
        self.decided_rows = {}
        vlist = self.vlist
        vlist.reset(0)
        vlist.empty_text = _("Loading…")
        self.query_one("#evidence", EvidencePane).show(self.kind, None)
        self._fetch_page(self.generation, self.queue, 0)

    @on(VirtualList.PageNeeded, "#queue-list")
    def _page_needed(self, message: VirtualList.PageNeeded) -> None:
        self._fetch_page(self.generation, self.queue, message.page)

    @work(group="nso-pages", exit_on_error=False)
    async def _fetch_page(self, generation: int, queue: str, page: int) -> None:
        try:
            data = await self._get("nso_queue_page", f"/nso/queues/{queue}", self._params(page))
        except Exception as exc:
            self.post_message(PageLoaded(generation, page, None, getattr(exc, "message", str(exc))))
            return
        self.post_message(PageLoaded(generation, page, data if isinstance(data, dict) else None))

    @on(PageLoaded)
    def _page_loaded(self, message: PageLoaded) -> None:
        if message.generation != self.generation:
            return
        vlist = self.vlist
        if message.data is None:
            if message.page == 0:
                vlist.empty_text = message.error or _("Not available offline yet.")
                vlist.refresh()
            else:
                vlist.forget_page(message.page)
            return
        items = message.data.get("items", [])
        if message.page == 0:
            total = message.data.get("total")
            if total is None:
                total = len(items)
            vlist.empty_text = _("Nothing waiting in this queue.") if not total else ""
            vlist.set_total(total)
        vlist.set_page(message.page, items)
        if message.page == 0 and not items:
            self.query_one("#evidence", EvidencePane).show(None, None)

    @on(VirtualList.Highlighted, "#queue-list")
    def _highlighted(self, message: VirtualList.Highlighted) -> None:
        self._show_evidence()
        item = message.item
        if item is not None:
            self._fetch_evidence(self.kind, item["id"])
            row = self._next_open(message.index)
            nxt = self.vlist.item(row) if row is not None else None
            if nxt is not None and (self.kind, nxt["id"]) not in self.evidence:
                self._fetch_evidence(self.kind, nxt["id"])
        self._show_status()

    def _is_open(self, row: int) -> bool:
        """Not decided yet, or the server refused the decision (another one may be made)."""
        decision = self.decided_rows.get(row)
        return decision is None or decision.state == "rejected"

    def _next_open(self, index: int) -> int | None:
        """The next row after ``index`` not decided yet (within a page's reach)."""
        vlist = self.vlist
        for row in range(index + 1, min(vlist.total, index + PAGE)):
            if row not in self.decided_rows:
                return row
        return None

    @work(group="nso-evidence", exit_on_error=False)
    async def _fetch_evidence(self, kind: str, item_id: str) -> None:
        try:
            data = await self._get(f"nso_{kind}", f"/nso/{kind}s/{item_id}", id=item_id)
        except Exception:
            return
        if isinstance(data, dict):
            self.post_message(EvidenceLoaded(kind, item_id, data))

    @on(EvidenceLoaded)
    def _evidence_loaded(self, message: EvidenceLoaded) -> None:
        self.evidence[(message.kind, message.item_id)] = message.data
        current = self.vlist.current
        if current is not None and current["id"] == message.item_id and message.kind == self.kind:
            self._show_evidence()

    def _show_evidence(self) -> None:
        vlist = self.vlist
        item = vlist.current
        pane = self.query_one("#evidence", EvidencePane)
        if item is None:
            pane.show(self.kind if vlist.total else None, None)
            return
        note = None
        decision = self.decided_rows.get(vlist.cursor)
        if decision is not None:
            note = self._decision_note(decision, vlist.cursor)
        pane.show(self.kind, self.evidence.get((self.kind, item["id"])), note)

    def _decision_note(self, decision: Decision, row: int) -> Text:
        verb = _(VERBS.get(decision.action, decision.action))
        if decision.state == "conflict":
            item = self.engine.store.outbox.get(decision.seq) if self.engine else None
            server = (item.server_data or {}) if item else {}
            text = Text(_("Conflict — not overwritten.") + "\n", style="bold red")
            text.append(_("Yours: ") + verb + "\n")
            text.append(_("Server: ") + clean(item.error_message if item else "") + "\n")
            if isinstance(server, dict) and server.get("state"):
                text.append(_("Current state: ") + clean(server["state"]) + "\n")
            return text
        if decision.state == "rejected":
            item = self.engine.store.outbox.get(decision.seq) if self.engine else None
            text = Text(_("Refused by the server: ") + "\n", style="bold red")
            text.append(clean(item.error_message if item else "") + "\n")
            for r in (item.error_reasons if item else []) or []:
                text.append("• " + clean(r.get("message", "")) + "\n")
            return text
        state = _("sent") if decision.state == "done" else _("queued")
        return Text(f"{verb} ({state})", style="bold green")

    def _show_status(self) -> None:
        vlist = self.vlist
        parts = [_(SORT_LABELS[self.sort])]
        if self.filters:
            parts.append(_("filter: ") + ", ".join(f"{k}={v}" for k, v in self.filters.items()))
        if vlist.total:
            parts.append(f"{vlist.cursor + 1}/{vlist.total}")
        if vlist.selected:
            parts.append(_("{n} selected").format(n=len(vlist.selected)))
        if self.summary:
            parts.append(_("NSO {country}").format(country=self.summary.get("country", "")))
        self.query_one("#queue-status", Static).update(plain("  ·  ".join(parts)))

    # ------------------------------------------------------------ queue switching

    def action_queue(self, queue: str) -> None:
        if queue != self.queue:
            self.queue = queue
            self.query_one("#queue-tabs", Tabs).active = f"tab-{queue}"
            self._restart()
            self._show_status()

    def action_next_queue(self) -> None:
        names = list(QUEUES)
        self.action_queue(names[(names.index(self.queue) + 1) % len(names)])

    def action_previous_queue(self) -> None:
        names = list(QUEUES)
        self.action_queue(names[(names.index(self.queue) - 1) % len(names)])

    @on(Tabs.TabActivated, "#queue-tabs")
    def _tab(self, event: Tabs.TabActivated) -> None:
        if event.tab is not None and event.tab.id:
            self.action_queue(event.tab.id.removeprefix("tab-"))

    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._restart()
        self._show_status()

    def action_filter(self) -> None:
        def apply(values: dict | None) -> None:
            if values is not None:
                self.filters = values
                self._restart()
                self._show_status()

        self.app.push_screen(FilterScreen(self.filters), apply)

    def action_reload(self) -> None:
        self._load_summary()
        self._restart()

    def action_detail(self) -> None:
        self.toggle_class("-detail")

    def action_back(self) -> None:
        if self.has_class("-detail"):
            self.remove_class("-detail")
        else:
            self.app.pop_screen()

    def action_select(self) -> None:
        vlist = self.vlist
        if vlist.cursor not in self.decided_rows:
            vlist.toggle_selected()
        vlist.cursor += 1
        self._show_status()

    # ------------------------------------------------------------ decisions

    def action_decide(self, action: str) -> None:
        vlist = self.vlist
        rows = sorted(r for r in vlist.selected if self._is_open(r))
        if not rows:
            if vlist.current is None or not self._is_open(vlist.cursor):
                self.notify(_("This item is already decided."), severity="warning")
                return
            rows = [vlist.cursor]
        if action == "approve":
            self._send(action, rows)
            return
        self._ask_reason(action, rows)

    @work(exclusive=True, group="nso-reason", exit_on_error=False)
    async def _ask_reason(self, action: str, rows: list[int]) -> None:
        if self.templates is None:
            try:
                data = await self._get("nso_templates", "/nso/reason-templates")
            except Exception:
                data = None
            self.templates = data if isinstance(data, list) else []
        choices = [t for t in self.templates if self.kind in t["kinds"] and action in t["actions"]]
        title = _("Reason to reject") if action == "reject" else _("What to ask for")
        picked = await self.app.push_screen_wait(ReasonScreen(title, choices))
        if picked is not None:
            self._send(action, rows, template=picked[0], reason=picked[1])

    def _send(self, action: str, rows: list[int], *, template=None, reason=None) -> None:
        engine = getattr(self, "engine", None)
        vlist = self.vlist
        if engine is None:
            self.notify(_("Not connected yet."), severity="error")
            return
        for r in rows:
            refused = self.decided_rows.get(r)
            if refused is not None and refused.state == "rejected":
                with contextlib.suppress(ValueError):
                    engine.discard(refused.seq)  # replaced by the new decision
        items = [vlist.item(r) for r in rows]
        extra = {k: v for k, v in (("template", template), ("reason", reason)) if v}
        if len(rows) == 1:
            item = items[0]
            body = {"action": action, "version": item["version"], **extra}
            path = f"/nso/{self.kind}s/{item['id']}/decision"
            entity = ("nso_decision", f"{self.kind}:{item['id']}")
        else:
            body = {
                "action": action,
                "items": [
                    {"kind": self.kind, "id": i["id"], "version": i["version"]} for i in items
                ],
                **extra,
            }
            path = "/nso/decisions/bulk"
            entity = ("nso_decision", f"bulk:{time.time_ns()}")
        started = time.perf_counter()
        out = engine.write(
            "POST", path, body, entity=entity, current_path=f"/nso/{self.kind}s/{items[0]['id']}"
        )
        self.last_write_ms = (time.perf_counter() - started) * 1000
        decision = Decision(out.seq, self.queue, rows, items, action, time.monotonic())
        self.decisions.append(decision)
        for r in rows:
            self.decided_rows[r] = decision
            vlist.selected.discard(r)
            vlist.mark(r, "⋯")
        nxt = self._next_open(max(vlist.cursor, rows[-1]) if len(rows) > 1 else vlist.cursor)
        if nxt is not None:
            vlist.cursor = nxt
        else:
            self._show_evidence()
        self._show_status()

    def _outbox_change(self, _change) -> None:
        self.post_message(OutboxMoved())

    @on(OutboxMoved)
    def _outbox_moved(self) -> None:
        if getattr(self, "engine", None) is None:
            return
        outbox = self.engine.store.outbox
        changed = False
        for decision in self.decisions:
            if decision.state not in ("queued",):
                continue
            item = outbox.get(decision.seq)
            if item is None or item.state in ("queued", "sending"):
                continue
            changed = True
            # a 409 is a conflict only when someone decided first; the rules' refusals (company
            # staff, no school...) are 409 too, and are shown with their reasons
            if item.state == "done":
                decision.state = "done"
            elif item.error_code == "already_decided":
                decision.state = "conflict"
            else:
                decision.state = "rejected"
            if decision.state == "done":
                self._settled(decision, item.response)
            elif decision.queue == self.queue:
                for r in decision.rows:
                    self.vlist.mark(r, "!")
                title = _("Conflict") if decision.state == "conflict" else _("Refused")
                self.notify(
                    clean(item.error_message or ""), title=title, severity="error", markup=False
                )
        for seq, (queue, row, generation) in list(self.undos.items()):
            item = outbox.get(seq)
            if item is None or item.state in ("queued", "sending"):
                continue
            del self.undos[seq]
            changed = True
            if item.state != "done" or not isinstance(item.response, dict):
                self.notify(
                    clean(item.error_message or ""),
                    title=_("Undo refused"),
                    severity="error",
                    markup=False,
                )
            elif queue == self.queue and generation == self.generation:
                current = self.vlist.item(row)
                if current is not None:
                    fresh = {**current, "version": item.response.get("version")}
                    fresh["state"] = item.response.get("state", current.get("state"))
                    self.vlist.replace(row, fresh)
        if changed:
            self._show_evidence()
            self._load_summary()

    def _settled(self, decision: Decision, response: Any) -> None:
        results = []
        if isinstance(response, dict) and "results" in response:
            results = response["results"]
        elif isinstance(response, dict):
            results = [{"ok": True, "decision": response}]
            decision.audit_id = response.get("audit_id")
        if decision.queue != self.queue:
            return
        for r, result in zip(decision.rows, results, strict=False):
            if result.get("ok"):
                self.vlist.mark(r, MARKS.get(decision.action, "✓"))
            else:
                self.vlist.mark(r, "!")
                self.notify(clean(result.get("message") or ""), severity="error", markup=False)
                self.decided_rows.pop(r, None)

    def action_undo(self) -> None:
        engine = getattr(self, "engine", None)
        live = [d for d in self.decisions if d.state in ("queued", "done") and len(d.rows) == 1]
        if engine is None or not live:
            self.notify(_("No decision to take back."), severity="warning")
            return
        decision = live[-1]
        if time.monotonic() - decision.made_at > UNDO_SECONDS:
            self.notify(_("Too late to undo: more than 30 seconds passed."), severity="warning")
            return
        item = engine.store.outbox.get(decision.seq)
        if decision.state == "queued" and item is not None and item.state == "queued":
            engine.discard(decision.seq)
        elif decision.audit_id is not None:
            out = engine.write(
                "POST",
                f"/nso/decisions/{decision.audit_id}/undo",
                {},
                entity=("nso_decision", f"undo:{decision.audit_id}"),
            )
            self.undos[out.seq] = (decision.queue, decision.rows[0], self.generation)
        else:
            self.notify(_("The decision is being sent; try again in a moment."))
            return
        decision.state = "undone"
        if decision.queue == self.queue:
            row = decision.rows[0]
            self.decided_rows.pop(row, None)
            self.vlist.mark(row, None)
            self.vlist.cursor = row
        self.notify(_("Decision taken back."))
        self._load_summary()
