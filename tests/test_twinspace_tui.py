"""The TwinSpace screens driven with keys: the page tree, the editor offline then online, a
merge with someone else's text, the preview, page commands, read-only, language, materials."""

from __future__ import annotations

from starlette.testclient import TestClient

from api_client import crdt
from esep_tui import i18n
from esep_tui.app import SignedIn
from reference_backend.tables import Material, Page
from screens.twinspace import TwinSpaceScreen, TwinSpaceTree
from tests.factories import PASSWORD
from tests.test_page_sync import server_text
from tests.test_twinspace_pages import make_space
from tests.tui_support import backend, make_app, settle, tui_home
from widgets.markdown_editor import MarkdownEditor

__all__ = ["backend", "tui_home"]

GREETING = "Getting to know each other"


async def open_space(app, pilot, persona, space, title="Water around us") -> TwinSpaceScreen:
    await settle(app, pilot)
    account = await app.connection.sign_in(persona.email, PASSWORD)
    app.post_message(SignedIn(account))
    await settle(app, pilot)
    screen = TwinSpaceScreen(space.project_id, title)
    await app.push_screen(screen)
    await settle(app, pilot)
    await app.connection.engine().flush(force=True)
    await settle(app, pilot)
    return screen


def tree_titles(screen) -> list[str]:
    return [p["title"] for p, _d in screen.query_one(TwinSpaceTree).pages]


def info(screen) -> str:
    return str(screen.query_one("#ts-page-info").render())


def banner(screen) -> str:
    return str(screen.query_one("#ts-banner").render())


async def test_edit_offline_then_sync_online(tui_home, backend):
    space = make_space(backend)
    page_id = space.pages[GREETING]
    original = server_text(backend, page_id)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_space(app, pilot, space.admin, space)
        assert tree_titles(screen)[:2] == [GREETING, "Activity plan"]
        assert len(tree_titles(screen)) == 12
        app.set_work_offline(True)
        await pilot.press("enter")  # open the highlighted page in the editor
        editor = screen.query_one(MarkdownEditor)
        assert screen.focused is editor.text_area
        await pilot.press(*"Hi! ")
        await settle(app, pilot)
        assert screen.service.text(page_id) == "Hi! " + original  # saved at once, locally
        assert screen.service.has_pending(page_id)
        assert server_text(backend, page_id) == original  # nothing left the computer
        assert "will sync when online" in info(screen) or "saved here" in info(screen)

        app.set_work_offline(False)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert server_text(backend, page_id) == "Hi! " + original
        assert not screen.service.has_pending(page_id)
        assert "synced" in info(screen)


async def test_a_merge_says_someone_elses_text_came_in(tui_home, backend):
    space = make_space(backend)
    page_id = space.pages[GREETING]
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_space(app, pilot, space.admin, space)
        app.set_work_offline(True)
        await pilot.press("enter", *"Mine. ")
        await settle(app, pilot)
        # the partner edits the same page meanwhile, at its end
        with TestClient(backend, base_url="http://esep.test") as api:
            got = api.get(f"/pages/{page_id}", headers=space.partner.headers).json()
            doc = crdt.doc_from_update(crdt.b64decode(got["doc"]))
            before = doc.get_state()
            crdt.set_text(doc, crdt.get_text(doc) + "Theirs.\n")
            answer = api.post(
                f"/pages/{page_id}/sync",
                json={
                    "state_vector": crdt.b64encode(doc.get_state()),
                    "update": crdt.b64encode(doc.get_update(before)),
                },
                headers=space.partner.headers,
            )
            assert answer.status_code == 200, answer.text
        app.set_work_offline(False)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        text = screen.query_one(MarkdownEditor).text
        assert text.startswith("Mine. ") and text.endswith("Theirs.\n")
        assert server_text(backend, page_id) == text
        assert "someone else's text came in" in info(screen)


async def test_preview_toggle_shows_the_rendered_page(tui_home, backend):
    space = make_space(backend)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_space(app, pilot, space.admin, space)
        editor = screen.query_one(MarkdownEditor)
        await pilot.press("f4")
        await pilot.pause()
        assert editor.previewing
        assert not editor.text_area.display or not editor.text_area.region.area
        preview = screen.query_one("#editor-preview")
        assert preview.region.area > 0
        assert "Getting to know each other" in preview.source
        await pilot.press("f4")
        await pilot.pause()
        assert not editor.previewing and editor.text_area.region.area > 0


async def test_create_rename_reorder_publish_and_delete_with_keys(tui_home, backend):
    space = make_space(backend)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_space(app, pilot, space.admin, space)
        await pilot.press("n", *"Our rivers", "enter")
        await settle(app, pilot)
        assert tree_titles(screen)[1] == "Our rivers"  # right after the highlighted page
        await app.connection.engine().flush(force=True)
        with backend.state.sessionmaker() as db:
            made = db.query(Page).filter_by(project_id=space.project_id, title="Our rivers").one()
            assert made.position == 1 and made.status == "draft"
            made_id = made.id
        tree = screen.query_one(TwinSpaceTree)
        assert tree.selected_id == made_id
        await pilot.press("r", *" and lakes", "enter")  # the prompt starts with the title
        await pilot.press("p")
        await pilot.press("shift+up")
        await settle(app, pilot)
        await app.connection.engine().flush(force=True)
        await settle(app, pilot)
        with backend.state.sessionmaker() as db:
            page = db.get(Page, made_id)
            assert (page.title, page.status, page.position) == (
                "Our rivers and lakes",
                "published",
                0,
            )
        await pilot.press("x", "y")
        await settle(app, pilot)
        await app.connection.engine().flush(force=True)
        with backend.state.sessionmaker() as db:
            assert db.get(Page, made_id) is None
        assert "Our rivers and lakes" not in tree_titles(screen)


async def test_starting_pages_can_be_kept_or_deleted(tui_home, backend):
    space = make_space(backend)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_space(app, pilot, space.admin, space)
        assert "getting-to-know page and an activity plan" in banner(screen)
        await pilot.press("y")
        await pilot.pause()
        assert banner(screen) == ""
        await pilot.press("D", "y")
        await settle(app, pilot)
        await app.connection.engine().flush(force=True)
        await settle(app, pilot)
        assert tree_titles(screen) == [GREETING]
    with backend.state.sessionmaker() as db:
        assert [p.title for p in db.query(Page).filter_by(project_id=space.project_id)] == [
            GREETING
        ]


async def test_closed_twinspace_is_read_only_and_says_why(tui_home, backend):
    space = make_space(backend, state="closed")
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_space(app, pilot, space.admin, space)
        assert "closed" in banner(screen) and "read-only" in banner(screen)
        editor = screen.query_one(MarkdownEditor)
        assert editor.read_only
        before = screen.service.text(space.pages[GREETING])
        await pilot.press("enter", *"xyz")
        await pilot.pause()
        assert screen.service.text(space.pages[GREETING]) == before
        await pilot.press("escape", "n")
        await pilot.pause()
        assert isinstance(app.screen, TwinSpaceScreen)  # no new-page prompt
        assert any("read-only" in n.message for n in app._notifications)
        assert "read-only" in info(screen)


async def test_pages_do_not_depend_on_the_interface_language(tui_home, backend):
    space = make_space(backend)
    app = make_app(backend)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_space(app, pilot, space.admin, space)
            english = tree_titles(screen)
            await pilot.press("escape")
            for language in ("el", "pl"):
                i18n.set_language(language)
                again = TwinSpaceScreen(space.project_id)
                await app.push_screen(again)
                await settle(app, pilot)
                assert tree_titles(again) == english
                await pilot.press("escape")
                await pilot.pause()
    finally:
        i18n.set_language("en")


async def test_another_twinspace_is_out_of_reach(tui_home, backend):
    space = make_space(backend)
    other = make_space(backend)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_space(app, pilot, space.admin, other)
        assert tree_titles(screen) == []
        assert "not reachable" in banner(screen)


async def test_materials_size_checked_before_sending_then_attached(tui_home, backend, tmp_path):
    from screens.materials import MaterialsScreen

    space = make_space(backend)
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-" + b"0" * (600 * 1024))
    small = tmp_path / "notes.txt"
    small.write_text("Rivers we visited.\n")
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_space(app, pilot, space.admin, space)
        await pilot.press("f9")
        await settle(app, pilot)
        assert isinstance(app.screen, MaterialsScreen)
        outbox_before = len(app.connection.engine().store.outbox.items())
        await pilot.press("a", *str(big), "enter")
        await settle(app, pilot)
        status = str(app.screen.query_one("#materials-status").render())
        assert "at most 512 KB" in status
        assert len(app.connection.engine().store.outbox.items()) == outbox_before
        await pilot.press("a", *str(small), "enter")
        await settle(app, pilot)
        assert "Attached notes.txt" in str(app.screen.query_one("#materials-status").render())
        assert "notes.txt" in str(
            app.screen.query_one("#materials-list").get_option_at_index(0).prompt
        )
        await pilot.press("s", "end", "ctrl+u", *str(tmp_path / "down"), "enter")
        await settle(app, pilot)
        assert (tmp_path / "down" / "notes.txt").read_text() == "Rivers we visited.\n"
        await pilot.press("x", "y")
        await settle(app, pilot)
    with backend.state.sessionmaker() as db:
        assert db.query(Material).count() == 0


def test_snapshot_page_tree_and_editor(snap_compare, tui_home, backend):
    space = make_space(backend)

    async def opened(pilot) -> None:
        await open_space(pilot.app, pilot, space.admin, space)
        pilot.app.screen.query_one(MarkdownEditor).text_area.cursor_blink = False
        await pilot.press("j", "j")
        await settle(pilot.app, pilot)
        # factory names carry counters and the storage notice a temporary path
        pilot.app.account_label = "Eleni Papadopoulou <eleni@example.org>"
        pilot.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(make_app(backend), terminal_size=(80, 24), run_before=opened)
