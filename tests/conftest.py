"""Fixtures: the backend in-process on SQLite and on PostgreSQL.

API tests take the ``app``/``client`` fixtures and run once per database. PostgreSQL is found
at ``ESEP_TEST_DATABASE_URL`` (default: 127.0.0.1:5432, database ``test``); when it is not
reachable the PostgreSQL variants are skipped and the summary says so, unless
``ESEP_REQUIRE_POSTGRES=1`` (CI), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from reference_backend import clock
from reference_backend import db as dbmod
from reference_backend.app import create_app
from reference_backend.tables import Base

PG_URL = os.environ.get("ESEP_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("ESEP_REQUIRE_POSTGRES") == "1"
_pg_problem: list[str] = []


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = dbmod.make_engine(f"sqlite:///{path}")
    dbmod.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_schema():
    """One migrated schema per test worker; tables are emptied between tests."""
    # unique per process: several test runs may share one PostgreSQL server
    schema = f"esep_test_{_worker()}_{os.getpid()}"
    try:
        admin = dbmod.make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
    except Exception:  # not reachable on this laptop
        if REQUIRE_PG:
            raise
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    engine = dbmod.make_engine(PG_URL, schema=schema)
    dbmod.upgrade(engine)
    yield schema, engine
    engine.dispose()
    admin = dbmod.make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def _truncate(engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request, tmp_path):
    """(url, schema) of a fresh, migrated, empty database."""
    if request.param == "sqlite":
        path = tmp_path / "server.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}", None
    schema, engine = request.getfixturevalue("pg_schema")
    _truncate(engine)
    return PG_URL, schema


@pytest.fixture
def app(database):
    url, schema = database
    application = create_app(url, schema=schema, migrate=schema is None)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture(autouse=True)
def _reset_clock():
    clock.reset()
    yield
    clock.reset()


def pytest_sessionstart(session):
    """Check PostgreSQL once in the controlling process, so the summary can say it was skipped."""
    if hasattr(session.config, "workerinput"):
        return
    try:
        engine = dbmod.make_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        _pg_problem.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}")


def pytest_terminal_summary(terminalreporter):
    if _pg_problem:
        terminalreporter.write_sep(
            "=",
            f"PostgreSQL variant SKIPPED ({_pg_problem[0]}); set ESEP_TEST_DATABASE_URL to run it",
            yellow=True,
            bold=True,
        )
