"""Pupil accounts: bulk creation, codes, roles, removal, sign-in and its scope."""

from __future__ import annotations

import re

from reference_backend.tables import LoginAttempt, Pupil, new_id
from tests.test_twinspace_pages import make_pupil, make_space

USERNAME = re.compile(r"^[a-z]+-[a-z]+-\d{4}$")


def _create(client, space, nicknames, headers=None, role="pupil"):
    return client.post(
        f"/projects/{space.project_id}/pupils",
        json={"nicknames": nicknames, "role": role},
        headers=headers or space.admin.headers,
    )


def _login(client, username, code):
    return client.post("/pupil-login", json={"username": username, "code": code})


def test_bulk_create_gives_pseudonyms_and_codes_shown_once(client, app):
    s = make_space(app)
    r = _create(client, s, ["Άννα", "  Piotr  ", "Maja K."])
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/projects/{s.project_id}/pupils"
    assert r.headers["cache-control"] == "no-store"
    items = r.json()["items"]
    assert [i["nickname"] for i in items] == ["Άννα", "Piotr", "Maja K."]
    assert all(USERNAME.match(i["username"]) for i in items)
    assert len({i["username"] for i in items}) == 3
    assert all(re.match(r"^[a-z2-9]{4}-[a-z2-9]{4}$", i["code"]) for i in items)
    assert all(i["role"] == "pupil" for i in items)
    listed = client.get(f"/projects/{s.project_id}/pupils", headers=s.teacher.headers).json()
    assert {p["id"] for p in listed["items"]} == {i["id"] for i in items}
    assert all("code" not in p for p in listed["items"])
    with app.state.sessionmaker() as db:
        row = db.get(Pupil, items[0]["id"])
        assert row.code_hash.startswith("$argon2id$")
        assert items[0]["code"] not in row.code_hash
        # no email, no birth date anywhere in the row
        assert not {"email", "birth_date", "birthday"} & set(Pupil.__table__.columns.keys())


def test_create_refusals(client, app):
    s = make_space(app)
    assert _create(client, s, []).status_code == 422
    assert _create(client, s, [f"kid {n}" for n in range(101)]).status_code == 422
    assert _create(client, s, ["   "]).status_code == 422
    assert _create(client, s, ["x" * 61]).status_code == 422
    assert _create(client, s, ["tab\x00kid"]).status_code == 422
    assert _create(client, s, ["ok"], role="teacher").status_code == 422
    r = client.post(
        f"/projects/{s.project_id}/pupils",
        json={"nicknames": ["a"], "email": "kid@example.org"},
        headers=s.admin.headers,
    )
    assert r.status_code == 422


def test_only_teacher_members_manage_pupils(client, app):
    s = make_space(app)
    pupil = make_pupil(client, s)
    padmin = make_pupil(client, s, role="pupil_admin", nickname="Boss")
    url = f"/projects/{s.project_id}/pupils"
    for h in (s.observer.headers, pupil["headers"], padmin["headers"]):
        assert client.get(url, headers=h).status_code == 403
        assert _create(client, s, ["A"], headers=h).status_code == 403
    for h in (s.outsider.headers, s.invited.headers):
        assert client.get(url, headers=h).status_code == 404
        assert _create(client, s, ["A"], headers=h).status_code == 404
        assert client.delete(f"/pupils/{pupil['id']}", headers=h).status_code == 404
        assert client.post(f"/pupils/{pupil['id']}/reset-code", headers=h).status_code == 404
    # pupils cannot see each other
    r = client.patch(
        f"/pupils/{pupil['id']}", json={"role": "pupil_admin"}, headers=padmin["headers"]
    )
    assert r.status_code == 404
    assert client.delete(f"/pupils/{pupil['id']}", headers=s.observer.headers).status_code == 403
    assert _create(client, s, ["A"], headers=s.partner.headers).status_code == 201
    assert _create(client, s, ["B"], headers=s.teacher.headers).status_code == 201


def test_pupil_sign_in_reaches_only_their_twinspace(client, app):
    s = make_space(app)
    other = make_space(app)
    pupil = make_pupil(client, s)
    h = pupil["headers"]
    me = client.get("/pupils/me", headers=h)
    assert me.status_code == 200 and me.json()["project_id"] == s.project_id
    assert client.get(f"/projects/{s.project_id}/pages", headers=h).status_code == 200
    page = s.pages["Getting to know each other"]
    assert client.get(f"/pages/{page}", headers=h).status_code == 200
    foreign = other.pages["Getting to know each other"]
    assert client.get(f"/projects/{other.project_id}/pages", headers=h).status_code == 404
    assert client.get(f"/pages/{foreign}", headers=h).status_code == 404
    assert client.get(f"/pages/{foreign}/history", headers=h).status_code == 404
    assert client.get(f"/pages/{foreign}/materials", headers=h).status_code == 404
    assert client.post(f"/pages/{foreign}/sync", json={}, headers=h).status_code == 404
    # and none of the teachers' platform
    assert client.get("/eulogin/me", headers=h).status_code == 403
    assert client.get("/pupils/me", headers=s.admin.headers).status_code == 403


def test_code_is_forgiving_about_case_spaces_and_dashes(client, app):
    s = make_space(app)
    item = _create(client, s, ["Kid"]).json()["items"][0]
    typed = " " + item["code"].upper().replace("-", " ") + " "
    r = _login(client, item["username"].upper(), typed)
    assert r.status_code == 201, r.text
    assert r.json()["pupil_id"] == item["id"] and r.json()["account_id"] is None
    assert r.headers["location"] == "/pupils/me"


def test_unknown_username_and_wrong_code_answer_the_same(client, app):
    s = make_space(app)
    item = _create(client, s, ["Kid"]).json()["items"][0]
    wrong = _login(client, item["username"], "aaaa-aaaa")
    unknown = _login(client, "pink-unicorn-0000", "aaaa-aaaa")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["code"] == "invalid_credentials"
    assert set(wrong.headers) == set(unknown.headers)
    with app.state.sessionmaker() as db:
        keys = {row.key for row in db.query(LoginAttempt)}
    assert f"pupil:{item['username']}" in keys


def test_eleventh_failure_is_rate_limited(client, app):
    s = make_space(app)
    item = _create(client, s, ["Kid"]).json()["items"][0]
    for _ in range(10):
        assert _login(client, item["username"], "zzzz-zzzz").status_code == 401
    r = _login(client, item["username"], "zzzz-zzzz")
    assert r.status_code == 429 and r.json()["code"] == "too_many_attempts"
    assert "retry-after" in r.headers
    assert _login(client, item["username"], item["code"]).status_code == 429


def test_reset_code_ends_old_code_and_sessions(client, app):
    s = make_space(app)
    pupil = make_pupil(client, s)
    r = client.post(f"/pupils/{pupil['id']}/reset-code", headers=s.teacher.headers)
    assert r.status_code == 200, r.text
    new_code = r.json()["code"]
    assert new_code != pupil["code"]
    assert r.headers["cache-control"] == "no-store"
    assert client.get("/pupils/me", headers=pupil["headers"]).status_code == 401
    assert _login(client, pupil["username"], pupil["code"]).status_code == 401
    assert _login(client, pupil["username"], new_code).status_code == 201


def test_switching_to_pupil_admin_allows_editing(client, app):
    from api_client import crdt
    from tests.test_twinspace_pages import b64, fetch_doc

    s = make_space(app)
    pupil = make_pupil(client, s)
    page = s.pages["Getting to know each other"]
    doc, meta = fetch_doc(client, page, pupil["headers"])
    crdt.set_text(doc, "Our class says hello")
    body = {
        "state_vector": b64(doc.get_state()),
        "update": b64(doc.get_update(crdt.b64decode(meta["state_vector"]))),
    }
    assert (
        client.post(f"/pages/{page}/sync", json=body, headers=pupil["headers"]).status_code == 403
    )
    r = client.patch(
        f"/pupils/{pupil['id']}", json={"role": "pupil_admin"}, headers=s.admin.headers
    )
    assert r.status_code == 200 and r.json()["role"] == "pupil_admin"
    assert (
        client.post(f"/pages/{page}/sync", json=body, headers=pupil["headers"]).status_code == 200
    )
    assert (
        client.patch(
            f"/pupils/{pupil['id']}", json={"role": "boss"}, headers=s.admin.headers
        ).status_code
        == 422
    )
    feed = client.get("/sync/changes", headers=pupil["headers"]).json()["changes"]
    mine = [c for c in feed if c["entity"] == "pupil" and c["id"] == pupil["id"]]
    assert mine and mine[-1]["data"]["role"] == "pupil_admin"


def test_pupil_records_in_the_feed_reach_teachers_only(client, app):
    s = make_space(app)
    pupil = make_pupil(client, s)
    other = make_pupil(client, s, nickname="Other kid")
    teacher_feed = client.get("/sync/changes", headers=s.teacher.headers).json()["changes"]
    entry = next(c for c in teacher_feed if c["id"] == other["id"])
    assert entry["data"]["nickname"] == "Other kid"
    pupil_feed = client.get("/sync/changes", headers=pupil["headers"]).json()["changes"]
    assert all(c["data"] is None for c in pupil_feed if c["id"] == other["id"])
    observer_feed = client.get("/sync/changes", headers=s.observer.headers).json()["changes"]
    assert all(c["data"] is None for c in observer_feed if c["entity"] == "pupil")


def test_delete_pupil_ends_their_sessions(client, app):
    s = make_space(app)
    pupil = make_pupil(client, s)
    assert client.delete(f"/pupils/{pupil['id']}", headers=s.admin.headers).status_code == 204
    assert client.get("/pupils/me", headers=pupil["headers"]).status_code == 401
    assert _login(client, pupil["username"], pupil["code"]).status_code == 401
    assert client.delete(f"/pupils/{pupil['id']}", headers=s.admin.headers).status_code == 404
    assert client.delete(f"/pupils/{new_id()}", headers=s.admin.headers).status_code == 404
    assert client.delete(f"/pupils/{'x' * 500}", headers=s.admin.headers).status_code == 404


def test_closed_project_pupils_read_but_accounts_cannot_change_except_removal(client, app):
    s = make_space(app)
    pupil = make_pupil(client, s)
    with app.state.sessionmaker() as db, db.begin():
        from reference_backend.tables import Project

        db.get(Project, s.project_id).state = "closed"
    assert (
        client.get(f"/projects/{s.project_id}/pages", headers=pupil["headers"]).status_code == 200
    )
    assert _login(client, pupil["username"], pupil["code"]).status_code == 201
    for r in (
        _create(client, s, ["Late"]),
        client.post(f"/pupils/{pupil['id']}/reset-code", headers=s.admin.headers),
        client.patch(
            f"/pupils/{pupil['id']}", json={"role": "pupil_admin"}, headers=s.admin.headers
        ),
    ):
        assert r.status_code == 409 and r.json()["code"] == "twinspace_read_only"
    assert (
        client.get(f"/projects/{s.project_id}/pupils", headers=s.admin.headers).status_code == 200
    )
    assert client.delete(f"/pupils/{pupil['id']}", headers=s.admin.headers).status_code == 204


def test_no_pupils_before_the_twinspace_opens(client, app):
    s = make_space(app, state="awaiting_nso")
    r = _create(client, s, ["Early"])
    assert r.status_code == 409 and r.json()["code"] == "twinspace_not_open"


def test_login_input_bounds(client):
    assert client.post("/pupil-login", json={"username": "", "code": "x"}).status_code == 422
    assert client.post("/pupil-login", json={"username": "a" * 61, "code": "x"}).status_code == 422
    assert client.post("/pupil-login", json={"username": "a"}).status_code == 422
    r = client.post("/pupil-login", json={"username": "a'; DROP TABLE pupils;--", "code": "x"})
    assert r.status_code == 401
