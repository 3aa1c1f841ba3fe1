"""Trainer mode: personas from the palette, the bad-network switch, reset, classroom, tour."""

from __future__ import annotations

import asyncio
import shutil

import httpx
import pytest
from sqlalchemy import func, select

from esep_tui import i18n, trainer
from esep_tui.trainer import ConfirmReset, ShapedTransport, edge, fresh_trainee
from reference_backend.app import create_app
from reference_backend.tables import Account
from screens.home import HomeScreen
from screens.persona import PersonaScreen
from screens.signin import SignInScreen
from tests.factories import PASSWORD, make_account, make_teacher
from tests.tui_support import backend, make_app, settle, tui_home
from widgets.tour_panel import TourPanel

__all__ = ["backend", "tui_home"]

MARIA = "maria.papadopoulou@demo.esep"
KATARZYNA = "katarzyna.kowalska@demo.esep"


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    create_app(f"sqlite:///{path}", seed="demo").state.engine.dispose()
    return path


@pytest.fixture
def demo_backend(tmp_path, demo_template):
    path = tmp_path / "demo.sqlite3"
    shutil.copy(demo_template, path)
    application = create_app(f"sqlite:///{path}", migrate=False)
    yield application
    application.state.engine.dispose()


@pytest.fixture(autouse=True)
def english():
    i18n.set_language("en")
    yield
    i18n.set_language("en")


def accounts(app, pattern: str = "new.teacher.%") -> list[str]:
    with app.state.sessionmaker() as db:
        return list(db.scalars(select(Account.email).where(Account.email.like(pattern))))


# ---------------------------------------------------------------- the slow link


class Recorder:
    """Stands in for asyncio.sleep: records the delays a link would impose."""

    def __init__(self):
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class Echo(httpx.AsyncBaseTransport):
    def __init__(self, size: int):
        self.size = size
        self.seen = 0

    async def handle_async_request(self, request):
        self.seen += 1
        return httpx.Response(200, content=b"x" * self.size, headers={"ETag": '"1"'})


async def test_the_edge_profile_is_the_link_shapers_preset():
    profile = edge()
    assert (profile.down_kbit, profile.up_kbit, profile.rtt_ms) == (240, 200, 840)


async def test_a_shaped_exchange_costs_the_round_trip_and_the_bandwidth(monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(trainer.asyncio, "sleep", recorder)
    inner = Echo(30_000)
    transport = ShapedTransport(inner, edge())
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        response = await client.get("/big")
    assert response.status_code == 200
    assert response.content == b"x" * 30_000
    assert response.headers["etag"] == '"1"'
    # half the round trip each way, plus 30 kB at 240 kbit/s (= 1 s) on the way down
    assert recorder.delays[0] == pytest.approx(0.42)
    assert recorder.delays[-1] == pytest.approx(0.42)
    assert sum(recorder.delays) == pytest.approx(0.84 + 1.0, abs=0.05)


async def test_without_a_profile_the_transport_passes_through(monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(trainer.asyncio, "sleep", recorder)
    inner = Echo(10)
    async with httpx.AsyncClient(transport=ShapedTransport(inner), base_url="http://x") as c:
        assert (await c.get("/")).content == b"x" * 10
    assert recorder.delays == []
    assert inner.seen == 1


async def run_command(app, pilot, text: str) -> None:
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*text)
    await pilot.pause(0.3)
    await pilot.press("enter")
    await settle(app, pilot)


async def test_the_network_switch_goes_slow_offline_and_back(tui_home, backend):
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await run_command(app, pilot, "Network: slow link")
        assert app.trainer.link == "slow"
        transport = app.connection.client._http._transport
        assert isinstance(transport, ShapedTransport)
        assert transport.profile == edge()
        assert app.wire_label.startswith("Edge ↓")
        counter = app.screen.query_one("#header-bytes")
        assert counter.display and "Edge" in str(counter.render())

        await run_command(app, pilot, "Network: offline")
        assert app.trainer.link == "offline"
        assert app.connection.work_offline is True
        assert app.connectivity.state == "work_offline"

        await run_command(app, pilot, "Network: online")
        assert app.trainer.link == "online"
        assert app.connection.work_offline is False
        assert transport.profile is None
        # the link still works after all that
        assert await app.connection.client.probe()


async def test_the_bytes_counter_counts_what_crossed(tui_home, backend):
    make_account(backend, email="eleni@example.org")
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.trainer.set_link("online")
        before = app.connection.client.stats.bytes_down
        await pilot.press(*"eleni@example.org", "enter", *PASSWORD, "enter")
        await settle(app, pilot)
        app.trainer.show_bytes()
        assert app.connection.client.stats.bytes_down > before
        assert app.wire_label.startswith("↓")


# ---------------------------------------------------------------- personas


async def test_personas_switch_from_the_palette_each_with_its_own_replica(tui_home, demo_backend):
    app = make_app(demo_backend, start="persona")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, PersonaScreen)
        await run_command(app, pilot, "Persona: Validated Greek")
        assert isinstance(app.screen, HomeScreen)
        assert app.account.email == MARIA
        first = app.connection.engine()
        maria_replica = first.store.path

        await app.run_action("switch_persona('polish_teacher')")
        await settle(app, pilot)
        assert app.account.email == KATARZYNA
        second = app.connection.engine()
        assert second is not first
        assert second.store.path != maria_replica
        assert first._task is None or first._task.done()  # the old engine was stopped

        # back to Maria: her stored sign-in is reused, and so is her replica
        await app.run_action("switch_persona('greek_teacher')")
        await settle(app, pilot)
        assert app.account.email == MARIA
        assert app.connection.engine().store.path == maria_replica
        assert maria_replica.exists()


async def test_a_trainee_gets_a_fresh_new_teacher_each_time(tui_home, demo_backend):
    app = make_app(demo_backend, start="persona")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await run_command(app, pilot, "Persona: A brand-new teacher")
        first = app.account.email
        assert first.startswith("new.teacher.")
        assert app.account.user_id is None  # nothing yet: the wizard starts at step 1
        await app.run_action("switch_persona('new_teacher')")
        await settle(app, pilot)
        assert app.account.email != first
    assert len(accounts(demo_backend)) == 2


async def test_a_room_of_trainees_asking_at_once_get_distinct_accounts(tui_home, demo_backend):
    from esep_tui.connection import Connection

    async def one() -> str:
        # as over the network: a server error is an answer (500), not an exception in the test
        transport = httpx.ASGITransport(demo_backend, raise_app_exceptions=False)
        connection = Connection("http://esep.test", transport=transport)
        await connection.connect()
        try:
            account = await fresh_trainee(connection, "eTwinning-demo-2026")
        finally:
            await connection.aclose()
        return account.email

    emails = await asyncio.gather(*(one() for _ in range(8)))
    assert len(set(emails)) == 8
    assert sorted(accounts(demo_backend)) == sorted(emails)


async def test_persona_commands_only_where_the_demo_world_is(tui_home, backend):
    app = make_app(backend)  # a remote server, not started as a demo
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        titles = [title for title, _, _ in app.trainer.commands()]
        assert not any(t.startswith("Persona:") for t in titles)
        assert "Reset the demo world" not in titles
        assert any(t.startswith("Network:") for t in titles)
        # a trainee in a classroom can still ask for their own new teacher
        assert "Classroom: a fresh new-teacher account for me" in titles


# ---------------------------------------------------------------- reset


async def test_reset_asks_first_and_restores_the_embedded_world(tui_home):
    from esep_tui.app import EsepApp
    from esep_tui.embedded import database_path

    app = EsepApp(start="persona", probe_interval=None, start_delay=0.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.connection.is_embedded
        await run_command(app, pilot, "Persona: A brand-new teacher")
        assert app.account.email.startswith("new.teacher.")
        replicas = tui_home / "data" / "replicas"
        app.connection.engine()
        assert any(replicas.rglob("*.sqlite3"))

        await run_command(app, pilot, "Reset the demo world")
        assert isinstance(app.screen, ConfirmReset)
        await pilot.press("n")  # no: nothing happens
        await settle(app, pilot)
        assert app.account is not None

        await run_command(app, pilot, "Reset the demo world")
        await pilot.press("y")
        for _ in range(100):
            await settle(app, pilot)
            if app.connection.client is not None and isinstance(app.screen, PersonaScreen):
                break
            await asyncio.sleep(0.1)
        assert isinstance(app.screen, PersonaScreen)
        assert app.account is None
        assert not any(replicas.rglob("*.sqlite3"))
        assert await app.connection.client.probe()
    # the new teacher of before is gone; the seeded people are back
    backend_app = create_app(f"sqlite:///{database_path()}", migrate=False)
    try:
        with backend_app.state.sessionmaker() as db:
            assert db.scalar(select(func.count()).where(Account.email.like("new.teacher.%"))) == 0
            assert db.scalar(select(func.count()).where(Account.email == MARIA)) == 1
    finally:
        backend_app.state.engine.dispose()


async def test_reset_is_refused_away_from_the_embedded_server(tui_home, backend):
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.trainer.confirm_reset()
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmReset)
        assert isinstance(app.screen, SignInScreen)


# ---------------------------------------------------------------- the tour


def panel_text(app) -> str:
    panel = app.screen.query_one(TourPanel)
    return "\n".join(str(s.render()) for s in panel.query("Static"))


async def test_the_tour_toggles_with_one_key_and_follows_the_steps(tui_home, backend):
    make_account(backend, email="new@example.org", name="New Teacher")
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("f4")
        await settle(app, pilot)
        assert "Three ways in" in panel_text(app)
        assert "step 1 of" in panel_text(app)
        await pilot.press("f4")
        await settle(app, pilot)
        assert not app.screen.query(TourPanel)
        await pilot.press("f4")
        await pilot.press(*"new@example.org", "enter", *PASSWORD, "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        # signed in: the panel moved to the new screen, one step further
        text = panel_text(app)
        assert "Complete the platform form" in text
        assert "✓ Three ways in" in text


@pytest.mark.parametrize(
    ("staff", "expected"), [(None, "Find partners"), ("GR", "Validation queues")]
)
async def test_the_tour_knows_a_validated_teacher_and_staff(tui_home, backend, staff, expected):
    make_teacher(backend, email="someone@example.org", staff_country=staff, with_org=not staff)
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"someone@example.org", "enter", *PASSWORD, "enter")
        await settle(app, pilot)
        await pilot.press("f4")
        await settle(app, pilot)
        assert f"▸ {expected}" in panel_text(app)


async def test_the_tour_speaks_the_interface_language(tui_home, backend):
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("f4")
        await settle(app, pilot)
        app.set_language("el")
        await settle(app, pilot)
        assert "Τρεις τρόποι εισόδου" in panel_text(app)
        app.set_language("pl")
        await settle(app, pilot)
        assert "Trzy sposoby na start" in panel_text(app)
