"""The registration wizard driven by keys: FAQ A steps 1-9, resume after a restart."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from esep_tui.app import SignedIn
from screens.home import HomeScreen
from screens.registration import RegistrationScreen
from tests.factories import PASSWORD, make_account, make_org
from tests.tui_support import backend, make_app, settle, tui_home
from widgets.form_field import FormField
from widgets.org_search import OrgSearch
from widgets.step_header import StepHeader

__all__ = ["backend", "tui_home"]


@pytest.fixture
def server(app):
    """The in-process backend, once on SQLite and once on PostgreSQL."""
    return app


async def signed_in(tui, pilot, email: str):
    await settle(tui, pilot)
    account = await tui.connection.sign_in(email, PASSWORD)
    tui.post_message(SignedIn(account))
    await settle(tui, pilot)
    assert isinstance(tui.screen, HomeScreen)
    return account


async def open_wizard(tui, pilot) -> RegistrationScreen:
    await pilot.press("w")
    await settle(tui, pilot)
    assert isinstance(tui.screen, RegistrationScreen)
    return tui.screen


def step_of(tui) -> int:
    return tui.screen.query_one(StepHeader).step


def text_of(tui) -> str:
    return "\n".join(str(w.render()) for w in tui.screen.query("Static"))


async def fill(pilot, tui, name: str, value: str) -> None:
    field = tui.screen.query_one(f"#field-{name}", FormField)
    field.value = value
    await pilot.pause()


async def choose(pilot, tui, selector: str, value: str) -> None:
    tui.screen.query_one(selector).value = value
    await settle(tui, pilot)


async def test_brand_new_teacher_walks_all_nine_steps(tui_home, server):
    acc = make_account(server, email="new.teacher@example.org", name="Anna Nowak")
    org = make_org(server, country="PL", name="Szkoła Podstawowa nr 5", city="Kraków")
    tui = make_app(server)
    async with tui.run_test(size=(80, 24)) as pilot:
        await signed_in(tui, pilot, acc.email)
        await open_wizard(tui, pilot)
        assert step_of(tui) == 1
        assert "Step 1 of 9" in str(tui.screen.query_one(StepHeader).render())
        for expected in (2, 3, 4, 5):
            await pilot.press("ctrl+n")
            await settle(tui, pilot)
            assert step_of(tui) == expected
        # step 5: the platform form for school staff
        await choose(pilot, tui, "#pf-country", "PL")
        await fill(pilot, tui, "first_name", "Anna")
        await fill(pilot, tui, "last_name", "Nowak")
        await pilot.press("ctrl+n")
        await settle(tui, pilot)
        assert step_of(tui) == 6
        await pilot.press("ctrl+n")  # Join eTwinning
        await settle(tui, pilot)
        assert step_of(tui) == 7
        # step 7: role, then the school found by a folded keyword
        await choose(pilot, tui, "#role", "company_staff")
        assert "blocks eTwinning" in str(tui.screen.query_one("#role-warning").render())
        await choose(pilot, tui, "#role", "teacher")
        assert str(tui.screen.query_one("#role-warning").render()) == ""
        tui.screen.query_one("#org-q").focus()
        await pilot.press(*"szkola krak", "enter")
        await settle(tui, pilot)
        search = tui.screen.query_one(OrgSearch)
        status = str(search.query_one("#org-search-status").render())
        assert [o["id"] for o in search.items] == [org], (status, search.country, search.q)
        await pilot.press("enter")  # the highlighted result
        await pilot.press("ctrl+n")
        await settle(tui, pilot)
        assert step_of(tui) == 8, text_of(tui)
        await pilot.press("ctrl+s")  # skip the optional profile
        await settle(tui, pilot)
        assert step_of(tui) == 9
        final = str(tui.screen.query_one("#final-text").render())
        assert "Poland" in final and "7 days" in final
    with server.state.sessionmaker() as db:
        from reference_backend.tables import Application, Membership, User

        user = db.scalar(select(User).where(User.account_id == acc.account_id))
        assert user.state == "etwinning_pending" and user.profile_done
        assert db.scalar(select(Membership.org_id).where(Membership.user_id == user.id)) == org
        assert db.scalar(select(Application.country).where(Application.user_id == user.id)) == "PL"


async def test_an_interrupted_wizard_resumes_after_a_restart(tui_home, server):
    acc = make_account(server, email="resume@example.org")
    tui = make_app(server)
    async with tui.run_test(size=(80, 24)) as pilot:
        await signed_in(tui, pilot, acc.email)
        await open_wizard(tui, pilot)
        for _ in range(4):
            await pilot.press("ctrl+n")
            await settle(tui, pilot)
        assert step_of(tui) == 5
        await fill(pilot, tui, "first_name", "Half")
        await fill(pilot, tui, "last_name", "Typed")
        await pilot.press("escape")
        await settle(tui, pilot)
    again = make_app(server)
    async with again.run_test(size=(80, 24)) as pilot:
        await settle(again, pilot)  # the stored sign-in comes back
        assert isinstance(again.screen, HomeScreen)
        await open_wizard(again, pilot)
        assert step_of(again) == 5
        assert again.screen.query_one("#field-first_name", FormField).value == "Half"
        assert again.screen.query_one("#field-last_name", FormField).value == "Typed"


async def test_legacy_email_says_the_old_profile_is_linked(tui_home, server):
    from reference_backend.tables import LegacyAccount

    acc = make_account(server, email="old.user@example.org")
    with server.state.sessionmaker() as db, db.begin():
        db.add(
            LegacyAccount(
                email="old.user@example.org",
                platform="etwinning",
                first_name="Eleni",
                last_name="Papa",
                country="GR",
            )
        )
    tui = make_app(server)
    async with tui.run_test(size=(80, 24)) as pilot:
        await signed_in(tui, pilot, acc.email)
        await open_wizard(tui, pilot)
        await pilot.press("ctrl+n", "ctrl+n")
        await settle(tui, pilot)
        assert step_of(tui) == 3
        note = str(tui.screen.query_one("#legacy-note").render())
        assert "old etwinning account (Eleni Papa, GR)" in note
        assert "linked" in note and "migrated" in note


async def test_a_new_school_is_registered_after_the_duplicate_warning_and_added(tui_home, server):
    acc = make_account(server, email="registrar@example.org")
    existing = make_org(server, country="GR", name="1st Primary School of Volos", city="Volos")
    tui = make_app(server)
    async with tui.run_test(size=(80, 24)) as pilot:
        await signed_in(tui, pilot, acc.email)
        await open_wizard(tui, pilot)
        for _ in range(4):
            await pilot.press("ctrl+n")
            await settle(tui, pilot)
        await choose(pilot, tui, "#pf-country", "GR")
        await fill(pilot, tui, "first_name", "Nikos")
        await fill(pilot, tui, "last_name", "K")
        await pilot.press("ctrl+n")
        await settle(tui, pilot)
        await pilot.press("ctrl+n")
        await settle(tui, pilot)
        await choose(pilot, tui, "#role", "teacher")
        tui.screen.query_one("#org-q").focus()
        await pilot.press(*"nowhere", "enter")
        await settle(tui, pilot)
        await pilot.press("enter")  # "+ Register a new organisation or school"
        await settle(tui, pilot)
        form = tui.screen
        for name, value in {
            "legal_name": "First Primary School of Volos",
            "city": "Volos",
            "principal_name": "A. Head",
            "principal_email": "head@volos.gr",
            "school_number": "9051234",
        }.items():
            form.query_one(f"#field-{name}", FormField).value = value
        await pilot.press("ctrl+s")
        await settle(tui, pilot)
        assert "may already be registered" in str(form.query_one("#dupes-note").render())
        assert form.candidates and form.candidates[0]["id"] == existing
        await pilot.press("ctrl+y")  # it really is another school
        await settle(tui, pilot)
        assert isinstance(tui.screen, RegistrationScreen)
        offer = str(tui.screen.query_one("#org-offer").render())
        assert "not on your profile yet" in offer
        await pilot.press("ctrl+l")
        await settle(tui, pilot)
        assert step_of(tui) == 8
    from reference_backend.tables import Membership, Organisation, User

    with server.state.sessionmaker() as db:
        org = db.scalar(select(Organisation).where(Organisation.school_number == "9051234"))
        assert org.state == "pending"
        uid = db.scalar(select(User.id).where(User.account_id == acc.account_id))
        assert db.scalar(select(Membership.org_id).where(Membership.user_id == uid)) == org.id


async def test_account_creation_offline_says_so_and_keeps_what_was_typed(tui_home, server):
    tui = make_app(server)
    async with tui.run_test(size=(80, 24)) as pilot:
        await settle(tui, pilot)
        tui.push_screen(RegistrationScreen())
        await settle(tui, pilot)
        await pilot.press("ctrl+n")
        await settle(tui, pilot)
        await pilot.press("enter")  # "Create an EU Login account"
        await settle(tui, pilot)
        assert step_of(tui) == 3
        await fill(pilot, tui, "name", "Offline Person")
        await fill(pilot, tui, "email", "offline@example.org")
        await pilot.press("ctrl+n")
        await settle(tui, pilot)
        await fill(pilot, tui, "password", PASSWORD)
        tui.set_work_offline(True)
        await pilot.press("ctrl+n")
        await settle(tui, pilot)
        assert step_of(tui) == 4
        assert "need the server" in str(tui.screen.query_one("#wizard-status").render())
        assert tui.screen.query_one("#field-password", FormField).value == PASSWORD
        tui.set_work_offline(False)
        await pilot.press("ctrl+n")
        await settle(tui, pilot)
        assert step_of(tui) == 5
        assert tui.account is not None and tui.account.email == "offline@example.org"


# --- snapshots ------------------------------------------------------------------------------


async def steady(pilot) -> None:
    """No moving parts left: workers done, no blinking cursor, the byte counter blank."""
    from textual.widgets import Input

    tui = pilot.app
    await settle(tui, pilot)
    timer = getattr(getattr(tui, "trainer", None), "_timer", None)
    if timer is not None:
        timer.stop()
    if hasattr(tui, "wire_label"):
        tui.wire_label = ""
    for field in tui.screen.query(Input):
        field.cursor_blink = False
    tui.clear_notifications()  # the sign-in storage notice names a temporary path
    await pilot.pause()


def test_snapshot_step_1(snap_compare, tui_home, backend):
    make_account(backend, email="anna.nowak@example.org", name="Anna Nowak")

    async def run_before(pilot) -> None:
        await signed_in(pilot.app, pilot, "anna.nowak@example.org")
        await open_wizard(pilot.app, pilot)
        await steady(pilot)

    assert snap_compare(make_app(backend), terminal_size=(80, 24), run_before=run_before)


def test_snapshot_step_7_company_staff_and_results(snap_compare, tui_home, backend):
    from tests.factories import make_teacher

    make_teacher(
        backend,
        state="esep_registered",
        with_org=False,
        country="PL",
        first_name="Anna",
        last_name="Nowak",
        email="anna.nowak@example.org",
    )
    make_org(backend, country="PL", name="Szkoła Podstawowa nr 5", city="Kraków")
    make_org(backend, country="PL", name="Szkoła Muzyczna", city="Kraków", type="secondary")

    async def run_before(pilot) -> None:
        tui = pilot.app
        await signed_in(tui, pilot, "anna.nowak@example.org")
        await open_wizard(tui, pilot)
        assert step_of(tui) == 6
        await pilot.press("ctrl+n")
        await settle(tui, pilot)
        await choose(pilot, tui, "#role", "company_staff")
        tui.screen.query_one("#org-q").focus()
        await pilot.press(*"szkola krakow", "enter")
        await steady(pilot)

    assert snap_compare(make_app(backend), terminal_size=(80, 24), run_before=run_before)


async def test_with_the_link_cut_after_step_5_the_wizard_completes_and_syncs_later(
    tui_home, server
):
    acc = make_account(server, email="cut.link@example.org")
    org = make_org(server, country="GR", name="Γυμνάσιο Λάρισας", city="Larisa", type="secondary")
    tui = make_app(server)
    async with tui.run_test(size=(80, 24)) as pilot:
        await signed_in(tui, pilot, acc.email)
        await open_wizard(tui, pilot)
        for _ in range(4):
            await pilot.press("ctrl+n")
            await settle(tui, pilot)
        await choose(pilot, tui, "#pf-country", "GR")
        await fill(pilot, tui, "first_name", "Giorgos")
        await fill(pilot, tui, "last_name", "P")
        await pilot.press("ctrl+n")
        await settle(tui, pilot)
        assert step_of(tui) == 6
        await pilot.press("ctrl+n")
        await settle(tui, pilot)
        await choose(pilot, tui, "#role", "teacher")
        tui.screen.query_one("#org-q").focus()
        await pilot.press(*"γυμνασιο λαρ", "enter")
        await settle(tui, pilot)
        await pilot.press("enter")
        tui.set_work_offline(True)  # the link is cut
        await pilot.press("ctrl+n")
        await settle(tui, pilot)
        assert step_of(tui) == 8
        assert "sent when the link is back" in str(tui.screen.query_one("#wizard-status").render())
        await pilot.press("ctrl+s")
        await settle(tui, pilot)
        assert step_of(tui) == 9
        assert "wait in the outbox" in str(tui.screen.query_one("#final-text").render())
        with server.state.sessionmaker() as db:
            from reference_backend.tables import Membership

            assert db.scalar(select(Membership.id).where(Membership.org_id == org)) is None
        tui.set_work_offline(False)  # the link is back
        await tui.connection.engine().flush(force=True)
        await settle(tui, pilot)
    with server.state.sessionmaker() as db:
        from reference_backend.tables import Membership, User

        user = db.scalar(select(User).where(User.account_id == acc.account_id))
        assert user.state == "etwinning_pending" and user.profile_done
        assert db.scalar(select(Membership.org_id).where(Membership.user_id == user.id)) == org
