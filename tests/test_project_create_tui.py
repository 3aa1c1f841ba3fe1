"""The project wizard driven by keys (FAQ B): school, partner, description, preview, submit."""

from __future__ import annotations

from sqlalchemy import select

from reference_backend.tables import Contact, Membership, Project
from screens.project_create import ProjectCreateScreen
from screens.projects import ProjectsScreen
from tests.factories import make_org, make_teacher
from tests.test_partners_tui import sign_in, synced, text_of
from tests.tui_support import backend, make_app, tui_home

__all__ = ["backend", "tui_home"]


def befriend(app, a, b) -> None:
    with app.state.sessionmaker() as db, db.begin():
        db.add(Contact(requester_id=a.user_id, addressee_id=b.user_id, state="accepted"))


def world(backend, *, schools: int = 1):
    me = make_teacher(backend, first_name="Maria", last_name="Papadopoulou", email="maria@x.eu")
    for n in range(schools - 1):
        org = make_org(backend, country="GR", name=f"Second school {n}")
        with backend.state.sessionmaker() as db, db.begin():
            db.add(Membership(user_id=me.user_id, org_id=org, role="teacher"))
        me.org_ids.append(org)
    kasia = make_teacher(backend, country="PL", first_name="Katarzyna", last_name="Kowalska")
    staff = make_teacher(backend, first_name="Ola", last_name="Office", role="company_staff")
    befriend(backend, me, kasia)
    befriend(backend, staff, me)
    return me, kasia, staff


DESCRIPTION = [
    ("title", "Our water, our future"),
    ("short_description", "Two classes measure rain."),
    ("languages", "en, pl"),
    ("pupils_count", "40"),
    ("age_min", "9"),
    ("age_max", "11"),
    ("subjects", "Science, Geography"),
    ("vocational_subjects", ""),
    ("aims", "Learn to measure."),
    ("work_process", "One joint activity a month."),
    ("expected_results", "A shared rain atlas."),
]


async def open_wizard(app, pilot) -> ProjectCreateScreen:
    app.push_screen(ProjectCreateScreen())
    await synced(app, pilot)
    assert isinstance(app.screen, ProjectCreateScreen)
    return app.screen


async def fill(pilot, screen, values=DESCRIPTION) -> None:
    for name, value in values:
        screen.fields[name].focus()
        await pilot.press(*value) if value else None
    await pilot.pause()


async def test_single_school_skips_step_one_and_submits_through_the_outbox(tui_home, backend):
    me, kasia, _staff = world(backend)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(app, pilot, me.email)
        screen = await open_wizard(app, pilot)
        assert screen.step == "partner"
        assert "step 1 of 4" in text_of(app, "#create-progress")
        partners = text_of(app, "#partner-list")
        # the company-staff contact is listed, disabled, with the reason and its fix
        assert "Ola Office" in partners and "company staff" in partners.lower()
        menu = app.screen.query_one("#partner-list")
        disabled = [o.disabled for o in menu.options]
        assert disabled.count(True) == 1
        menu.highlighted = disabled.index(False)
        await pilot.press("enter")
        assert screen.step == "describe" and screen.partner["id"] == kasia.user_id
        await fill(pilot, screen)
        await pilot.press("ctrl+n")
        await synced(app, pilot)
        assert screen.step == "preview"
        shown = text_of(app, "#preview-text")
        assert "Our water, our future" in shown and "european" in shown and "GR, PL" in shown
        await pilot.press("ctrl+n", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ProjectsScreen)
        assert "Our water, our future" in text_of(app, "#projects-list")  # listed at once
        await synced(app, pilot)
        assert "awaiting partner" in text_of(app, "#projects-list")
    with backend.state.sessionmaker() as db:
        project = db.scalars(select(Project)).one()
        assert project.id == screen.project_id  # the client's id, from preview to submission
        assert (project.partner_id, project.state) == (kasia.user_id, "awaiting_partner")
        assert project.subjects == ["Science", "Geography"] and project.pupils_count == 40


async def test_several_schools_ask_with_the_caution(tui_home, backend):
    me, _kasia, _staff = world(backend, schools=2)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(app, pilot, me.email)
        screen = await open_wizard(app, pilot)
        assert screen.step == "school"
        assert "CAUTION" in text_of(app, "#school-caution")
        assert "step 1 of 5" in text_of(app, "#create-progress")
        assert "Second school 0" in text_of(app, "#school-list")
        app.screen.query_one("#school-list").highlighted = 1
        await pilot.press("enter")
        assert screen.school_id == me.org_ids[1]
        menu = app.screen.query_one("#partner-list")
        menu.highlighted = [o.disabled for o in menu.options].index(False)
        await pilot.press("enter")
        await fill(pilot, screen)
        await pilot.press("ctrl+s")
        await synced(app, pilot)
    with backend.state.sessionmaker() as db:
        assert db.scalars(select(Project)).one().creator_school_id == me.org_ids[1]


async def test_errors_next_to_fields_keep_what_was_typed(tui_home, backend, tmp_path):
    me, kasia, _staff = world(backend)
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 300_000)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(app, pilot, me.email)
        screen = await open_wizard(app, pilot)
        menu = app.screen.query_one("#partner-list")
        menu.highlighted = [o.disabled for o in menu.options].index(False)
        await pilot.press("enter")
        bad = dict(DESCRIPTION) | {"age_min": "12", "age_max": "9"}
        await fill(pilot, screen, [*list(bad.items()), ("image_path", str(big))])
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen.step == "describe"
        assert "below the youngest" in screen.fields["age_max"].error
        assert "at most 200 KB" in screen.fields["image_path"].error
        assert screen.fields["title"].value == "Our water, our future"
        # fixed locally; then the server refuses: the partner is no longer a contact
        screen.fields["age_max"].value = "13"
        screen.fields["image_path"].value = ""
        with backend.state.sessionmaker() as db, db.begin():
            db.query(Contact).filter(Contact.addressee_id == kasia.user_id).delete()
        await pilot.press("ctrl+n")
        await synced(app, pilot)
        assert screen.step == "partner"
        assert "must be one of your contacts" in text_of(app, "#create-status")
        assert screen.fields["aims"].value == "Learn to measure."
    with backend.state.sessionmaker() as db:
        assert db.scalars(select(Project)).all() == []


async def test_submit_offline_shows_queued_and_syncs_later(tui_home, backend):
    me, kasia, _staff = world(backend)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(app, pilot, me.email)
        screen = await open_wizard(app, pilot)
        app.set_work_offline(True)
        menu = app.screen.query_one("#partner-list")
        menu.highlighted = [o.disabled for o in menu.options].index(False)
        await pilot.press("enter")
        await fill(pilot, screen)
        await pilot.press("ctrl+n")
        await synced(app, pilot)
        assert "Offline" in text_of(app, "#create-status")
        assert "Our water, our future" in text_of(app, "#preview-text")
        await pilot.press("ctrl+n", "ctrl+s")
        await synced(app, pilot)
        assert "queued" in text_of(app, "#projects-list")
        with backend.state.sessionmaker() as db:
            assert db.scalars(select(Project)).all() == []
        app.set_work_offline(False)
        await synced(app, pilot)
        assert "awaiting partner" in text_of(app, "#projects-list")
    with backend.state.sessionmaker() as db:
        assert db.scalars(select(Project)).one().partner_id == kasia.user_id


def test_project_wizard_partner_step_snapshot(snap_compare, tui_home, backend):
    me = make_teacher(backend, first_name="Maria", last_name="Papadopoulou", email="maria@x.eu")
    lodz = make_org(backend, country="PL", name="Szkoła Podstawowa nr 12", city="Łódź")
    kasia = make_teacher(
        backend, country="PL", first_name="Katarzyna", last_name="Kowalska", org_id=lodz
    )
    ola = make_teacher(
        backend, first_name="Ola", last_name="Office", role="company_staff", org_id=lodz
    )
    befriend(backend, me, kasia)
    befriend(backend, ola, me)

    async def run_before(pilot) -> None:
        await sign_in(pilot.app, pilot, me.email)
        await open_wizard(pilot.app, pilot)
        await pilot.pause()

    assert snap_compare(make_app(backend), terminal_size=(80, 24), run_before=run_before)
