"""The outbox: changes waiting to be sent, and those the server refused or that conflict.

Nothing here waits for the network: the list is the replica's outbox, redrawn whenever the sync
engine reports a change. A refused write shows the server's reason next to the field it names
and keeps what the user wrote, to fix and resend; a conflict shows both versions side by side.
"""

from __future__ import annotations

import json
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from esep_tui.i18n import N_, _
from widgets.app_header import AppHeader
from widgets.form_field import FormField
from widgets.untrusted import clean, plain

VERBS = {"POST": N_("create"), "PUT": N_("replace"), "PATCH": N_("change"), "DELETE": N_("delete")}
STATES = {
    "queued": N_("waiting"),
    "sending": N_("sending"),
    "rejected": N_("refused"),
    "conflict": N_("conflict"),
}
# fields that name the object, for a one-line description of the write
_NAME_FIELDS = ("title", "name", "legal_name", "public_name", "email", "username", "text")
_SCALARS = (str, int, float, bool, type(None))


def _short(value: Any, width: int = 60) -> str:
    text = clean(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def describe(method: str, path: str, body: Any, entity: tuple[str, str] | None) -> str:
    """'create page “Our rivers”' — what the write does, in a few words."""
    verb = _(VERBS.get(method, method.lower()))
    what = entity[0].replace("_", " ") if entity else path.strip("/").split("/")[-1]
    if isinstance(body, dict):
        for name in _NAME_FIELDS:
            if isinstance(body.get(name), str) and body[name].strip():
                return f"{verb} {what} “{_short(body[name], 40)}”"
    return f"{verb} {_short(what, 40)}"


def editable_fields(body: Any) -> list[str]:
    """The body's top-level plain values: what the edit dialog offers to change."""
    if not isinstance(body, dict):
        return []
    return [k for k, v in body.items() if isinstance(v, _SCALARS) and k != "id"]


def parse_like(text: str, original: Any) -> Any:
    """The edited text back as the original's type (a number stays a number)."""
    if isinstance(original, bool):
        return text.strip().lower() in ("1", "true", "yes", "y")
    if isinstance(original, int):
        try:
            return int(text.strip())
        except ValueError:
            return text
    if isinstance(original, float):
        try:
            return float(text.strip())
        except ValueError:
            return text
    if original is None and not text.strip():
        return None
    return text


def compare(mine: Any, theirs: Any) -> list[tuple[str, str, str]]:
    """(field, my value, the server's value) for every field the write sets."""
    if not isinstance(mine, dict):
        return [("", _short(mine), _short(theirs))]
    server = theirs if isinstance(theirs, dict) else {}
    rows = []
    for key, value in mine.items():
        if key == "id":
            continue
        rows.append((key, _short(value, 30), _short(server.get(key, "—"), 30)))
    return rows


class EditDialog(ModalScreen[dict | None]):
    """The refused write's fields, with the server's reason under the one it names."""

    CSS_PATH = "outbox.tcss"
    BINDINGS = [
        Binding("ctrl+s", "save", "Resend", id="outbox_edit.save"),
        Binding("escape", "cancel", "Cancel", id="outbox_edit.cancel"),
    ]

    def __init__(self, title: str, body: dict, error_field: str | None, message: str | None):
        super().__init__()
        self.heading, self.body = title, body
        self.error_field, self.message = error_field, message

    def compose(self) -> ComposeResult:
        with Vertical(id="edit-dialog"):
            yield Static(plain(self.heading), classes="heading")
            with VerticalScroll(id="edit-fields"):
                for name in editable_fields(self.body):
                    value = self.body[name]
                    text = "" if value is None else str(value)
                    secret = "password" in name or "code" in name
                    yield FormField(name.replace("_", " "), name=name, value=text, password=secret)
            yield Static("", id="edit-status", markup=False)
            yield Static(_("ctrl+s: resend · escape: cancel"), classes="dialog-hint")

    def on_mount(self) -> None:
        fields = {f.field_name: f for f in self.query(FormField)}
        target = fields.get(self.error_field or "")
        if target is not None:
            target.set_error(self.message)
            target.focus()
        elif fields:
            next(iter(fields.values())).focus()
            if self.message:
                self.query_one("#edit-status", Static).update(plain(self.message))
        else:
            self.query_one("#edit-status", Static).update(
                _("This change has no fields to edit; resend it as it is, or discard it.")
            )

    def action_save(self) -> None:
        body = dict(self.body)
        for form_field in self.query(FormField):
            body[form_field.field_name] = parse_like(
                form_field.value, self.body[form_field.field_name]
            )
        self.dismiss(body)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDiscard(ModalScreen[bool]):
    CSS_PATH = "outbox.tcss"
    BINDINGS = [
        Binding("y", "answer(True)", "Discard", id="outbox_discard.yes"),
        Binding("n,escape", "answer(False)", "Keep", id="outbox_discard.no"),
    ]

    def __init__(self, what: str):
        super().__init__()
        self.what = what

    def compose(self) -> ComposeResult:
        with Vertical(id="discard-dialog"):
            yield Static(plain(_("Discard “{what}”? It will not be sent.").format(what=self.what)))
            yield Static(_("y: discard · n: keep it"), classes="dialog-hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class OutboxScreen(Screen):
    CSS_PATH = "outbox.tcss"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="outbox.back"),
        Binding("e", "edit", "Edit and resend", id="outbox.edit"),
        Binding("m", "keep_mine", "Keep mine", id="outbox.keep_mine"),
        Binding("d", "discard", "Discard", id="outbox.discard"),
        Binding("s", "sync", "Send now", id="outbox.sync"),
        Binding("j", "cursor_down", "Down", show=False, id="outbox.down"),
        Binding("k", "cursor_up", "Up", show=False, id="outbox.up"),
    ]
    HELP = """\
## Outbox

Every change you make is kept here until the server has it, so nothing is lost on a bad link.

- **waiting / sending**: queued; sent in order as soon as the server can be reached.
- **refused**: the server said why (shown under the list). **e** opens the change with the
  reason next to the field it concerns; fix it and press **ctrl+s** to send it again.
- **conflict**: someone changed the same thing first. Both versions are shown side by side:
  **m** keeps mine (sent again over theirs), **d** discards yours and keeps theirs.
- **d** discards a change (you are asked first). **s** sends now. **j/k** move.
  **escape** goes back.
"""

    def __init__(self) -> None:
        super().__init__()
        self._unsubscribe: list = []
        self._rows: list[Any] = []  # OutboxItem, in list order

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Vertical(id="outbox"):
            yield Static("", id="outbox-summary", markup=False)
            yield OptionList(id="outbox-list")
            with VerticalScroll(id="outbox-detail"):
                yield Static("", id="detail-what", markup=False)
                yield Static("", id="detail-reason", markup=False)
                with Horizontal(id="detail-compare"):
                    yield Static("", id="detail-mine", markup=False)
                    yield Static("", id="detail-theirs", markup=False)
        yield Footer()

    def engine(self):
        connection = getattr(self.app, "connection", None)
        getter = getattr(connection, "engine", None)
        return getter() if callable(getter) else getattr(connection, "sync", None)

    def on_mount(self) -> None:
        engine = self.engine()
        if engine is not None:
            self._unsubscribe.append(engine.subscribe(lambda _c: self._later()))
            self._unsubscribe.append(engine.monitor.subscribe(lambda _m: self._later()))
        self.reload()
        self.query_one("#outbox-list", OptionList).focus()

    def on_unmount(self) -> None:
        for undo in self._unsubscribe:
            undo()
        self._unsubscribe.clear()

    def _later(self) -> None:
        if self.is_attached:
            self.call_later(self.reload)

    # ------------------------------------------------------------ the list

    def reload(self) -> None:
        engine = self.engine()
        summary = self.query_one("#outbox-summary", Static)
        options = self.query_one("#outbox-list", OptionList)
        if engine is None:
            self._rows = []
            options.clear_options()
            summary.update(_("Sign in first: the outbox belongs to your account."))
            self._show(None)
            return
        outbox = engine.store.outbox
        items = outbox.items(("rejected", "conflict", "queued", "sending"))
        # what needs the user first, then what waits, each in the order it was written
        items.sort(key=lambda i: (i.state not in ("rejected", "conflict"), i.seq))
        keep = self._selected()
        self._rows = items
        options.clear_options()
        for item in items:
            state = _(STATES.get(item.state, item.state))
            line = f"{state:<9} {describe(item.method, item.path, item.body, item.entity)}"
            options.add_option(Option(plain(line), id=str(item.seq)))
        waiting = sum(1 for i in items if i.state in ("queued", "sending"))
        attention = len(items) - waiting
        if not items:
            summary.update(_("Nothing waiting: every change has reached the server."))
        else:
            summary.update(
                _("{waiting} waiting to be sent · {attention} need attention").format(
                    waiting=waiting, attention=attention
                )
            )
        if items:
            seqs = [i.seq for i in items]
            options.highlighted = seqs.index(keep.seq) if keep and keep.seq in seqs else 0
        self._show(self._selected())

    def _selected(self):
        options = self.query_one("#outbox-list", OptionList)
        index = options.highlighted
        if index is None or not (0 <= index < len(self._rows)):
            return None
        return self._rows[index]

    @on(OptionList.OptionHighlighted, "#outbox-list")
    def _highlighted(self) -> None:
        self._show(self._selected())

    def _show(self, item) -> None:
        self.refresh_bindings()  # edit / keep mine depend on the selected change
        what = self.query_one("#detail-what", Static)
        reason = self.query_one("#detail-reason", Static)
        mine = self.query_one("#detail-mine", Static)
        theirs = self.query_one("#detail-theirs", Static)
        compare_box = self.query_one("#detail-compare")
        if item is None:
            for widget in (what, reason, mine, theirs):
                widget.update("")
            compare_box.display = False
            return
        what.update(plain(f"{item.method} {item.path}"))
        if item.state in ("rejected", "conflict"):
            lines = [clean(item.error_message or _("The server refused this change."))]
            if item.error_field and not lines[0].startswith(item.error_field):
                lines[0] = f"{item.error_field}: {lines[0]}"
            for r in item.error_reasons or []:
                fix = f" — {clean(r.get('fix'))}" if r.get("fix") else ""
                lines.append(f"• {clean(r.get('message', ''))}{fix}")
            lines.append(
                _("m: keep mine · d: discard mine, keep theirs")
                if item.state == "conflict"
                else _("e: edit and resend · d: discard")
            )
            reason.update(plain("\n".join(lines)))
        elif item.error_message:
            reason.update(
                plain(
                    _("Not sent yet ({attempts} tries): {message}").format(
                        attempts=item.attempts, message=clean(item.error_message)
                    )
                )
            )
        else:
            reason.update(_("Waiting to be sent."))
        if item.state == "conflict":
            rows = compare(item.body, item.server_data)
            mine.update(plain("\n".join([_("Yours")] + [f"{k}: {a}" for k, a, _b in rows])))
            theirs.update(
                plain("\n".join([_("On the server")] + [f"{k}: {b}" for k, _a, b in rows]))
            )
            compare_box.display = True
        else:
            body = item.body if isinstance(item.body, dict) else {}
            mine.update(
                plain("\n".join(f"{k}: {_short(v, 60)}" for k, v in body.items() if k != "id"))
            )
            theirs.update("")
            compare_box.display = bool(body)

    # ------------------------------------------------------------ actions

    def action_cursor_down(self) -> None:
        self.query_one("#outbox-list", OptionList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#outbox-list", OptionList).action_cursor_up()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in ("edit", "keep_mine", "discard"):
            item = self._selected() if self.is_mounted else None
            if item is None:
                return False
            if action == "edit":
                return item.state == "rejected"
            if action == "keep_mine":
                return item.state == "conflict"
        return True

    @work(exclusive=True, group="outbox-edit")
    async def action_edit(self) -> None:
        item, engine = self._selected(), self.engine()
        if item is None or engine is None or item.state != "rejected":
            return
        body = item.body if isinstance(item.body, dict) else {}
        title = describe(item.method, item.path, item.body, item.entity)
        edited = await self.app.push_screen_wait(
            EditDialog(title, body, item.error_field, item.error_message)
        )
        if edited is None:
            return
        engine.resend(item.seq, edited)
        self.notify(_("Queued again: it is sent as soon as the server can be reached."))
        self.reload()

    def action_keep_mine(self) -> None:
        item, engine = self._selected(), self.engine()
        if item is None or engine is None or item.state != "conflict":
            return
        engine.resend(item.seq)
        self.notify(_("Yours is queued again, over the server's version."))
        self.reload()

    @work(exclusive=True, group="outbox-discard")
    async def action_discard(self) -> None:
        item, engine = self._selected(), self.engine()
        if item is None or engine is None:
            return
        what = describe(item.method, item.path, item.body, item.entity)
        if not await self.app.push_screen_wait(ConfirmDiscard(what)):
            return
        try:
            engine.discard(item.seq)
        except ValueError:  # it was sent meanwhile
            self.notify(_("Already sent: there is nothing to discard."))
        self.reload()

    @work(exclusive=True, group="outbox-sync", exit_on_error=False)
    async def action_sync(self) -> None:
        engine = self.engine()
        if engine is None:
            return
        if engine.work_offline:
            self.notify(_("Working offline: switch it off (F6) to send."))
            return
        sent, _changes = await engine.sync_now()
        self.reload()
        left = engine.store.outbox.pending_count()
        if left:
            self.notify(
                _("{sent} sent; {left} still waiting for the server.").format(sent=sent, left=left)
            )
        else:
            self.notify(_("{sent} sent.").format(sent=sent))
