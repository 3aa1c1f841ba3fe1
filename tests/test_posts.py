"""Partner-finding posts: publish, filter, expiry, interest, reports, deletion."""

from __future__ import annotations

from datetime import timedelta

from reference_backend import clock
from reference_backend.tables import PartnerPost
from tests.factories import make_staff, make_teacher


def _expire(app, post_id: str) -> None:
    """Make a post's expiry pass (moving the clock would also end the test sessions)."""
    with app.state.sessionmaker() as db, db.begin():
        db.get(PartnerPost, post_id).expires_at = clock.now() - timedelta(seconds=1)


def _post(client, who, **over):
    body = {
        "title": "Rivers of Europe",
        "description": "A year of measuring water quality with pupils in two countries.",
        "subjects": ["Biology", "Geography"],
        "languages": ["en", "fr"],
        "pupil_age_min": 10,
        "pupil_age_max": 12,
    }
    body.update(over)
    return client.post("/posts", json=body, headers=who.headers)


def test_create_defaults_and_location(client, app):
    t = make_teacher(app, country="FR")
    r = _post(client, t)
    assert r.status_code == 201, r.text
    post = r.json()
    assert r.headers["location"] == f"/posts/{post['id']}"
    assert post["country"] == "FR" and post["mine"] is True and post["interests"] == []
    from datetime import datetime

    expires = datetime.fromisoformat(post["expires_at"])
    created = datetime.fromisoformat(post["created_at"])
    assert timedelta(days=89) < expires - created <= timedelta(days=90, seconds=5)
    assert client.get(f"/posts/{post['id']}", headers=t.headers).json()["title"] == post["title"]


def test_only_validated_teachers_post(client, app):
    pending = make_teacher(app, state="etwinning_pending")
    r = _post(client, pending)
    assert r.status_code == 409
    assert r.json()["code"] == "not_validated"
    assert "validation_pending" in [x["code"] for x in r.json()["reasons"]]
    staff = make_staff(app)
    r = _post(client, staff)
    assert r.status_code == 403 and r.json()["code"] == "staff"


def test_limits(client, app):
    t = make_teacher(app)
    now = clock.now()
    r = _post(client, t, expires_at=(now + timedelta(days=400)).isoformat())
    assert r.status_code == 422 and r.json()["field"] == "expires_at"
    r = _post(client, t, expires_at=(now - timedelta(days=1)).isoformat())
    assert r.status_code == 422 and r.json()["field"] == "expires_at"
    r = _post(client, t, pupil_age_min=14, pupil_age_max=10)
    assert r.status_code == 422 and r.json()["field"] == "pupil_age_max"
    r = _post(client, t, country="US")
    assert r.status_code == 422 and r.json()["field"] == "country"
    r = _post(client, t, title="x" * 201)
    assert r.status_code == 422 and r.json()["field"] == "title"
    r = _post(client, t, subjects=[])
    assert r.status_code == 422 and r.json()["field"] == "subjects"
    r = _post(client, t, subjects=["x"] * 11)
    assert r.status_code == 422
    r = _post(client, t, expires_at="not a date")
    assert r.status_code == 422
    ok = _post(client, t, expires_at=(now + timedelta(days=365)).isoformat())
    assert ok.status_code == 201


def test_client_id_conflict(client, app):
    t = make_teacher(app)
    pid = "0a3ef0a4-0c60-4d9e-9f29-5cf7a0e8b0a1"
    assert _post(client, t, id=pid).json()["id"] == pid
    r = _post(client, t, id=pid)
    assert r.status_code == 409 and r.json()["code"] == "exists"


def test_filters_and_expiry(client, app):
    a, b, reader = make_teacher(app, country="PL"), make_teacher(app), make_teacher(app)
    rivers = _post(client, a, country="PL", title="Rzeki Europy: woda").json()["id"]
    space = _post(
        client,
        b,
        title="Space robots",
        description="Coding rovers",
        subjects=["Informatics"],
        languages=["de"],
        pupil_age_min=15,
        pupil_age_max=18,
        expires_at=(clock.now() + timedelta(days=10)).isoformat(),
    ).json()["id"]

    def ids(**params):
        r = client.get("/posts", params=params, headers=reader.headers)
        assert r.status_code == 200, r.text
        return [p["id"] for p in r.json()["items"]]

    assert ids() == [space, rivers]  # newest first
    assert ids(country="PL") == [rivers]
    assert ids(subject="informatics") == [space]
    assert ids(language="fr") == [rivers]
    assert ids(age=16) == [space]
    assert ids(age=11) == [rivers]
    assert ids(q="rzeki") == [rivers]
    assert ids(q="ROBOTS rovers") == [space]
    assert ids(q="nothing here") == []
    _expire(app, space)
    assert ids() == [rivers]
    assert client.get(f"/posts/{space}", headers=reader.headers).status_code == 404
    # the author still sees it, marked expired
    r = client.get(f"/posts/{space}", headers=b.headers)
    assert r.status_code == 200 and r.json()["expired"] is True
    mine = client.get("/posts", params={"mine": True}, headers=b.headers).json()["items"]
    assert [p["id"] for p in mine] == [space]


def test_interest_once_not_own_and_notifies(client, app):
    author, fan = make_teacher(app), make_teacher(app)
    pid = _post(client, author).json()["id"]
    r = client.post(f"/posts/{pid}/interest", json={}, headers=author.headers)
    assert r.status_code == 409 and r.json()["code"] == "own_post"
    r = client.post(f"/posts/{pid}/interest", json={"note": "We are in!"}, headers=fan.headers)
    assert r.status_code == 201
    assert r.json()["interested"] is True and r.json()["interest_count"] == 1
    assert r.json()["interests"] is None  # only the author sees who
    r = client.post(f"/posts/{pid}/interest", headers=fan.headers)
    assert r.status_code == 409 and r.json()["code"] == "exists"
    notes = client.get("/notifications", headers=author.headers).json()["items"]
    assert [n["kind"] for n in notes] == ["post_interest"]
    assert "We are in!" in notes[0]["text"]
    seen = client.get(f"/posts/{pid}", headers=author.headers).json()
    assert [i["person"]["id"] for i in seen["interests"]] == [fan.user_id]
    assert seen["interests"][0]["note"] == "We are in!"
    r = client.post("/posts/missing/interest", headers=fan.headers)
    assert r.status_code == 404


def test_three_reports_hide_a_post(client, app):
    author = make_teacher(app)
    readers = [make_teacher(app) for _ in range(4)]
    pid = _post(client, author).json()["id"]
    r = client.post(f"/posts/{pid}/report", json={"reason": "spam"}, headers=author.headers)
    assert r.status_code == 409 and r.json()["code"] == "own_post"
    r = client.post(f"/posts/{pid}/report", json={"reason": ""}, headers=readers[0].headers)
    assert r.status_code == 422 and r.json()["field"] == "reason"
    for i, reader in enumerate(readers[:3]):
        r = client.post(f"/posts/{pid}/report", json={"reason": "spam"}, headers=reader.headers)
        assert r.status_code == 201
        assert r.json()["reported"] is True
        assert r.json()["hidden"] is (i == 2)
        if i == 0:
            again = client.post(
                f"/posts/{pid}/report", json={"reason": "spam"}, headers=reader.headers
            )
            assert again.status_code == 409 and again.json()["code"] == "exists"
    listed = client.get("/posts", headers=readers[3].headers).json()["items"]
    assert listed == []
    assert client.get(f"/posts/{pid}", headers=readers[3].headers).status_code == 404
    mine = client.get(f"/posts/{pid}", headers=author.headers).json()
    assert mine["hidden"] is True
    kinds = [
        n["kind"] for n in client.get("/notifications", headers=author.headers).json()["items"]
    ]
    assert kinds == ["post_hidden"]


def test_delete_author_only(client, app):
    author, other = make_teacher(app), make_teacher(app)
    pid = _post(client, author).json()["id"]
    client.post(f"/posts/{pid}/interest", headers=other.headers)
    r = client.delete(f"/posts/{pid}", headers=other.headers)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert client.delete(f"/posts/{pid}", headers=author.headers).status_code == 204
    assert client.get(f"/posts/{pid}", headers=author.headers).status_code == 404
    assert client.delete(f"/posts/{pid}", headers=author.headers).status_code == 404
    feed = client.get("/sync/changes", headers=other.headers).json()["changes"]
    assert [c["op"] for c in feed if c["entity"] == "post" and c["id"] == pid] == ["delete"]


def test_change_feed_carries_posts(client, app):
    author = make_teacher(app)
    pid = _post(client, author).json()["id"]
    feed = client.get("/sync/changes", headers=author.headers).json()["changes"]
    item = next(c for c in feed if c["entity"] == "post")
    assert item["id"] == pid and item["data"]["title"] == "Rivers of Europe"
