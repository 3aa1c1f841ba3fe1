"""esep-tui: a keyboard-driven terminal client for the European School Education Platform."""

# kept literal (not importlib.metadata) so `esep-tui --version` stays instant
__version__ = "0.1.0"
