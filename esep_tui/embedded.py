"""The bundled backend, run in-process on a free loopback port so the app works with no network.

It starts in a background thread after the first screen is painted; the app connects once
``ready`` is set. Its SQLite file lives in the data directory and gets the demo world on first
run.
"""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

from esep_tui import settings

log = logging.getLogger("esep_tui.embedded")

DATABASE_NAME = "server.sqlite3"


def database_path() -> Path:
    return settings.data_dir() / DATABASE_NAME


def database_url(path: Path | None = None) -> str:
    return f"sqlite:///{path or database_path()}"


def _seed_available() -> bool:
    try:
        from reference_backend import seed
    except ImportError:
        return False
    return hasattr(seed, "seed_world")


def build_backend(path: Path | None = None):
    """The ASGI app over the embedded database, with the demo world (seeded once: the seed
    writes nothing into a database that already has it)."""
    from reference_backend.app import create_app

    path = path or database_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = not path.exists()
    seed = "demo" if _seed_available() else "none"
    try:
        return create_app(database_url(path), seed=seed)
    except BaseException:
        if fresh:  # a half-seeded world would never be seeded again
            remove_database(path)
        raise


def remove_database(path: Path | None = None) -> list[Path]:
    path = path or database_path()
    removed = []
    for candidate in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
        if candidate.exists():
            candidate.unlink()
            removed.append(candidate)
    return removed


def _route_logs_to_file() -> None:
    """The server's logs go to a file: a line on stderr would tear the screen."""
    logfile = settings.data_dir() / "embedded-server.log"
    logfile.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(logfile, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "reference_backend"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False
        logger.setLevel(logging.WARNING)


class EmbeddedServer:
    """One uvicorn server in a daemon thread. ``url`` is set once it accepts connections."""

    def __init__(self, path: Path | None = None, host: str = "127.0.0.1"):
        self.path = path
        self.host = host
        self.url: str | None = None
        self.error: BaseException | None = None
        self.ready = threading.Event()
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="esep-embedded", daemon=True)
            self._thread.start()

    def wait(self, timeout: float | None = None) -> str:
        """Block until the server is up; raises what stopped it from starting."""
        if not self.ready.wait(timeout):
            raise TimeoutError("the embedded server did not start in time")
        if self.error is not None:
            raise RuntimeError(f"the embedded server could not start: {self.error}")
        assert self.url is not None
        return self.url

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        app = None
        try:
            _route_logs_to_file()
            import uvicorn

            app = build_backend(self.path)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, 0))
            port = sock.getsockname()[1]
            config = uvicorn.Config(
                app, log_config=None, access_log=False, log_level="warning", lifespan="off"
            )
            self._server = server = uvicorn.Server(config)
            self.url = f"http://{self.host}:{port}"
            watcher = threading.Thread(target=self._signal_ready, args=(server,), daemon=True)
            watcher.start()
            server.run(sockets=[sock])
        except BaseException as exc:  # reported to the app, which says what to do
            log.exception("embedded server failed")
            self.error = exc
            self.ready.set()
        finally:
            if app is not None:
                app.state.engine.dispose()

    def _signal_ready(self, server) -> None:
        while not server.started and not server.should_exit and self.error is None:
            threading.Event().wait(0.02)
        self.ready.set()
