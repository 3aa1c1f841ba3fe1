"""A list of any length that renders only the rows on screen and asks for pages as needed.

The widget never calls the network: when a visible (or nearly visible) row belongs to a page
it does not have, it posts :class:`VirtualList.PageNeeded`; the screen fetches that page and
hands it back with :meth:`VirtualList.set_page`. A queue of 100,000 items therefore costs a
few pages of memory and a screenful of rendering, whatever its length.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from widgets.untrusted import clean


class VirtualList(ScrollView, can_focus=True):
    """Rows ``0..total-1``; row ``i`` lives in page ``i // page_size``."""

    DEFAULT_CSS = """
    VirtualList {
        height: 1fr;
        background: $surface;
    }
    VirtualList > .virtual-list--cursor {
        background: $accent 40%;
        text-style: bold;
    }
    VirtualList:focus > .virtual-list--cursor {
        background: $accent;
        color: $text;
    }
    VirtualList > .virtual-list--selected {
        color: $warning;
        text-style: bold;
    }
    VirtualList > .virtual-list--loading {
        color: $text-muted;
    }
    """
    COMPONENT_CLASSES = {
        "virtual-list--cursor",
        "virtual-list--selected",
        "virtual-list--loading",
    }
    BINDINGS = [
        Binding("down,j", "cursor_down", "Down", show=False, id="list.down"),
        Binding("up,k", "cursor_up", "Up", show=False, id="list.up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="list.page_down"),
        Binding("pageup", "page_up", "Page up", show=False, id="list.page_up"),
        Binding("home,g", "first", "First", show=False, id="list.first"),
        Binding("end,G", "last", "Last", show=False, id="list.last"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True)

    class PageNeeded(Message):
        def __init__(self, vlist: VirtualList, page: int):
            super().__init__()
            self.vlist = vlist
            self.page = page

        @property
        def control(self) -> VirtualList:
            return self.vlist

    class Highlighted(Message):
        def __init__(self, vlist: VirtualList, index: int, item: Any):
            super().__init__()
            self.vlist = vlist
            self.index = index
            self.item = item

        @property
        def control(self) -> VirtualList:
            return self.vlist

    def __init__(
        self,
        render_item: Callable[[Any, int], str] | None = None,
        *,
        page_size: int = 50,
        prefetch_rows: int = 10,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ):
        super().__init__(name=name, id=id, classes=classes)
        self.render_item = render_item or (lambda item, width: str(item))
        self.page_size = page_size
        self.prefetch_rows = prefetch_rows
        self.total = 0
        self.empty_text = ""
        self._pages: dict[int, list[Any]] = {}
        self._requested: set[int] = set()
        self._missing: set[int] = set()
        self._flush_scheduled = False
        self.marks: dict[int, str] = {}  # row -> a short status shown before it
        self.selected: set[int] = set()
        # what the list has done, for tests and the benchmark
        self.pages_requested = 0
        self.rows_rendered = 0

    # ------------------------------------------------------------ data

    def reset(self, total: int = 0) -> None:
        """Forget every page (a new filter or sort); the cursor goes back to the top."""
        self._pages.clear()
        self._requested.clear()
        self.marks.clear()
        self.selected.clear()
        self.set_total(total)
        self.cursor = 0
        self.scroll_to(0, 0, animate=False)

    def set_total(self, total: int) -> None:
        self.total = max(0, total)
        self.virtual_size = Size(self.size.width, self.total)
        if self.cursor >= self.total and self.total:
            self.cursor = self.total - 1
        self.refresh()

    def set_page(self, page: int, items: list[Any]) -> None:
        self._pages[page] = list(items)
        self._requested.discard(page)
        self.refresh()
        if self.cursor // self.page_size == page:
            self._announce()

    def loaded_pages(self) -> list[int]:
        return sorted(self._pages)

    def item(self, index: int) -> Any:
        if not 0 <= index < self.total:
            return None
        page = self._pages.get(index // self.page_size)
        if page is None:
            return None
        offset = index % self.page_size
        return page[offset] if offset < len(page) else None

    def replace(self, index: int, item: Any) -> None:
        page = self._pages.get(index // self.page_size)
        if page is not None and index % self.page_size < len(page):
            page[index % self.page_size] = item
            self.refresh_line(index)

    def mark(self, index: int, text: str | None) -> None:
        if text:
            self.marks[index] = text
        else:
            self.marks.pop(index, None)
        self.refresh_line(index)

    def refresh_line(self, index: int) -> None:
        self.refresh_lines(index - int(self.scroll_offset.y), 1)

    @property
    def current(self) -> Any:
        return self.item(self.cursor)

    def _need(self, index: int) -> None:
        page = index // self.page_size
        if 0 <= index < self.total and page not in self._pages and page not in self._requested:
            self._requested.add(page)
            self.pages_requested += 1
            self.post_message(self.PageNeeded(self, page))

    def _defer_need(self, index: int) -> None:
        # asked for after the frame: a message posted while the frame is drawn can be lost
        self._missing.add(index)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.call_after_refresh(self._flush_missing)

    def _flush_missing(self) -> None:
        self._flush_scheduled = False
        missing, self._missing = self._missing, set()
        for index in sorted(missing):
            self._need(index)

    def forget_page(self, page: int) -> None:
        """A page that will be fetched again the next time it is on screen."""
        self._pages.pop(page, None)
        self._requested.discard(page)
        self.refresh()

    # ------------------------------------------------------------ cursor

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, self.total - 1)) if self.total else 0

    def watch_cursor(self, value: int) -> None:
        self._need(value)
        self._need(min(self.total - 1, value + self.prefetch_rows))
        height = self.scrollable_content_region.height or 1
        top = int(self.scroll_offset.y)
        if value < top:
            self.scroll_to(y=value, animate=False)
        elif value >= top + height:
            self.scroll_to(y=value - height + 1, animate=False)
        self.refresh()
        self._announce()

    def _announce(self) -> None:
        self.post_message(self.Highlighted(self, self.cursor, self.current))

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def action_page_down(self) -> None:
        self.cursor += max(1, self.scrollable_content_region.height - 1)

    def action_page_up(self) -> None:
        self.cursor -= max(1, self.scrollable_content_region.height - 1)

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = self.total - 1

    def toggle_selected(self, index: int | None = None) -> None:
        index = self.cursor if index is None else index
        if self.item(index) is None:
            return
        self.selected.symmetric_difference_update({index})
        self.refresh_line(index)

    # ------------------------------------------------------------ rendering

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_offset.y) + y
        width = self.scrollable_content_region.width
        if index >= self.total:
            if index == 0 and self.empty_text:
                style = self.get_component_rich_style("virtual-list--loading")
                return Strip([Segment(self.empty_text[:width], style)]).adjust_cell_length(width)
            return Strip.blank(width, self.rich_style)
        item = self.item(index)
        if item is None:
            self._defer_need(index)
            text, style = "  …", self.get_component_rich_style("virtual-list--loading")
        else:
            self.rows_rendered += 1
            mark = "●" if index in self.selected else " "
            status = self.marks.get(index, "")
            body = clean(self.render_item(item, width)).replace("\n", " ")
            text = f"{mark}{status[:1] or ' '} {body}"
            style = self.rich_style
            if index in self.selected:
                style = style + self.get_component_rich_style("virtual-list--selected")
        if index == self.cursor:
            style = style + self.get_component_rich_style("virtual-list--cursor")
        if cell_len(text) > width:
            text = set_cell_size(text, max(0, width - 1)) + "…"
        return Strip([Segment(text, style or Style())]).adjust_cell_length(width, style)

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, self.total)
        # rows that became visible: their pages are asked for by render_line
        self.refresh()
