"""Platform registration, the profile, memberships and the eTwinning application."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from reference_backend import clock
from reference_backend.tables import Application, Change, LegacyAccount, Organisation, User
from tests.factories import make_account, make_org, make_teacher

FORM = {"capacity": "school_staff", "country": "GR", "first_name": "Eleni", "last_name": "Papa"}


def _register(client, persona, **overrides):
    return client.post(
        "/platform/registration", json={**FORM, **overrides}, headers=persona.headers
    )


def _legacy(app, email, **kw):
    data = dict(
        email=email,
        platform="etwinning",
        first_name="Jan",
        last_name="Kowalski",
        country="PL",
        subjects=["History"],
        languages=["pl", "en"],
        description="Old profile text",
    )
    data.update(kw)
    with app.state.sessionmaker() as db, db.begin():
        row = LegacyAccount(**data)
        db.add(row)
        db.flush()
        return row.id


def _changes(app, audience, entity):
    with app.state.sessionmaker() as db:
        return list(
            db.scalars(
                select(Change.entity_id).where(Change.audience == audience, Change.entity == entity)
            )
        )


# --- the platform form -----------------------------------------------------------------------


def test_form_depends_on_capacity(client):
    school = client.get("/platform/form", params={"capacity": "school_staff"}).json()
    names = [f["name"] for f in school["fields"]]
    assert names == ["capacity", "country", "first_name", "last_name"]
    country = next(f for f in school["fields"] if f["name"] == "country")
    assert len(country["choices"]) == 46
    researcher = client.get("/platform/form", params={"capacity": "researcher"}).json()
    assert "institution" in [f["name"] for f in researcher["fields"]]
    other = client.get("/platform/form", params={"capacity": "other"}).json()
    assert next(f for f in other["fields"] if f["name"] == "capacity_other")["required"]


def test_form_unknown_capacity_is_422(client):
    r = client.get("/platform/form", params={"capacity": "astronaut"})
    assert r.status_code == 422
    assert r.json()["field"] == "capacity"


def test_registration_creates_esep_registered_user(client, app):
    p = make_account(app)
    r = _register(client, p)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == "/users/me"
    body = r.json()
    assert body["legacy_linked"] is False
    user = body["user"]
    assert user["state"] == "esep_registered"
    assert user["registration_step"] == "join_etwinning"
    assert user["country"] == "GR"
    me = client.get("/users/me", headers=p.headers).json()
    assert me["id"] == user["id"]
    assert _changes(app, f"user:{user['id']}", "user") == [user["id"]]


def test_registration_required_field_per_capacity(client, app):
    p = make_account(app)
    r = _register(client, p, capacity="researcher")
    assert r.status_code == 422
    assert r.json()["field"] == "institution"
    r = _register(client, p, capacity="other")
    assert r.status_code == 422
    assert r.json()["field"] == "capacity_other"
    r = _register(client, p, last_name="")
    assert r.status_code == 422
    assert r.json()["field"] == "last_name"
    ok = _register(client, p, capacity="researcher", institution="University of Crete")
    assert ok.status_code == 201
    assert ok.json()["user"]["institution"] == "University of Crete"


def test_registration_country_must_be_etwinning(client, app):
    p = make_account(app)
    r = _register(client, p, country="US")
    assert r.status_code == 422
    assert r.json()["field"] == "country"


def test_registration_twice_is_409(client, app):
    p = make_account(app)
    assert _register(client, p).status_code == 201
    r = _register(client, p)
    assert r.status_code == 409
    assert r.json()["code"] == "already_registered"


def test_users_me_before_registration_is_registration_incomplete(client, app):
    p = make_account(app)
    r = client.get("/users/me", headers=p.headers)
    assert r.status_code == 403
    assert r.json()["code"] == "registration_incomplete"


def test_legacy_account_is_linked_and_migrated(client, app):
    p = make_account(app, email="Jan.Kowalski@example.pl")
    legacy_id = _legacy(app, "jan.kowalski@example.pl")
    r = client.post("/platform/registration", json={"capacity": "school_staff"}, headers=p.headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["legacy_linked"] is True
    assert body["legacy_platform"] == "etwinning"
    user = body["user"]
    assert (user["first_name"], user["last_name"], user["country"]) == ("Jan", "Kowalski", "PL")
    assert user["subjects"] == ["History"]
    assert user["languages"] == ["pl", "en"]
    assert user["description"] == "Old profile text"
    assert user["legacy"]["id"] == legacy_id
    with app.state.sessionmaker() as db:
        row = db.get(LegacyAccount, legacy_id)
        assert row.migrated_to == user["id"]
        assert row.migrated_at is not None


def test_legacy_names_given_in_the_form_win(client, app):
    p = make_account(app, email="kasia@example.pl")
    _legacy(app, "kasia@example.pl", first_name="Katarzyna", last_name="Old")
    r = client.post(
        "/platform/registration",
        json={"capacity": "school_staff", "first_name": "Kasia", "last_name": "Nowak"},
        headers=p.headers,
    )
    user = r.json()["user"]
    assert (user["first_name"], user["last_name"], user["country"]) == ("Kasia", "Nowak", "PL")


def test_migrated_legacy_account_is_not_linked_twice(client, app):
    first = make_account(app, email="twice@example.pl")
    _legacy(app, "twice@example.pl")
    assert _register(client, first).json()["legacy_linked"] is True
    # the same legacy account is never linked to another platform user
    with app.state.sessionmaker() as db:
        assert db.scalar(select(LegacyAccount.migrated_to)) is not None


# --- profile ---------------------------------------------------------------------------------


def test_profile_patch_with_if_match_bumps_version(client, app):
    t = make_teacher(app)
    me = client.get("/users/me", headers=t.headers).json()
    r = client.patch(
        "/users/me/profile",
        json={
            "subjects": ["Physics", "Physics", "Music"],
            "languages": ["EL", "en"],
            "pupil_age_min": 10,
            "pupil_age_max": 14,
            "description": "Science teacher",
            "visibility": "contacts",
            "available_for_projects": False,
        },
        headers={**t.headers, "If-Match": str(me["version"])},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == me["version"] + 1
    assert body["subjects"] == ["Physics", "Music"]
    assert body["languages"] == ["el", "en"]
    assert body["visibility"] == "contacts"
    assert body["available_for_projects"] is False
    stale = client.patch(
        "/users/me/profile",
        json={"description": "x"},
        headers={**t.headers, "If-Match": str(me["version"])},
    )
    assert stale.status_code == 412
    assert stale.json()["code"] == "version_conflict"


def test_profile_age_range_is_validated(client, app):
    t = make_teacher(app)  # ages 8..12
    r = client.patch("/users/me/profile", json={"pupil_age_min": 13}, headers=t.headers)
    assert r.status_code == 422
    assert r.json()["field"] == "pupil_age_min"
    r = client.patch("/users/me/profile", json={"pupil_age_max": 99}, headers=t.headers)
    assert r.status_code == 422
    assert r.json()["field"] == "pupil_age_max"
    r = client.patch("/users/me/profile", json={"visibility": "everyone"}, headers=t.headers)
    assert r.status_code == 422
    r = client.patch("/users/me/profile", json={"subjects": None}, headers=t.headers)
    assert r.status_code == 422
    assert r.json()["field"] == "subjects"
    r = client.patch("/users/me/profile", json={"nickname": "x"}, headers=t.headers)
    assert r.status_code == 422
    cleared = client.patch("/users/me/profile", json={"pupil_age_min": None}, headers=t.headers)
    assert cleared.status_code == 200
    assert cleared.json()["pupil_age_min"] is None


def test_switched_off_user_reads_but_cannot_write(client, app):
    t = make_teacher(app)
    with app.state.sessionmaker() as db, db.begin():
        db.get(User, t.user_id).active = False
    me = client.get("/users/me", headers=t.headers)
    assert me.status_code == 200
    assert me.json()["active"] is False
    r = client.patch("/users/me/profile", json={"description": "x"}, headers=t.headers)
    assert r.status_code == 403
    assert r.json()["code"] == "inactive"


# --- memberships -----------------------------------------------------------------------------


def test_add_leave_and_add_again(client, app):
    t = make_teacher(app, with_org=False)
    org = make_org(app)
    r = client.post(
        "/users/me/memberships", json={"org_id": org, "role": "teacher"}, headers=t.headers
    )
    assert r.status_code == 201, r.text
    first = r.json()
    assert r.headers["location"] == f"/users/me/memberships/{first['id']}"
    assert first["standing"] == "etwinning"
    assert first["org"]["id"] == org
    again = client.post(
        "/users/me/memberships", json={"org_id": org, "role": "teacher"}, headers=t.headers
    )
    assert again.status_code == 409
    assert again.json()["code"] == "already_member"
    assert (
        client.delete(f"/users/me/memberships/{first['id']}", headers=t.headers).status_code == 204
    )
    twice = client.delete(f"/users/me/memberships/{first['id']}", headers=t.headers)
    assert twice.status_code == 409
    assert twice.json()["code"] == "already_left"
    assert client.get("/users/me/memberships", headers=t.headers).json() == []
    readd = client.post(
        "/users/me/memberships", json={"org_id": org, "role": "teacher"}, headers=t.headers
    )
    assert readd.status_code == 201
    assert readd.json()["id"] != first["id"]
    everything = client.get(
        "/users/me/memberships", params={"include_left": True}, headers=t.headers
    ).json()
    assert len(everything) == 2
    assert _changes(app, f"user:{t.user_id}", "membership").count(first["id"]) == 2


def test_membership_refusals(client, app):
    t = make_teacher(app, with_org=False)
    org = make_org(app)
    bad_role = client.post(
        "/users/me/memberships", json={"org_id": org, "role": "janitor"}, headers=t.headers
    )
    assert bad_role.status_code == 422
    assert bad_role.json()["field"] == "role"
    missing = client.post(
        "/users/me/memberships",
        json={"org_id": str(uuid.uuid4()), "role": "teacher"},
        headers=t.headers,
    )
    assert missing.status_code == 404
    rejected = make_org(app, state="rejected")
    r = client.post(
        "/users/me/memberships", json={"org_id": rejected, "role": "teacher"}, headers=t.headers
    )
    assert r.status_code == 404  # a rejected organisation is not visible to others
    bad_id = client.post(
        "/users/me/memberships",
        json={"org_id": org, "role": "teacher", "id": "not-a-uuid"},
        headers=t.headers,
    )
    assert bad_id.status_code == 422
    assert bad_id.json()["field"] == "id"


def test_client_id_and_exists(client, app):
    t = make_teacher(app, with_org=False)
    org, other = make_org(app), make_org(app)
    mid = str(uuid.uuid4())
    r = client.post(
        "/users/me/memberships",
        json={"id": mid, "org_id": org, "role": "teacher"},
        headers=t.headers,
    )
    assert r.status_code == 201
    assert r.json()["id"] == mid
    dup = client.post(
        "/users/me/memberships",
        json={"id": mid, "org_id": other, "role": "teacher"},
        headers=t.headers,
    )
    assert dup.status_code == 409
    assert dup.json()["code"] == "exists"


def test_change_role_and_foreign_membership_is_404(client, app):
    t = make_teacher(app)
    other = make_teacher(app)
    mid = t.membership_ids[0]
    r = client.patch(f"/users/me/memberships/{mid}", json={"role": "librarian"}, headers=t.headers)
    assert r.status_code == 200
    assert r.json()["role"] == "librarian"
    assert r.json()["role_label"] == "Librarian"
    foreign = client.patch(
        f"/users/me/memberships/{mid}", json={"role": "teacher"}, headers=other.headers
    )
    assert foreign.status_code == 404
    assert client.delete(f"/users/me/memberships/{mid}", headers=other.headers).status_code == 404
    client.delete(f"/users/me/memberships/{mid}", headers=t.headers)
    left = client.patch(f"/users/me/memberships/{mid}", json={"role": "teacher"}, headers=t.headers)
    assert left.status_code == 409
    assert left.json()["code"] == "membership_left"


# --- Join eTwinning --------------------------------------------------------------------------


def test_join_etwinning_files_an_application(client, app):
    t = make_teacher(app, state="esep_registered", country="PL")
    r = client.post("/users/me/etwinning", headers=t.headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["state"] == "pending"
    assert body["country"] == "PL"
    me = client.get("/users/me", headers=t.headers).json()
    assert me["state"] == "etwinning_pending"
    assert me["application"]["id"] == body["id"]
    assert _changes(app, "nso:PL", "nso_application") == [body["id"]]
    assert t.user_id in _changes(app, f"user:{t.user_id}", "user")
    again = client.post("/users/me/etwinning", headers=t.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "already_pending"
    assert again.json()["reasons"][0]["code"] == "validation_pending"


def test_company_staff_cannot_join_etwinning(client, app):
    t = make_teacher(app, state="esep_registered", role="company_staff")
    r = client.post("/users/me/etwinning", headers=t.headers)
    assert r.status_code == 409
    assert r.json()["code"] == "cannot_apply"
    reason = r.json()["reasons"][0]
    assert reason["code"] == "company_staff"
    assert reason["action"] == f"change_role:{t.membership_ids[0]}"
    me = client.get("/users/me", headers=t.headers).json()
    assert me["state"] == "esep_registered"
    assert me["registration_step"] == "organisation"


def test_join_without_organisation_is_refused(client, app):
    t = make_teacher(app, state="esep_registered", with_org=False)
    r = client.post("/users/me/etwinning", headers=t.headers)
    assert r.status_code == 409
    assert [x["code"] for x in r.json()["reasons"]] == ["no_organisation"]


def test_validated_user_cannot_apply_again(client, app):
    t = make_teacher(app)
    r = client.post("/users/me/etwinning", headers=t.headers)
    assert r.status_code == 409
    assert r.json()["code"] == "already_validated"


def test_rejected_user_can_reapply(client, app):
    t = make_teacher(app, state="etwinning_rejected")
    r = client.post("/users/me/etwinning", headers=t.headers)
    assert r.status_code == 201
    assert client.get("/users/me", headers=t.headers).json()["state"] == "etwinning_pending"


def test_info_requested_application_can_be_resent(client, app):
    t = make_teacher(app, state="etwinning_pending")
    with app.state.sessionmaker() as db, db.begin():
        db.add(
            Application(
                user_id=t.user_id, country="GR", state="info_requested", reason="Which school?"
            )
        )
    me = client.get("/users/me", headers=t.headers).json()
    assert me["registration_step"] == "organisation"
    r = client.post("/users/me/etwinning", headers=t.headers)
    assert r.status_code == 201
    with app.state.sessionmaker() as db:
        states = sorted(db.scalars(select(Application.state)))
    assert states == ["pending", "withdrawn"]


def test_request_validation_from_the_card(client, app):
    t = make_teacher(app, state="esep_registered", org_state="pending")
    card = client.get("/users/me/memberships", headers=t.headers).json()[0]
    assert "request_validation" in card["actions"]
    assert card["standing"] == "pending"
    r = client.post(
        f"/users/me/memberships/{t.membership_ids[0]}/request-validation", headers=t.headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "pending"
    # now the organisation itself is what waits (registered three days ago)
    with app.state.sessionmaker() as db, db.begin():
        db.get(Organisation, t.org_ids[0]).created_at = clock.now() - timedelta(days=3)
    again = client.post(
        f"/users/me/memberships/{t.membership_ids[0]}/request-validation", headers=t.headers
    )
    assert again.status_code == 409
    reason = again.json()["reasons"][0]
    assert reason["code"] == "organisation_pending"
    assert "3 days" in reason["message"]
    assert reason["fixed_by"] == "nso"


def test_request_validation_refusals(client, app):
    staff = make_teacher(app, state="esep_registered", role="company_staff")
    r = client.post(
        f"/users/me/memberships/{staff.membership_ids[0]}/request-validation",
        headers=staff.headers,
    )
    assert r.status_code == 409
    assert r.json()["code"] == "cannot_request_validation"
    assert r.json()["reasons"][0]["code"] == "company_staff"

    other = make_teacher(app, state="esep_registered", org_type="other")
    r = client.post(
        f"/users/me/memberships/{other.membership_ids[0]}/request-validation",
        headers=other.headers,
    )
    assert r.status_code == 409
    assert r.json()["reasons"][0]["code"] == "not_a_school"

    pending = make_teacher(app, state="etwinning_pending")
    r = client.post(
        f"/users/me/memberships/{pending.membership_ids[0]}/request-validation",
        headers=pending.headers,
    )
    assert r.status_code == 409
    assert r.json()["reasons"][0]["code"] == "validation_pending"

    foreign = client.post(
        f"/users/me/memberships/{staff.membership_ids[0]}/request-validation",
        headers=other.headers,
    )
    assert foreign.status_code == 404


# --- the wizard resumes ----------------------------------------------------------------------


def test_registration_step_walks_the_wizard(client, app):
    p = make_account(app)
    assert _register(client, p).json()["user"]["registration_step"] == "join_etwinning"
    org = make_org(app, country="GR")
    client.post("/users/me/memberships", json={"org_id": org, "role": "teacher"}, headers=p.headers)
    step = lambda: client.get("/users/me", headers=p.headers).json()["registration_step"]  # noqa: E731
    assert step() == "organisation"
    assert client.post("/users/me/etwinning", headers=p.headers).status_code == 201
    assert step() == "profile"
    client.patch("/users/me/profile", json={"subjects": ["Art"]}, headers=p.headers)
    assert step() == "finish"
    client.patch("/users/me/profile", json={"profile_done": True}, headers=p.headers)
    assert step() == "done"


def test_change_feed_serves_user_and_membership(client, app):
    t = make_teacher(app)
    client.patch("/users/me/profile", json={"description": "hello"}, headers=t.headers)
    client.patch(
        f"/users/me/memberships/{t.membership_ids[0]}",
        json={"role": "librarian"},
        headers=t.headers,
    )
    feed = client.get("/sync/changes", headers=t.headers).json()
    by_entity = {c["entity"]: c for c in feed["changes"]}
    assert by_entity["user"]["data"]["description"] == "hello"
    assert by_entity["membership"]["data"]["role"] == "librarian"
    other = make_teacher(app)
    assert client.get("/sync/changes", headers=other.headers).json()["changes"] == []
