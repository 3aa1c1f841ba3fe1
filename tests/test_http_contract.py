"""What offline clients rely on: idempotent writes, conditional GETs, gzip, JSON errors."""

from __future__ import annotations

import gzip
import threading

from reference_backend.text import fold, tokens
from tests.factories import make_account

BODY = {"email": "kostas@example.org", "password": "correct horse battery", "name": "Kostas"}


def test_same_key_same_body_replays_the_first_response(client, app):
    h = {"Idempotency-Key": "k-1"}
    first = client.post("/eulogin/accounts", json=BODY, headers=h)
    again = client.post("/eulogin/accounts", json=BODY, headers=h)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    # and no second account was created: without the key the email is taken
    assert client.post("/eulogin/accounts", json=BODY).status_code == 409


def test_same_key_other_body_is_422(client):
    h = {"Idempotency-Key": "k-2"}
    assert client.post("/eulogin/accounts", json=BODY, headers=h).status_code == 201
    other = dict(BODY, email="other@example.org")
    r = client.post("/eulogin/accounts", json=other, headers=h)
    assert r.status_code == 422
    assert r.json()["code"] == "idempotency_key_reused"


def test_key_in_flight_is_409(client, app):
    from reference_backend.tables import IdempotencyRecord

    with app.state.sessionmaker() as db, db.begin():
        import hashlib

        body = client.build_request("POST", "/eulogin/accounts", json=BODY).content
        digest = hashlib.sha256(b"POST /eulogin/accounts\n" + body).hexdigest()
        db.add(
            IdempotencyRecord(
                principal="anon",
                key="k-3",
                method="POST",
                path="/eulogin/accounts",
                body_hash=digest,
                state="in_flight",
            )
        )
    r = client.post(
        "/eulogin/accounts",
        content=body,
        headers={"Idempotency-Key": "k-3", "Content-Type": "application/json"},
    )
    assert r.status_code == 409
    assert r.json()["code"] == "request_in_flight"


def test_refused_write_releases_its_key(client):
    h = {"Idempotency-Key": "k-4"}
    bad = dict(BODY, password="short")
    assert client.post("/eulogin/accounts", json=bad, headers=h).status_code == 422
    # the key was not burnt by the refusal... but a different body is a different request
    assert client.post("/eulogin/accounts", json=bad, headers=h).status_code == 422


def test_concurrent_same_key_creates_one_object(client, app):
    results = []

    def send():
        results.append(
            client.post("/eulogin/accounts", json=BODY, headers={"Idempotency-Key": "k-5"})
        )

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results)
    assert codes.count(201) >= 1
    assert set(codes) <= {201, 409}
    assert client.post("/eulogin/accounts", json=BODY).status_code == 409


def test_etag_and_304(client, app):
    p = make_account(app)
    first = client.get("/eulogin/me", headers=p.headers)
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    again = client.get("/eulogin/me", headers={**p.headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    stale = client.get("/eulogin/me", headers={**p.headers, "If-None-Match": 'W/"nope"'})
    assert stale.status_code == 200


def test_large_responses_are_gzipped(client):
    r = client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("content-encoding") == "gzip"
    raw = client.get("/openapi.json", headers={"Accept-Encoding": "identity"})
    assert len(gzip.compress(raw.content)) < len(raw.content)


def test_unknown_route_and_bad_json_are_json_errors(client):
    r = client.get("/no/such/thing")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = client.post(
        "/eulogin/accounts", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid"
    r = client.post("/eulogin/accounts", json={**BODY, "extra": 1})
    assert r.status_code == 422 and r.json()["field"] == "extra"


def test_folding_cases():
    assert fold("Szkoła") == fold("szkola") == "szkola"
    assert fold("Straße") == "strasse"
    assert fold("Δημοτικό") == fold("δημοτικο") == "δημοτικο"
    assert fold("ΣΧΟΛΕΙΟ") == fold("σχολειο")
    assert fold("Łódź") == "lodz"
    assert fold("Ørsted") == "orsted"
    assert fold("Ærø") == "aero"
    assert fold("Đakovo") == "dakovo"
    assert fold("Œuvre") == "oeuvre"
    assert fold("Ἀθῆναι") == "αθηναι"
    assert tokens("1ο Δημοτικό Σχολείο Αθηνών") == ["1ο", "δημοτικο", "σχολειο", "αθηνων"]


def test_secret_responses_are_never_stored_for_replay(client, app):
    from sqlalchemy import select

    from reference_backend.tables import IdempotencyRecord

    client.post("/eulogin/accounts", json=BODY)
    creds = {"email": BODY["email"], "password": BODY["password"]}
    h = {"Idempotency-Key": "login-1"}
    first = client.post("/eulogin/sessions", json=creds, headers=h)
    assert first.status_code == 201
    token = first.json()["access_token"]
    with app.state.sessionmaker() as db:
        stored = db.scalars(select(IdempotencyRecord.response_body)).all()
    assert all(token.encode() not in (body or b"") for body in stored)
    again = client.post("/eulogin/sessions", json=creds, headers=h)
    assert again.status_code == 409
    assert again.json()["code"] == "secret_not_replayed"
