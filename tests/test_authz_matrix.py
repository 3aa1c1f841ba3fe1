"""The authorization matrix: every OpenAPI operation x role x own/foreign object.

The operations come from ``app.openapi()``: an endpoint without an entry in
``tests/authz_matrix.py`` fails here, and so does an entry for an endpoint that is gone. Each
call runs against the same small world (tests/fuzz_support.py), restored after every write that
succeeded, so one role's success never changes what the next role sees. No 2xx may appear
where the matrix does not expect one, and every refusal must have the expected status.

``AUTHZ_DUMP=1`` prints what the server answers, as matrix lines, to help review a new entry.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing

import pytest
from starlette.testclient import TestClient

from reference_backend.app import create_app
from tests import authz_matrix as M
from tests.fuzz_support import build_world

ROLES = M.ROLES


def _operations(app) -> list[str]:
    return [
        f"{method.upper()} {path}"
        for path, ops in app.openapi()["paths"].items()
        for method in ops
        if method in {"get", "post", "put", "patch", "delete"}
    ]


class Restorer:
    """Puts the SQLite file back as the world left it (online backup, a few milliseconds)."""

    def __init__(self, path: str):
        self.path = path
        self.snapshot = sqlite3.connect(":memory:")
        with closing(sqlite3.connect(path)) as src:
            src.backup(self.snapshot)

    def restore(self) -> None:
        with closing(sqlite3.connect(self.path, timeout=30)) as dest:
            self.snapshot.backup(dest)


@pytest.fixture(scope="module")
def matrix_world(tmp_path_factory):
    path = tmp_path_factory.mktemp("authz") / "world.sqlite3"
    app = create_app(f"sqlite:///{path}")
    with TestClient(app) as client:
        world = build_world(app, client)
        app.state.engine.dispose()
        restorer = Restorer(str(path))
        yield app, client, world, restorer
    app.state.engine.dispose()


def test_every_operation_has_a_matrix_entry(matrix_world):
    app = matrix_world[0]
    operations = set(_operations(app))
    missing = sorted(operations - set(M.MATRIX))
    stale = sorted(set(M.MATRIX) - operations)
    assert not missing, f"operations without an authorization matrix entry: {missing}"
    assert not stale, f"matrix entries for operations that no longer exist: {stale}"


def test_matrix_entries_are_complete():
    """Every entry states its expectation for every role, for own and (if any) foreign objects."""
    for key, entry in M.MATRIX.items():
        for target in M.targets(key, entry):
            for role in ROLES:
                assert M.expected(key, entry, target, role) is not None, (key, target, role)


def _call(client, world, key: str, entry: dict, target: str, role: str):
    method, path, kwargs = M.request(world, key, entry, target)
    headers = M.headers(world, role)
    return client.request(method, path, headers=headers, **kwargs)


def test_authorization_matrix(matrix_world):
    app, client, world, restorer = matrix_world
    dump = os.environ.get("AUTHZ_DUMP") == "1"
    problems: list[str] = []
    calls = 0
    for key in _operations(app):
        entry = M.MATRIX[key]
        method = key.split()[0]
        for target in M.targets(key, entry):
            seen = {}
            for role in ROLES:
                response = _call(client, world, key, entry, target, role)
                calls += 1
                if method != "GET" and response.status_code < 400:
                    app.state.engine.dispose()
                    restorer.restore()
                seen[role] = response.status_code
                want = M.expected(key, entry, target, role)
                if not M.matches(want, response.status_code):
                    problems.append(
                        f"{key} [{target}] as {role}: expected {want}, got "
                        f"{response.status_code} {response.text[:120]}"
                    )
                elif not M.decided_ok(entry, target, role, response):
                    problems.append(f"{key} [{target}] as {role}: decided {response.text[:200]}")
            if dump:
                print(f"DUMP {key!r} {target}: {seen}")
    assert calls > 8 * len(M.MATRIX)
    assert not problems, f"{len(problems)} mismatches:\n" + "\n".join(problems)
