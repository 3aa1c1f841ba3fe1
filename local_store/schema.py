"""The replica's schema, as numbered migrations tracked in ``PRAGMA user_version``.

Append a migration to add a column or table; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE entities (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        data TEXT,
        etag TEXT,
        version INTEGER,
        fetched_at REAL,
        dirty INTEGER NOT NULL DEFAULT 0,
        deleted INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (kind, id)
    );
    CREATE TABLE queries (
        kind TEXT NOT NULL,
        query TEXT NOT NULL,
        data TEXT,
        etag TEXT,
        fetched_at REAL,
        PRIMARY KEY (kind, query)
    );
    CREATE TABLE cursors (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL,
        updated_at REAL
    );
    CREATE TABLE pages (
        page_id TEXT PRIMARY KEY,
        doc BLOB,
        pending BLOB,
        server_state BLOB,
        updated_at REAL
    );
    CREATE TABLE http_cache (
        url TEXT PRIMARY KEY,
        etag TEXT NOT NULL,
        body BLOB NOT NULL,
        fetched_at REAL NOT NULL
    );
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        idempotency_key TEXT NOT NULL UNIQUE,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        body TEXT,
        headers TEXT,
        entity_kind TEXT,
        entity_id TEXT,
        prior TEXT,
        current_path TEXT,
        state TEXT NOT NULL DEFAULT 'queued'
            CHECK (state IN ('queued', 'sending', 'done', 'rejected', 'conflict', 'discarded')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        error_status INTEGER,
        error_code TEXT,
        error_message TEXT,
        error_field TEXT,
        error_reasons TEXT,
        server_version INTEGER,
        server_data TEXT,
        response TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX outbox_state ON outbox (state, seq);
    CREATE INDEX outbox_entity ON outbox (entity_kind, entity_id, state);
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT
    );
    """,
]

VERSION = len(MIGRATIONS)


class SchemaTooNew(RuntimeError):
    """The replica was written by a newer esep-tui; it is left untouched."""


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to :data:`VERSION`, one transaction per migration."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > VERSION:
        raise SchemaTooNew(f"replica schema {current} is newer than this program's {VERSION}")
    for number in range(current + 1, VERSION + 1):
        script = MIGRATIONS[number - 1]
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return VERSION
