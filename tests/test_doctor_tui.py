"""The account doctor: one test per diagnosis, fixes run with one key against the backend."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from esep_tui.app import SignedIn
from reference_backend import clock
from reference_backend.tables import Application, Membership, User
from screens.doctor import DoctorScreen
from screens.profile import AddOrganisationScreen
from tests.factories import PASSWORD, make_org, make_teacher
from tests.tui_support import backend, make_app, settle, tui_home
from widgets.org_search import OrgSearch

__all__ = ["backend", "tui_home"]


@pytest.fixture
def server(app):
    return app


async def open_doctor(tui, pilot, persona) -> DoctorScreen:
    await settle(tui, pilot)
    account = await tui.connection.sign_in(persona.email, PASSWORD)
    tui.post_message(SignedIn(account))
    await settle(tui, pilot)
    tui.push_screen(DoctorScreen())
    await settle(tui, pilot)
    assert isinstance(tui.screen, DoctorScreen)
    return tui.screen


def report(tui) -> str:
    return str(tui.screen.query_one("#doctor-report").render())


def section(text: str, question: str) -> str:
    """The lines under one question."""
    lines = text.splitlines()
    start = lines.index(question) + 1
    out = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        out.append(line)
    return "\n".join(out)


ETW = "Why can't I access eTwinning?"
MEMBER = "Why can't I be added to a project?"
CREATE = "Why can't I create a project?"


async def test_problem_1_esep_registered_applies_with_one_key(tui_home, server):
    t = make_teacher(server, state="esep_registered")
    tui = make_app(server)
    async with tui.run_test(size=(80, 24)) as pilot:
        doctor = await open_doctor(tui, pilot, t)
        lines = section(report(tui), ETW)
        assert "“ESEP registered”" in lines and "[press 1 to fix]" in lines
        assert doctor.fixes == ["apply_etwinning"]
        await pilot.press("1")
        await settle(tui, pilot)
        # checked again: now waiting for the NSO, which only the NSO can end
        lines = section(report(tui), ETW)
        assert "waiting for validation" in lines and "0 days so far" in lines
        assert "contact your National Support Organisation in Greece" in lines
        assert "press" not in lines
    with server.state.sessionmaker() as db:
        assert db.get(User, t.user_id).state == "etwinning_pending"


async def test_problem_1_validated_but_shown_non_validated_offers_leave_and_add_again(
    tui_home, server
):
    t = make_teacher(server, org_state="rejected")
    tui = make_app(server)
    async with tui.run_test(size=(80, 24)) as pilot:
        doctor = await open_doctor(tui, pilot, t)
        lines = section(report(tui), ETW)
        assert "You are validated, but none of your current organisations" in lines
        assert "leave the organisation and add it again" in lines
        key = doctor.fixes.index("readd_organisation") + 1
        await pilot.press(str(key))
        await settle(tui, pilot)
        # the same organisation cannot come back: the server says why and what to do instead
        status = str(tui.screen.query_one("#doctor-status").render())
        assert "was not validated" in status and "Find your school" in status


async def test_problem_1_non_etwinning_school_requests_validation(tui_home, server):
    t = make_teacher(server, state="esep_registered", org_state="pending")
    with server.state.sessionmaker() as db, db.begin():
        # registered 3 days ago and still waiting
        from reference_backend.tables import Organisation

        db.get(Organisation, t.org_ids[0]).created_at = clock.now() - timedelta(days=3)
    tui = make_app(server)
    async with tui.run_test(size=(80, 24)) as pilot:
        doctor = await open_doctor(tui, pilot, t)
        lines = section(report(tui), ETW)
        assert (
            "waiting for validation by its National Support Organisation (3 days so far)" in lines
        )
        assert "contact your National Support Organisation in Greece" in lines
        assert doctor.fixes == ["apply_etwinning"]
        await pilot.press("1")
        await settle(tui, pilot)
    with server.state.sessionmaker() as db:
        assert db.scalar(select(Application.state).where(Application.user_id == t.user_id)) == (
            "pending"
        )


async def test_non_etwinning_organisation_shows_the_servers_refusal(tui_home, server):
    t = make_teacher(server, state="esep_registered", org_type="other")
    tui = make_app(server)
    async with tui.run_test(size=(80, 24)) as pilot:
        doctor = await open_doctor(tui, pilot, t)
        lines = section(report(tui), ETW)
        assert "is listed under non-eTwinning organisations" in lines
        key = doctor.fixes.index(f"request_validation:{t.membership_ids[0]}") + 1
        await pilot.press(str(key))
        await settle(tui, pilot)
        status = str(tui.screen.query_one("#doctor-status").render())
        assert "is not registered as a school" in status


async def test_problem_3_not_available_is_set_with_one_key(tui_home, server):
    t = make_teacher(server, available=False)
    tui = make_app(server)
    async with tui.run_test(size=(80, 24)) as pilot:
        doctor = await open_doctor(tui, pilot, t)
        text = report(tui)
        assert "✓ Nothing stops you." in section(text, ETW)
        lines = section(text, MEMBER)
        assert "“Available for eTwinning projects” is not set" in lines
        assert doctor.fixes == ["set_available"]
        await pilot.press("1")
        await settle(tui, pilot)
        assert "✓ Nothing stops you." in section(report(tui), MEMBER)
        assert "✓ Nothing stops you." in section(report(tui), CREATE)
    with server.state.sessionmaker() as db:
        assert db.get(User, t.user_id).available_for_projects is True


async def test_problem_3_school_not_validated_names_the_nso(tui_home, server):
    t = make_teacher(server, country="PL")
    make_org(server, country="PL")
    pending = make_org(server, country="PL", state="pending", name="Nowa Szkoła")
    with server.state.sessionmaker() as db, db.begin():
        db.add(Membership(user_id=t.user_id, org_id=pending, role="teacher"))
    tui = make_app(server)
    async with tui.run_test(size=(80, 24)) as pilot:
        await open_doctor(tui, pilot, t)
        lines = section(report(tui), MEMBER)
        assert "“Nowa Szkoła” is not validated yet" in lines
        assert "contact your National Support Organisation in Poland" in lines


async def test_company_staff_changes_role_with_one_key(tui_home, server):
    t = make_teacher(server, role="company_staff")
    tui = make_app(server)
    async with tui.run_test(size=(80, 24)) as pilot:
        doctor = await open_doctor(tui, pilot, t)
        lines = section(report(tui), ETW)
        assert "“Company staff”" in lines and "blocks eTwinning" in lines
        assert doctor.fixes[0] == f"change_role:{t.membership_ids[0]}"
        await pilot.press("1")
        await settle(tui, pilot)
        assert "✓ Nothing stops you." in section(report(tui), ETW)
    with server.state.sessionmaker() as db:
        assert db.get(Membership, t.membership_ids[0]).role == "teacher"


async def test_pending_validation_says_how_long_and_names_the_nso(tui_home, server):
    t = make_teacher(server, state="etwinning_pending", country="PL")
    with server.state.sessionmaker() as db, db.begin():
        db.add(
            Application(
                user_id=t.user_id, country="PL", submitted_at=clock.now() - timedelta(days=9)
            )
        )
    tui = make_app(server)
    async with tui.run_test(size=(80, 24)) as pilot:
        doctor = await open_doctor(tui, pilot, t)
        lines = section(report(tui), ETW)
        assert "(9 days so far)" in lines
        assert "contact your National Support Organisation in Poland" in lines
        assert doctor.fixes == []


async def test_no_organisation_adds_one_found_by_search(tui_home, server):
    t = make_teacher(server, state="esep_registered", with_org=False)
    school = make_org(server, name="Δημοτικό Σχολείο Καλαμάτας", city="Kalamata")
    tui = make_app(server)
    async with tui.run_test(size=(80, 24)) as pilot:
        doctor = await open_doctor(tui, pilot, t)
        assert "Your profile has no school or organisation." in section(report(tui), ETW)
        await pilot.press(str(doctor.fixes.index("add_organisation") + 1))
        await settle(tui, pilot)
        assert isinstance(tui.screen, AddOrganisationScreen)
        await pilot.press(*"δημοτικο καλαμ", "enter")
        await settle(tui, pilot)
        assert [o["id"] for o in tui.screen.query_one(OrgSearch).items] == [school]
        await pilot.press("enter")
        await settle(tui, pilot)
        assert isinstance(tui.screen, DoctorScreen)
        assert "no school or organisation" not in report(tui)
    with server.state.sessionmaker() as db:
        assert db.scalar(select(Membership.org_id).where(Membership.user_id == t.user_id)) == school


async def test_switched_off_account_is_for_the_nso(tui_home, server):
    t = make_teacher(server)
    with server.state.sessionmaker() as db, db.begin():
        db.get(User, t.user_id).active = False
    tui = make_app(server)
    async with tui.run_test(size=(80, 24)) as pilot:
        await open_doctor(tui, pilot, t)
        lines = section(report(tui), ETW)
        assert "Your account has been switched off." in lines
        assert "contact your National Support Organisation in Greece" in lines


def test_snapshot_doctor(snap_compare, tui_home, backend):
    from tests.test_registration_tui import steady

    school = make_org(backend, name="1st Primary School of Volos", city="Volos")
    t = make_teacher(
        backend,
        role="company_staff",
        available=False,
        org_id=school,
        first_name="Maria",
        last_name="Ioannou",
        email="maria@example.org",
    )

    async def run_before(pilot) -> None:
        await open_doctor(pilot.app, pilot, t)
        await steady(pilot)

    assert snap_compare(make_app(backend), terminal_size=(80, 24), run_before=run_before)
