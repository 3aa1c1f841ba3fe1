"""``python -m esep_tui`` runs the same CLI as the ``esep-tui`` console script."""

from esep_tui.cli import main

raise SystemExit(main())
