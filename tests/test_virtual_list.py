"""The virtual list: only visible pages are asked for, only visible rows are rendered."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.screen import Screen

from widgets.virtual_list import VirtualList

TOTAL = 100_000
PAGE = 50


class ListScreen(Screen):
    """Serves pages synchronously from a generator of rows, counting what was asked."""

    def __init__(self, total: int):
        super().__init__()
        self.total = total
        self.asked: list[int] = []
        self.highlighted: list[int] = []

    def compose(self) -> ComposeResult:
        yield VirtualList(lambda item, width: item["title"], page_size=PAGE, id="list")

    def on_mount(self) -> None:
        vlist = self.query_one(VirtualList)
        vlist.set_total(self.total)
        vlist.focus()

    def on_virtual_list_page_needed(self, message: VirtualList.PageNeeded) -> None:
        self.asked.append(message.page)
        start = message.page * PAGE
        rows = [{"title": f"row {i}"} for i in range(start, min(self.total, start + PAGE))]
        message.vlist.set_page(message.page, rows)

    def on_virtual_list_highlighted(self, message: VirtualList.Highlighted) -> None:
        self.highlighted.append(message.index)


class ListApp(App):
    def __init__(self, total: int = TOTAL):
        super().__init__()
        self.list_screen = ListScreen(total)

    def on_mount(self) -> None:
        self.push_screen(self.list_screen)

    @property
    def asked(self) -> list[int]:
        return self.list_screen.asked

    @property
    def highlighted(self) -> list[int]:
        return self.list_screen.highlighted


def visible_text(app: App) -> str:
    vlist = app.screen.query_one(VirtualList)
    return "\n".join(vlist.render_line(y).text for y in range(vlist.size.height))


async def test_first_rows_of_a_huge_list_need_one_page():
    app = ListApp()
    async with app.run_test(size=(60, 12)) as pilot:
        await pilot.pause()
        vlist = app.screen.query_one(VirtualList)
        assert app.asked == [0]
        assert vlist.loaded_pages() == [0]
        assert "row 0" in visible_text(app) and "row 11" in visible_text(app)
        # a screenful of rows was drawn, not the list
        assert 0 < vlist.rows_rendered < 100


async def test_moving_the_cursor_fetches_only_the_pages_it_reaches():
    app = ListApp()
    async with app.run_test(size=(60, 12)) as pilot:
        await pilot.pause()
        vlist = app.screen.query_one(VirtualList)
        for _ in range(45):
            await pilot.press("j")
        await pilot.pause()
        # the next page is asked for before the cursor gets there
        assert app.asked == [0, 1]
        assert vlist.cursor == 45 and vlist.current == {"title": "row 45"}
        await pilot.press("G")
        await pilot.pause()
        assert vlist.current == {"title": f"row {TOTAL - 1}"}
        assert set(app.asked) == {0, 1, (TOTAL - 1) // PAGE}
        assert "row 99999" in visible_text(app)
        await pilot.press("g", "k")
        assert vlist.cursor == 0
        assert app.highlighted[-1] == 0


async def test_selection_and_marks_are_shown_before_the_row():
    app = ListApp(total=5)
    async with app.run_test(size=(60, 8)) as pilot:
        await pilot.pause()
        vlist = app.screen.query_one(VirtualList)
        vlist.toggle_selected(1)
        vlist.mark(2, "✓")
        await pilot.pause()
        lines = visible_text(app).splitlines()
        assert lines[1].startswith("●  row 1")
        assert lines[2].startswith(" ✓ row 2")
        assert vlist.selected == {1}
        vlist.toggle_selected(1)
        assert vlist.selected == set()


async def test_a_page_that_failed_is_asked_for_again_when_seen():
    app = ListApp(total=200)
    async with app.run_test(size=(60, 8)) as pilot:
        await pilot.pause()
        vlist = app.screen.query_one(VirtualList)
        vlist.forget_page(0)
        await pilot.pause()
        assert app.asked == [0, 0]
        assert vlist.current == {"title": "row 0"}


async def test_reset_forgets_pages_and_untrusted_text_stays_text():
    app = ListApp(total=3)
    async with app.run_test(size=(60, 8)) as pilot:
        await pilot.pause()
        vlist = app.screen.query_one(VirtualList)
        vlist.reset(1)
        await pilot.pause()  # the screen serves the page it is asked for
        vlist.set_page(0, [{"title": "[@click=app.quit]bad\x1b[31m"}])
        await pilot.pause()
        first = visible_text(app).splitlines()[0]
        assert "[@click=app.quit]bad[31m" in first and "\x1b" not in first
        assert vlist.total == 1 and vlist.loaded_pages() == [0]
