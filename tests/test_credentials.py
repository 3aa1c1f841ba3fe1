"""Credentials: keyring keyed by server and account; a private file where no keyring works."""

from __future__ import annotations

import logging
import os
import stat

import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from api_client.http import SessionTokens
from esep_tui.credentials import TOKENS_FILE, CredentialStore

SERVER = "https://esep.example.org"


def _pair(n: int = 1) -> SessionTokens:
    return SessionTokens(
        access_token=f"access-secret-{n}-abcdef",
        refresh_token=f"refresh-secret-{n}-abcdef",
        expires_in=900,
        account_id=f"acc-{n}",
    )


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self):
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        del self.items[(service, username)]


class BrokenKeyring(MemoryKeyring):
    def set_password(self, service, username, password):
        raise RuntimeError("locked")


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_fail_backend_falls_back_to_a_private_file(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    store = CredentialStore(tmp_path / "creds", backend=fail.Keyring())
    assert store.kind() == "file" and "private file" in store.storage_kind()
    assert store.save(SERVER, "anna@example.org", _pair()) == "file"
    assert _mode(tmp_path / "creds") == 0o700
    assert _mode(tmp_path / "creds" / TOKENS_FILE) == 0o600
    loaded = store.load(SERVER, "anna@example.org")
    assert loaded.access_token == "access-secret-1-abcdef"
    assert "secret" not in repr(loaded) and "secret" not in repr(store)
    assert "secret" not in caplog.text
    assert "anna@example.org" in caplog.text  # the log says what happened, without secrets


def test_the_file_write_is_atomic(tmp_path, monkeypatch):
    store = CredentialStore(tmp_path / "creds", backend=fail.Keyring())
    store.save(SERVER, "anna@example.org", _pair(1))
    target = tmp_path / "creds" / TOKENS_FILE
    before = target.read_bytes()

    def crash(_src, _dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        store.save(SERVER, "kostas@example.org", _pair(2))
    # the old file is intact and no temporary file is left behind
    assert target.read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "creds").iterdir()) == ["accounts.json", TOKENS_FILE]
    monkeypatch.undo()
    store.save(SERVER, "kostas@example.org", _pair(2))
    assert store.load(SERVER, "kostas@example.org").account_id == "acc-2"
    assert store.load(SERVER, "anna@example.org").account_id == "acc-1"


def test_the_user_is_told_once(tmp_path):
    store = CredentialStore(tmp_path / "creds", backend=fail.Keyring())
    first = store.fallback_notice()
    assert first and "private file" in first
    assert store.fallback_notice() is None
    assert CredentialStore(tmp_path / "creds", backend=fail.Keyring()).fallback_notice() is None
    assert CredentialStore(tmp_path / "k", backend=MemoryKeyring()).fallback_notice() is None


def test_keyring_keyed_by_server_and_account(tmp_path):
    ring = MemoryKeyring()
    store = CredentialStore(tmp_path / "creds", backend=ring)
    assert store.kind() == "keyring" and "MemoryKeyring" in store.storage_kind()
    assert store.save(SERVER, "anna@example.org", _pair(1)) == "keyring"
    store.save("embedded", "anna@example.org", _pair(2))
    store.save(SERVER + "/", "kostas@example.org", _pair(3))
    assert store.load(SERVER, "anna@example.org").account_id == "acc-1"
    assert store.load("embedded", "anna@example.org").account_id == "acc-2"
    assert not (tmp_path / "creds" / TOKENS_FILE).exists()  # nothing secret on disk
    assert sorted(store.accounts(SERVER)) == ["anna@example.org", "kostas@example.org"]
    assert sorted(store.logout(SERVER)) == ["anna@example.org", "kostas@example.org"]
    assert store.load(SERVER, "anna@example.org") is None
    assert store.load("embedded", "anna@example.org") is not None  # another server's stays
    assert all("secret-1" not in v for v in ring.items.values())


def test_a_keyring_that_refuses_falls_back_without_leaking(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    store = CredentialStore(tmp_path / "creds", backend=BrokenKeyring())
    assert store.save(SERVER, "anna@example.org", _pair()) == "file"
    assert store.kind() == "file"
    assert store.load(SERVER, "anna@example.org").refresh_token == "refresh-secret-1-abcdef"
    assert "RuntimeError" in caplog.text and "secret" not in caplog.text
    assert store.logout(SERVER) == ["anna@example.org"]
    assert store.load(SERVER, "anna@example.org") is None
    assert "secret" not in (tmp_path / "creds" / TOKENS_FILE).read_text()


def test_module_functions_use_the_config_dir(tmp_path, monkeypatch):
    from esep_tui import credentials

    monkeypatch.setenv("ESEP_TUI_HOME", str(tmp_path))
    monkeypatch.setattr(credentials, "_default", None)
    monkeypatch.setattr("keyring.get_keyring", lambda: fail.Keyring())
    credentials.save("embedded", "anna@example.org", _pair())
    assert (tmp_path / "config" / "credentials" / TOKENS_FILE).exists()
    assert credentials.load("embedded", "anna@example.org").account_id == "acc-1"
    assert "private file" in credentials.storage_kind()
    assert credentials.delete("embedded", "anna@example.org") is True
    assert credentials.load("embedded", "anna@example.org") is None
