"""Alembic environment. Runs on the connection handed over by ``reference_backend.db.upgrade``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from reference_backend.tables import Base

config = context.config
target_metadata = Base.metadata


def _run_on(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # the `alembic` command line: a URL in the config
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as conn:
            _run_on(conn)
        return
    _run_on(connection)


run()
