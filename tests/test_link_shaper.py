"""The link shaper: bytes pass intact and are counted; drops, cuts and stalls behave."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from esep_tui import link_shaper
from esep_tui.link_shaper import (
    DOWN,
    PRESETS,
    UP,
    Faults,
    LinkShaper,
    ShaperThread,
    TokenBucket,
    profile,
    split_url,
)
from tests.sync_helpers import LiveServer


async def _echo_server():
    async def handle(reader, writer):
        while data := await reader.read(4096):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_presets_match_the_issue():
    assert PRESETS["2g"].rate(DOWN) == 35_000 / 8 and PRESETS["2g"].rtt_ms == 1300
    assert PRESETS["edge"].rate(DOWN) == 30_000 and PRESETS["edge"].rate(UP) == 25_000
    assert PRESETS["edge"].rtt_ms == 840
    assert PRESETS["3g"].rate(DOWN) == 200_000 and PRESETS["3g"].rate(UP) == 96_000
    assert PRESETS["cut"].cut
    assert profile("EDGE") is PRESETS["edge"]
    with pytest.raises(ValueError, match="2g"):
        profile("5g")
    assert split_url("http://127.0.0.1:8765/x") == ("127.0.0.1", 8765)


async def test_bytes_pass_intact_and_are_counted():
    server, port = await _echo_server()
    async with LinkShaper(("127.0.0.1", port), PRESETS["3g"]) as shaper:
        reader, writer = await asyncio.open_connection("127.0.0.1", shaper.port)
        payload = bytes(range(256)) * 20
        writer.write(payload)
        await writer.drain()
        got = await asyncio.wait_for(reader.readexactly(len(payload)), 10)
        writer.close()
    server.close()
    assert got == payload
    assert shaper.stats.bytes_up == len(payload) and shaper.stats.bytes_down == len(payload)
    assert shaper.stats.connections == 1


async def test_token_bucket_paces_to_the_rate(monkeypatch):
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds):
        waits.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(link_shaper.asyncio, "sleep", sleep)
    bucket = TokenBucket(1000.0, capacity=100)
    for _ in range(10):
        await bucket.take(200)
    # 2000 bytes at 1000 B/s, less the 100-byte burst: about 1.9 s of waiting
    assert 1.7 <= sum(waits) <= 1.91


async def test_drop_after_breaks_the_connection():
    server, port = await _echo_server()
    async with LinkShaper(("127.0.0.1", port)) as shaper:
        shaper.drop_after(10, UP)
        reader, writer = await asyncio.open_connection("127.0.0.1", shaper.port)
        writer.write(b"x" * 100)
        await writer.drain()
        with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
            await asyncio.wait_for(reader.readexactly(100), 5)
        writer.close()
    server.close()
    assert shaper.stats.drops == 1
    assert shaper.stats.bytes_down == 0


async def test_cut_refuses_and_lan_restores():
    server, port = await _echo_server()
    async with LinkShaper(("127.0.0.1", port), PRESETS["cut"]) as shaper:
        reader, writer = await asyncio.open_connection("127.0.0.1", shaper.port)
        writer.write(b"hello")
        with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
            await asyncio.wait_for(reader.readexactly(5), 5)
        assert shaper.stats.refused == 1
        shaper.set_profile(PRESETS["lan"])
        reader, writer = await asyncio.open_connection("127.0.0.1", shaper.port)
        writer.write(b"hello")
        assert await asyncio.wait_for(reader.readexactly(5), 5) == b"hello"
        writer.close()
    server.close()


async def test_stall_holds_bytes_and_keeps_the_connection_open():
    server, port = await _echo_server()
    async with LinkShaper(("127.0.0.1", port)) as shaper:
        reader, writer = await asyncio.open_connection("127.0.0.1", shaper.port)
        shaper.stall(True)
        writer.write(b"ping")
        await writer.drain()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.readexactly(4), 0.3)
        assert shaper.open_connections == 1
        shaper.stall(False)
        assert await asyncio.wait_for(reader.readexactly(4), 5) == b"ping"
        writer.close()
    server.close()


async def test_random_drops_are_reproducible_with_a_seed():
    outcomes = []
    for _ in range(2):
        server, port = await _echo_server()
        seen = []
        async with LinkShaper(("127.0.0.1", port), faults=Faults(drop=0.3), seed=7) as shaper:
            for _ in range(8):
                reader, writer = await asyncio.open_connection("127.0.0.1", shaper.port)
                writer.write(b"a" * 100)
                try:
                    await asyncio.wait_for(reader.readexactly(100), 5)
                    seen.append("ok")
                except (ConnectionError, asyncio.IncompleteReadError):
                    seen.append("drop")
                writer.close()
        server.close()
        outcomes.append(seen)
    assert outcomes[0] == outcomes[1]
    assert "drop" in outcomes[0] and "ok" in outcomes[0]


def test_http_through_a_shaper_thread(app):
    with LiveServer(app) as live, ShaperThread(split_url(live.url), PRESETS["lan"]) as shaped:
        answer = httpx.get(shaped.url + "/eulogin/me", headers={"Accept-Encoding": "gzip"})
        assert answer.status_code == 401
        assert shaped.stats.connections == 1
        assert shaped.stats.bytes_down >= len(answer.content)
        shaped.cut()
        with pytest.raises(httpx.TransportError):
            httpx.get(shaped.url + "/eulogin/me", timeout=5)


def test_route_app_shapes_a_remote_server_and_keeps_its_identity(app):
    from types import SimpleNamespace

    from esep_tui.link_shaper import route_app

    with LiveServer(app) as live:
        connection = SimpleNamespace(server=live.url, embedded=None, identity="remote-key")
        holder = SimpleNamespace(connection=connection)
        shaper = route_app(holder, "edge")
        try:
            assert connection.server == shaper.url != live.url
            assert connection.identity == "remote-key"  # the replica stays the same
            assert shaper.shaper.link is PRESETS["edge"]
        finally:
            shaper.stop()


def test_route_app_shapes_the_embedded_server_once_it_is_up():
    from types import SimpleNamespace

    from esep_tui.link_shaper import route_app

    embedded = SimpleNamespace(wait=lambda timeout=None: "http://127.0.0.1:9")
    holder = SimpleNamespace(connection=SimpleNamespace(server=None, embedded=embedded))
    assert route_app(holder, "3g") is None
    url = embedded.wait(5)
    try:
        assert url == holder.link_shaper.url and url != "http://127.0.0.1:9"
        assert embedded.wait(5) == url  # one shaper, however often it is asked
    finally:
        holder.link_shaper.stop()
