"""Crash reports: what went wrong, written to the data directory with every secret removed.

The terminal never shows a traceback. It shows what happened, that queued changes are safe,
and where the report is, so it can be sent to whoever supports the installation.
"""

from __future__ import annotations

import platform
import re
import sys
import time
import traceback
from pathlib import Path

from esep_tui.i18n import _

REDACTED = "[redacted]"

_SECRET_PATTERNS = [
    # Authorization: Bearer <token>
    re.compile(r"(?i)(bearer\s+)[^\s'\",]+"),
    # token=..., "access_token": "...", password: ..., activation codes
    re.compile(
        r"(?i)([\"']?(?:access_token|refresh_token|token|password|passwd|secret|code|"
        r"authorization|cookie|idempotency-key)[\"']?\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;)}\]]+)"
    ),
    # anything that looks like a long random token
    re.compile(r"(?<![\w/.-])[A-Za-z0-9_\-]{32,}={0,2}(?![\w/.-])"),
]


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    for pattern in _SECRET_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def reports_dir() -> Path:
    from esep_tui import paths

    return paths.data_dir() / "crash-reports"


def _known_secrets() -> tuple[str, ...]:
    """Tokens this process holds in memory, removed even when they match no pattern."""
    found: list[str] = []
    try:
        import gc

        from api_client.models.auth import TokenPair

        for obj in gc.get_objects():
            if isinstance(obj, TokenPair):
                found += [obj.access_token, obj.refresh_token]
    except Exception:
        pass
    return tuple(found)


def write_report(error: BaseException | None, context: dict[str, str] | None = None) -> Path | None:
    """The report's path, or None when it could not be written (the message says so)."""
    from esep_tui import __version__

    lines = [
        f"esep-tui {__version__} crash report",
        time.strftime("%Y-%m-%d %H:%M:%S %z"),
        f"python {sys.version.split()[0]} on {platform.platform()}",
        "",
    ]
    lines += [f"{key}: {value}" for key, value in (context or {}).items()]
    lines.append("")
    if error is not None:
        lines += traceback.format_exception(type(error), error, error.__traceback__)
    text = redact("\n".join(line.rstrip("\n") for line in lines), _known_secrets())
    try:
        folder = reports_dir()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / time.strftime("crash-%Y%m%d-%H%M%S.txt")
        n = 1
        while path.exists():
            n += 1
            path = folder / time.strftime(f"crash-%Y%m%d-%H%M%S-{n}.txt")
        path.write_text(text + "\n", encoding="utf-8")
        path.chmod(0o600)
    except OSError:
        return None
    return path


def message_for(error: BaseException | None, path: Path | None) -> str:
    """What the terminal shows instead of a traceback (plain text, never markup)."""
    what = redact(f"{type(error).__name__}: {error}" if error is not None else "unknown error")
    lines = [
        _("esep-tui stopped because of an unexpected error."),
        _("What happened: {what}").format(what=what[:300]),
        _("Changes you made are kept in the outbox and are sent after the next start."),
    ]
    if path is not None:
        lines.append(
            _("A report (sign-in tokens removed) was written to: {path}").format(path=path)
        )
        lines.append(
            _("Start esep-tui again; if it happens again, send that file to your support.")
        )
    else:
        lines.append(_("The report could not be written to the data directory."))
    return "\n".join(lines)
