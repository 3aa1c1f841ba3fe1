"""Find partners driven by keys: people search, contact requests, contacts, posts."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from reference_backend.tables import Contact, PartnerPost, PostInterest, PostReport
from screens.partners import PartnersScreen
from screens.partners_posts import PostFormScreen
from tests.factories import PASSWORD, make_org, make_teacher
from tests.tui_support import backend, make_app, settle, tui_home

__all__ = ["backend", "tui_home"]


async def sign_in(app, pilot, email: str) -> None:
    await settle(app, pilot)
    await pilot.press(*email, "tab", *PASSWORD, "enter")
    await settle(app, pilot)
    assert app.account is not None and app.account.email == email
    app.clear_notifications()  # the sign-in storage notice names a temporary path


async def synced(app, pilot) -> None:
    """Send what is queued and pull the change feed, then let the screen redraw."""
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


async def open_partners(app, pilot) -> PartnersScreen:
    app.push_screen(PartnersScreen())
    await synced(app, pilot)
    assert isinstance(app.screen, PartnersScreen)
    return app.screen


async def test_people_search_and_contact_request_with_a_note(tui_home, backend):
    me = make_teacher(backend, first_name="Maria", last_name="Papadopoulou", email="maria@x.eu")
    make_teacher(backend, country="PL", first_name="Katarzyna", last_name="Kowalska")
    make_teacher(backend, country="PL", first_name="Piotr", last_name="Wiśniewski")
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(app, pilot, me.email)
        await open_partners(app, pilot)
        assert "Katarzyna Kowalska" in text_of(app, "#people-list")
        # folded name search: "wisn" finds Wiśniewski, after the debounce
        await pilot.press("slash", *"wisn")
        await pilot.pause(0.5)
        await synced(app, pilot)
        listed = text_of(app, "#people-list")
        assert "Piotr Wiśniewski" in listed and "Katarzyna" not in listed
        await pilot.press("enter")  # to the list
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"Shall we do a project on water?", "enter")
        await pilot.pause()
        assert "request sent" in text_of(app, "#people-list")
        await synced(app, pilot)
    with backend.state.sessionmaker() as db:
        contact = db.scalars(select(Contact)).one()
        assert contact.requester_id == me.user_id
        assert contact.note == "Shall we do a project on water?"
        assert contact.state == "pending"


async def test_people_filters_by_country_and_subject(tui_home, backend):
    me = make_teacher(backend, email="maria@x.eu")
    make_teacher(backend, country="PL", first_name="Katarzyna", last_name="Kowalska")
    make_teacher(backend, country="IT", first_name="Giulia", last_name="Rossi")
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(app, pilot, me.email)
        await open_partners(app, pilot)
        await pilot.press("slash", "tab", *"it", "enter")
        await synced(app, pilot)
        listed = text_of(app, "#people-list")
        assert "Giulia Rossi" in listed and "Katarzyna" not in listed
        app.screen.query_one("#people-subject").value = "History"
        await pilot.pause(0.5)
        await synced(app, pilot)
        assert "Nobody matches" in text_of(app, "#people-status")


async def test_incoming_request_accepted_and_another_declined(tui_home, backend):
    me = make_teacher(backend, email="maria@x.eu")
    kasia = make_teacher(backend, country="PL", first_name="Katarzyna", last_name="Kowalska")
    piotr = make_teacher(backend, country="PL", first_name="Piotr", last_name="Nowak")
    from starlette.testclient import TestClient

    with TestClient(backend) as http:
        for who in (kasia, piotr):
            r = http.post(
                "/contacts", json={"user_id": me.user_id, "note": "hello"}, headers=who.headers
            )
            assert r.status_code == 201
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(app, pilot, me.email)
        await open_partners(app, pilot)
        await pilot.press("2")
        await synced(app, pilot)
        listed = text_of(app, "#contacts-list")
        assert "Asking to be your contact" in listed and "Katarzyna Kowalska" in listed
        pane = app.screen.query_one("ContactsPane")
        names = [(r.get("person") or {}).get("name") for r in pane.rows]
        menu = app.screen.query_one("#contacts-list")
        menu.highlighted = names.index("Katarzyna Kowalska")
        await pilot.press("a")
        names = [(r.get("person") or {}).get("name") for r in pane.rows]
        menu.highlighted = names.index("Piotr Nowak")
        await pilot.press("x")
        await synced(app, pilot)
        listed = text_of(app, "#contacts-list")
        assert "Piotr Nowak" not in listed
        assert listed.index("Contacts") < listed.index("Katarzyna Kowalska")
    with backend.state.sessionmaker() as db:
        states = {c.requester_id: c.state for c in db.scalars(select(Contact))}
    assert states == {kasia.user_id: "accepted", piotr.user_id: "declined"}


async def test_publish_post_express_interest_and_report(tui_home, backend):
    me = make_teacher(backend, email="maria@x.eu")
    other = make_teacher(backend, country="PL", first_name="Katarzyna", last_name="Kowalska")
    from starlette.testclient import TestClient

    with TestClient(backend) as http:
        r = http.post(
            "/posts",
            json={
                "title": "Water in our towns",
                "description": "Measure rain together.",
                "subjects": ["Science"],
                "languages": ["en"],
                "pupil_age_min": 9,
                "pupil_age_max": 11,
            },
            headers=other.headers,
        )
        assert r.status_code == 201
    app = make_app(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(app, pilot, me.email)
        await open_partners(app, pilot)
        await pilot.press("3")
        await synced(app, pilot)
        assert "Water in our towns" in text_of(app, "#posts-list")
        await pilot.press("i")
        await pilot.pause()
        await pilot.press(*"We would love to", "enter")
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("enter")  # empty: refused, stays open
        await pilot.pause()
        assert "required" in app.screen.query_one("FormField").error
        await pilot.press(*"duplicate", "enter")
        await synced(app, pilot)
        shown = text_of(app, "#posts-list")
        assert "interested" in shown and "reported" in shown
        # publish one of my own; a wrong age is refused next to the field, text kept
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, PostFormScreen)
        await pilot.press(*"Tales of two towns", "enter", *"Stories", "enter")
        await pilot.press(*"Literature, Art", "enter", *"en, pl", "enter")
        await pilot.press(*"12", "enter", *"8", "enter")
        await pilot.press("ctrl+s")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, PostFormScreen)
        assert "below the youngest" in form.fields["pupil_age_max"].error
        assert form.fields["title"].value == "Tales of two towns"
        form.fields["pupil_age_max"].value = "14"
        await pilot.press("ctrl+s")
        await synced(app, pilot)
        assert isinstance(app.screen, PartnersScreen)
    with backend.state.sessionmaker() as db:
        mine = db.scalars(select(PartnerPost).where(PartnerPost.author_id == me.user_id)).one()
        assert mine.subjects == ["Literature", "Art"] and mine.pupil_age_max == 14
        assert db.scalars(select(PostInterest)).one().note == "We would love to"
        assert db.scalars(select(PostReport)).one().reason == "duplicate"
        request = db.scalars(select(Contact)).one()
        assert (request.requester_id, request.addressee_id) == (me.user_id, other.user_id)
        assert request.note == "We would love to"


def test_partners_snapshot(snap_compare, tui_home, backend):
    me = make_teacher(backend, email="maria@x.eu", first_name="Maria", last_name="Papadopoulou")
    lodz = make_org(backend, country="PL", name="Szkoła Podstawowa nr 12", city="Łódź")
    roma = make_org(backend, country="IT", name="Scuola Primaria Garibaldi", city="Roma")
    make_teacher(backend, country="PL", first_name="Katarzyna", last_name="Kowalska", org_id=lodz)
    make_teacher(backend, country="IT", first_name="Giulia", last_name="Rossi", org_id=roma)

    async def run_before(pilot) -> None:
        await sign_in(pilot.app, pilot, me.email)
        await open_partners(pilot.app, pilot)
        for field in pilot.app.screen.query("Input"):
            field.cursor_blink = False
        await pilot.pause()

    assert snap_compare(make_app(backend), terminal_size=(80, 24), run_before=run_before)
