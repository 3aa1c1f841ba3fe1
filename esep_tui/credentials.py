"""Where sign-in tokens are kept: the system keyring, keyed by server and account.

Where no keyring backend works (a headless Linux server has none), tokens go to a file
instead: ``0600`` in a ``0700`` directory under the config directory, written atomically
(temporary file, fsync, rename). The user is told once; Settings shows which storage is in
use (:func:`storage_kind`). ``esep-tui logout`` calls :func:`logout`.

Tokens never reach a log line, an exception message or a repr: only servers, accounts and
exception class names are ever logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from esep_tui import paths

log = logging.getLogger("esep_tui.credentials")

SERVICE = "esep-tui"
TOKENS_FILE = "tokens.json"
INDEX_FILE = "accounts.json"
NOTICE_FLAG = "file-storage-notice-shown"
NOTICE = (
    "No system keyring was found, so your sign-in is kept in a private file "
    "(readable only by you): {path}"
)


def _pair_dict(tokens: Any) -> dict[str, Any]:
    if hasattr(tokens, "model_dump"):
        return tokens.model_dump(mode="json")
    return dict(tokens)


def _as_pair(data: dict[str, Any]):
    from api_client.http import SessionTokens

    return SessionTokens.model_validate(data)


class CredentialStore:
    def __init__(self, directory: str | Path | None = None, backend: Any = None):
        self.directory = Path(directory) if directory else paths.config_dir() / "credentials"
        self._backend = backend
        self._keyring_failed = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CredentialStore({str(self.directory)!r}, kind={self.kind()!r})"

    # ------------------------------------------------------------ backend choice

    def _keyring(self):
        """The keyring backend, or None where none works."""
        if self._keyring_failed:
            return None
        try:
            if self._backend is not None:
                backend = self._backend
            else:
                import keyring

                backend = keyring.get_keyring()
            from keyring.backends import chainer, fail

            if isinstance(backend, fail.Keyring):
                return None
            if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
                return None
            return backend
        except Exception as exc:
            log.info("no usable keyring: %s", type(exc).__name__)
            return None

    def kind(self) -> str:
        return "keyring" if self._keyring() is not None else "file"

    def storage_kind(self) -> str:
        """A line for Settings: which storage holds the tokens."""
        backend = self._keyring()
        if backend is not None:
            return f"system keyring ({type(backend).__name__})"
        return f"private file ({self.directory / TOKENS_FILE})"

    # ------------------------------------------------------------ files

    def _ensure_dir(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.directory, 0o700)

    def _read_json(self, name: str) -> dict[str, Any]:
        try:
            data = json.loads((self.directory / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_json(self, name: str, data: dict[str, Any]) -> None:
        """Atomically: a 0600 temporary file in the same directory, fsynced, then renamed."""
        self._ensure_dir()
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=self.directory)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, separators=(",", ":"))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.directory / name)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        with contextlib.suppress(OSError):  # the rename itself survives a power cut
            dir_fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    @staticmethod
    def _slot(server: str, account: str) -> str:
        return f"{paths.server_key(server)}|{account}"

    def _index_add(self, server: str, account: str) -> None:
        index = self._read_json(INDEX_FILE)
        accounts = index.setdefault(paths.server_key(server), [])
        if account not in accounts:
            accounts.append(account)
            self._write_json(INDEX_FILE, index)

    def _index_remove(self, server: str, account: str) -> None:
        index = self._read_json(INDEX_FILE)
        key = paths.server_key(server)
        if account in index.get(key, []):
            index[key].remove(account)
            if not index[key]:
                del index[key]
            self._write_json(INDEX_FILE, index)

    def accounts(self, server: str) -> list[str]:
        return list(self._read_json(INDEX_FILE).get(paths.server_key(server), []))

    # ------------------------------------------------------------ tokens

    def save(self, server: str, account: str, tokens: Any) -> str:
        """Store a token pair; returns the storage used ("keyring" or "file")."""
        secret = json.dumps(_pair_dict(tokens), separators=(",", ":"))
        with self._lock:
            backend = self._keyring()
            used = "file"
            if backend is not None:
                try:
                    backend.set_password(SERVICE, self._slot(server, account), secret)
                    used = "keyring"
                except Exception as exc:
                    log.warning(
                        "the keyring refused the sign-in (%s); using a private file instead",
                        type(exc).__name__,
                    )
                    self._keyring_failed = True
            if used == "file":
                data = self._read_json(TOKENS_FILE)
                data[self._slot(server, account)] = json.loads(secret)
                self._write_json(TOKENS_FILE, data)
            self._index_add(server, account)
        log.info("sign-in stored for %s on %s (%s)", account, paths.server_key(server), used)
        return used

    def load(self, server: str, account: str):
        """The stored pair (tokens hidden from its repr), or None."""
        slot = self._slot(server, account)
        backend = self._keyring()
        if backend is not None:
            try:
                secret = backend.get_password(SERVICE, slot)
            except Exception as exc:
                log.warning("could not read the keyring (%s)", type(exc).__name__)
                secret = None
            if secret:
                try:
                    return _as_pair(json.loads(secret))
                except ValueError:
                    log.warning("a stored sign-in could not be read; ignoring it")
                    return None
        raw = self._read_json(TOKENS_FILE).get(slot)
        if not isinstance(raw, dict):
            return None
        try:
            return _as_pair(raw)
        except ValueError:
            log.warning("a stored sign-in could not be read; ignoring it")
            return None

    def delete(self, server: str, account: str) -> bool:
        """Remove one account's tokens from wherever they are; True if any were there."""
        slot = self._slot(server, account)
        removed = False
        with self._lock:
            backend = self._keyring()
            if backend is not None:
                try:
                    if backend.get_password(SERVICE, slot) is not None:
                        backend.delete_password(SERVICE, slot)
                        removed = True
                except Exception as exc:
                    log.warning("could not remove from the keyring (%s)", type(exc).__name__)
            data = self._read_json(TOKENS_FILE)
            if slot in data:
                del data[slot]
                self._write_json(TOKENS_FILE, data)
                removed = True
            self._index_remove(server, account)
        return removed

    def logout(self, server: str) -> list[str]:
        """Remove every stored sign-in for one server; returns the accounts removed."""
        gone = []
        file_accounts = [
            slot.split("|", 1)[1]
            for slot in self._read_json(TOKENS_FILE)
            if slot.split("|", 1)[0] == paths.server_key(server)
        ]
        for account in dict.fromkeys(self.accounts(server) + file_accounts):
            if self.delete(server, account):
                gone.append(account)
        return gone

    def fallback_notice(self) -> str | None:
        """The one-time message about file storage: its text the first time, then None."""
        if self.kind() != "file":
            return None
        flag = self.directory / NOTICE_FLAG
        if flag.exists():
            return None
        self._ensure_dir()
        flag.touch(mode=0o600)
        return NOTICE.format(path=self.directory / TOKENS_FILE)


_default: CredentialStore | None = None


def default_store() -> CredentialStore:
    global _default
    if _default is None:
        _default = CredentialStore()
    return _default


def storage_kind() -> str:
    return default_store().storage_kind()


def save(server: str, account: str, tokens: Any) -> str:
    return default_store().save(server, account, tokens)


def load(server: str, account: str):
    return default_store().load(server, account)


def delete(server: str, account: str) -> bool:
    return default_store().delete(server, account)


def logout(server: str) -> list[str]:
    return default_store().logout(server)


def fallback_notice() -> str | None:
    return default_store().fallback_notice()
