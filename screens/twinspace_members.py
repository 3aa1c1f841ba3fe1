"""The members of a TwinSpace: roles, inviting a teacher (with the reasons when they cannot
be added), changing a role and removing a member, for those whose role allows it."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from esep_tui.i18n import N_, _
from esep_tui.pages import settle
from screens.twinspace_dialogs import Confirm, Pick, Prompt
from widgets.app_header import AppHeader
from widgets.untrusted import clean, plain

ROLE_LABELS = {
    "teacher_admin": N_("teacher administrator"),
    "teacher": N_("teacher"),
    "observer": N_("observer"),
}
NEXT_ROLE = {"teacher": "observer", "observer": "teacher_admin", "teacher_admin": "teacher"}


def reasons_text(item) -> str:
    """The server's message and every reason with its fix, in plain words."""
    lines = [clean(item.error_message or _("The server refused this."))]
    for reason in item.error_reasons or []:
        fix = f" — {clean(reason.get('fix'))}" if reason.get("fix") else ""
        lines.append(f"• {clean(reason.get('message', ''))}{fix}")
    return "\n".join(lines)


class Outcome(Message):
    def __init__(self, text: str, error: bool = False, data=None):
        super().__init__()
        self.text, self.error, self.data = text, error, data


class MembersScreen(Screen):
    CSS_PATH = "twinspace.tcss"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="members.back"),
        Binding("i", "invite", "Invite", id="members.invite"),
        Binding("t", "role", "Change role", id="members.role"),
        Binding("x,delete", "remove", "Remove", id="members.remove"),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
    ]
    HELP = N_("""\
## Members

Teacher administrators (the founders included), teachers and observers. Teacher
administrators press **i** to invite a teacher (found by name): the server checks first that
they can be added to a project, and every reason it gives is shown when they cannot. **t**
changes the highlighted member's role, **x** removes them (never a founder).
""")

    def __init__(self, project_id: str, permissions: dict | None = None):
        super().__init__()
        self.project_id = project_id
        self.permissions = permissions or {}
        self.members: list[dict] = []

    @property
    def path(self) -> str:
        return f"/projects/{self.project_id}/members"

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Vertical(classes="ts-sub"):
            yield Static(_("Members"), classes="heading")
            yield OptionList(id="members-list")
            yield Static("", id="members-status", classes="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.engine = self.app.connection.engine()
        self._show(self.engine.read("member", path=self.path, refresh=False).data)
        self.refresh_list()

    @work(exclusive=True, group="members", exit_on_error=False)
    async def refresh_list(self) -> None:
        snap = await self.engine.fetch("member", path=self.path)
        self.post_message(Outcome("", data=snap.data))

    def _show(self, data) -> None:
        self.members = data if isinstance(data, list) else []
        menu = self.query_one("#members-list", OptionList)
        keep = menu.highlighted or 0
        menu.clear_options()
        for m in self.members:
            role = _(ROLE_LABELS.get(m.get("role", ""), m.get("role", "")))
            extra = [_("founder")] if m.get("founder") else []
            if m.get("state") == "invited":
                extra.append(_("invited"))
            tail = f" ({', '.join(extra)})" if extra else ""
            text = f"{clean(m.get('name', ''))} · {clean(m.get('country', ''))} · {role}{tail}"
            menu.add_option(Option(plain(text), id=m["user_id"]))
        if menu.option_count:
            menu.highlighted = min(keep, menu.option_count - 1)

    @on(Outcome)
    def _outcome(self, message: Outcome) -> None:
        if message.data is not None:
            self._show(message.data)
        if message.text:
            status = self.query_one("#members-status", Static)
            status.update(plain(message.text))
            status.set_class(message.error, "-error")

    def _selected(self) -> dict | None:
        index = self.query_one("#members-list", OptionList).highlighted
        return self.members[index] if index is not None and index < len(self.members) else None

    def action_cursor(self, step: int) -> None:
        menu = self.query_one("#members-list", OptionList)
        menu.action_cursor_down() if step > 0 else menu.action_cursor_up()

    def action_invite(self) -> None:
        self.app.push_screen(Prompt(_("Invite a teacher: words of their name")), self._search)

    def _search(self, words: str | None) -> None:
        if words:
            self._find(words)

    @work(exclusive=True, group="members-find", exit_on_error=False)
    async def _find(self, words: str) -> None:
        try:
            found = await self.engine.client.request("GET", "/people", params={"q": words})
        except Exception as exc:
            self.post_message(Outcome(getattr(exc, "message", str(exc)), True))
            return
        rows = [
            (p["id"] if "id" in p else p.get("user_id"), f"{clean(p.get('name', ''))} · "
             f"{clean(p.get('country', ''))}")
            for p in found.get("items", [])
        ]  # fmt: skip
        if not rows:
            self.post_message(Outcome(_("Nobody found with these words."), True))
            return
        self.app.call_later(self.app.push_screen, Pick(_("Invite whom?"), rows), self._invite)

    def _invite(self, user_id: str | None) -> None:
        if user_id:
            item = self.engine.write("POST", self.path, {"user_id": user_id, "role": "teacher"})
            self._settle(item, _("Invitation sent."))

    @work(group="members-write", exit_on_error=False)
    async def _settle(self, item, done: str) -> None:
        after = await settle(self.engine, item)
        if after is None or after.state == "done":
            self.post_message(Outcome(done))
        elif after.state in ("rejected", "conflict"):
            self.post_message(Outcome(reasons_text(after), True))
        else:
            self.post_message(Outcome(_("Queued: it will be sent when online.")))
        snap = await self.engine.fetch("member", path=self.path)
        self.post_message(Outcome("", data=snap.data))

    def action_role(self) -> None:
        member = self._selected()
        if member is None:
            return
        role = NEXT_ROLE.get(member.get("role", ""), "teacher")
        item = self.engine.write("PATCH", f"{self.path}/{member['user_id']}", {"role": role})
        self._settle(item, _("Role changed to {role}.").format(role=_(ROLE_LABELS[role])))

    def action_remove(self) -> None:
        member = self._selected()
        if member is None:
            return
        question = _("Remove {name} from the project?").format(name=clean(member["name"]))
        self.app.push_screen(Confirm(question), lambda yes: yes and self._remove(member))

    def _remove(self, member: dict) -> None:
        item = self.engine.write("DELETE", f"{self.path}/{member['user_id']}")
        self._settle(item, _("Removed."))
