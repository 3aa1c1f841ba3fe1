"""Interface languages: gettext catalogs managed with Babel, switchable at runtime.

Screens wrap every interface string in ``_()`` *when they render it* (in ``compose``,
``on_mount`` or a refresh), so a language switch takes effect when a screen is drawn again.
Module-level constants mark their strings with ``N_()`` and translate at display time.
Domain data (organisation names, page bodies, people's names) is never translated.

Adding a language is adding one catalog: ``locale/<code>/LC_MESSAGES/esep_tui.po`` and its
compiled ``.mo`` (``pybabel compile``); :data:`LANGUAGES` lists every catalog found.

Extraction (``pybabel extract -F esep_tui/locale/babel.cfg``) uses :func:`extract`, which
also picks up what Textual shows without a ``_()`` at the call site: key binding
descriptions and the screens' ``HELP`` texts (translated by the footer and the help screen).
"""

from __future__ import annotations

import gettext
import locale
import os
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

DOMAIN = "esep_tui"
LOCALE_DIR = Path(__file__).parent / "locale"
SOURCE_LANGUAGE = "en"

# names in their own language; a catalog for a language not listed here is named by Babel
_NATIVE_NAMES = {"en": "English", "el": "Ελληνικά", "pl": "Polski"}


def _discover() -> dict[str, str]:
    found = {SOURCE_LANGUAGE: _NATIVE_NAMES[SOURCE_LANGUAGE]}
    if LOCALE_DIR.is_dir():
        for mo in sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")):
            code = mo.parent.parent.name
            found[code] = _NATIVE_NAMES.get(code) or _babel_name(code)
    return found


def _babel_name(code: str) -> str:
    try:
        from babel import Locale

        return Locale.parse(code).get_display_name(code) or code
    except Exception:
        return code


LANGUAGES: dict[str, str] = _discover()
"""Language code -> its name in that language, for every catalog shipped."""

_current: gettext.NullTranslations = gettext.NullTranslations()
_language = SOURCE_LANGUAGE
_listeners: list[Callable[[str], Any]] = []
# every translation -> its English source, so text already translated can be translated again
_sources: dict[str, str] = {}


def _code(value: str) -> str:
    return value.split(":")[0].split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()


def default_language() -> str:
    """From the environment's locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), else English."""
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        for part in os.environ.get(var, "").split(":"):
            code = _code(part)
            if code in LANGUAGES:
                return code
    try:
        code = _code(locale.getlocale()[0] or "")
    except ValueError:
        code = ""
    return code if code in LANGUAGES else SOURCE_LANGUAGE


def configured_language() -> str | None:
    """The language the user chose (``ESEP_LANGUAGE``, or the settings file), if any."""
    import json

    from esep_tui import settings

    env = os.environ.get(settings.ENV_PREFIX + "LANGUAGE")
    if env:
        return env if env in LANGUAGES else None
    try:
        data = json.loads(settings.config_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("language") if isinstance(data, dict) else None
    return value if value in LANGUAGES else None


def startup_language() -> str:
    """The chosen language, else the environment's."""
    return configured_language() or default_language()


def _load(code: str) -> gettext.NullTranslations:
    translations = gettext.translation(DOMAIN, LOCALE_DIR, languages=[code], fallback=True)
    catalog = getattr(translations, "_catalog", {})
    for msgid, msgstr in catalog.items():
        if isinstance(msgid, str) and msgid and isinstance(msgstr, str) and msgstr != msgid:
            _sources.setdefault(msgstr, msgid)
    return translations


def set_language(code: str) -> str:
    """Switch the interface language; unknown codes fall back to English. Returns the code."""
    global _current, _language
    code = code if code in LANGUAGES else SOURCE_LANGUAGE
    _current = _load(code) if code != SOURCE_LANGUAGE else gettext.NullTranslations()
    changed = code != _language
    _language = code
    if changed:
        for listener in list(_listeners):
            listener(code)
    return code


def on_change(listener: Callable[[str], Any]) -> Callable[[], None]:
    """``listener(code)`` after every switch; returns the unsubscribe function."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener) if listener in _listeners else None


def language() -> str:
    return _language


def _(message: str) -> str:
    return _current.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a string for extraction without translating it yet."""
    return message


def retranslate(text: str) -> str:
    """``text`` in the current language, whether it is the English source or a translation
    made before a switch (binding descriptions are stored translated in the widgets)."""
    if not text:
        return text
    for code in LANGUAGES:
        if code != SOURCE_LANGUAGE and code != _language:
            _load_sources(code)
    return _(_sources.get(text, text))


_loaded_sources: set[str] = set()


def _load_sources(code: str) -> None:
    if code not in _loaded_sources:
        _loaded_sources.add(code)
        _load(code)


# ---------------------------------------------------------------- dates and numbers


def babel_locale() -> str:
    return {"en": "en_GB"}.get(_language, _language)


def format_date(value: date | datetime, format: str = "medium") -> str:
    from babel.dates import format_date as babel_format_date

    return babel_format_date(value, format=format, locale=babel_locale())


def format_datetime(value: datetime, format: str = "medium") -> str:
    from babel.dates import format_datetime as babel_format_datetime

    return babel_format_datetime(value, format=format, locale=babel_locale())


def format_number(value: float | int) -> str:
    from babel.numbers import format_decimal

    return format_decimal(value, locale=babel_locale())


def format_bytes(n: int) -> str:
    """1234567 -> "1.2 MB" in the interface language's digits and separators."""
    from babel.numbers import format_decimal

    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{format_decimal(round(n / size, 1), locale=babel_locale())} {unit}"
    return f"{format_decimal(n, locale=babel_locale())} B"


def format_timedelta(seconds: float) -> str:
    from babel.dates import format_timedelta as babel_format_timedelta

    return babel_format_timedelta(seconds, locale=babel_locale())


# ---------------------------------------------------------------- extraction

_TEXT_ATTRIBUTES = {"HELP"}


def extract(fileobj, keywords, comment_tags, options):
    """Babel extraction method: ``_()``/``N_()``/``ngettext()`` calls (Babel's own python
    extractor), plus ``Binding(key, action, "description")`` and ``HELP = "..."``."""
    import ast

    from babel.messages.extract import extract_python

    source = fileobj.read()
    yield from extract_python(_Reader(source), keywords, comment_tags, options)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _call_name(node) == "Binding":
            text = node.args[2] if len(node.args) > 2 else _keyword(node, "description")
            if _literal(text):
                yield (text.lineno, "", text.value, [])
        elif isinstance(node, ast.Assign) and _literal(node.value):
            names = {t.id for t in node.targets if isinstance(t, ast.Name)}
            if names & _TEXT_ATTRIBUTES:
                yield (node.lineno, "", node.value.value, [])


class _Reader:
    def __init__(self, data: bytes):
        import io

        self._lines = io.BytesIO(data)

    def readline(self) -> bytes:
        return self._lines.readline()

    def read(self) -> bytes:
        return self._lines.read()

    def seek(self, *args):
        return self._lines.seek(*args)

    def tell(self) -> int:
        return self._lines.tell()


def _call_name(node) -> str:
    func = node.func
    return getattr(func, "id", None) or getattr(func, "attr", "")


def _keyword(node, name: str):
    return next((k.value for k in node.keywords if k.arg == name), None)


def _literal(node) -> bool:
    import ast

    return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(node.value)
