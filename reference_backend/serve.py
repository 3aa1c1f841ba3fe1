"""``esep-tui serve``: the reference backend over HTTP, served by uvicorn.

    esep-tui serve                                  # SQLite file in the data directory
    esep-tui serve --demo --host 0.0.0.0            # a classroom: the demo world, on the LAN
    esep-tui serve --database-url postgresql://user@host/db --workers 4

Migrations (and the demo seed) run once, before any worker starts; with ``--workers`` > 1 each
worker process builds its own app from the environment (uvicorn's factory mode).
"""

from __future__ import annotations

import argparse
import os
import sys

ENV_URL = "ESEP_SERVE_DATABASE_URL"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="esep-tui serve", description="Run the esep-tui reference backend."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on")
    parser.add_argument(
        "--database-url",
        default=None,
        help="sqlite:///path or postgresql://user@host/db (default: a SQLite file in the "
        "data directory)",
    )
    parser.add_argument(
        "--seed",
        choices=("demo", "none"),
        default="none",
        help="seed the demo world into an empty database (default: none)",
    )
    parser.add_argument(
        "--schools", type=_positive, default=None, help="scale the demo world to N organisations"
    )
    parser.add_argument("--workers", type=_positive, default=1, help="worker processes")
    parser.add_argument("--demo", action="store_true", help="the same as --seed demo")
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args(argv: list[str]) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    if args.demo:
        args.seed = "demo"
    if args.database_url is None:
        from reference_backend.app import default_database_url

        args.database_url = default_database_url()
    return args


def shown_url(url: str) -> str:
    """The database URL without its password, for the start-up line."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def app_from_env():
    """uvicorn factory for worker processes: migrations and seeding already happened."""
    from reference_backend.app import create_app

    return create_app(os.environ[ENV_URL], migrate=False)


def prepare(url: str, seed: str, schools: int | None) -> None:
    """Migrate and seed once, in the parent, before workers start."""
    from reference_backend import db as dbmod

    engine = dbmod.make_engine(url)
    try:
        dbmod.upgrade(engine)
        if seed == "demo":
            from reference_backend.seed import seed_world

            seed_world(engine, schools=schools)
    finally:
        engine.dispose()


def main(argv: list[str]) -> int:
    try:
        args = parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    import uvicorn

    scheme_host = f"[{args.host}]" if ":" in args.host else args.host
    line = (
        f"esep-tui reference backend on http://{scheme_host}:{args.port} "
        f"(database: {shown_url(args.database_url)}"
        + (", demo world" if args.seed == "demo" else "")
        + (f", {args.workers} workers" if args.workers > 1 else "")
        + ")"
    )
    try:
        if args.workers > 1:
            prepare(args.database_url, args.seed, args.schools)
            os.environ[ENV_URL] = args.database_url
            print(line, flush=True)
            uvicorn.run(
                "reference_backend.serve:app_from_env",
                factory=True,
                host=args.host,
                port=args.port,
                workers=args.workers,
                log_level="warning",
            )
        else:
            from reference_backend.app import create_app

            app = create_app(args.database_url, seed=args.seed, schools=args.schools)
            print(line, flush=True)
            uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    except KeyboardInterrupt:
        return 0
    except Exception as exc:  # a clear sentence, not a traceback
        print(f"esep-tui serve: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
