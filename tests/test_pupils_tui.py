"""Pupil accounts from the TwinSpace with keys (bulk creation, code sheet, reset, role,
removal) and pupil sign-in landing in the pupil's one TwinSpace."""

from __future__ import annotations

from starlette.testclient import TestClient

from esep_tui.app import SignedIn
from reference_backend.tables import Pupil
from screens.pupils import PupilsScreen, code_sheet, parse_nicknames
from screens.twinspace import TwinSpaceScreen, TwinSpaceTree
from tests.test_twinspace_pages import make_pupil, make_space
from tests.test_twinspace_tui import GREETING, banner, open_space, tree_titles
from tests.tui_support import backend, make_app, settle, tui_home
from widgets.markdown_editor import MarkdownEditor

__all__ = ["backend", "tui_home"]


def status(app) -> str:
    return str(app.screen.query_one("#pupils-status").render())


def pupils_in_db(backend, project_id) -> list[Pupil]:
    with backend.state.sessionmaker() as db:
        return list(db.query(Pupil).filter_by(project_id=project_id).order_by(Pupil.nickname))


def can_sign_in(backend, username: str, code: str) -> bool:
    with TestClient(backend, base_url="http://esep.test") as api:
        answer = api.post("/pupil-login", json={"username": username, "code": code})
        return answer.status_code == 201


async def test_bulk_creation_writes_a_code_sheet_whose_codes_work(tui_home, backend):
    space = make_space(backend)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_space(app, pilot, space.admin, space)
        await pilot.press("f8")
        await settle(app, pilot)
        assert isinstance(app.screen, PupilsScreen)
        await pilot.press("n", *"Ana, Ben; Chloé", "enter")
        await settle(app, pilot)
        screen = app.screen
        assert "3 code(s) written to" in status(app)
        sheet = screen.last_sheet.read_text()
        assert screen.last_sheet.stat().st_mode & 0o777 == 0o600
        rows = pupils_in_db(backend, space.project_id)
        assert [p.nickname for p in rows] == ["Ana", "Ben", "Chloé"]
        assert all(p.role == "pupil" for p in rows)
        codes = {}
        for block in sheet.split("-" * 48)[1:]:
            fields = dict(line.split(":", 1) for line in block.strip().splitlines() if ":" in line)
            codes[fields["Username"].strip()] = fields["Activation code"].strip()
        assert set(codes) == {p.username for p in rows}
        assert all(can_sign_in(backend, u, c) for u, c in codes.items())
        assert len(screen.query_one("#pupils-list").options) == 3

        # reset the first pupil's code: the old one stops working, the new one is on a sheet
        first = screen.pupils[0]
        await pilot.press("c", "y")
        await settle(app, pilot)
        new_sheet = screen.last_sheet.read_text()
        new_code = new_sheet.split("Activation code:")[1].split()[0]
        assert first["username"] in new_sheet
        assert not can_sign_in(backend, first["username"], codes[first["username"]])
        assert can_sign_in(backend, first["username"], new_code)

        # switch to pupil admin and back is a key; removal asks first
        await pilot.press("a")
        await settle(app, pilot)
        with backend.state.sessionmaker() as db:
            assert db.get(Pupil, first["id"]).role == "pupil_admin"
        await pilot.press("x", "y")
        await settle(app, pilot)
        assert len(pupils_in_db(backend, space.project_id)) == 2
        assert len(screen.query_one("#pupils-list").options) == 2


async def test_a_refused_creation_shows_the_server_message(tui_home, backend):
    space = make_space(backend, state="closed")
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_space(app, pilot, space.admin, space)
        await app.push_screen(PupilsScreen(space.project_id, {}))
        await settle(app, pilot)
        await pilot.press("n", *"Ana", "enter")
        await settle(app, pilot)
        assert "read-only" in status(app)
        assert pupils_in_db(backend, space.project_id) == []


async def test_pupil_lands_in_their_twinspace_and_reads_only(tui_home, backend, client=None):
    space = make_space(backend)
    with TestClient(backend, base_url="http://esep.test") as api:
        pupil = make_pupil(api, space)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await app.connection.pupil_sign_in(pupil["username"], pupil["code"])
        app.post_message(SignedIn(pupil=pupil["username"]))
        await settle(app, pilot)
        await pilot.press("t")  # My TwinSpaces: a pupil goes straight to theirs
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TwinSpaceScreen) and screen.project_id == space.project_id
        # pupils see published pages only
        assert tree_titles(screen) == [GREETING, "Activity plan"]
        editor = screen.query_one(MarkdownEditor)
        assert editor.read_only
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is screen  # no new-page prompt for a pupil
        await pilot.press("f8")
        await pilot.pause()
        assert app.screen is screen


async def test_pupil_admin_edits_pages(tui_home, backend):
    space = make_space(backend)
    with TestClient(backend, base_url="http://esep.test") as api:
        pupil = make_pupil(api, space, role="pupil_admin")
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await app.connection.pupil_sign_in(pupil["username"], pupil["code"])
        app.post_message(SignedIn(pupil=pupil["username"]))
        await settle(app, pilot)
        await pilot.press("t")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TwinSpaceScreen)
        assert len(tree_titles(screen)) == 12  # pupil admins see drafts too
        assert screen.query_one(TwinSpaceTree).selected["title"] == GREETING
        await pilot.press("enter", *"Pupil news. ", "ctrl+s")
        await settle(app, pilot)
        from tests.test_page_sync import server_text

        assert server_text(backend, space.pages[GREETING]).startswith("Pupil news. ")


async def test_a_pupil_cannot_reach_another_twinspace(tui_home, backend):
    space = make_space(backend)
    other = make_space(backend)
    with TestClient(backend, base_url="http://esep.test") as api:
        pupil = make_pupil(api, space)
        assert (
            api.get(f"/projects/{other.project_id}/pages", headers=pupil["headers"]).status_code
            == 404
        )
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await app.connection.pupil_sign_in(pupil["username"], pupil["code"])
        screen = TwinSpaceScreen(other.project_id)
        await app.push_screen(screen)
        await settle(app, pilot)
        assert tree_titles(screen) == []
        assert "not reachable" in banner(screen)


def test_nicknames_from_a_list_or_a_file(tmp_path):
    assert parse_nicknames(" Ana ,Ben;; Chloé  K. ,") == ["Ana", "Ben", "Chloé K."]
    roster = tmp_path / "class.txt"
    roster.write_text("Ana\n\n  Ben  \nZoë\n", encoding="utf-8")
    assert parse_nicknames(str(roster)) == ["Ana", "Ben", "Zoë"]


def test_code_sheet_lists_every_pupil():
    sheet = code_sheet("Water", [{"nickname": "Ana", "username": "bold-owl-1234", "code": "ab"}])
    assert "bold-owl-1234" in sheet and "Activation code: ab" in sheet and "Water" in sheet
