"""My TwinSpaces, and one TwinSpace: the page tree beside a markdown editor that saves locally
at once and syncs page bodies as CRDT updates when the link allows."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from esep_tui.i18n import N_, _
from esep_tui.pages import PAGE, PageService, SyncOutcome
from screens.twinspace_commands import PageCommands
from screens.twinspace_dialogs import HistoryDialog, Prompt
from widgets.app_header import AppHeader
from widgets.markdown_editor import MarkdownEditor
from widgets.page_tree import PageTree
from widgets.untrusted import clean, plain

STARTER_TITLES = ("Getting to know each other", "Activity plan")
SYNC_DELAY = 1.0  # seconds of quiet typing before the edits are sent
PULL_INTERVAL = 20.0  # seconds between looks for other members' edits


def _engine(app):
    engine = app.connection.engine()
    if engine is None:
        raise RuntimeError(_("Sign in first."))
    return engine


class Loaded(Message):
    def __init__(self, what: str, data=None):
        super().__init__()
        self.what, self.data = what, data


class PageSynced(Message):
    def __init__(self, outcome: SyncOutcome):
        super().__init__()
        self.outcome = outcome


class Failed(Message):
    def __init__(self, text: str):
        super().__init__()
        self.text = text


# --------------------------------------------------------------------------- the list


class TwinSpaceListScreen(Screen):
    """The TwinSpaces of my approved and closed projects; a pupil goes straight to theirs."""

    CSS_PATH = "twinspace.tcss"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="twinspaces.back"),
        Binding("f5", "refresh", "Refresh", id="twinspaces.refresh"),
        Binding("j", "cursor('down')", "Down", show=False),
        Binding("k", "cursor('up')", "Up", show=False),
    ]
    HELP = N_("""\
## My TwinSpaces

The TwinSpaces of your approved projects, and of closed ones (read-only archives). Press
**enter** to open one. The list comes from this computer's copy first, so it shows offline.
""")

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Vertical(id="ts-list-box"):
            yield Static(_("My TwinSpaces"), classes="heading")
            yield Static("", id="ts-list-status", classes="status", markup=False)
            yield OptionList(id="ts-list")
        yield Footer()

    def on_mount(self) -> None:
        if self.app.pupil is not None:
            self._open_pupil_space()
            return
        try:
            engine = _engine(self.app)
        except RuntimeError as exc:
            self.query_one("#ts-list-status", Static).update(str(exc))
            return
        snap = engine.read("project", path="/projects", refresh=False)
        self._show(snap.data)
        self.action_refresh()

    @work(exclusive=True, group="ts-list", exit_on_error=False)
    async def action_refresh(self) -> None:
        engine = _engine(self.app)
        snap = await engine.fetch("project", path="/projects")
        self.post_message(Loaded("projects", snap.data))

    @work(exclusive=True, group="ts-list", exit_on_error=False)
    async def _open_pupil_space(self) -> None:
        engine = _engine(self.app)
        snap = await engine.fetch("pupil_me", "me", path="/pupils/me")
        self.post_message(Loaded("pupil", snap.data))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if message.what == "pupil":
            if not message.data:
                self.query_one("#ts-list-status", Static).update(
                    _("Your TwinSpace cannot be reached yet; connect once to open it.")
                )
                return
            self.app.switch_screen(TwinSpaceScreen(message.data["project_id"]))
            return
        self._show(message.data)

    def _show(self, data) -> None:
        items = data.get("items", []) if isinstance(data, dict) else []
        spaces = [
            p
            for p in items
            if p.get("state") in ("approved", "closed") and p.get("my_state", "active") == "active"
        ]
        menu = self.query_one("#ts-list", OptionList)
        menu.clear_options()
        for p in spaces:
            mark = _("  (closed, read-only)") if p["state"] == "closed" else ""
            menu.add_option(Option(plain(f"{clean(p.get('title', ''))}{mark}"), id=p["id"]))
        status = self.query_one("#ts-list-status", Static)
        if data is None:
            status.update(_("Loading…"))
        elif not spaces:
            status.update(_("No TwinSpace yet: a project gets one when its NSOs approve it."))
        else:
            status.update("")
        self.titles = {p["id"]: p.get("title", "") for p in spaces}

    def action_cursor(self, direction: str) -> None:
        menu = self.query_one("#ts-list", OptionList)
        menu.action_cursor_down() if direction == "down" else menu.action_cursor_up()

    @on(OptionList.OptionSelected, "#ts-list")
    def _open(self, event: OptionList.OptionSelected) -> None:
        self.app.push_screen(TwinSpaceScreen(event.option.id, self.titles.get(event.option.id)))


# --------------------------------------------------------------------------- one TwinSpace


class TwinSpaceTree(PageTree):
    """The page tree with the TwinSpace's page commands on single keys."""

    BINDINGS = [
        Binding("n", "screen.new_page", "New", id="ts.new"),
        Binding("c", "screen.new_subpage", "Subpage", show=False, id="ts.new_sub"),
        Binding("r", "screen.rename", "Rename", id="ts.rename"),
        Binding("delete,x", "screen.delete", "Delete", id="ts.delete"),
        Binding("p", "screen.publish", "Publish", show=False, id="ts.publish"),
        Binding("shift+up", "screen.reorder(-1)", "Up", show=False, id="ts.up"),
        Binding("shift+down", "screen.reorder(1)", "Down", show=False, id="ts.down"),
        Binding("shift+right", "screen.indent", "Indent", show=False, id="ts.indent"),
        Binding("shift+left", "screen.outdent", "Outdent", show=False, id="ts.outdent"),
        Binding("h", "screen.history", "History", show=False, id="ts.history"),
        Binding("y", "screen.keep_starter", "Keep start", show=False, id="ts.keep"),
        Binding("D", "screen.delete_starter", "Delete start", show=False, id="ts.drop"),
    ]


class TwinSpaceScreen(PageCommands, Screen):
    CSS_PATH = "twinspace.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", id="twinspace.back"),
        Binding("f4", "preview", "Preview", id="twinspace.preview"),
        Binding("ctrl+s", "sync", "Sync", id="twinspace.sync"),
        Binding("f7", "members", "Members", show=False, id="twinspace.members"),
        Binding("f8", "pupils", "Pupils", show=False, id="twinspace.pupils"),
        Binding("f9", "materials", "Materials", show=False, id="twinspace.materials"),
        Binding("f10", "export", "Export", show=False, id="twinspace.export"),
        Binding("ctrl+y", "history", "History", show=False, id="twinspace.history"),
    ]
    HELP = N_("""\
## TwinSpace

Left: the page tree (**j**/**k** or arrows). **enter** opens a page in the editor; **escape**
goes back to the tree. ◇ marks a draft, ⇡ a change waiting to be sent. In the tree: **n** new page, **c** new subpage, **r** rename,
**x**/**delete** delete, **p** publish or back to draft, **shift+up/down** reorder,
**shift+right/left** move under the page above / one level up, **h** history (who, when;
enter restores a version). **y** keeps the starting pages, **D** deletes the activity plan.

Everything you type is saved on this computer at once and sent when the link allows
(**ctrl+s** sends now). When two members edited the same page offline, both texts are kept;
the editor tells you when someone else's text came in.

**f4** preview · **f7** members · **f8** pupils · **f9** materials · **f10** export to files.
""")

    def __init__(self, project_id: str, title: str | None = None):
        super().__init__()
        self.project_id = project_id
        self.space_title = title or ""
        self.current: dict | None = None
        self.permissions: dict = {}
        self.tree_data: dict | None = None
        self._sync_timer = None
        self.merge_note = False  # the info line says a merge brought in others' text
        self.fetched = False  # the server answered (or could not be reached) once

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield Static("", id="ts-banner", markup=False)
        with Horizontal(id="ts-body"):
            yield TwinSpaceTree(id="ts-tree")
            with Vertical(id="ts-editor-box"):
                yield Static("", id="ts-page-info", markup=False)
                yield MarkdownEditor(id="ts-editor")
        yield Footer()

    # ------------------------------------------------------------ loading

    def on_mount(self) -> None:
        self.service = PageService(_engine(self.app), self.project_id)
        self.unsubscribe = self.service.engine.subscribe(self._changed, kind=PAGE)
        self.query_one("#ts-editor", MarkdownEditor).read_only = True
        self._show_tree(self.service.tree_snapshot(refresh=False))
        self.query_one(TwinSpaceTree).focus()
        self.load_tree()
        self.set_interval(PULL_INTERVAL, self._pull)

    def on_unmount(self) -> None:
        self.unsubscribe()

    def _changed(self, change) -> None:
        if not self.is_mounted:
            return
        self.call_later(self._show_tree, None)
        if change.source == "server" and change.id is not None:
            self.call_later(self.refetch_tree)  # the server took a change: renumbered siblings

    @work(exclusive=True, group="ts-refetch", exit_on_error=False)
    async def refetch_tree(self) -> None:
        self.post_message(Loaded("tree", await self.service.fetch_tree()))

    @work(exclusive=True, group="ts-tree", exit_on_error=False)
    async def load_tree(self) -> None:
        tree = await self.service.fetch_tree()
        self.post_message(Loaded("tree", tree))
        await self.service.sync_all()
        for page, _depth in self.service.pages(tree):  # for offline reading and export
            await self.service.load(page["id"])

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if message.what == "tree":
            self.fetched = True
            self._show_tree(message.data)
        elif message.what == "history":
            title, items = message.data
            screen = HistoryDialog(title, items, can_restore=self._can("can_edit_bodies"))
            self.app.push_screen(screen, self._restore)
        elif message.what == "text" and self.current and message.data[0] == self.current["id"]:
            self._show_text(message.data[1])

    def _show_tree(self, tree: dict | None) -> None:
        if tree is not None:
            self.tree_data = tree
        tree = self.tree_data or self.service.tree_snapshot(refresh=False)
        if tree is not None:
            self.permissions = tree.get("permissions", {})
        pages = self.service.pages(tree)
        queued = {p["id"] for p, _d in pages if self.service.is_queued(p["id"])}
        widget = self.query_one(TwinSpaceTree)
        widget.set_pages(pages, queued=queued)
        widget.border_title = clean(self.space_title) or _("Pages")
        self._banner(pages)
        if self.current is not None:
            fresh = next((p for p, _d in pages if p["id"] == self.current["id"]), None)
            if fresh is None:
                self.current = None
                self._show_text("")
                self._info(_("This page was deleted."))
            else:
                self.current = fresh
        if self.current is None and pages:
            self._open(pages[0][0], focus=False)

    def _banner(self, pages) -> None:
        banner = self.query_one("#ts-banner", Static)
        if self.tree_data is None and self.fetched:
            banner.update(
                _(
                    "No pages to show: this TwinSpace is not reachable with this account, "
                    "or the server has not answered yet and this computer has no copy."
                )
            )
        elif self.tree_data is None:
            banner.update(_("Loading the pages… (shown from this computer when offline)"))
        elif self.permissions.get("read_only"):
            banner.update(
                self.permissions.get("read_only_reason") or _("This TwinSpace is read-only.")
            )
        elif self._starter(pages) and self._can("can_edit_pages") and not self._kept():
            banner.update(
                _(
                    "This TwinSpace starts with a getting-to-know page and an activity plan "
                    "(one page a month). y: keep them · D: delete the activity plan"
                )
            )
        else:
            banner.update("")
        banner.display = bool(str(banner.content))

    def _starter(self, pages) -> list[dict]:
        return [p for p, depth in pages if depth == 0 and p.get("title") in STARTER_TITLES]

    def _kept(self) -> bool:
        return self.service.store.get_meta(f"starter_kept:{self.project_id}") == "1"

    def _can(self, what: str) -> bool:
        return bool(self.permissions.get(what))

    # ------------------------------------------------------------ editor

    @on(PageTree.Highlighted)
    def _highlighted(self, message: PageTree.Highlighted) -> None:
        page = message.page
        if page is not None and (self.current is None or page["id"] != self.current["id"]):
            self._open(page, focus=False)

    @on(PageTree.Opened)
    def _opened(self, message: PageTree.Opened) -> None:
        self._open(message.page, focus=True)

    def _open(self, page: dict, *, focus: bool) -> None:
        self.current = page
        self.merge_note = False
        editor = self.query_one("#ts-editor", MarkdownEditor)
        editor.read_only = not self._can("can_edit_bodies")
        text = self.service.text(page["id"])
        self._show_text(text or "")
        self._info()
        if text is None:
            self._fetch_text(page["id"])
        else:
            self._sync(page["id"])
        if focus:
            editor.focus()

    def _show_text(self, text: str) -> None:
        self.query_one("#ts-editor", MarkdownEditor).load(text)

    def _info(self, note: str | None = None) -> None:
        page = self.current
        info = self.query_one("#ts-page-info", Static)
        if page is None:
            info.update(note or _("No page yet."))
            return
        status = _("draft") if page.get("status") == "draft" else _("published")
        parts = [clean(page.get("title", "")), status]
        if note:
            parts.append(note)
        elif self.service.is_queued(page["id"]):
            parts.append(_("waiting to be sent"))
        elif self.service.has_pending(page["id"]):
            parts.append(_("saved here · waiting to sync"))
        if not self._can("can_edit_bodies"):
            parts.append(_("read-only"))
        info.update(" · ".join(parts))

    @work(group="ts-text", exit_on_error=False)
    async def _fetch_text(self, page_id: str) -> None:
        text = await self.service.load(page_id)
        if text is not None:
            self.post_message(Loaded("text", (page_id, text)))

    @on(MarkdownEditor.Edited)
    def _edited(self, message: MarkdownEditor.Edited) -> None:
        if self.current is None or not self._can("can_edit_bodies"):
            return
        if not self.service.edit(self.current["id"], message.text):
            return
        self.merge_note = False
        self._info(_("saved here"))
        if self._sync_timer is not None:
            self._sync_timer.stop()
        page_id = self.current["id"]
        self._sync_timer = self.set_timer(SYNC_DELAY, lambda: self._sync(page_id))

    @work(group="ts-sync", exit_on_error=False)
    async def _sync(self, page_id: str) -> None:
        self.post_message(PageSynced(await self.service.sync(page_id)))

    def _pull(self) -> None:
        if self.current is not None:
            self._sync(self.current["id"])

    @on(PageSynced)
    def _synced(self, message: PageSynced) -> None:
        outcome = message.outcome
        if self.current is None or outcome.page_id != self.current["id"]:
            return
        editor = self.query_one("#ts-editor", MarkdownEditor)
        if outcome.text_changed:
            editor.load(self.service.text(outcome.page_id) or "")
        if outcome.merged_from_others:
            self.merge_note = True  # stays until the user types again
            self._info(_("merged: someone else's text came in"))
            self.notify(_("Someone else's edits to this page were merged into yours."))
        elif self.merge_note and not outcome.error:
            return
        elif outcome.error:
            self._info(clean(outcome.error))
        elif outcome.queued:
            self._info(_("saved here · will sync when online"))
        elif outcome.sent:
            self._info(_("synced"))

    def action_preview(self) -> None:
        self.query_one("#ts-editor", MarkdownEditor).toggle_preview()

    def action_sync(self) -> None:
        self._sync_everything()

    @work(exclusive=True, group="ts-sync-all", exit_on_error=False)
    async def _sync_everything(self) -> None:
        outcomes = await self.service.sync_all()
        for outcome in outcomes:
            self.post_message(PageSynced(outcome))
        if self.current is not None and self.current["id"] not in {o.page_id for o in outcomes}:
            self.post_message(PageSynced(await self.service.sync(self.current["id"])))
        self.post_message(Loaded("tree", await self.service.fetch_tree()))

    def action_back(self) -> None:
        if self.focused is not None and self.focused is not self.query_one(TwinSpaceTree):
            self.query_one(TwinSpaceTree).focus()
        else:
            self.app.pop_screen()

    # ------------------------------------------------------------ history

    def action_history(self) -> None:
        if self.current is not None:
            self._history(self.current)

    @work(exclusive=True, group="ts-history", exit_on_error=False)
    async def _history(self, page: dict) -> None:
        try:
            items = await self.service.history(page["id"])
        except Exception as exc:
            self.post_message(Failed(getattr(exc, "message", str(exc))))
            return
        self.post_message(Loaded("history", (page.get("title", ""), items)))

    def _restore(self, revision_id: int | None) -> None:
        if revision_id is not None and self.current is not None:
            self._do_restore(self.current["id"], revision_id)

    @work(exclusive=True, group="ts-history", exit_on_error=False)
    async def _do_restore(self, page_id: str, revision_id: int) -> None:
        try:
            text = await self.service.restore(page_id, revision_id)
        except Exception as exc:
            self.post_message(Failed(getattr(exc, "message", str(exc))))
            return
        self.post_message(Loaded("text", (page_id, text)))

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self.notify(clean(message.text), severity="error", markup=False)

    # ------------------------------------------------------------ the other parts

    def action_members(self) -> None:
        from screens.twinspace_members import MembersScreen

        if self.app.pupil is None:
            self.app.push_screen(MembersScreen(self.project_id, self.permissions))

    def action_pupils(self) -> None:
        from screens.pupils import PupilsScreen

        if self._can("can_manage_pupils") or self.permissions.get("role") == "teacher_admin":
            self.app.push_screen(PupilsScreen(self.project_id, self.permissions))
        else:
            self.notify(_("Only the project's teachers manage pupil accounts."))

    def action_materials(self) -> None:
        from screens.materials import MaterialsScreen

        if self.current is not None:
            self.app.push_screen(MaterialsScreen(self.current, self.permissions))

    def action_export(self) -> None:
        from esep_tui.export import default_destination

        self.app.push_screen(
            Prompt(_("Export to folder"), str(default_destination()), max_length=1000),
            self._export,
        )

    def _export(self, folder: str | None) -> None:
        if folder:
            self._run_export(folder)

    @work(exclusive=True, group="ts-export", exit_on_error=False, thread=True)
    def _run_export(self, folder: str) -> None:
        from esep_tui.export import export_twinspace

        try:
            result = export_twinspace(
                self.service.engine, self.project_id, folder, title=self.space_title
            )
        except OSError as exc:
            self.post_message(Failed(_("Export failed: {error}").format(error=exc.strerror)))
            return
        self.app.call_from_thread(
            self.notify,
            _("Exported {pages} pages to {path} and {zip}").format(
                pages=result.pages, path=result.folder, zip=result.zip_path
            ),
            markup=False,
        )
