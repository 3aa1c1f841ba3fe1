"""The TwinSpace page tree: keyboard navigation over pages given as plain dicts."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Tree

from widgets.untrusted import clean


def page_label(page: dict, *, queued: bool = False) -> Text:
    """Title (never markup) after small marks that survive truncation: ◇ draft, ⇡ waiting
    to be sent."""
    label = Text()
    if queued:
        label.append("⇡ ", style="bold")
    if page.get("status") == "draft":
        label.append("◇ ", style="dim")
        label.append(clean(page.get("title", "")) or "(untitled)", style="italic")
    else:
        label.append(clean(page.get("title", "")) or "(untitled)")
    return label


class PageTree(Tree[dict]):
    """Pages in tree order; ``j``/``k`` move, enter opens, all nodes stay expanded."""

    DEFAULT_CSS = """
    PageTree {
        width: 32;
        height: 1fr;
        overflow-x: hidden;
        border: round $panel-lighten-2;
    }
    PageTree:focus {
        border: round $primary;
    }
    """

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_home", "First", show=False),
        Binding("G", "scroll_end", "Last", show=False),
    ]

    class Highlighted(Message):
        def __init__(self, page: dict | None):
            super().__init__()
            self.page = page

    class Opened(Message):
        def __init__(self, page: dict):
            super().__init__()
            self.page = page

    def __init__(self, *, id: str | None = None):
        super().__init__("TwinSpace", id=id)
        self.show_root = False
        self.guide_depth = 2
        self.pages: list[tuple[dict, int]] = []
        self.wanted: str | None = None  # the page to keep highlighted across rebuilds

    def set_pages(self, pages: list[tuple[dict, int]], *, queued: set[str] | None = None) -> None:
        """Rebuild from ``(page, depth)`` in tree order, keeping the highlighted page."""
        keep = self.wanted or self.selected_id
        self.pages = pages
        queued = queued or set()
        self.clear()
        nodes = {}
        for page, _depth in pages:
            parent = nodes.get(page.get("parent_id"), self.root)
            node = parent.add(page_label(page, queued=page["id"] in queued), data=page)
            node.allow_expand = False
            nodes[page["id"]] = node
        self.root.expand_all()
        if keep in nodes:
            self.select_id(keep)
        elif pages:
            self.select_id(pages[0][0]["id"])

    @property
    def selected(self) -> dict | None:
        node = self.cursor_node
        return node.data if node is not None and node.data is not None else None

    @property
    def selected_id(self) -> str | None:
        page = self.selected
        return page["id"] if page else None

    def select_id(self, page_id: str) -> None:
        """Highlight this page, now and after the next refresh (lines are laid out lazily)."""
        self.wanted = page_id
        self._move_to_wanted()
        self.call_after_refresh(self._move_to_wanted)

    def _find(self, node, page_id: str):
        for child in node.children:
            if child.data and child.data["id"] == page_id:
                return child
            found = self._find(child, page_id)
            if found is not None:
                return found
        return None

    def _move_to_wanted(self) -> None:
        node = self._find(self.root, self.wanted) if self.wanted else None
        if node is not None and self.cursor_node is not node:
            _ = self._tree_lines  # lay the lines out first, or the node has no line yet
            self.move_cursor(node)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        event.stop()
        if event.node is not self.cursor_node:  # stale: the tree was rebuilt since
            return
        if event.node.data is not None:
            self.wanted = event.node.data["id"]
        self.post_message(self.Highlighted(event.node.data))

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        event.stop()
        if event.node.data is not None:
            self.post_message(self.Opened(event.node.data))
