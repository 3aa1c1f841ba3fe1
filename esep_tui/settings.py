"""One settings model: a JSON file in the config directory, overridden by ``ESEP_*`` variables.

``ESEP_CONFIG`` points at another settings file. Tokens never live here (see credentials).
A plain dataclass rather than pydantic-settings: it is read before the first paint, and
pydantic's import alone would add a third to the app's startup.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from esep_tui import paths

ENV_PREFIX = "ESEP_"
EMBEDDED = paths.EMBEDDED
"""The server identity of the bundled backend: its port changes each start, its data does not."""

LANGUAGES = {"en": "English", "el": "Ελληνικά", "pl": "Polski"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def config_dir() -> Path:
    return paths.config_dir()


def data_dir() -> Path:
    return paths.data_dir()


def cache_dir() -> Path:
    return paths.cache_dir()


def config_file() -> Path:
    override = os.environ.get("ESEP_CONFIG")
    return Path(override).expanduser() if override else config_dir() / "settings.json"


def _read_file() -> dict[str, Any]:
    """The settings file; a missing or damaged file means defaults, never a crash at start."""
    try:
        data = json.loads(config_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class Settings:
    # None: the embedded backend; otherwise the base URL of a remote one
    server: str | None = None
    language: str = "en"
    theme: str = "esep-dark"
    work_offline: bool = False
    # server identity -> the account last signed in there (email, or "pupil:<username>")
    last_account: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Settings:
        """Defaults, then the file, then ``ESEP_<FIELD>`` variables; bad values are ignored."""
        values: dict[str, Any] = {}
        file_values = _read_file()
        for f in fields(cls):
            env = os.environ.get(ENV_PREFIX + f.name.upper())
            raw = env if env is not None else file_values.get(f.name)
            if raw is not None:
                parsed = _parse(f.name, raw, from_env=env is not None)
                if parsed is not _INVALID:
                    values[f.name] = parsed
        return cls(**values)

    def save(self) -> Path:
        """Write the file atomically, so a crash mid-write never leaves half a file."""
        path = config_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(asdict(self), fh, indent=2, ensure_ascii=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


_INVALID = object()


def _parse(name: str, raw: Any, *, from_env: bool) -> Any:
    if name == "server":
        text = str(raw).strip()
        return text or None
    if name == "language":
        return raw if raw in LANGUAGES else _INVALID
    if name == "theme":
        return str(raw) if str(raw).strip() else _INVALID
    if name == "work_offline":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        return True if text in _TRUE else False if text in _FALSE else _INVALID
    if name == "last_account":
        if from_env:
            try:
                raw = json.loads(raw)
            except ValueError:
                return _INVALID
        if isinstance(raw, dict):
            return {str(k): str(v) for k, v in raw.items()}
        return _INVALID
    return raw


def server_identity(server: str | None) -> str:
    """The key for tokens and the replica: stable across restarts of the embedded backend."""
    return paths.server_key(server) if server else EMBEDDED
