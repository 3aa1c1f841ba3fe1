"""Regenerate the initial migration from the models (development only, before the first release).

python -m reference_backend.migrations.regen
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config

from reference_backend.db import MIGRATIONS_DIR, make_engine

INITIAL = MIGRATIONS_DIR / "versions" / "0001_initial.py"


def main() -> None:
    INITIAL.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'scratch.sqlite3'}")
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
    for path in (MIGRATIONS_DIR / "versions").glob("0001_*.py"):
        if path != INITIAL:
            path.rename(INITIAL)
    print(f"wrote {INITIAL}")


if __name__ == "__main__":
    main()
