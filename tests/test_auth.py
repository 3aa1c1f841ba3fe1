"""Simulated EU Login: accounts, sign-in, rotation, sign-out, rate limits."""

from __future__ import annotations

from tests.factories import make_account

PW = "correct horse battery staple"


def _create(client, email="anna@example.org", password=PW, name="Anna Nowak"):
    return client.post(
        "/eulogin/accounts", json={"email": email, "password": password, "name": name}
    )


def _login(client, email="anna@example.org", password=PW):
    return client.post("/eulogin/sessions", json={"email": email, "password": password})


def test_create_sign_in_and_me(client):
    r = _create(client, email="Anna@Example.org")
    assert r.status_code == 201, r.text
    assert r.json()["email"] == "anna@example.org"
    assert r.headers["location"] == "/eulogin/me"
    tokens = _login(client, email="ANNA@example.org").json()
    me = client.get("/eulogin/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json()["name"] == "Anna Nowak"
    assert me.json()["user_id"] is None


def test_duplicate_email_is_409_with_field(client):
    _create(client)
    r = _create(client, email="ANNA@example.org")
    assert r.status_code == 409
    assert r.json()["code"] == "email_taken"
    assert r.json()["field"] == "email"


def test_short_password_is_422_naming_the_field(client):
    r = _create(client, password="short")
    assert r.status_code == 422
    assert r.json()["field"] == "password"


def test_long_multibyte_password_works(client):
    password = "ζ" * 32 + "ł" * 32  # 64 characters, 128 bytes
    assert _create(client, password=password).status_code == 201
    assert _login(client, password=password).status_code == 201
    assert _login(client, password="ζ" * 64).status_code == 401


def test_unknown_user_and_wrong_password_answer_the_same(client):
    _create(client)
    wrong = _login(client, password="not the password at all")
    unknown = _login(client, email="nobody@example.org")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert set(wrong.headers) == set(unknown.headers)


def test_eleventh_failure_is_rate_limited(client):
    _create(client)
    for _ in range(10):
        assert _login(client, password="wrong password!").status_code == 401
    r = _login(client, password="wrong password!")
    assert r.status_code == 429
    assert r.json()["code"] == "too_many_attempts"
    assert "retry-after" in r.headers
    # even the right password waits out the window
    assert _login(client).status_code == 429


def test_refresh_rotates_and_reuse_revokes_the_family(client):
    _create(client)
    first = _login(client).json()
    second = client.post(
        "/eulogin/sessions/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert second.status_code == 201
    new = second.json()
    assert new["access_token"] != first["access_token"]
    # the old access token ended with the rotation
    old = client.get("/eulogin/me", headers={"Authorization": f"Bearer {first['access_token']}"})
    assert old.status_code == 401
    # replaying the first refresh token ends the whole family, the new pair included
    replay = client.post(
        "/eulogin/sessions/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert replay.status_code == 401
    assert replay.json()["code"] == "refresh_reused"
    me = client.get("/eulogin/me", headers={"Authorization": f"Bearer {new['access_token']}"})
    assert me.status_code == 401
    again = client.post("/eulogin/sessions/refresh", json={"refresh_token": new["refresh_token"]})
    assert again.status_code == 401


def test_sign_out_revokes(client, app):
    p = make_account(app)
    assert client.get("/eulogin/me", headers=p.headers).status_code == 200
    assert client.delete("/eulogin/sessions/current", headers=p.headers).status_code == 204
    assert client.get("/eulogin/me", headers=p.headers).status_code == 401
    r = client.post("/eulogin/sessions/refresh", json={"refresh_token": p.refresh})
    assert r.status_code == 401


def test_garbage_tokens_are_401_not_500(client):
    for header in ["Bearer", "Bearer ", "Basic abc", "Bearer \x7f\x00", "Bearer " + "a" * 5000]:
        r = client.get("/eulogin/me", headers={"Authorization": header})
        assert r.status_code == 401, header
        assert r.json()["code"] == "unauthorized"
