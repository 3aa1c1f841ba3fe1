"""The page sync service: local CRDT edits saved at once, state-vector sync, two offline
replicas merging through the backend, offline creation, read-only refusals."""

from __future__ import annotations

import httpx
import pytest

from api_client import crdt
from api_client.http import ApiClient, MemoryTokens
from api_client.models.auth import TokenPair
from esep_tui.pages import PageService, order_tree
from esep_tui.sync import SyncEngine
from local_store.store import LocalStore
from reference_backend.tables import Page
from tests.test_twinspace_pages import make_pupil, make_space


def engine_for(app, persona_or_token, tmp_path, name: str) -> SyncEngine:
    token = getattr(persona_or_token, "token", persona_or_token)
    tokens = MemoryTokens(TokenPair(access_token=token, refresh_token="x", expires_in=900))
    client = ApiClient(
        "http://esep.test", tokens=tokens, transport=httpx.ASGITransport(app=app), max_retries=0
    )
    return SyncEngine(LocalStore(tmp_path / f"{name}.sqlite3"), client, send_retries=0)


def server_text(app, page_id: str) -> str:
    with app.state.sessionmaker() as db:
        page = db.get(Page, page_id)
        from reference_backend.domain.twinspace import load_doc

        return crdt.get_text(load_doc(page))


@pytest.fixture
async def two(app, tmp_path):
    space = make_space(app)
    a = engine_for(app, space.admin, tmp_path, "a")
    b = engine_for(app, space.partner, tmp_path, "b")
    yield space, PageService(a, space.project_id), PageService(b, space.project_id)
    await a.client.aclose()
    await b.client.aclose()


async def test_two_offline_replicas_merge_with_edits_at_both_ends_and_the_middle(app, two):
    space, a, b = two
    page_id = space.pages["Getting to know each other"]
    original = await a.load(page_id)
    assert await b.load(page_id) == original
    a.engine.set_work_offline(True)
    b.engine.set_work_offline(True)
    middle = len(original) // 2
    a.edit(page_id, "AAA start. " + original[:middle] + "[a-middle]" + original[middle:])
    b.edit(page_id, original[:middle] + "[b-middle]" + original[middle:] + " end BBB.")
    # offline: saved locally, nothing sent
    assert (await a.sync(page_id)).queued
    assert a.has_pending(page_id) and b.has_pending(page_id)
    assert server_text(app, page_id) == original

    a.engine.set_work_offline(False)
    b.engine.set_work_offline(False)
    first = await a.sync(page_id)
    assert first.sent and not first.merged_from_others
    second = await b.sync(page_id)
    assert second.sent and second.merged_from_others and second.text_changed
    third = await a.sync(page_id)
    assert third.merged_from_others  # b's text reached a too

    text_a, text_b = a.text(page_id), b.text(page_id)
    assert text_a == text_b == server_text(app, page_id)
    for piece in ("AAA start. ", "[a-middle]", "[b-middle]", " end BBB."):
        assert text_a.count(piece) == 1
    assert text_a.startswith("AAA start. ") and text_a.endswith(" end BBB.")
    assert not a.has_pending(page_id) and not b.has_pending(page_id)


async def test_many_keystrokes_travel_as_one_small_request(app, two):
    space, a, _b = two
    page_id = space.pages["Activity plan"]
    text = await a.load(page_id)
    a.engine.set_work_offline(True)
    for ch in "Typed while the link was down, one key at a time.":
        text += ch
        assert a.edit(page_id, text)
    assert a.pending_pages() == [page_id]
    a.engine.set_work_offline(False)
    before = a.client.stats.snapshot()
    outcome = await a.sync(page_id)
    after = a.client.stats.snapshot()
    assert outcome.sent and server_text(app, page_id) == text
    assert after["round_trips"] - before["round_trips"] == 1
    # the body sent is the pending update (a few dozen bytes), not the whole page
    assert outcome.bytes_sent < len(text)


async def test_edits_made_during_a_sync_stay_pending(app, two):
    space, a, _b = two
    page_id = space.pages["Activity plan"]
    text = await a.load(page_id)
    a.edit(page_id, text + " one")
    real_send = a.client.send

    async def typing_meanwhile(*args, **kwargs):
        result = await real_send(*args, **kwargs)
        a.edit(page_id, text + " one two")
        return result

    a.client.send = typing_meanwhile
    await a.sync(page_id)
    a.client.send = real_send
    assert a.has_pending(page_id)
    assert a.text(page_id) == text + " one two"
    await a.sync(page_id)
    assert server_text(app, page_id) == text + " one two"
    assert not a.has_pending(page_id)


async def test_a_page_made_offline_is_created_then_its_body_syncs(app, two):
    _space, a, b = two
    a.engine.set_work_offline(True)
    page_id = a.create("Our rivers", text="# Rivers\n")
    a.edit(page_id, "# Rivers\n\nThe Vistula and the Ilisos.\n")
    titles = [p["title"] for p, _d in a.pages()]
    assert "Our rivers" in titles  # shown in the tree while queued
    assert a.is_queued(page_id)
    assert (await a.sync(page_id)).queued
    a.engine.set_work_offline(False)
    await a.sync_all()
    assert not a.is_queued(page_id)
    assert server_text(app, page_id) == "# Rivers\n\nThe Vistula and the Ilisos.\n"
    assert await b.load(page_id) == "# Rivers\n\nThe Vistula and the Ilisos.\n"


async def test_rename_move_and_delete_go_through_the_outbox(app, two):
    space, a, _b = two
    tree = await a.fetch_tree()
    pages = {p["title"]: p for p, _d in a.pages(tree)}
    a.engine.set_work_offline(True)
    a.patch(pages["Getting to know each other"], title="Hello, partners")
    a.delete(pages["Activity plan"])
    titles = [p["title"] for p, _d in a.pages()]
    assert "Hello, partners" in titles and "Activity plan" not in titles
    a.engine.set_work_offline(False)
    await a.engine.flush(force=True)
    with app.state.sessionmaker() as db:
        rows = {p.title for p in db.query(Page).filter(Page.project_id == space.project_id)}
    assert "Hello, partners" in rows and "Activity plan" not in rows
    assert not any(t.endswith("joint activity") for t in rows)  # the monthly pages went too


async def test_a_reader_cannot_push_and_keeps_the_text(app, client, tmp_path):
    space = make_space(app)
    pupil = make_pupil(client, space)
    reader = PageService(
        engine_for(app, pupil["headers"]["Authorization"][7:], tmp_path, "p"), space.project_id
    )
    page_id = space.pages["Getting to know each other"]
    text = await reader.load(page_id)
    reader.edit(page_id, text + "pupil text")
    outcome = await reader.sync(page_id)
    assert outcome.error and not outcome.sent
    assert reader.text(page_id).endswith("pupil text")  # nothing typed is thrown away
    assert server_text(app, page_id) == text


async def test_closed_twinspace_refuses_with_the_reason(app, tmp_path):
    space = make_space(app, state="closed")
    service = PageService(engine_for(app, space.admin, tmp_path, "c"), space.project_id)
    tree = await service.fetch_tree()
    assert tree["permissions"]["read_only"] is True
    assert "read-only" in tree["permissions"]["read_only_reason"]
    page_id = space.pages["Activity plan"]
    text = await service.load(page_id)
    service.edit(page_id, text + "late")
    outcome = await service.sync(page_id)
    assert outcome.code == "twinspace_read_only"
    assert "closed" in outcome.error


def test_order_tree_puts_children_under_parents_and_orphans_on_top():
    items = [
        {"id": "c", "parent_id": "a", "position": 0, "title": "C"},
        {"id": "b", "parent_id": None, "position": 1, "title": "B"},
        {"id": "a", "parent_id": None, "position": 0, "title": "A"},
        {"id": "o", "parent_id": "gone", "position": 5, "title": "O"},
    ]
    assert [(p["id"], d) for p, d in order_tree(items)] == [
        ("a", 0),
        ("c", 1),
        ("b", 0),
        ("o", 0),
    ]
