"""A short coloured label for a state (user, organisation, application, membership standing)."""

from __future__ import annotations

from textual.widgets import Static

from esep_tui.i18n import N_, _

# state -> (label, style class)
BADGES: dict[str, tuple[str, str]] = {
    "esep_registered": (N_("ESEP registered"), "-warning"),
    "etwinning_pending": (N_("waiting for validation"), "-pending"),
    "etwinning_validated": (N_("eTwinning validated"), "-ok"),
    "etwinning_rejected": (N_("not validated"), "-error"),
    "validated": (N_("validated"), "-ok"),
    "pending": (N_("waiting for validation"), "-pending"),
    "rejected": (N_("rejected"), "-error"),
    "etwinning": (N_("eTwinning"), "-ok"),
    "non_etwinning": (N_("non-eTwinning"), "-warning"),
    "left": (N_("left"), "-muted"),
    "queued": (N_("queued"), "-pending"),
}


def badge_label(state: str) -> str:
    label, _style = BADGES.get(state, (state.replace("_", " "), "-muted"))
    return _(label)


class StatusBadge(Static):
    """``StatusBadge("etwinning_pending")``; ``set_state`` changes it."""

    DEFAULT_CSS = """
    StatusBadge { width: auto; height: 1; padding: 0 1; text-style: bold; }
    StatusBadge.-ok { background: $success 30%; color: $text-success; }
    StatusBadge.-pending { background: $warning 20%; color: $text-warning; }
    StatusBadge.-warning { background: $warning 30%; color: $text-warning; }
    StatusBadge.-error { background: $error 30%; color: $text-error; }
    StatusBadge.-muted { color: $text-muted; }
    """

    def __init__(self, state: str = "", *, id: str | None = None, classes: str | None = None):
        super().__init__("", id=id, classes=classes, markup=False)
        self.state = ""
        self.set_state(state)

    def set_state(self, state: str) -> None:
        for _label, style in BADGES.values():
            self.remove_class(style)
        self.remove_class("-muted")
        self.state = state
        self.update(badge_label(state) if state else "")
        self.add_class(BADGES.get(state, ("", "-muted"))[1])
