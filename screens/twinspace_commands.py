"""The TwinSpace screen's page commands: create, rename, publish, reorder, move, delete, and
the starting pages (kept or deleted). Every change goes through the outbox and shows at once."""

from __future__ import annotations

from esep_tui.i18n import _
from screens.twinspace_dialogs import Confirm, Prompt
from widgets.page_tree import PageTree
from widgets.untrusted import clean


class PageCommands:
    """Mixed into :class:`screens.twinspace.TwinSpaceScreen` (which provides ``service``,
    ``permissions``, ``tree_data``, ``current``, ``_show_tree`` and ``_starter``)."""

    def _tree(self) -> PageTree:
        return self.query_one("#ts-tree", PageTree)

    # ------------------------------------------------------------ page commands

    def _refuse(self, what: str) -> bool:
        if self._can(what):
            return False
        reason = self.permissions.get("read_only_reason")
        self.notify(
            reason or _("Your role in this TwinSpace does not allow this."), severity="warning"
        )
        return True

    def _siblings(self, page: dict | None) -> list[dict]:
        parent = page.get("parent_id") if page else None
        return [p for p, _d in self.service.pages(self.tree_data) if p.get("parent_id") == parent]

    def action_new_page(self, child: bool = False) -> None:
        if self._refuse("can_create_pages"):
            return
        selected = self._tree().selected

        def made(title: str | None) -> None:
            if not title:
                return
            if child and selected:
                parent, position = selected["id"], None
            else:
                parent = selected.get("parent_id") if selected else None
                siblings = self._siblings(selected)
                position = siblings.index(selected) + 1 if selected in siblings else None
            page_id = self.service.create(title, parent_id=parent, position=position)
            self._show_tree(None)
            self._tree().select_id(page_id)
            self.service.engine.kick()

        self.app.push_screen(Prompt(_("Title of the new page")), made)

    def action_new_subpage(self) -> None:
        self.action_new_page(child=True)

    def action_rename(self) -> None:
        page = self._tree().selected
        if page is None or self._refuse("can_edit_pages"):
            return

        def renamed(title: str | None) -> None:
            if title and title != page.get("title"):
                self.service.patch(page, title=title)
                self._show_tree(None)

        self.app.push_screen(Prompt(_("New title"), page.get("title", "")), renamed)

    def action_publish(self) -> None:
        page = self._tree().selected
        if page is None or self._refuse("can_edit_pages"):
            return
        status = "draft" if page.get("status") == "published" else "published"
        self.service.patch(page, status=status)
        self._show_tree(None)

    def action_reorder(self, step: int) -> None:
        page = self._tree().selected
        if page is None or self._refuse("can_edit_pages"):
            return
        siblings = self._siblings(page)
        index = siblings.index(page) + step if page in siblings else -1
        if 0 <= index < len(siblings):
            self.service.patch(page, position=index)
            self._show_tree(None)

    def action_indent(self) -> None:
        page = self._tree().selected
        if page is None or self._refuse("can_edit_pages"):
            return
        siblings = self._siblings(page)
        index = siblings.index(page) if page in siblings else 0
        if index > 0:
            self.service.patch(page, parent_id=siblings[index - 1]["id"])
            self._show_tree(None)

    def action_outdent(self) -> None:
        page = self._tree().selected
        if page is None or not page.get("parent_id") or self._refuse("can_edit_pages"):
            return
        parent = next(
            (p for p, _d in self.service.pages(self.tree_data) if p["id"] == page["parent_id"]),
            None,
        )
        self.service.patch(page, parent_id=parent.get("parent_id") if parent else None)
        self._show_tree(None)

    def action_delete(self) -> None:
        page = self._tree().selected
        if page is None or self._refuse("can_edit_pages"):
            return
        question = _("Delete “{title}” and its subpages?").format(title=clean(page["title"]))
        self.app.push_screen(Confirm(question), lambda yes: yes and self._delete(page))

    def _delete(self, page: dict) -> None:
        self.service.delete(page)
        if self.current and self.current["id"] == page["id"]:
            self.current = None
        self._show_tree(None)

    def action_keep_starter(self) -> None:
        self.service.store.set_meta(f"starter_kept:{self.project_id}", "1")
        self._show_tree(None)

    def action_delete_starter(self) -> None:
        if self._refuse("can_edit_pages"):
            return
        plan = next(
            (p for p in self._starter(self.service.pages(self.tree_data))
             if p["title"] == "Activity plan"),
            None,
        )  # fmt: skip
        if plan is not None:
            question = _("Delete the activity plan and its monthly pages?")
            self.app.push_screen(Confirm(question), lambda yes: yes and self._delete(plan))
