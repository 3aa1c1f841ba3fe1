"""Tired tokens: the access token expires while the client is offline for days.

On reconnect the client refreshes it (or, when the refresh token has expired too, asks for a
new sign-in) and keeps the outbox intact: nothing queued is dropped or sent twice.
"""

from __future__ import annotations

from datetime import timedelta

import httpx

from api_client.http import ApiClient
from esep_tui.sync import SyncEngine
from local_store.store import LocalStore
from reference_backend import clock
from reference_backend.app import create_app

PW = "correct horse battery"
FORM = {"capacity": "school_staff", "country": "GR", "first_name": "Anna", "last_name": "Pappa"}


async def _no_sleep(_seconds: float) -> None:
    return None


def _setup(tmp_path):
    app = create_app(f"sqlite:///{tmp_path}/server.sqlite3")
    client = ApiClient("http://test", transport=httpx.ASGITransport(app=app), sleep=_no_sleep)
    store = LocalStore(tmp_path / "replica.sqlite3")
    return app, client, store, SyncEngine(store, client)


async def test_expired_access_token_is_refreshed_and_the_queued_write_goes_once(tmp_path):
    app, client, store, engine = _setup(tmp_path)
    await client.create_account("anna@example.org", PW, "Anna Pappa")
    await client.sign_in("anna@example.org", PW)
    engine.set_work_offline(True)
    item = engine.write("POST", "/platform/registration", FORM)
    assert await engine.flush() == 0  # offline: it waits
    clock.advance(timedelta(days=3))  # days offline: the 15-minute access token is long gone
    engine.set_work_offline(False)
    assert await engine.flush(force=True) == 1
    assert store.outbox.get(item.seq).state == "done"
    me = await client.me()
    assert me.user_id is not None  # registered exactly once, with the refreshed token
    await client.aclose()
    store.close()
    app.state.engine.dispose()


async def test_expired_refresh_token_asks_for_sign_in_and_keeps_the_outbox(tmp_path):
    app, client, store, engine = _setup(tmp_path)
    await client.create_account("anna@example.org", PW, "Anna Pappa")
    await client.sign_in("anna@example.org", PW)
    engine.set_work_offline(True)
    item = engine.write("POST", "/platform/registration", FORM)
    clock.advance(timedelta(days=45))  # past the 30-day refresh token too
    engine.set_work_offline(False)
    assert await engine.flush(force=True) == 0
    assert engine.monitor.signed_out is True  # the app asks the user to sign in again
    held = store.outbox.get(item.seq)
    assert held.state not in ("done", "rejected", "conflict")  # kept, not dropped
    assert held.body == FORM
    assert engine.needs_attention() == []  # not the user's data at fault
    await client.sign_in("anna@example.org", PW)
    assert await engine.flush(force=True) == 1
    assert store.outbox.get(item.seq).state == "done"
    assert (await client.me()).user_id is not None
    await client.aclose()
    store.close()
    app.state.engine.dispose()
