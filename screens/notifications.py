"""Notifications: invitations, contact requests, decisions. Opening one marks it read and goes
to what it is about (a project, a contact request, a post)."""

from __future__ import annotations

from datetime import UTC, datetime

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from esep_tui.i18n import _
from screens.partners_live import LiveData, Refreshed, merged
from widgets.app_header import AppHeader
from widgets.untrusted import clean


class NotificationsScreen(LiveData, Screen):
    CSS_PATH = "notifications.tcss"
    LIVE_KINDS = ("notification", "notification_list")
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="notifications.back"),
        Binding("enter", "open", "Open", id="notifications.open", show=False),
        Binding("m", "mark_read", "Mark read", id="notifications.read"),
        Binding("u", "unread", "Unread only", id="notifications.unread"),
    ]
    HELP = """\
## Notifications

Project invitations, contact requests and answers, NSO decisions, interest in your posts.
Unread ones are marked ●. **enter** marks one read and opens what it is about; **m** only
marks it read; **u** shows only the unread ones. Marking works offline too.
"""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict] = []
        self.unread_only = False

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield OptionList(id="notifications-list")
        yield Static("", id="notifications-status", classes="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.start_live()
        self.show(refresh=True)
        self.query_one("#notifications-list").focus()

    def on_unmount(self) -> None:
        self.stop_live()

    def show(self, *, refresh: bool = False) -> None:
        data = self.live("notification_list", "/notifications", refresh=refresh)
        rows = merged(self.engine(), "notification", data, overlay="notification")
        rows.sort(key=lambda n: str(n.get("created_at", "")), reverse=True)
        if self.unread_only:
            rows = [n for n in rows if not n.get("read_at")]
        self.rows = rows
        menu = self.query_one("#notifications-list", OptionList)
        highlighted = menu.highlighted
        menu.clear_options()
        for n in rows:
            mark = ("● ", "bold") if not n.get("read_at") else "  "
            when = str(n.get("created_at", ""))[:16].replace("T", " ")
            prompt = Content.assemble(mark, clean(n.get("text", "")), (f"\n  {when}", "dim"))
            menu.add_option(Option(prompt, id=n["id"]))
        if rows:
            menu.highlighted = min(highlighted or 0, len(rows) - 1)
        unread = sum(1 for n in rows if not n.get("read_at"))
        status = self.query_one("#notifications-status", Static)
        if data is None and not rows:
            status.update(_("Loading notifications…") if self.engine() else _("Sign in first."))
        elif not rows:
            status.update(_("Nothing new."))
        else:
            status.update(_("{n} unread").format(n=unread))

    @on(Refreshed)
    def _refreshed(self, message: Refreshed) -> None:
        self.show()

    def current(self) -> dict | None:
        menu = self.query_one("#notifications-list", OptionList)
        if menu.highlighted is None or menu.highlighted >= len(self.rows):
            return None
        return self.rows[menu.highlighted]

    def action_unread(self) -> None:
        self.unread_only = not self.unread_only
        self.show()

    def action_mark_read(self) -> dict | None:
        n = self.current()
        if n is None:
            return None
        if not n.get("read_at"):
            copy = {k: v for k, v in n.items() if not k.startswith("_")}
            self.send(
                "POST",
                f"/notifications/{n['id']}/read",
                entity=("notification", n["id"]),
                optimistic={**copy, "read_at": datetime.now(UTC).isoformat()},
            )
            self.show()
        return n

    @on(OptionList.OptionSelected, "#notifications-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        n = self.action_mark_read()
        if n is None:
            return
        kind, subject = n.get("subject_type"), n.get("subject_id")
        if kind == "project" and subject:
            from screens.projects import ProjectDetailScreen, ProjectsScreen

            projects = ProjectsScreen()
            self.app.push_screen(projects)
            self.app.push_screen(ProjectDetailScreen(subject, projects))
        elif kind in ("contact", "post"):
            from screens.partners import PartnersScreen

            partners = PartnersScreen()
            self.app.push_screen(partners)
            partners.call_after_refresh(
                partners.action_tab, "contacts" if kind == "contact" else "posts"
            )
        else:
            self.notify(_("Nothing more to open for this one."))
