"""Where esep-tui keeps things: platformdirs config/data/cache, one replica per (server, account).

``ESEP_TUI_HOME`` moves all three under one directory (trainers' rooms, tests, portable use).
A server is named by a stable key, not its URL, where the URL changes between runs: the
embedded backend listens on a new loopback port each start, so it is keyed ``embedded``.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

APP = "esep-tui"
EMBEDDED = "embedded"


def _home() -> Path | None:
    value = os.environ.get("ESEP_TUI_HOME")
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    home = _home()
    if home is not None:
        return home / "config"
    from platformdirs import user_config_path

    return user_config_path(APP, appauthor=False)


def data_dir() -> Path:
    home = _home()
    if home is not None:
        return home / "data"
    from platformdirs import user_data_path

    return user_data_path(APP, appauthor=False)


def cache_dir() -> Path:
    home = _home()
    if home is not None:
        return home / "cache"
    from platformdirs import user_cache_path

    return user_cache_path(APP, appauthor=False)


def server_key(server: str) -> str:
    """A stable name for a server: ``embedded``, or ``scheme://host[:port][/path]`` lowercased."""
    if server == EMBEDDED:
        return EMBEDDED
    parts = urlsplit(server.strip())
    if not parts.scheme or not parts.netloc:
        return server.strip().lower().rstrip("/")
    port = f":{parts.port}" if parts.port and parts.port not in (80, 443) else ""
    host = (parts.hostname or "").lower()
    return f"{parts.scheme.lower()}://{host}{port}{parts.path.rstrip('/')}"


def _slug(text: str, limit: int = 40) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:limit] or "x"
    digest = hashlib.blake2b(text.encode(), digest_size=6).hexdigest()
    return f"{slug}-{digest}"


def replica_path(server: str, account: str, *, create: bool = True) -> Path:
    """The SQLite replica of one account on one server, in the data directory."""
    folder = data_dir() / "replicas" / _slug(server_key(server))
    if create:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder / f"{_slug(account)}.sqlite3"


def locate() -> dict[str, str]:
    """The three directories, for ``esep-tui locate``."""
    return {"config": str(config_dir()), "data": str(data_dir()), "cache": str(cache_dir())}
