"""Pupil accounts of a TwinSpace: create one or many from nicknames, print the code sheet to a
text file, reset a code, switch pupil / pupil admin, remove. No email, no birth date."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from esep_tui.i18n import N_, _
from esep_tui.pages import settle
from screens.twinspace_dialogs import Confirm, Prompt
from screens.twinspace_members import Outcome, reasons_text
from widgets.app_header import AppHeader
from widgets.untrusted import clean, plain

MAX_NICKNAMES = 100  # per request, as the server accepts


def parse_nicknames(text: str) -> list[str]:
    """Nicknames separated by commas or semicolons, or the lines of a text file whose path
    was given."""
    candidate = Path(text.strip()).expanduser()
    if text.strip() and candidate.is_file():
        raw = candidate.read_text(encoding="utf-8", errors="replace").splitlines()
    else:
        raw = text.replace(";", ",").split(",")
    names = [" ".join(n.split()) for n in raw]
    return [n for n in names if n]


def code_sheet(title: str, pupils: list[dict]) -> str:
    """A printable sheet: one block per pupil, to cut out and hand over."""
    lines = [f"Pupil sign-in codes: {title}", f"Printed {datetime.now():%Y-%m-%d %H:%M}", ""]
    lines.append("Sign in with `esep-tui --pupil`, or choose Pupil on the sign-in screen.")
    lines.append("")
    for p in pupils:
        lines += [
            "-" * 48,
            f"Nickname:        {p.get('nickname', '')}",
            f"Username:        {p['username']}",
            f"Activation code: {p['code']}",
            "",
        ]
    return "\n".join(lines)


def sheet_path() -> Path:
    from esep_tui.export import default_destination

    return default_destination() / f"pupil-codes-{datetime.now():%Y%m%d-%H%M%S}.txt"


class PupilsScreen(Screen):
    CSS_PATH = "twinspace.tcss"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="pupils.back"),
        Binding("n", "create", "New pupils", id="pupils.create"),
        Binding("c", "reset", "Reset code", id="pupils.reset"),
        Binding("a", "role", "Pupil/admin", id="pupils.role"),
        Binding("x,delete", "remove", "Remove", id="pupils.remove"),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
    ]
    HELP = N_("""\
## Pupils

Pupil accounts have a made-up username and an activation code; no email, no birth date.
**n** creates accounts from nicknames separated by commas (or give the path of a text file
with one nickname a line). The codes are shown once: they are written at once to a code
sheet (a text file to print). **c** gives the highlighted pupil a new code (the old one stops
working), **a** switches between pupil (reads pages) and pupil admin (edits pages), **x**
removes the account.
""")

    def __init__(self, project_id: str, permissions: dict | None = None, title: str = ""):
        super().__init__()
        self.project_id = project_id
        self.permissions = permissions or {}
        self.space_title = title
        self.pupils: list[dict] = []
        self.last_sheet: Path | None = None

    @property
    def path(self) -> str:
        return f"/projects/{self.project_id}/pupils"

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Vertical(classes="ts-sub"):
            yield Static(_("Pupils"), classes="heading")
            yield OptionList(id="pupils-list")
            yield Static("", id="pupils-status", classes="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.engine = self.app.connection.engine()
        self._show(self.engine.read("pupil", path=self.path, refresh=False).data)
        self.refresh_list()

    @work(exclusive=True, group="pupils", exit_on_error=False)
    async def refresh_list(self) -> None:
        snap = await self.engine.fetch("pupil", path=self.path)
        self.post_message(Outcome("", data=snap.data))

    def _show(self, data) -> None:
        self.pupils = list(data.get("items", [])) if isinstance(data, dict) else []
        menu = self.query_one("#pupils-list", OptionList)
        keep = menu.highlighted or 0
        menu.clear_options()
        for p in self.pupils:
            role = _("pupil admin") if p.get("role") == "pupil_admin" else _("pupil")
            text = f"{clean(p['username'])} · {clean(p.get('nickname', ''))} · {role}"
            menu.add_option(Option(plain(text), id=p["id"]))
        if menu.option_count:
            menu.highlighted = min(keep, menu.option_count - 1)

    @on(Outcome)
    def _outcome(self, message: Outcome) -> None:
        if message.data is not None:
            self._show(message.data)
        if message.text:
            status = self.query_one("#pupils-status", Static)
            status.update(plain(message.text))
            status.set_class(message.error, "-error")

    def _selected(self) -> dict | None:
        index = self.query_one("#pupils-list", OptionList).highlighted
        return self.pupils[index] if index is not None and index < len(self.pupils) else None

    def action_cursor(self, step: int) -> None:
        menu = self.query_one("#pupils-list", OptionList)
        menu.action_cursor_down() if step > 0 else menu.action_cursor_up()

    def action_create(self) -> None:
        question = _("Nicknames, separated by commas (or the path of a file, one a line)")
        self.app.push_screen(Prompt(question, max_length=6000), self._create)

    def _create(self, text: str | None) -> None:
        names = parse_nicknames(text or "")
        if not names:
            return
        if len(names) > MAX_NICKNAMES:
            self.post_message(
                Outcome(_("At most {n} nicknames at a time.").format(n=MAX_NICKNAMES), True)
            )
            return
        item = self.engine.write("POST", self.path, {"nicknames": names, "role": "pupil"})
        self._send(item)

    @work(group="pupils-write", exit_on_error=False)
    async def _send(self, item) -> None:
        after = await settle(self.engine, item)
        if after is not None and after.state == "done":
            answer = after.response or {}
            made = answer.get("items") if isinstance(answer, dict) else None
            if made is None and isinstance(answer, dict) and "code" in answer:
                made = [answer]
            if made:
                path = self._write_sheet(made)
                text = _("{n} code(s) written to {path}: print it now, the codes are not shown "
                         "again.").format(n=len(made), path=path)  # fmt: skip
                self.post_message(Outcome(text))
            else:
                self.post_message(Outcome(_("Done.")))
        elif after is not None and after.state in ("rejected", "conflict"):
            self.post_message(Outcome(reasons_text(after), True))
        else:
            self.post_message(Outcome(_("Queued: it will be sent when online.")))
        snap = await self.engine.fetch("pupil", path=self.path)
        self.post_message(Outcome("", data=snap.data))

    def _write_sheet(self, pupils: list[dict]) -> Path:
        path = sheet_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code_sheet(self.space_title or self.project_id, pupils), encoding="utf-8")
        path.chmod(0o600)
        self.last_sheet = path
        return path

    def action_reset(self) -> None:
        pupil = self._selected()
        if pupil is None:
            return
        question = _("Give {name} a new code? The old one stops working.").format(
            name=clean(pupil["username"])
        )
        self.app.push_screen(
            Confirm(question),
            lambda yes: (
                yes and self._send(self.engine.write("POST", f"/pupils/{pupil['id']}/reset-code"))
            ),
        )

    def action_role(self) -> None:
        pupil = self._selected()
        if pupil is None:
            return
        role = "pupil" if pupil.get("role") == "pupil_admin" else "pupil_admin"
        self._send(self.engine.write("PATCH", f"/pupils/{pupil['id']}", {"role": role}))

    def action_remove(self) -> None:
        pupil = self._selected()
        if pupil is None:
            return
        question = _("Remove the pupil account {name}?").format(name=clean(pupil["username"]))
        self.app.push_screen(
            Confirm(question),
            lambda yes: yes and self._send(self.engine.write("DELETE", f"/pupils/{pupil['id']}")),
        )
