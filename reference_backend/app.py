"""The application factory: one FastAPI app over one database, migrated and optionally seeded."""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware

from reference_backend import db as dbmod
from reference_backend import errors, routes

API_DESCRIPTION = """The reference backend of esep-tui: the European School Education Platform's
workflows (EU Login, registration, eTwinning validation, organisations, partner finding,
projects, TwinSpaces, NSO queues) behind a JSON API.

Every error is `{code, message, field?, reasons?}` with a 4xx status. Writes honour
`Idempotency-Key`; GETs answer `If-None-Match` with 304; versioned objects honour `If-Match`
(412 on a stale version). See docs/api.md for a walk through the whole teacher journey."""


def default_database_url() -> str:
    from platformdirs import user_data_path

    path = user_data_path("esep-tui", appauthor=False, ensure_exists=True) / "server.sqlite3"
    return f"sqlite:///{path}"


def _routers():
    for info in sorted(pkgutil.iter_modules(routes.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{routes.__name__}.{info.name}")
        router = getattr(module, "router", None)
        if router is not None:
            yield router


def create_app(
    database_url: str | None = None,
    *,
    seed: str = "none",
    schools: int | None = None,
    schema: str | None = None,
    migrate: bool = True,
) -> FastAPI:
    """Build the app. ``seed`` is ``demo`` or ``none``; ``schools`` scales the seeded world."""
    url = database_url or default_database_url()
    engine = dbmod.make_engine(url, schema=schema)
    if migrate:
        dbmod.upgrade(engine)
    if seed == "demo":
        from reference_backend.seed import seed_world

        seed_world(engine, schools=schools)
    elif seed != "none":
        raise ValueError(f"unknown seed {seed!r}; use 'demo' or 'none'")

    app = FastAPI(title="esep-tui reference backend", version="1", description=API_DESCRIPTION)
    app.state.engine = engine
    app.state.database_url = url
    app.state.sessionmaker = dbmod.make_sessionmaker(engine)
    app.state.read_sessionmaker = dbmod.make_sessionmaker(engine, read_only=True)
    errors.install(app)
    for router in _routers():
        app.include_router(router)
    app.add_middleware(GZipMiddleware, minimum_size=400)
    return app
