"""My projects and notifications driven by keys: the partner's answer, badges, members, close."""

from __future__ import annotations

from sqlalchemy import select
from starlette.testclient import TestClient

from reference_backend.tables import (
    Membership,
    Notification,
    Project,
    ProjectApproval,
    ProjectMember,
)
from screens.notifications import NotificationsScreen
from screens.partners import PartnersScreen
from screens.partners_dialogs import ChoicePrompt
from screens.projects import ProjectDetailScreen, ProjectsScreen
from tests.factories import make_org, make_teacher
from tests.test_partners_tui import sign_in, synced, text_of
from tests.test_project_create_tui import befriend
from tests.tui_support import backend, make_app, tui_home

__all__ = ["backend", "tui_home"]

BODY = {
    "title": "Our water, our future",
    "short_description": "Two classes measure rain.",
    "languages": ["en"],
    "pupils_count": 40,
    "age_min": 9,
    "age_max": 11,
    "subjects": ["Science"],
    "aims": "Measure.",
    "work_process": "Monthly.",
    "expected_results": "An atlas.",
}


def founded(backend, *, partner_schools: int = 1):
    maria = make_teacher(backend, first_name="Maria", last_name="Papadopoulou", email="maria@x.eu")
    kasia = make_teacher(
        backend, country="PL", first_name="Katarzyna", last_name="Kowalska", email="kasia@x.eu"
    )
    for n in range(partner_schools - 1):
        org = make_org(backend, country="PL", name=f"Szkoła {n}")
        with backend.state.sessionmaker() as db, db.begin():
            db.add(Membership(user_id=kasia.user_id, org_id=org, role="teacher"))
        kasia.org_ids.append(org)
    befriend(backend, maria, kasia)
    with TestClient(backend) as http:
        r = http.post(
            "/projects", json={**BODY, "partner_id": kasia.user_id}, headers=maria.headers
        )
        assert r.status_code == 201, r.text
    return maria, kasia, r.json()["id"]


def set_state(backend, project_id: str, state: str, reason: str | None = None) -> None:
    with backend.state.sessionmaker() as db, db.begin():
        project = db.get(Project, project_id)
        project.state, project.rejection_reason = state, reason
        project.version += 1
        for m in db.scalars(select(ProjectMember).where(ProjectMember.project_id == project_id)):
            m.state = "active"
        for a in db.scalars(
            select(ProjectApproval).where(ProjectApproval.project_id == project_id)
        ):
            a.state = {"approved": "approved", "rejected": "rejected"}.get(state, "pending")


async def open_projects(app, pilot) -> ProjectsScreen:
    app.push_screen(ProjectsScreen())
    await synced(app, pilot)
    assert isinstance(app.screen, ProjectsScreen)
    return app.screen


async def test_partner_accepts_and_the_badge_shows_each_nso(tui_home, backend):
    _maria, kasia, pid = founded(backend)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(app, pilot, kasia.email)
        await open_projects(app, pilot)
        listed = text_of(app, "#projects-list")
        assert "awaiting partner" in listed and "You are invited" in listed
        await pilot.press("a")
        await synced(app, pilot)
        listed = text_of(app, "#projects-list")
        assert "awaiting NSO (GR pending, PL pending)" in listed
        await pilot.press("enter")
        await synced(app, pilot)
        assert isinstance(app.screen, ProjectDetailScreen)
        detail = text_of(app, "#project-text")
        assert "✓ partner accepts" in detail and "▶ NSO approval: GR pending, PL pending" in detail
    with backend.state.sessionmaker() as db:
        project = db.get(Project, pid)
        assert project.state == "awaiting_nso" and project.partner_school_id == kasia.org_ids[0]


async def test_partner_with_two_schools_chooses_one(tui_home, backend):
    _maria, kasia, pid = founded(backend, partner_schools=2)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(app, pilot, kasia.email)
        await open_projects(app, pilot)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ChoicePrompt)
        assert "CAUTION" in str(app.screen.query_one(".dialog-hint").render())
        await pilot.press("down", "enter")
        await synced(app, pilot)
    with backend.state.sessionmaker() as db:
        assert db.get(Project, pid).partner_school_id == kasia.org_ids[1]


async def test_partner_declines_with_a_reason(tui_home, backend):
    _maria, kasia, pid = founded(backend)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(app, pilot, kasia.email)
        await open_projects(app, pilot)
        await pilot.press("x")
        await pilot.pause()
        await pilot.press(*"No time this year", "enter")
        await synced(app, pilot)
        assert "declined by the partner: No time this year" in text_of(app, "#projects-list")
    with backend.state.sessionmaker() as db:
        assert db.get(Project, pid).state == "declined"


async def test_rejected_project_shows_the_reason(tui_home, backend):
    maria, _kasia, pid = founded(backend)
    set_state(backend, pid, "rejected", "The description is too short.")
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(app, pilot, maria.email)
        await open_projects(app, pilot)
        assert "rejected: The description is too short." in text_of(app, "#projects-list")


async def test_invite_members_after_approval_and_close(tui_home, backend):
    maria, _kasia, pid = founded(backend)
    set_state(backend, pid, "approved")
    giulia = make_teacher(backend, country="IT", first_name="Giulia", last_name="Rossi")
    ola = make_teacher(backend, first_name="Ola", last_name="Office", role="company_staff")
    befriend(backend, maria, giulia)
    befriend(backend, maria, ola)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(app, pilot, maria.email)
        await open_projects(app, pilot)
        assert "[approved]" in text_of(app, "#projects-list")
        await pilot.press("i")
        await synced(app, pilot)  # the candidates' eligibility arrives
        assert isinstance(app.screen, ChoicePrompt)
        options = app.screen.query_one("OptionList").options
        labels = [str(o.prompt) for o in options]
        ola_at = next(i for i, text in enumerate(labels) if "Ola Office" in text)
        assert "Company staff" in labels[ola_at]  # FAQ problem 3: why, with the fix
        app.screen.query_one("OptionList").highlighted = ola_at
        await pilot.press("enter")
        await synced(app, pilot)
        with backend.state.sessionmaker() as db:
            members = {
                m.user_id
                for m in db.scalars(select(ProjectMember).where(ProjectMember.project_id == pid))
            }
        assert ola.user_id not in members  # refused here, nothing sent
        await pilot.press("i")
        await synced(app, pilot)
        labels = [str(o.prompt) for o in app.screen.query_one("OptionList").options]
        app.screen.query_one("OptionList").highlighted = next(
            i for i, text in enumerate(labels) if "Giulia Rossi" in text
        )
        await pilot.press("enter")
        await synced(app, pilot)
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("enter")  # "Close it"
        await synced(app, pilot)
        assert "[closed]" in text_of(app, "#projects-list")
    with backend.state.sessionmaker() as db:
        rows = {
            m.user_id: m.state
            for m in db.scalars(select(ProjectMember).where(ProjectMember.project_id == pid))
        }
        assert rows[giulia.user_id] == "invited" and ola.user_id not in rows
        assert db.get(Project, pid).state == "closed"


async def test_creator_withdraws_a_pending_project(tui_home, backend):
    maria, _kasia, pid = founded(backend)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(app, pilot, maria.email)
        await open_projects(app, pilot)
        await pilot.press("delete")
        await pilot.pause()
        await pilot.press("enter")  # "Withdraw it"
        await synced(app, pilot)
        assert "Our water" not in text_of(app, "#projects-list")
    with backend.state.sessionmaker() as db:
        assert db.get(Project, pid) is None


async def test_notification_opens_its_project_and_is_marked_read(tui_home, backend):
    _maria, kasia, pid = founded(backend)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(app, pilot, kasia.email)
        app.push_screen(NotificationsScreen())
        await synced(app, pilot)
        listed = text_of(app, "#notifications-list")
        assert "● Maria Papadopoulou invites you" in listed
        assert "1 unread" in text_of(app, "#notifications-status")
        await pilot.press("enter")
        await synced(app, pilot)
        assert isinstance(app.screen, ProjectDetailScreen) and app.screen.project_id == pid
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert isinstance(app.screen, NotificationsScreen)
        assert "0 unread" in text_of(app, "#notifications-status")
    with backend.state.sessionmaker() as db:
        assert db.scalars(select(Notification)).one().read_at is not None


async def test_contact_request_notification_opens_the_contacts_tab(tui_home, backend):
    maria = make_teacher(backend, email="maria@x.eu")
    kasia = make_teacher(backend, country="PL", first_name="Katarzyna", last_name="Kowalska")
    with TestClient(backend) as http:
        assert (
            http.post(
                "/contacts", json={"user_id": maria.user_id}, headers=kasia.headers
            ).status_code
            == 201
        )
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(app, pilot, maria.email)
        app.push_screen(NotificationsScreen())
        await synced(app, pilot)
        await pilot.press("enter")
        await synced(app, pilot)
        assert isinstance(app.screen, PartnersScreen)
        assert app.screen.query_one("TabbedContent").active == "contacts"


def test_projects_snapshot(snap_compare, tui_home, backend):
    _maria, kasia, _pid = founded(backend)

    async def run_before(pilot) -> None:
        await sign_in(pilot.app, pilot, kasia.email)
        await open_projects(pilot.app, pilot)

    assert snap_compare(make_app(backend), terminal_size=(80, 24), run_before=run_before)


def test_notifications_snapshot(snap_compare, tui_home, backend):
    from datetime import datetime

    _maria, kasia, _pid = founded(backend)
    with backend.state.sessionmaker() as db, db.begin():
        for n in db.scalars(select(Notification)):
            n.created_at = datetime(2026, 3, 2, 9, 30)

    async def run_before(pilot) -> None:
        await sign_in(pilot.app, pilot, kasia.email)
        pilot.app.push_screen(NotificationsScreen())
        await synced(pilot.app, pilot)

    assert snap_compare(make_app(backend), terminal_size=(80, 24), run_before=run_before)
