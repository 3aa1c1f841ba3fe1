"""My profile driven by keys: the editor (If-Match, conflicts) and the Organisations tab."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from esep_tui.app import SignedIn
from reference_backend.tables import Application, Membership, Organisation, User
from screens.profile import ProfileScreen
from tests.factories import PASSWORD, make_org, make_teacher
from tests.tui_support import backend, make_app, settle, tui_home
from widgets.form_field import FormField
from widgets.org_card import ActionMenu, OrgCard

__all__ = ["backend", "tui_home"]


@pytest.fixture
def server(app):
    return app


async def open_profile(tui, pilot, persona, tab: str | None = None) -> ProfileScreen:
    await settle(tui, pilot)
    account = await tui.connection.sign_in(persona.email, PASSWORD)
    tui.post_message(SignedIn(account))
    await settle(tui, pilot)
    tui.push_screen(ProfileScreen())
    await settle(tui, pilot)
    if tab:
        tui.screen.query_one("#profile-tabs").active = tab
        await settle(tui, pilot)
    return tui.screen


def org_list_text(tui) -> str:
    return "\n".join(str(w.render()) for w in tui.screen.query("#org-list Static"))


async def choose_action(tui, pilot, card: OrgCard, action: str) -> None:
    card.focus()
    await pilot.press("m")
    await settle(tui, pilot)
    assert isinstance(tui.screen, ActionMenu)
    menu = tui.screen.query_one("OptionList")
    ids = [menu.get_option_at_index(i).id for i in range(menu.option_count)]
    menu.highlighted = ids.index(action)
    await pilot.press("enter")
    await settle(tui, pilot)


async def test_organisations_tab_splits_etwinning_and_non_etwinning(tui_home, server):
    t = make_teacher(server)
    other = make_org(server, type="other", name="Museum of Volos")
    with server.state.sessionmaker() as db, db.begin():
        db.add(Membership(user_id=t.user_id, org_id=other, role="teacher"))
    tui = make_app(server)
    async with tui.run_test(size=(80, 24)) as pilot:
        screen = await open_profile(tui, pilot, t, "tab-orgs")
        text = org_list_text(tui)
        etw, _sep, rest = text.partition("Non-eTwinning organisations")
        assert "eTwinning organisations" in etw and "School number" in etw
        assert "Museum of Volos" in rest and "Museum of Volos" not in etw
        assert len(screen.query(OrgCard)) == 2


async def test_leave_then_add_again_from_the_card_menu(tui_home, server):
    t = make_teacher(server)
    tui = make_app(server)
    async with tui.run_test(size=(80, 24)) as pilot:
        await open_profile(tui, pilot, t, "tab-orgs")
        card = tui.screen.query_one(OrgCard)
        assert card.actions[:2] == ["leave", "readd"]
        await choose_action(tui, pilot, card, "leave")
        await settle(tui, pilot)
        left = tui.screen.query_one(OrgCard)
        assert left.actions == ["add_again"]
        assert "Organisations you left" in org_list_text(tui)
        await choose_action(tui, pilot, left, "add_again")
        await settle(tui, pilot)
        assert "Organisations you left" not in org_list_text(tui)
    with server.state.sessionmaker() as db:
        rows = db.scalars(select(Membership).where(Membership.user_id == t.user_id)).all()
        assert len(rows) == 2
        assert sorted(m.left_at is None for m in rows) == [False, True]


async def test_request_validation_from_the_card(tui_home, server):
    t = make_teacher(server, state="esep_registered", org_state="pending")
    tui = make_app(server)
    async with tui.run_test(size=(80, 24)) as pilot:
        await open_profile(tui, pilot, t, "tab-orgs")
        card = tui.screen.query_one(OrgCard)
        assert "request_validation" in card.actions
        await choose_action(tui, pilot, card, "request_validation")
    with server.state.sessionmaker() as db:
        assert db.get(User, t.user_id).state == "etwinning_pending"
        assert db.scalar(select(Application.state).where(Application.user_id == t.user_id)) == (
            "pending"
        )


async def test_a_refused_action_shows_the_servers_reasons_on_the_card(tui_home, server):
    t = make_teacher(server, state="esep_registered", org_state="pending")
    tui = make_app(server)
    async with tui.run_test(size=(80, 24)) as pilot:
        await open_profile(tui, pilot, t, "tab-orgs")
        card = tui.screen.query_one(OrgCard)
        # meanwhile the NSO rejects the school
        with server.state.sessionmaker() as db, db.begin():
            db.get(Organisation, t.org_ids[0]).state = "rejected"
        await choose_action(tui, pilot, card, "request_validation")
        reasons = str(card.query_one(".org-card--reasons").render())
        assert "cannot be requested with this organisation" in reasons
        assert "was not validated by its National Support Organisation" in reasons
    with server.state.sessionmaker() as db:
        assert db.get(User, t.user_id).state == "esep_registered"


async def test_profile_edit_is_saved_with_if_match(tui_home, server):
    t = make_teacher(server)
    tui = make_app(server)
    async with tui.run_test(size=(80, 24)) as pilot:
        screen = await open_profile(tui, pilot, t)
        screen.query_one("#field-subjects", FormField).value = "History, Art"
        screen.query_one("#field-pupil_age_min", FormField).value = "30"
        await pilot.press("ctrl+s")
        await settle(tui, pilot)
        assert screen.query_one("#field-pupil_age_min", FormField).error == (
            "A whole number from 2 to 25."
        )
        screen.query_one("#field-pupil_age_min", FormField).value = "10"
        await pilot.press("ctrl+s")
        await settle(tui, pilot)
        assert "Saved." in str(screen.query_one("#profile-status").render())
    with server.state.sessionmaker() as db:
        user = db.get(User, t.user_id)
        assert user.subjects == ["History", "Art"] and user.pupil_age_min == 10


async def test_a_conflict_shows_both_versions_and_keeps_mine(tui_home, server):
    t = make_teacher(server)
    tui = make_app(server)
    async with tui.run_test(size=(80, 24)) as pilot:
        screen = await open_profile(tui, pilot, t)
        # someone else (another client) edits the profile meanwhile
        with server.state.sessionmaker() as db, db.begin():
            user = db.get(User, t.user_id)
            user.description = "Written elsewhere"
            user.version += 1
        screen.query_one("#field-description", FormField).value = "Written here"
        await pilot.press("ctrl+s")
        await settle(tui, pilot)
        both = str(screen.query_one("#profile-conflict").render())
        assert "description: Written here | Written elsewhere" in both
        await pilot.press("ctrl+y")
        await settle(tui, pilot)
        assert "Saved." in str(screen.query_one("#profile-status").render())
    with server.state.sessionmaker() as db:
        assert db.get(User, t.user_id).description == "Written here"


def test_snapshot_organisations_tab(snap_compare, tui_home, backend):
    from tests.test_registration_tui import steady

    school = make_org(backend, name="1st Primary School of Volos", city="Volos")
    museum = make_org(backend, name="Museum of Volos", city="Volos", type="other")
    t = make_teacher(
        backend, org_id=school, first_name="Maria", last_name="Ioannou", email="maria@example.org"
    )
    with backend.state.sessionmaker() as db, db.begin():
        db.add(Membership(user_id=t.user_id, org_id=museum, role="teacher"))

    async def run_before(pilot) -> None:
        await open_profile(pilot.app, pilot, t, "tab-orgs")
        pilot.app.screen.query_one(OrgCard).focus()
        await steady(pilot)

    assert snap_compare(make_app(backend), terminal_size=(80, 24), run_before=run_before)


def test_snapshot_profile_editor(snap_compare, tui_home, backend):
    from tests.test_registration_tui import steady

    school = make_org(backend, name="1st Primary School of Volos", city="Volos")
    t = make_teacher(
        backend, org_id=school, first_name="Maria", last_name="Ioannou", email="maria@example.org"
    )

    async def run_before(pilot) -> None:
        await open_profile(pilot.app, pilot, t)
        await steady(pilot)

    assert snap_compare(make_app(backend), terminal_size=(80, 24), run_before=run_before)
