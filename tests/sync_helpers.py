"""Helpers for the client-core tests: a real server on a loopback port, and an outbox writer.

``python -m tests.sync_helpers zygote STORE URL`` imports the client once, then for every
``run ACKFILE`` line on stdin forks a writer that queues account creations in the outbox of
STORE and flushes them to URL, appending ``ack <key>`` to ACKFILE after each write is
committed. It prints the writer's pid, then ``exit <status>`` when it ends; the durability
test kills each writer with SIGKILL at a random point. (Forking a warm process keeps fifty
runs quick; each writer is still a separate process with its own connection.)
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import threading
import time
import uuid

WRITER_PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The app served by uvicorn in a thread; ``stop()`` and ``start()`` again on one port."""

    def __init__(self, app, port: int | None = None):
        self.app = app
        self.port = port or free_port()
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        import uvicorn

        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(10)
            self._server = None

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


async def _writer(store_path: str, url: str, ack_fd: int) -> None:
    from api_client.http import ApiClient
    from esep_tui.sync import SyncEngine
    from local_store.store import LocalStore

    store = LocalStore(store_path)
    client = ApiClient(url, max_retries=0)
    engine = SyncEngine(store, client, send_retries=0)
    os.write(ack_fd, b"ready\n")
    n = 0
    while True:
        n += 1
        body = {
            "email": f"w{uuid.uuid4().hex[:16]}@example.org",
            "password": WRITER_PASSWORD,
            "name": f"Writer {n}",
        }
        item = engine.write("POST", "/eulogin/accounts", body)
        # unbuffered: in the kernel the moment it is written, so a SIGKILL cannot lose it
        os.write(ack_fd, f"ack {item.idempotency_key}\n".encode())
        if n % 2 == 0:
            await engine.flush(force=True)


def _zygote(store_path: str, url: str) -> None:
    import local_store.store  # noqa: F401  (warm imports, shared by every fork)

    for line in sys.stdin:
        command, _, ack_path = line.strip().partition(" ")
        if command != "run":
            break
        ack_fd = os.open(ack_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        pid = os.fork()
        if pid == 0:
            try:
                asyncio.run(_writer(store_path, url, ack_fd))
            finally:
                os._exit(1)
        os.close(ack_fd)
        print(pid, flush=True)
        _, status = os.waitpid(pid, 0)
        print("exit", status, flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "zygote":
        _zygote(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: python -m tests.sync_helpers zygote STORE URL")
