"""People search, public profiles, contacts (request, accept, decline, remove), notifications."""

from __future__ import annotations

from sqlalchemy import select

from reference_backend.tables import Change, User
from tests.factories import make_account, make_staff, make_teacher


def _set(app, user_id: str, **values) -> None:
    with app.state.sessionmaker() as db, db.begin():
        user = db.get(User, user_id)
        for k, v in values.items():
            setattr(user, k, v)


def _request(client, a, b, note=""):
    return client.post("/contacts", json={"user_id": b.user_id, "note": note}, headers=a.headers)


def befriend(client, a, b) -> str:
    r = _request(client, a, b)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert client.post(f"/contacts/{cid}/accept", headers=b.headers).status_code == 200
    return cid


# --- people search -------------------------------------------------------------------------


def test_people_search_folds_names_and_filters(client, app):
    me = make_teacher(app)
    anna = make_teacher(app, first_name="Łucja", last_name="Wiśniewska", country="PL")
    _set(app, anna.user_id, subjects=["History", "Geography"], languages=["pl", "en"])
    bob = make_teacher(app, first_name="Bob", last_name="Smith", country="IE")
    _set(app, bob.user_id, pupil_age_min=14, pupil_age_max=18, languages=["en"])

    r = client.get("/people", params={"q": "lucja wisn"}, headers=me.headers)
    assert r.status_code == 200
    assert [p["id"] for p in r.json()["items"]] == [anna.user_id]
    person = r.json()["items"][0]
    assert person["name"] == "Łucja Wiśniewska"
    assert "email" not in person and anna.email not in r.text
    assert person["schools"] and person["schools"][0]["public_name"].startswith("School")

    def ids(**params):
        res = client.get("/people", params=params, headers=me.headers)
        assert res.status_code == 200, res.text
        return {p["id"] for p in res.json()["items"]}

    assert ids(country="PL") == {anna.user_id}
    assert ids(subject="history") == {anna.user_id}
    assert ids(language="pl") == {anna.user_id}
    assert ids(language="en") == {anna.user_id, bob.user_id}
    assert ids(age=16) == {bob.user_id}
    assert ids(age=10) == {anna.user_id}
    assert ids(subject="Physics") == set()
    # the caller is not listed among the people they can find
    assert me.user_id not in ids()


def test_people_search_shows_only_validated_active_public_teachers(client, app):
    me = make_teacher(app)
    visible = make_teacher(app, last_name="Visible")
    make_teacher(app, last_name="Pending", state="etwinning_pending")
    hidden = make_teacher(app, last_name="Private")
    _set(app, hidden.user_id, visibility="contacts")
    off = make_teacher(app, last_name="Switchedoff")
    _set(app, off.user_id, active=False)
    make_staff(app, "GR")
    r = client.get("/people", headers=me.headers)
    assert {p["id"] for p in r.json()["items"]} == {visible.user_id}
    assert r.json()["total"] == 1
    # a private profile is 404 to strangers, but visible once there is a contact
    assert client.get(f"/people/{hidden.user_id}", headers=me.headers).status_code == 404
    _set(app, hidden.user_id, visibility="platform")
    befriend(client, me, hidden)
    _set(app, hidden.user_id, visibility="contacts")
    r = client.get(f"/people/{hidden.user_id}", headers=me.headers)
    assert r.status_code == 200
    assert r.json()["contact_state"] == "accepted"


def test_people_paging(client, app):
    me = make_teacher(app)
    for i in range(5):
        make_teacher(app, first_name=f"Pagey{i}")
    r = client.get("/people", params={"q": "pagey", "limit": 2}, headers=me.headers)
    body = r.json()
    assert body["total"] == 5 and len(body["items"]) == 2 and body["next_offset"] == 2
    r = client.get("/people", params={"q": "pagey", "limit": 2, "offset": 4}, headers=me.headers)
    assert len(r.json()["items"]) == 1 and r.json()["next_offset"] is None


def test_people_needs_sign_in_and_a_platform_user(client, app):
    assert client.get("/people").status_code == 401
    account = make_account(app)
    r = client.get("/people", headers=account.headers)
    assert r.status_code == 403
    assert r.json()["code"] == "registration_incomplete"


def test_person_unknown_and_staff_are_404(client, app):
    me = make_teacher(app)
    staff = make_staff(app)
    assert client.get("/people/nope", headers=me.headers).status_code == 404
    r = client.get(f"/people/{staff.user_id}", headers=me.headers)
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


def test_hostile_query_is_not_a_500(client, app):
    me = make_teacher(app)
    for q in ("%", "_", "!", "' OR 1=1 --", "\\", "ü" * 200):
        r = client.get("/people", params={"q": q, "subject": q[:100]}, headers=me.headers)
        assert r.status_code == 200
    assert client.get("/people", params={"age": -1}, headers=me.headers).status_code == 422


# --- contacts ------------------------------------------------------------------------------


def test_request_accept_notifies_and_lists_both_ways(client, app):
    a, b = make_teacher(app), make_teacher(app)
    r = _request(client, a, b, note="Shall we do a project on rivers?")
    assert r.status_code == 201
    contact = r.json()
    assert r.headers["location"] == f"/contacts/{contact['id']}"
    assert contact["state"] == "pending" and contact["direction"] == "outgoing"
    assert contact["person"]["id"] == b.user_id

    incoming = client.get("/contacts", headers=b.headers).json()["items"]
    assert [(c["id"], c["direction"]) for c in incoming] == [(contact["id"], "incoming")]
    notes = client.get("/notifications", headers=b.headers).json()
    assert notes["unread"] == 1 and notes["items"][0]["kind"] == "contact_request"
    assert notes["items"][0]["subject_id"] == contact["id"]

    r = client.post(f"/contacts/{contact['id']}/accept", headers=b.headers)
    assert r.status_code == 200 and r.json()["state"] == "accepted"
    notes = client.get("/notifications", headers=a.headers).json()
    assert [n["kind"] for n in notes["items"]] == ["contact_accepted"]
    listed = client.get("/contacts", params={"state": "accepted"}, headers=a.headers).json()
    assert [c["person"]["id"] for c in listed["items"]] == [b.user_id]
    # the person view knows the contact too
    assert (
        client.get(f"/people/{b.user_id}", headers=a.headers).json()["contact_state"] == "accepted"
    )
    # the change feed carries the contact to both sides
    feed = client.get("/sync/changes", headers=a.headers).json()["changes"]
    mine = [c for c in feed if c["entity"] == "contact"]
    assert mine and mine[-1]["data"]["state"] == "accepted"


def test_only_the_addressee_answers(client, app):
    a, b, c = make_teacher(app), make_teacher(app), make_teacher(app)
    cid = _request(client, a, b).json()["id"]
    r = client.post(f"/contacts/{cid}/accept", headers=a.headers)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = client.post(f"/contacts/{cid}/accept", headers=c.headers)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert client.delete(f"/contacts/{cid}", headers=c.headers).status_code == 404


def test_decline_then_answer_again_is_refused(client, app):
    a, b = make_teacher(app), make_teacher(app)
    cid = _request(client, a, b).json()["id"]
    r = client.post(f"/contacts/{cid}/decline", headers=b.headers)
    assert r.status_code == 200 and r.json()["state"] == "declined"
    r = client.post(f"/contacts/{cid}/accept", headers=b.headers)
    assert r.status_code == 409 and r.json()["code"] == "not_pending"
    # a declined request is not listed, and the requester is not told
    assert client.get("/contacts", headers=a.headers).json()["items"] == []
    assert client.get("/notifications", headers=a.headers).json()["items"] == []
    declined = client.get("/contacts", params={"state": "declined"}, headers=a.headers).json()
    assert [c["id"] for c in declined["items"]] == [cid]
    # asking again later is possible
    assert _request(client, a, b).status_code == 201


def test_no_self_no_duplicates(client, app):
    a, b = make_teacher(app), make_teacher(app)
    r = _request(client, a, a)
    assert r.status_code == 422 and r.json()["code"] == "self_contact"
    assert r.json()["field"] == "user_id"
    assert _request(client, a, b).status_code == 201
    r = _request(client, a, b)
    assert r.status_code == 409 and r.json()["code"] == "exists"
    r = _request(client, b, a)  # the other way round while pending
    assert r.status_code == 409 and r.json()["code"] == "exists"
    assert "accept" in r.json()["message"]


def test_only_people_available_for_projects_can_be_added(client, app):
    a = make_teacher(app)
    busy = make_teacher(app, available=False)
    r = _request(client, a, busy)
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "not_available"
    assert [x["code"] for x in body["reasons"]] == ["not_available_for_projects"]
    off = make_teacher(app, available=False)
    _set(app, off.user_id, active=False)
    r = _request(client, a, off)
    assert {x["code"] for x in r.json()["reasons"]} == {"inactive", "not_available_for_projects"}


def test_unknown_or_staff_person_is_404_and_staff_cannot_add(client, app):
    a = make_teacher(app)
    staff = make_staff(app)
    r = client.post("/contacts", json={"user_id": "nobody"}, headers=a.headers)
    assert r.status_code == 404
    assert _request(client, a, staff).status_code == 404
    r = _request(client, staff, a)
    assert r.status_code == 403 and r.json()["code"] == "staff"


def test_remove_by_either_side(client, app):
    a, b = make_teacher(app), make_teacher(app)
    cid = befriend(client, a, b)
    assert client.delete(f"/contacts/{cid}", headers=b.headers).status_code == 204
    assert client.get("/contacts", headers=a.headers).json()["items"] == []
    assert client.delete(f"/contacts/{cid}", headers=a.headers).status_code == 404
    with app.state.sessionmaker() as db:
        ops = db.execute(
            select(Change.audience, Change.op).where(
                Change.entity == "contact", Change.entity_id == cid, Change.op == "delete"
            )
        ).all()
    assert {aud for aud, _ in ops} == {f"user:{a.user_id}", f"user:{b.user_id}"}


def test_client_id_and_validation(client, app):
    a, b, c = make_teacher(app), make_teacher(app), make_teacher(app)
    cid = "7b0f6f57-8d53-4f40-9a8e-0f4a5f2b8b11"
    r = client.post("/contacts", json={"id": cid, "user_id": b.user_id}, headers=a.headers)
    assert r.status_code == 201 and r.json()["id"] == cid
    r = client.post("/contacts", json={"id": cid, "user_id": c.user_id}, headers=a.headers)
    assert r.status_code == 409 and r.json()["code"] == "exists"
    r = client.post("/contacts", json={"id": "not-a-uuid", "user_id": c.user_id}, headers=a.headers)
    assert r.status_code == 422 and r.json()["field"] == "id"
    r = client.post("/contacts", json={"user_id": c.user_id, "note": "x" * 1001}, headers=a.headers)
    assert r.status_code == 422 and r.json()["field"] == "note"
    r = client.post("/contacts", json={"user_id": c.user_id, "extra": 1}, headers=a.headers)
    assert r.status_code == 422


# --- notifications -------------------------------------------------------------------------


def test_notifications_read_and_privacy(client, app):
    a, b, c = make_teacher(app), make_teacher(app), make_teacher(app)
    _request(client, a, c)
    _request(client, b, c)
    page = client.get("/notifications", headers=c.headers).json()
    assert page["unread"] == 2 and page["total"] == 2
    newest = page["items"][0]
    assert b.user_id not in newest["text"]  # texts name people, not ids
    assert "asks to become your contact" in newest["text"]
    r = client.post(f"/notifications/{newest['id']}/read", headers=a.headers)
    assert r.status_code == 404
    r = client.post(f"/notifications/{newest['id']}/read", headers=c.headers)
    assert r.status_code == 200 and r.json()["read_at"] is not None
    again = client.post(f"/notifications/{newest['id']}/read", headers=c.headers)
    assert again.json()["read_at"] == r.json()["read_at"]
    page = client.get("/notifications", headers=c.headers).json()
    assert page["unread"] == 1
    unread = client.get("/notifications", params={"unread": True}, headers=c.headers).json()
    assert len(unread["items"]) == 1 and unread["items"][0]["id"] != newest["id"]
    feed = client.get("/sync/changes", headers=c.headers).json()["changes"]
    assert any(ch["entity"] == "notification" and ch["data"] for ch in feed)
