"""A bad network on loopback: an asyncio TCP proxy between the client and the server.

Per direction it applies bandwidth (a token bucket shared by every connection, as on one
radio link), latency (half the round trip each way), random disconnects and stalls (the
connection stays open but no bytes flow). It counts bytes and connections.

    shaper = LinkShaper(("127.0.0.1", 8765), PRESETS["edge"])
    await shaper.start()            # shaper.url -> http://127.0.0.1:<port>
    ...
    await shaper.stop()

``ShaperThread`` runs one in a background thread of its own (the CLI's ``--link-profile``,
and tests whose client runs on another loop). Presets: ``2g``, ``edge``, ``3g``, ``cut``
(the link is dropped: every connection is refused) and ``lan`` (no shaping).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from dataclasses import dataclass, field, replace

UP, DOWN = "up", "down"  # up: client -> server


@dataclass(frozen=True)
class Profile:
    name: str
    down_kbit: float | None  # None: unlimited
    up_kbit: float | None
    rtt_ms: float = 0.0
    cut: bool = False

    def rate(self, direction: str) -> float | None:
        """Bytes per second in one direction (None: unlimited)."""
        kbit = self.up_kbit if direction == UP else self.down_kbit
        return None if kbit is None else kbit * 1000 / 8

    def describe(self) -> str:
        if self.cut:
            return f"{self.name}: the link is dropped"
        if self.down_kbit is None:
            return f"{self.name}: no shaping"
        return (
            f"{self.name}: {self.down_kbit:g}/{self.up_kbit:g} kbit/s down/up, "
            f"{self.rtt_ms:g} ms RTT"
        )


PRESETS: dict[str, Profile] = {
    "2g": Profile("2G", 35, 35, 1300),
    "edge": Profile("Edge", 240, 200, 840),
    "3g": Profile("3G", 1600, 768, 300),
    "cut": Profile("cut", 0, 0, 0, cut=True),
    "lan": Profile("lan", None, None, 0),
}


def profile(name: str) -> Profile:
    """The preset called ``name`` (any case); ValueError names the choices."""
    try:
        return PRESETS[name.strip().lower()]
    except KeyError:
        raise ValueError(
            f"unknown link profile {name!r}; choose one of {', '.join(PRESETS)}"
        ) from None


@dataclass
class LinkStats:
    bytes_up: int = 0
    bytes_down: int = 0
    connections: int = 0  # accepted
    refused: int = 0  # while cut
    drops: int = 0  # connections the shaper broke
    stalls: int = 0  # connections that stopped moving bytes

    def snapshot(self) -> dict[str, int]:
        return dict(self.__dict__)

    def reset(self) -> None:
        for name in self.__dict__:
            setattr(self, name, 0)


@dataclass
class Faults:
    """Random faults. Probabilities are per chunk forwarded (a chunk is at most 1 KiB)."""

    drop: float = 0.0  # the connection is broken (RST) before the chunk passes
    stall: float = 0.0  # the connection stops moving bytes (until released or closed)
    directions: tuple[str, ...] = (UP, DOWN)


class TokenBucket:
    """``rate`` bytes per second, bursts up to ``capacity`` bytes."""

    def __init__(self, rate: float | None, capacity: float | None = None):
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(256.0, (rate or 0) / 20)
        self._tokens = self.capacity
        self._stamp: float | None = None
        self._lock = asyncio.Lock()

    async def take(self, n: int) -> None:
        if not self.rate:
            return
        async with self._lock:
            loop = asyncio.get_running_loop()
            now = loop.time()
            if self._stamp is not None:
                self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= n
            if self._tokens < 0:
                wait = -self._tokens / self.rate
                await asyncio.sleep(wait)
                self._stamp = loop.time()
                self._tokens = 0.0


@dataclass(eq=False)
class _Conn:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)
    stalled: bool = False

    def abort(self) -> None:
        for writer in (self.client, self.server):
            if writer is not None:
                with contextlib.suppress(Exception):
                    writer.transport.abort()
        for task in self.tasks:
            task.cancel()


class LinkShaper:
    """The proxy. ``upstream`` is the server's (host, port)."""

    CHUNK = 1024

    def __init__(
        self,
        upstream: tuple[str, int],
        link: Profile | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        seed: int | None = None,
    ):
        self.upstream = upstream
        self.host = host
        self.port = port
        self.faults = faults or Faults()
        self.random = random.Random(seed)
        self.stats = LinkStats()
        self._stalled = False  # a global stall: every connection keeps still
        self._server: asyncio.base_events.Server | None = None
        self._conns: set[_Conn] = set()
        self._handlers: set[asyncio.Task] = set()
        self._unstall: asyncio.Event | None = None
        self._drop_after: dict[str, int] = {}
        self.set_profile(link or PRESETS["lan"])

    def __repr__(self) -> str:
        return f"LinkShaper({self.url!r}, {self.link.name})"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ------------------------------------------------------------ control

    def set_profile(self, link: Profile) -> None:
        self.link = link
        self._buckets = {d: TokenBucket(link.rate(d)) for d in (UP, DOWN)}
        if link.cut:
            self.drop_all()

    def with_rtt(self, rtt_ms: float) -> None:
        self.set_profile(replace(self.link, rtt_ms=rtt_ms))

    def cut(self) -> None:
        """Drop the link: open connections break, new ones are refused."""
        self.set_profile(PRESETS["cut"])

    def drop_all(self) -> int:
        """Break every open connection now; returns how many."""
        conns = list(self._conns)
        for conn in conns:
            conn.abort()
        self.stats.drops += len(conns)
        return len(conns)

    def drop_after(self, nbytes: int, direction: str = DOWN) -> None:
        """Break the connection that carries the next ``nbytes`` in ``direction``."""
        self._drop_after[direction] = max(0, nbytes)

    def stall(self, flag: bool = True) -> None:
        """Stop (or resume) every byte, keeping connections open."""
        self._stalled = flag
        if self._unstall is not None:
            if flag:
                self._unstall.clear()
            else:
                self._unstall.set()
        if not flag:
            for conn in self._conns:
                conn.stalled = False

    @property
    def open_connections(self) -> int:
        return len(self._conns)

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> LinkShaper:
        self._unstall = asyncio.Event()
        if not self._stalled:
            self._unstall.set()
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for conn in list(self._conns):
                conn.abort()
            handlers = list(self._handlers)
            for task in handlers:
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> LinkShaper:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # ------------------------------------------------------------ forwarding

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._handlers.add(task)
        try:
            await self._carry(reader, writer)
        except asyncio.CancelledError:  # the shaper (or its loop) is shutting down
            writer.transport.abort()
        finally:
            self._handlers.discard(task)

    async def _carry(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.link.cut:
            self.stats.refused += 1
            writer.transport.abort()
            return
        self.stats.connections += 1
        conn = _Conn(writer)
        self._conns.add(conn)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            self._conns.discard(conn)
            writer.transport.abort()
            return
        conn.server = up_writer
        conn.tasks = [
            asyncio.ensure_future(self._pump(conn, reader, up_writer, UP)),
            asyncio.ensure_future(self._pump(conn, up_reader, writer, DOWN)),
        ]
        try:
            await asyncio.gather(*conn.tasks, return_exceptions=True)
        finally:
            self._conns.discard(conn)
            conn.abort()

    def _fault(self, conn: _Conn, direction: str, n: int) -> str | None:
        budget = self._drop_after.get(direction)
        if budget is not None:
            if n > budget:
                del self._drop_after[direction]
                return "drop"
            self._drop_after[direction] = budget - n
        if direction in self.faults.directions:
            if self.faults.drop and self.random.random() < self.faults.drop:
                return "drop"
            if self.faults.stall and self.random.random() < self.faults.stall:
                return "stall"
        return None

    async def _pump(
        self, conn: _Conn, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction
    ) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                item = await queue.get()
                if item is None:
                    with contextlib.suppress(Exception):
                        if writer.can_write_eof():
                            writer.write_eof()
                    return
                due, data = item
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                writer.write(data)
                await writer.drain()

        sender = asyncio.ensure_future(deliver())
        conn.tasks.append(sender)
        try:
            while True:
                data = await reader.read(self.CHUNK)
                if not data:
                    queue.put_nowait(None)
                    break
                fault = self._fault(conn, direction, len(data))
                if fault == "drop":
                    self.stats.drops += 1
                    conn.abort()
                    return
                if fault == "stall" and not conn.stalled:
                    conn.stalled = True
                    self.stats.stalls += 1
                while conn.stalled or self._stalled:
                    # no bytes move; the connection stays open until released or closed
                    if self._stalled:
                        await self._unstall.wait()
                    else:
                        await asyncio.sleep(0.05)
                if self.link.cut:
                    conn.abort()
                    return
                await self._buckets[direction].take(len(data))
                if direction == UP:
                    self.stats.bytes_up += len(data)
                else:
                    self.stats.bytes_down += len(data)
                queue.put_nowait((loop.time() + self.link.rtt_ms / 2000, data))
            await sender
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            conn.abort()


class ShaperThread:
    """A :class:`LinkShaper` on an event loop of its own, in a daemon thread.

    Control calls (``set_profile``, ``cut``, ``stall``, ``drop_all``...) are forwarded to the
    shaper's loop, so they are safe from any thread.
    """

    def __init__(self, upstream: tuple[str, int], link: Profile | None = None, **kwargs):
        self.shaper = LinkShaper(upstream, link, **kwargs)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return self.shaper.url

    @property
    def stats(self) -> LinkStats:
        return self.shaper.stats

    def start(self) -> ShaperThread:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.shaper.start(), self._loop).result(10)
        return self

    def call(self, name: str, *args):
        """Run ``shaper.<name>(*args)`` on the shaper's loop and return its result."""

        async def run():
            return getattr(self.shaper, name)(*args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    def set_profile(self, link: Profile) -> None:
        self.call("set_profile", link)

    def cut(self) -> None:
        self.call("cut")

    def stall(self, flag: bool = True) -> None:
        self.call("stall", flag)

    def drop_all(self) -> int:
        return self.call("drop_all")

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.shaper.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> ShaperThread:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def split_url(url: str) -> tuple[str, int]:
    """(host, port) of an http(s) URL, for the shaper's upstream."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError(f"not a server address: {url!r}")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def route_app(app, name: str) -> ShaperThread | None:
    """Route an app's connection through a shaped link (``esep-tui --link-profile NAME``).

    A remote server is shaped at once; the embedded one as soon as its port is known. The
    replica and sign-in stay keyed by the real server, so a shaped session reuses its cache.
    """
    link = profile(name)
    connection = app.connection
    if connection.server:
        shaper = ShaperThread(split_url(connection.server), link).start()
        connection.server = shaper.url
        app.link_shaper = shaper
        return shaper
    embedded = connection.embedded
    if embedded is None:
        return None
    real_wait = embedded.wait

    def shaped_wait(timeout: float | None = None) -> str:
        url = real_wait(timeout)
        shaper = getattr(app, "link_shaper", None)
        if shaper is None:
            shaper = ShaperThread(split_url(url), link).start()
            app.link_shaper = shaper
        return shaper.url

    embedded.wait = shaped_wait
    return None
