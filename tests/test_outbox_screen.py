"""The Outbox screen driven by keys: fix a refused write, settle a conflict, discard."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from textual.widgets import Input

from reference_backend.tables import Page
from screens.outbox import EditDialog, OutboxScreen, compare, describe, parse_like
from tests.factories import PASSWORD, make_teacher
from tests.test_twinspace_pages import make_space
from tests.tui_support import backend, make_app, settle, tui_home

__all__ = ["backend", "tui_home"]


async def sign_in(app, pilot, email: str) -> None:
    await settle(app, pilot)
    await pilot.press(*email, "tab", *PASSWORD, "enter")
    await settle(app, pilot)
    assert app.account is not None and app.account.email == email


async def flushed(app, pilot) -> None:
    engine = app.connection.engine()
    for _ in range(3):
        await engine.sync_now()
        await settle(app, pilot)
        await asyncio.sleep(0.05)
        await pilot.pause()


def text_of(app, selector: str) -> str:
    widget = app.screen.query_one(selector)
    if hasattr(widget, "options"):
        return "\n".join(str(o.prompt) for o in widget.options)
    return str(widget.render())


async def open_outbox(app, pilot) -> OutboxScreen:
    app.push_screen(OutboxScreen())
    await settle(app, pilot)
    assert isinstance(app.screen, OutboxScreen)
    return app.screen


def test_helpers_describe_and_compare():
    assert describe("POST", "/projects/x/pages", {"title": "Our rivers"}, ("page", "1")) == (
        "create page “Our rivers”"
    )
    assert describe("DELETE", "/pages/1", None, None) == "delete 1"
    assert parse_like("12", 3) == 12 and parse_like("x", 3) == "x"
    assert parse_like("", None) is None and parse_like("yes", False) is True
    assert compare({"title": "Mine", "id": "1"}, {"title": "Theirs"}) == [
        ("title", "Mine", "Theirs")
    ]


async def test_a_refused_write_is_fixed_next_to_its_field_and_resent(tui_home, backend):
    space = make_space(backend)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(app, pilot, space.admin.email)
        engine = app.connection.engine()
        engine.write(
            "POST", f"/projects/{space.project_id}/pages", {"title": "T" * 250, "status": "draft"}
        )
        await flushed(app, pilot)
        screen = await open_outbox(app, pilot)
        assert "refused" in text_of(app, "#outbox-list")
        assert "1 need attention" in text_of(app, "#outbox-summary")
        assert "title" in text_of(app, "#detail-reason")
        await pilot.press("e")
        await pilot.pause(0.2)  # the dialog's worker waits for it: no settle() here
        dialog = app.screen
        assert isinstance(dialog, EditDialog)
        title = dialog.query_one("#field-title")
        assert title.error  # the server's reason, under the field it names
        assert title.value == "T" * 250  # what the user wrote is kept
        await pilot.press("end", "ctrl+u", *"Our rivers", "ctrl+s")
        await settle(app, pilot)
        assert app.screen is screen
        await flushed(app, pilot)
        assert "Nothing waiting" in text_of(app, "#outbox-summary")
    with backend.state.sessionmaker() as db:
        titles = db.scalars(select(Page.title).where(Page.project_id == space.project_id)).all()
    assert "Our rivers" in titles and "T" * 250 not in titles


async def test_a_conflict_shows_both_versions_and_keeps_mine(tui_home, backend):
    space = make_space(backend)
    page_id = next(iter(space.pages.values()))
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(app, pilot, space.admin.email)
        engine = app.connection.engine()
        # someone else renamed the page first (version 1 -> 2)
        with backend.state.sessionmaker() as db, db.begin():
            page = db.get(Page, page_id)
            page.title, page.version = "Their title", page.version + 1
        engine.write(
            "PATCH", f"/pages/{page_id}", {"title": "My title"}, entity=("page", page_id),
            optimistic={"title": "My title"}, if_match=1,
        )  # fmt: skip
        await flushed(app, pilot)
        await open_outbox(app, pilot)
        assert "conflict" in text_of(app, "#outbox-list")
        assert "My title" in text_of(app, "#detail-mine")
        assert "Their title" in text_of(app, "#detail-theirs")
        await pilot.press("m")
        await flushed(app, pilot)
        assert "Nothing waiting" in text_of(app, "#outbox-summary")
    with backend.state.sessionmaker() as db:
        assert db.get(Page, page_id).title == "My title"


async def test_discard_asks_first_and_sends_nothing(tui_home, backend):
    space = make_space(backend)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(app, pilot, space.admin.email)
        engine = app.connection.engine()
        engine.set_work_offline(True)
        item = engine.write("POST", f"/projects/{space.project_id}/pages", {"title": "Maybe"})
        await open_outbox(app, pilot)
        assert "waiting" in text_of(app, "#outbox-list")
        assert "Maybe" in text_of(app, "#outbox-list")
        await pilot.press("d")
        await pilot.pause(0.2)
        await pilot.press("n")  # keep it
        await settle(app, pilot)
        assert engine.store.outbox.get(item.seq).state == "queued"
        await pilot.press("d")
        await pilot.pause(0.2)
        await pilot.press("y")
        await settle(app, pilot)
        assert engine.store.outbox.get(item.seq).state == "discarded"
        assert "Nothing waiting" in text_of(app, "#outbox-summary")
        engine.set_work_offline(False)
        await flushed(app, pilot)
    with backend.state.sessionmaker() as db:
        assert db.scalars(select(Page).where(Page.title == "Maybe")).first() is None


async def test_without_sign_in_the_screen_says_so(tui_home, backend):
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_outbox(app, pilot)
        assert "Sign in first" in text_of(app, "#outbox-summary")
        await pilot.press("escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, OutboxScreen)


def test_outbox_snapshot(snap_compare, tui_home, backend):
    teacher = make_teacher(backend, first_name="Eleni", last_name="Markou", email="eleni@x.eu")

    async def refused(pilot) -> None:
        app = pilot.app
        await sign_in(app, pilot, teacher.email)
        engine = app.connection.engine()
        engine.write("POST", "/eulogin/accounts", {"email": "not-an-email", "name": "Pupil"})
        engine.set_work_offline(True)
        engine.write("POST", "/posts", {"title": "Water around us"})
        engine.set_work_offline(False)
        await engine.flush(force=True)
        engine.set_work_offline(True)
        await open_outbox(app, pilot)
        app.clear_notifications()  # the sign-in storage notice names a temporary path
        for field in app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    assert snap_compare(make_app(backend), terminal_size=(80, 24), run_before=refused)
