"""Keep the catalogs in step with the code.

    python -m esep_tui.locale.catalogs update    # extract -> esep_tui.pot, merge into every .po
    python -m esep_tui.locale.catalogs compile   # .po -> .mo
    python -m esep_tui.locale.catalogs check     # what is missing, untranslated or stale

A new language: ``pybabel init -D esep_tui -i esep_tui/locale/esep_tui.pot
-d esep_tui/locale -l <code>``, translate, compile.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

from esep_tui.i18n import DOMAIN, LOCALE_DIR

ROOT = LOCALE_DIR.parent.parent
SOURCE_DIRS = ("esep_tui", "screens", "widgets")
POT = LOCALE_DIR / f"{DOMAIN}.pot"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def po_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(code: str) -> Path:
    return po_path(code).with_suffix(".mo")


def languages() -> list[str]:
    return sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def extract_catalog() -> Catalog:
    """Every interface string in the code, as Babel sees it."""
    catalog = Catalog(project="esep-tui", domain=DOMAIN, charset="utf-8")
    for folder in SOURCE_DIRS:
        for filename, lineno, message, comments, context in extract_from_dir(
            ROOT / folder,
            method_map=[("**.py", "esep_tui.i18n:extract")],
            options_map={"**.py": {}},
            keywords=KEYWORDS,
            comment_tags=("Translators:",),
        ):
            del context  # no message contexts here
            catalog.add(
                message,
                None,
                [(f"{folder}/{filename}", lineno)],
                auto_comments=comments,
            )
    return catalog


def read(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh)


def write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, omit_header=False, sort_output=False)
    path.write_bytes(buffer.getvalue())


def update() -> None:
    template = extract_catalog()
    write(POT, template)
    for code in languages():
        catalog = read(po_path(code))
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        write(po_path(code), catalog)


def compile_all() -> None:
    for code in languages():
        catalog = read(po_path(code))
        with mo_path(code).open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)


def compiled(code: str) -> dict[str, str]:
    """What the .mo holds (msgid -> msgstr), plural forms flattened."""
    with mo_path(code).open("rb") as fh:
        return _flatten(read_mo(fh))


def expected(code: str) -> dict[str, str]:
    """What the .mo should hold, compiled from the .po."""
    buffer = io.BytesIO()
    write_mo(buffer, read(po_path(code)), use_fuzzy=False)
    buffer.seek(0)
    return _flatten(read_mo(buffer))


def _flatten(catalog: Catalog) -> dict[str, str]:
    out = {}
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else "\x00".join(message.id)
        value = message.string if isinstance(message.string, str) else "\x00".join(message.string)
        out[key] = value
    return out


def problems() -> list[str]:
    """Everything that makes the catalogs incomplete or stale, one line each."""
    found: list[str] = []
    code_ids = {m.id if isinstance(m.id, str) else m.id[0] for m in extract_catalog() if m.id}
    for code in languages():
        catalog = read(po_path(code))
        ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
        for msgid in sorted(code_ids - ids):
            found.append(f"{code}: not in the catalog: {msgid[:70]!r}")
        for message in catalog:
            if not message.id:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if not all(strings) or message.fuzzy:
                found.append(f"{code}: untranslated: {str(message.id)[:70]!r}")
        for message in catalog:
            if message.id and not _same_fields(message):
                found.append(f"{code}: placeholders differ: {str(message.id)[:70]!r}")
        if not mo_path(code).exists() or compiled(code) != expected(code):
            found.append(f"{code}: {mo_path(code).name} is older than the .po (compile it)")
    return found


def _fields(text: str) -> set[str]:
    import string

    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return {"<malformed>"}


def _same_fields(message) -> bool:
    """A translation names the same ``{placeholders}`` as its source, or ``.format`` fails."""
    ids = message.id if isinstance(message.id, tuple) else (message.id,)
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    wanted = set().union(*(_fields(i) for i in ids))
    return all(not s or _fields(s) <= wanted for s in strings) and all(
        not s or _fields(s) >= _fields(ids[0]) - {"n"} for s in strings
    )


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "check":
        lines = problems()
        print("\n".join(lines) or "catalogs complete")
        return 1 if lines else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
