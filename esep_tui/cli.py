"""The ``esep-tui`` command. Only argparse at import time: ``--help`` must stay instant."""

from __future__ import annotations

import argparse
import sys

from esep_tui import __version__

DESCRIPTION = (
    "A keyboard-driven client for the European School Education Platform and eTwinning. "
    "With no command it opens on the embedded backend (demo world, no network needed)."
)


# ``--link-profile``: the app's connection goes through a shaped loopback link
_link_profile: str | None = None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="esep-tui", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"esep-tui {__version__}")
    parser.add_argument(
        "--server", metavar="URL", help="use a remote backend, e.g. http://10.0.0.5:8765"
    )
    parser.add_argument(
        "--pupil", action="store_true", help="open the pupil sign-in (username + code)"
    )
    parser.add_argument(
        "--link-profile",
        metavar="NAME",
        type=str.lower,
        choices=("2g", "edge", "3g", "cut", "lan"),
        help="run the app over a simulated bad link: 2g, edge, 3g, cut (or lan)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "serve",
        help="run the reference backend (see `esep-tui serve --help`)",
        add_help=False,
    )
    commands.add_parser("locate", help="print where config, data and cache live")
    logout = commands.add_parser("logout", help="remove stored sign-in tokens")
    logout.add_argument("--server", dest="logout_server", metavar="URL", help="only this server")
    demo = commands.add_parser("demo", help="open the demo world with a persona picker")
    demo_commands = demo.add_subparsers(dest="demo_command", metavar="ACTION")
    reset = demo_commands.add_parser(
        "reset", help="delete the embedded database and replicas, then seed the demo again"
    )
    reset.add_argument("--yes", action="store_true", help="confirm the reset")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:
        # the backend owns its options; import it only now
        from reference_backend.serve import main as serve_main

        return serve_main(argv[1:]) or 0
    args = build_parser().parse_args(argv)
    global _link_profile
    _link_profile = args.link_profile
    if args.command == "locate":
        return locate()
    if args.command == "logout":
        return logout(args.logout_server)
    if args.command == "demo":
        if args.demo_command == "reset":
            return demo_reset(confirmed=args.yes)
        return run_tui(server=args.server, start="persona")
    if args.pupil:
        return run_tui(server=args.server, start="pupil")
    return run_tui(server=args.server, start="signin")


def first_run() -> bool:
    """No settings file yet: nobody has chosen a way in on this computer."""
    from esep_tui import settings

    return not settings.config_file().exists()


def locate() -> int:
    from esep_tui import embedded, settings

    rows = [
        ("config", settings.config_dir()),
        ("settings", settings.config_file()),
        ("data", settings.data_dir()),
        ("cache", settings.cache_dir()),
        ("embedded database", embedded.database_path()),
    ]
    width = max(len(name) for name, _ in rows)
    for name, path in rows:
        print(f"{name:<{width}}  {path}")
    return 0


def logout(server: str | None = None) -> int:
    from esep_tui import settings as settings_mod
    from esep_tui.connection import forget_tokens

    cfg = settings_mod.Settings.load()
    if server:
        identities = [settings_mod.server_identity(server)]
    else:
        known = {settings_mod.EMBEDDED, *cfg.last_account}
        if cfg.server:
            known.add(settings_mod.server_identity(cfg.server))
        identities = sorted(known)
    removed = forget_tokens(cfg, identities)
    for identity in identities:
        cfg.last_account.pop(identity, None)
    cfg.save()
    if removed:
        print(f"Removed stored sign-in for {', '.join(removed)}.")
    else:
        print("No stored sign-in to remove.")
    return 0


def demo_reset(*, confirmed: bool) -> int:
    from esep_tui import embedded
    from esep_tui import settings as settings_mod
    from esep_tui.connection import forget_tokens, remove_replicas

    path = embedded.database_path()
    if not confirmed:
        print(
            f"This deletes the embedded database ({path}) and its local replicas, "
            "then seeds the demo world again.\nRun `esep-tui demo reset --yes` to go ahead.",
            file=sys.stderr,
        )
        return 2
    cfg = settings_mod.Settings.load()
    forget_tokens(cfg, [settings_mod.EMBEDDED])
    cfg.last_account.pop(settings_mod.EMBEDDED, None)
    cfg.save()
    removed = embedded.remove_database(path) + remove_replicas(settings_mod.EMBEDDED)
    app = embedded.build_backend(path)
    app.state.engine.dispose()
    print(f"Demo world restored ({len(removed)} files removed, database seeded at {path}).")
    return 0


def run_tui(*, server: str | None, start: str) -> int:
    from esep_tui.app import EsepApp

    if start == "signin" and first_run():
        start = "welcome"
    app = EsepApp(server=server, start=start)
    if _link_profile:
        from esep_tui.link_shaper import route_app

        route_app(app, _link_profile)
    try:
        app.run()
    except Exception as exc:  # outside the app's own loop: the same report, no traceback
        from esep_tui.crash import message_for, write_report

        print(message_for(exc, write_report(exc, context={"start": start})), file=sys.stderr)
        return 70
    return app.return_code or 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
