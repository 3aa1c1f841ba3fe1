"""The NSO triage console driven by keys against the in-process backend (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from sqlalchemy import func, select
from textual.widgets import OptionList, Select, Static, Tab

from reference_backend import clock
from reference_backend.tables import Application, AuditEntry, Organisation, new_id
from screens.nso_queue import FilterScreen, NsoQueueScreen, ReasonScreen
from tests.factories import PASSWORD, make_org, make_staff, make_teacher
from tests.test_nso import _decide, make_application, make_pending_org, make_project
from tests.tui_support import backend, make_app, settle, tui_home
from widgets.evidence import EvidencePane

__all__ = ["backend", "tui_home"]


def seed_organisations(app, n: int, country: str = "GR", *, prefix: str = "Queued school"):
    """``n`` pending organisations written in one statement (a large queue in a second)."""
    base = clock.now() - timedelta(days=30)
    rows = [
        {
            "id": new_id(),
            "legal_name": f"{prefix} {i:06d}",
            "public_name": f"{prefix} {i:06d}",
            "country": country,
            "region": "Attica" if i % 2 else "Crete",
            # one town each: the near-duplicate check looks at the same city
            "city": f"Town {i}",
            "city_folded": f"town {i}",
            "type": "primary" if i % 3 else "secondary",
            "state": "pending",
            "created_at": base + timedelta(seconds=i),
            "version": 1,
        }
        for i in range(n)
    ]
    with app.state.sessionmaker() as db, db.begin():
        db.execute(Organisation.__table__.insert(), rows)
    return [r["id"] for r in rows]


@contextlib.asynccontextmanager
async def triage(backend):
    """The app at 80x24; on the way out, every request in flight is let finish first, so no
    server transaction is left open behind the test."""
    tui = make_app(backend)
    async with tui.run_test(size=(80, 24)) as pilot:
        yield tui, pilot
        await quiesce(tui, pilot)


async def quiesce(tui, pilot) -> None:
    for _ in range(3):
        await tui.workers.wait_for_complete()
        engine = tui.connection.sync
        if engine is not None:
            await asyncio.gather(*list(engine._inflight.values()), return_exceptions=True)
            async with engine._flush_lock:
                pass
        await pilot.pause()


async def open_queue(backend, pilot, tui_app, staff):
    await settle(tui_app, pilot)
    await tui_app.connection.sign_in(staff.email, PASSWORD)
    await tui_app.push_screen(NsoQueueScreen())
    await wait_for(tui_app, pilot, lambda: tui_app.screen.vlist.current is not None)
    return tui_app.screen


async def wait_for(tui_app, pilot, condition, timeout: float = 30.0) -> None:
    """Let workers and the outbox run until ``condition()`` holds (fails after ``timeout``)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        if loop.time() > end:
            raise AssertionError("the screen did not reach the expected state")
        await pilot.pause(0.02)


def evidence_text(screen) -> str:
    return screen.query_one("#evidence", EvidencePane).text


def state_of(backend, model, key) -> str:
    # read-only: a writer's lock must never be waited for on the event loop the server runs on
    with backend.state.read_sessionmaker() as db:
        return db.get(model, key).state


def audit_count(backend, **where) -> int:
    with backend.state.read_sessionmaker() as db:
        conds = [getattr(AuditEntry, k) == v for k, v in where.items()]
        return db.scalar(select(func.count()).select_from(AuditEntry).where(*conds))


async def test_approve_with_one_key_moves_to_the_prefetched_next_item(tui_home, app):
    staff = make_staff(app, "GR")
    first = make_application(app, age_days=9, first_name="Eleni", last_name="Alpha")
    second = make_application(app, age_days=3, first_name="Nikos", last_name="Beta")
    async with triage(app) as (tui, pilot):
        screen = await open_queue(app, pilot, tui, staff)
        assert screen.vlist.current["id"] == first.app_id  # oldest first
        await wait_for(tui, pilot, lambda: "Eleni Alpha" in evidence_text(screen))
        await wait_for(tui, pilot, lambda: ("application", second.app_id) in screen.evidence)
        await pilot.press("a")
        # the next item is shown at once, from the evidence fetched beforehand
        assert screen.vlist.current["id"] == second.app_id
        assert "Nikos Beta" in evidence_text(screen)
        await wait_for(tui, pilot, lambda: state_of(app, Application, first.app_id) == "approved")
        assert state_of(app, Application, second.app_id) == "pending"


async def test_reject_with_a_template_reason(tui_home, app):
    staff = make_staff(app, "GR")
    teacher = make_application(app, age_days=2)
    async with triage(app) as (tui, pilot):
        await open_queue(app, pilot, tui, staff)
        await pilot.press("r")
        await wait_for(tui, pilot, lambda: isinstance(tui.screen, ReasonScreen))
        picker = tui.screen.query_one("#reason-templates", OptionList)
        # only the reasons for rejecting a teacher are offered
        codes = [picker.get_option_at_index(i).id for i in range(picker.option_count)]
        assert codes == ["not_teaching_role", "employment_unconfirmed", "duplicate_account"]
        await pilot.press("down", "enter")
        await wait_for(tui, pilot, lambda: state_of(app, Application, teacher.app_id) == "rejected")
    with app.state.read_sessionmaker() as db:
        row = db.get(Application, teacher.app_id)
        assert row.reason.startswith("We could not confirm that you work at the school")
        entry = db.scalar(select(AuditEntry).where(AuditEntry.subject_id == teacher.app_id))
        assert (entry.action, entry.actor_id) == ("reject", staff.user_id)


async def test_ask_for_information_with_a_typed_reason(tui_home, app):
    staff = make_staff(app, "GR")
    teacher = make_application(app, age_days=2)
    async with triage(app) as (tui, pilot):
        screen = await open_queue(app, pilot, tui, staff)
        await pilot.press("i")
        await wait_for(tui, pilot, lambda: isinstance(tui.screen, ReasonScreen))
        await pilot.press("tab", *"Which school do you teach at?", "enter")
        await wait_for(
            tui, pilot, lambda: state_of(app, Application, teacher.app_id) == "info_requested"
        )
        await wait_for(tui, pilot, lambda: screen.vlist.marks.get(0) == "?")
    with app.state.read_sessionmaker() as db:
        assert db.get(Application, teacher.app_id).reason == "Which school do you teach at?"
    assert audit_count(app, action="request_info", subject_id=teacher.app_id) == 1


async def test_bulk_approve_of_selected_organisations(tui_home, app):
    staff = make_staff(app, "GR")
    ids = seed_organisations(app, 3)
    async with triage(app) as (tui, pilot):
        await settle(tui, pilot)
        await tui.connection.sign_in(staff.email, PASSWORD)
        await tui.push_screen(NsoQueueScreen())
        screen = tui.screen
        await pilot.press("2")
        await wait_for(tui, pilot, lambda: screen.kind == "organisation" and screen.vlist.current)
        await pilot.press("space", "space")
        assert screen.vlist.selected == {0, 1}
        await pilot.press("a")
        await wait_for(tui, pilot, lambda: state_of(app, Organisation, ids[1]) == "validated")
        assert state_of(app, Organisation, ids[0]) == "validated"
        assert state_of(app, Organisation, ids[2]) == "pending"
        await wait_for(tui, pilot, lambda: screen.vlist.marks.get(1) == "✓")
        assert screen.vlist.current["id"] == ids[2]
    assert audit_count(app, action="approve", subject_type="organisation") == 2


async def test_undo_takes_the_last_decision_back(tui_home, app):
    staff = make_staff(app, "GR")
    teacher = make_application(app, age_days=2)
    make_application(app, age_days=1)
    async with triage(app) as (tui, pilot):
        screen = await open_queue(app, pilot, tui, staff)
        await pilot.press("a")
        await wait_for(tui, pilot, lambda: screen.decisions[0].audit_id is not None)
        assert state_of(app, Application, teacher.app_id) == "approved"
        await pilot.press("u")
        await wait_for(tui, pilot, lambda: state_of(app, Application, teacher.app_id) == "pending")
        await wait_for(tui, pilot, lambda: not screen.undos)
        # the cursor is back on the item, which can be decided again with its new version
        assert screen.vlist.cursor == 0 and 0 not in screen.vlist.marks
        await pilot.press("a")
        await wait_for(tui, pilot, lambda: state_of(app, Application, teacher.app_id) == "approved")
    assert audit_count(app, action="undo") == 1
    assert audit_count(app, action="approve", subject_id=teacher.app_id) == 2


async def test_offline_decision_waits_in_the_outbox_and_undo_drops_it(tui_home, app):
    staff = make_staff(app, "GR")
    first = make_application(app, age_days=4)
    second = make_application(app, age_days=3)
    async with triage(app) as (tui, pilot):
        screen = await open_queue(app, pilot, tui, staff)
        tui.set_work_offline(True)
        await pilot.press("a")
        assert screen.vlist.marks[0] == "⋯"  # queued, shown at once
        await pilot.press("u")  # taken back before it ever left
        assert screen.engine.store.outbox.pending_count() == 0
        await pilot.press("down", "a")
        assert screen.engine.store.outbox.pending_count() == 1
        await pilot.pause(0.2)
        assert state_of(app, Application, second.app_id) == "pending"
        tui.set_work_offline(False)
        await wait_for(tui, pilot, lambda: state_of(app, Application, second.app_id) == "approved")
    assert state_of(app, Application, first.app_id) == "pending"
    assert audit_count(app, subject_id=first.app_id) == 0


async def test_filter_and_sort(tui_home, app):
    staff = make_staff(app, "GR")
    old = make_pending_org(app, name="Gymnasio Rodou", type="secondary", age_days=20)
    new = make_pending_org(app, name="Dimotiko Rodou", type="primary", age_days=1)
    make_pending_org(app, name="Lykeio Chanion", type="secondary", age_days=5)
    async with triage(app) as (tui, pilot):
        await settle(tui, pilot)
        await tui.connection.sign_in(staff.email, PASSWORD)
        await tui.push_screen(NsoQueueScreen())
        screen = tui.screen
        await pilot.press("2")
        await wait_for(tui, pilot, lambda: screen.vlist.total == 3)
        await pilot.press("slash")
        await wait_for(tui, pilot, lambda: isinstance(tui.screen, FilterScreen))
        await pilot.press(*"rodou", "enter")
        await wait_for(tui, pilot, lambda: screen.vlist.total == 2 and screen.vlist.current)
        assert screen.vlist.current["id"] == old  # oldest first
        await pilot.press("s")  # newest first
        await wait_for(
            tui, pilot, lambda: screen.vlist.current and screen.vlist.current["id"] == new
        )
        await pilot.press("slash")
        await wait_for(tui, pilot, lambda: isinstance(tui.screen, FilterScreen))
        await pilot.press("tab", "tab", *"secondary", "enter")
        await wait_for(tui, pilot, lambda: screen.vlist.total == 1 and screen.vlist.current)
        assert screen.vlist.current["id"] == old
        assert screen.filters == {"q": "rodou", "type": "secondary"}


async def test_another_countrys_items_are_never_shown(tui_home, app):
    staff = make_staff(app, "GR")
    greek = make_application(app, country="GR", age_days=1)
    make_application(app, country="PL", age_days=30, first_name="Zofia")
    make_pending_org(app, country="PL", name="Szkoła Podstawowa", age_days=30)
    async with triage(app) as (tui, pilot):
        screen = await open_queue(app, pilot, tui, staff)
        await wait_for(tui, pilot, lambda: screen.summary is not None)
        assert screen.vlist.total == 1 and screen.vlist.current["id"] == greek.app_id
        assert "Zofia" not in evidence_text(screen)
        assert str(screen.query_one("#tab-applications", Tab).label) == "Teachers 1 · 1d"
        await pilot.press("2")
        await wait_for(tui, pilot, lambda: screen.kind == "organisation")
        await wait_for(tui, pilot, lambda: "Nothing waiting" in screen.vlist.empty_text)
        assert screen.vlist.total == 0


async def test_item_decided_by_someone_else_shows_a_conflict(tui_home, app):
    from starlette.testclient import TestClient

    staff = make_staff(app, "GR")
    colleague = make_staff(app, "GR")
    teacher = make_application(app, age_days=8)
    async with triage(app) as (tui, pilot):
        screen = await open_queue(app, pilot, tui, staff)
        # the colleague rejects it after this screen loaded it
        with TestClient(app) as other:
            r = _decide(
                other,
                colleague,
                "application",
                teacher.app_id,
                "reject",
                template="duplicate_account",
            )
            assert r.status_code == 201
        await pilot.press("a")
        await wait_for(tui, pilot, lambda: screen.vlist.marks.get(0) == "!")
        assert screen.decisions[0].state == "conflict"
        await pilot.press("k")
        text = evidence_text(screen)
        assert "Conflict — not overwritten." in text
        assert "Yours: approved" in text
        assert "rejected this application" in text and "Current state: rejected" in text
        attention = screen.engine.needs_attention()
        assert [a.code for a in attention] == ["already_decided"]
    # the colleague's decision stands
    assert state_of(app, Application, teacher.app_id) == "rejected"
    assert audit_count(app, subject_id=teacher.app_id) == 1


async def test_evidence_of_an_organisation_and_a_project(tui_home, app):
    staff = make_staff(app, "GR")
    registrant = make_teacher(app, first_name="Kostas", last_name="Registrar")
    make_org(app, name="1st Primary School of Rhodes", city="Athens")
    make_pending_org(app, name="1st Primary School Rhodes", registered_by=registrant.user_id)
    make_project(app, countries=("GR", "PL"), title="Tales from two towns", age_days=2)
    async with triage(app) as (tui, pilot):
        await settle(tui, pilot)
        await tui.connection.sign_in(staff.email, PASSWORD)
        await tui.push_screen(NsoQueueScreen())
        screen = tui.screen
        await pilot.press("2")
        await wait_for(tui, pilot, lambda: "Registered by: Kostas" in evidence_text(screen))
        text = evidence_text(screen)
        assert "Near-duplicates in the same city" in text
        assert "1st Primary School of Rhodes" in text
        await pilot.press("3")
        await wait_for(tui, pilot, lambda: "Founders" in evidence_text(screen))
        text = evidence_text(screen)
        assert "Tales from two towns" in text and "countries: GR, PL" in text
        assert "creator:" in text and "partner:" in text
        assert "Other NSO decided: not yet" in text
        await pilot.press("enter")  # the whole evidence, list hidden
        assert screen.has_class("-detail") and not screen.vlist.display
        await pilot.press("escape")
        assert not screen.has_class("-detail")


async def test_hundred_thousand_item_queue_opens_without_loading_everything(tui_home, app):
    staff = make_staff(app, "GR")
    ids = seed_organisations(app, 100_000)
    async with triage(app) as (tui, pilot):
        await settle(tui, pilot)
        await tui.connection.sign_in(staff.email, PASSWORD)
        await tui.push_screen(NsoQueueScreen())
        screen = tui.screen
        await pilot.press("2")
        await wait_for(tui, pilot, lambda: screen.vlist.total == 100_000, timeout=30)
        vlist = screen.vlist
        assert vlist.current["id"] == ids[0]
        assert vlist.pages_requested <= 2 and len(vlist.loaded_pages()) <= 2
        assert vlist.rows_rendered < 200
        for _ in range(60):  # past the first page: the next one is fetched as the cursor moves
            await pilot.press("j")
        await wait_for(tui, pilot, lambda: vlist.current is not None)
        assert vlist.current["id"] == ids[60]
        await pilot.press("G")
        await wait_for(tui, pilot, lambda: vlist.current is not None, timeout=30)
        assert vlist.current["id"] == ids[-1]
        assert vlist.pages_requested <= 5 and len(vlist.loaded_pages()) <= 5
        assert vlist.rows_rendered < 1000


async def test_staff_open_the_queues_audit_and_stats_from_home(tui_home, app):
    from screens.audit import AuditScreen
    from screens.home import HomeScreen
    from screens.nso_stats import NsoStatsScreen

    staff = make_staff(app, "GR")
    teacher = make_application(app, age_days=2)
    async with triage(app) as (tui, pilot):
        await settle(tui, pilot)
        await pilot.press(*staff.email, "enter", *PASSWORD, "enter")
        await wait_for(tui, pilot, lambda: isinstance(tui.screen, HomeScreen))
        await wait_for(
            tui, pilot, lambda: any(d.key == "q" for d in getattr(tui.screen, "destinations", []))
        )
        await pilot.press("q")
        await wait_for(tui, pilot, lambda: isinstance(tui.screen, NsoQueueScreen))
        screen = tui.screen
        await wait_for(tui, pilot, lambda: screen.vlist.current is not None)
        await pilot.press("a")
        await wait_for(tui, pilot, lambda: state_of(app, Application, teacher.app_id) == "approved")
        await pilot.press("escape")
        await pilot.press("a")
        await wait_for(tui, pilot, lambda: isinstance(tui.screen, AuditScreen))
        audit = tui.screen
        await wait_for(tui, pilot, lambda: audit.vlist.current is not None)
        assert audit.vlist.current["action"] == "approve"
        assert audit.vlist.current["actor_id"] == staff.user_id
        # filters go to the server: no rejection was made
        audit.query_one("#audit-action", Select).value = "reject"
        await wait_for(tui, pilot, lambda: "No decision matches" in audit.vlist.empty_text)
        audit.query_one("#audit-action", Select).value = "approve"
        await wait_for(tui, pilot, lambda: audit.vlist.total == 1)
        await pilot.press("escape")
        await pilot.press("s")
        await wait_for(tui, pilot, lambda: isinstance(tui.screen, NsoStatsScreen))
        body = tui.screen.query_one("#stats-body", Static)
        await wait_for(tui, pilot, lambda: "Decisions per day, newest first" in str(body.render()))
        assert "Last 7 days: 1 decisions" in str(body.render())


# --- snapshots (SQLite only: one picture per screen) -------------------------------------


def _snapshot_world(backend):
    staff = make_staff(backend, "GR")
    school = make_org(backend, name="2nd Primary School of Chania", city="Chania")
    company = make_org(backend, name="Aegean Ferries Ltd", city="Piraeus", type="other")
    make_application(
        backend,
        age_days=9,
        first_name="Eleni",
        last_name="Papadaki",
        org_id=school,
        email="eleni.papadaki@example.org",
    )
    make_application(
        backend,
        age_days=12,
        first_name="Eleni",
        last_name="Papadaki",
        org_id=school,
        email="e.papadaki@example.org",
    )
    make_application(
        backend,
        age_days=1,
        first_name="Nikos",
        last_name="Markou",
        role="company_staff",
        org_id=company,
        email="nikos.markou@example.org",
    )
    return staff


async def _steady(pilot) -> None:
    """No moving parts left: workers done, the byte counter stopped at a fixed label."""
    app = pilot.app
    await settle(app, pilot)
    trainer = getattr(app, "trainer", None)
    timer = getattr(trainer, "_timer", None)
    if timer is not None:
        timer.stop()
    if hasattr(app, "wire_label"):
        app.wire_label = ""
    await pilot.pause()


def test_queue_snapshot(snap_compare, tui_home, backend):
    staff = _snapshot_world(backend)

    async def run_before(pilot) -> None:
        app = pilot.app
        await open_queue(backend, pilot, app, staff)
        await wait_for(app, pilot, lambda: "Suspected duplicates" in evidence_text(app.screen))
        await _steady(pilot)

    assert snap_compare(make_app(backend), terminal_size=(80, 24), run_before=run_before)


def test_detail_snapshot(snap_compare, tui_home, backend):
    staff = _snapshot_world(backend)

    async def run_before(pilot) -> None:
        app = pilot.app
        await open_queue(backend, pilot, app, staff)
        await wait_for(app, pilot, lambda: "Suspected duplicates" in evidence_text(app.screen))
        await pilot.press("enter")
        await _steady(pilot)

    assert snap_compare(make_app(backend), terminal_size=(80, 24), run_before=run_before)


async def test_approval_the_rules_refuse_shows_every_reason(tui_home, app):
    staff = make_staff(app, "GR")
    teacher = make_application(app, age_days=3, role="company_staff")
    async with triage(app) as (tui, pilot):
        screen = await open_queue(app, pilot, tui, staff)
        await wait_for(tui, pilot, lambda: "Approval would be refused" in evidence_text(screen))
        await pilot.press("a")
        await wait_for(tui, pilot, lambda: screen.vlist.marks.get(0) == "!")
        assert screen.decisions[0].state == "rejected"
        await pilot.press("k")
        text = evidence_text(screen)
        assert "Refused by the server" in text and "Conflict" not in text
        assert "Company staff" in text or "company staff" in text
        # another decision can still be made; the refused one leaves the outbox
        await pilot.press("r")
        await wait_for(tui, pilot, lambda: isinstance(tui.screen, ReasonScreen))
        await pilot.press("enter")
        await wait_for(tui, pilot, lambda: state_of(app, Application, teacher.app_id) == "rejected")
        assert screen.engine.needs_attention() == []
    assert audit_count(app, subject_id=teacher.app_id) == 1
