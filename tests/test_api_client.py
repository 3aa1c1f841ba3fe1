"""The async HTTP client: gzip, ETags, refresh once, retries for idempotent requests only,
typed errors, byte accounting, and tokens kept out of logs and reprs."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import httpx
import pytest

from api_client.errors import AuthError, Conflict, Rejected, Transient
from api_client.http import ApiClient, MemoryTokens, SessionTokens
from api_client.models.auth import AccountOut
from reference_backend import clock
from reference_backend.app import create_app

PW = "correct horse battery"


@pytest.fixture
def server(tmp_path):
    app = create_app(f"sqlite:///{tmp_path}/s.sqlite3")
    yield app
    app.state.engine.dispose()


def _client(app, **kwargs) -> ApiClient:
    return ApiClient("http://test", transport=httpx.ASGITransport(app=app), **kwargs)


async def _signed_in(app, email="anna@example.org", **kwargs) -> ApiClient:
    api = _client(app, **kwargs)
    await api.create_account(email, PW, "Anna Nowak")
    await api.sign_in(email, PW)
    return api


class Recorder:
    """A MockTransport handler answering from a script, recording every request."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def _mock(recorder, **kwargs) -> tuple[ApiClient, list[float]]:
    slept: list[float] = []

    async def sleep(seconds):
        slept.append(seconds)

    api = ApiClient("http://test", transport=httpx.MockTransport(recorder), sleep=sleep, **kwargs)
    return api, slept


def _err(status, code="x", message="no", headers=None):
    return httpx.Response(status, json={"code": code, "message": message}, headers=headers)


async def test_account_sign_in_me_and_typed_models(server):
    api = await _signed_in(server)
    me = await api.me()
    assert isinstance(me, AccountOut)
    assert me.email == "anna@example.org"
    assert api.tokens.get().account_id == me.id
    feed = await api.changes(0)
    assert feed.cursor >= 0
    accounts = await api.request("GET", "/eulogin/me", model=list[AccountOut] | AccountOut)
    assert accounts.id == me.id
    await api.sign_out()
    assert api.tokens.get() is None
    with pytest.raises(AuthError) as info:
        await api.me()
    assert info.value.status == 401
    await api.aclose()


async def test_server_errors_become_typed_exceptions(server):
    api = _client(server)
    await api.create_account("anna@example.org", PW, "Anna")
    with pytest.raises(Conflict) as taken:
        await api.create_account("ANNA@example.org", PW, "Anna")
    assert (taken.value.status, taken.value.code, taken.value.field) == (
        409,
        "email_taken",
        "email",
    )
    assert "sign in with it instead" in taken.value.message
    with pytest.raises(Rejected) as bad:
        await api.request("POST", "/eulogin/accounts", json={"email": "x@y.z"})
    assert bad.value.status == 422 and bad.value.field == "password"
    with pytest.raises(AuthError) as wrong:
        await api.sign_in("anna@example.org", "not the password")
    assert wrong.value.code == "invalid_credentials"
    await api.aclose()


async def test_etag_304_reuses_the_kept_body(server):
    api = await _signed_in(server)
    first = await api.send("GET", "/eulogin/me")
    down_first = api.stats.bytes_down
    second = await api.send("GET", "/eulogin/me")
    assert first.etag and not first.from_cache
    assert second.from_cache and second.data == first.data
    assert api.stats.not_modified == 1
    # the revalidation cost far less than the first download
    assert api.stats.bytes_down - down_first < down_first
    await api.aclose()


async def test_401_refreshes_once_and_retries(server):
    api = await _signed_in(server)
    old = api.tokens.get().access_token
    clock.advance(timedelta(minutes=16))  # the access token has expired
    trips = api.stats.round_trips
    me = await api.me()
    assert me.email == "anna@example.org"
    assert api.tokens.get().access_token != old
    assert api.stats.round_trips - trips == 3  # 401, refresh, retry
    await api.aclose()


async def test_refresh_is_tried_only_once_then_signed_out():
    rec = Recorder(_err(401, "unauthorized"))
    api, _ = _mock(rec)
    api.tokens.set(SessionTokens(access_token="a" * 20, refresh_token="r" * 20, expires_in=900))
    with pytest.raises(AuthError):
        await api.request("GET", "/eulogin/me")
    paths = [r.url.path for r in rec.requests]
    assert paths == ["/eulogin/me", "/eulogin/sessions/refresh"]
    assert api.tokens.get() is None


async def test_get_retries_with_backoff_on_5xx_and_network_errors():
    rec = Recorder(_err(503), httpx.ConnectError("refused"), httpx.Response(200, json={"ok": True}))
    api, slept = _mock(rec)
    assert await api.request("GET", "/x") == {"ok": True}
    assert len(rec.requests) == 3
    assert len(slept) == 2 and all(0 <= s <= api.backoff_cap for s in slept)
    assert api.stats.retries == 2


async def test_writes_carry_a_key_and_retry_with_the_same_key():
    rec = Recorder(_err(502), httpx.Response(201, json={"id": "1"}))
    api, _ = _mock(rec)
    await api.request("POST", "/things", json={"a": 1}, idempotency_key="key-7")
    keys = [r.headers.get("idempotency-key") for r in rec.requests]
    assert keys == ["key-7", "key-7"]
    rec2 = Recorder(httpx.Response(201, json={}))
    api2, _ = _mock(rec2)
    await api2.request("PATCH", "/things/1", json={"a": 2})
    await api2.request("DELETE", "/things/1")
    generated = [r.headers.get("idempotency-key") for r in rec2.requests]
    assert all(generated) and generated[0] != generated[1]


async def test_writes_without_a_key_are_never_retried():
    rec = Recorder(_err(503), httpx.Response(201, json={}))
    api, slept = _mock(rec)
    with pytest.raises(Transient) as info:
        await api.request("POST", "/things", json={}, idempotency_key=False)
    assert info.value.status == 503
    assert len(rec.requests) == 1 and slept == []
    assert "idempotency-key" not in rec.requests[0].headers


async def test_4xx_is_not_retried():
    rec = Recorder(_err(422, "invalid"), httpx.Response(200, json={}))
    api, _ = _mock(rec)
    with pytest.raises(Rejected):
        await api.request("GET", "/x")
    assert len(rec.requests) == 1


async def test_429_waits_retry_after_but_not_when_it_is_too_long():
    rec = Recorder(_err(429, headers={"Retry-After": "2"}), httpx.Response(200, json={}))
    api, slept = _mock(rec)
    await api.request("GET", "/x")
    assert slept == [2.0]
    rec = Recorder(_err(429, "too_many_attempts", headers={"Retry-After": "900"}))
    api, slept = _mock(rec)
    with pytest.raises(Transient) as info:
        await api.request("GET", "/x")
    assert info.value.retry_after == 900 and slept == []
    assert len(rec.requests) == 1


async def test_network_failure_after_retries_is_transient():
    rec = Recorder(httpx.ConnectError("refused"))
    api, _ = _mock(rec, max_retries=2)
    with pytest.raises(Transient) as info:
        await api.request("GET", "/x")
    assert info.value.code == "network" and info.value.status is None
    assert len(rec.requests) == 3


async def test_work_offline_sends_nothing():
    rec = Recorder(httpx.Response(200, json={}))
    api, _ = _mock(rec)
    api.offline = True
    with pytest.raises(Transient) as info:
        await api.request("GET", "/x")
    assert info.value.code == "offline" and rec.requests == []
    assert await api.probe() is False


async def test_byte_accounting_counts_compressed_bytes(server):
    zipped = _client(server)
    plain = _client(server)
    plain._http.headers["Accept-Encoding"] = "identity"
    await zipped.send("GET", "/openapi.json")
    raw = await plain.send("GET", "/openapi.json")
    assert zipped.stats.round_trips == plain.stats.round_trips == 1
    assert zipped.stats.bytes_up > 0 and zipped.stats.bytes_down > 0
    assert zipped.stats.bytes_down < plain.stats.bytes_down
    assert plain.stats.bytes_down >= len(json.dumps(raw.data)) // 2
    zipped.stats.reset()
    assert zipped.stats.snapshot()["bytes_down"] == 0 and zipped.stats.round_trips == 0
    await zipped.aclose()
    await plain.aclose()


async def test_upload_bytes_include_the_body(server):
    api = _client(server)
    await api.create_account("kostas@example.org", PW, "K" * 150)
    assert api.stats.bytes_up > 150 + len("/eulogin/accounts")
    await api.aclose()


async def test_tokens_never_in_logs_errors_or_reprs(server, caplog):
    caplog.set_level(logging.DEBUG)
    tokens = MemoryTokens()
    api = await _signed_in(server, tokens=tokens)
    pair = tokens.get()
    secrets = [pair.access_token, pair.refresh_token]
    clock.advance(timedelta(minutes=16))
    await api.me()
    pair2 = tokens.get()
    secrets += [pair2.access_token, pair2.refresh_token]
    api.tokens.set(pair2.model_copy(update={"access_token": "expired-token-value"}))
    with pytest.raises(Rejected) as info:  # refreshed, then refused for the bad cursor
        await api.request("GET", "/sync/changes", params={"since": -1})
    text = " ".join([caplog.text, repr(pair), str(pair), repr(api), repr(tokens), str(info.value)])
    text += repr(info.value)
    for secret in [*secrets, "expired-token-value"]:
        assert secret not in text
    assert "access_token" not in repr(pair)
    await api.aclose()
