"""The connectivity indicator: online, offline, syncing, and how many writes wait to be sent."""

from __future__ import annotations

from dataclasses import dataclass

from textual.reactive import reactive
from textual.widgets import Static

from esep_tui.i18n import N_, _, ngettext

STATES = ("connecting", "online", "syncing", "offline", "work_offline")

_LABELS = {
    "connecting": ("◌", N_("connecting")),
    "online": ("●", N_("online")),
    "syncing": ("⟳", N_("syncing")),
    "offline": ("○", N_("offline")),
    "work_offline": ("○", N_("working offline")),
}


@dataclass(frozen=True)
class Connectivity:
    """What the indicator shows; the app derives it from the sync engine's monitor."""

    state: str = "connecting"
    pending: int = 0

    def describe(self) -> str:
        mark, label = _LABELS.get(self.state, ("?", self.state))
        text = f"{mark} {_(label)}"
        if self.pending:
            text += " · " + ngettext("{n} pending", "{n} pending", self.pending).format(
                n=self.pending
            )
        return text


class ConnectivityIndicator(Static):
    """Always visible in the header; colour follows the state (also legible in 16 colours)."""

    DEFAULT_CSS = """
    ConnectivityIndicator {
        width: auto;
        padding: 0 1;
        text-style: bold;
    }
    ConnectivityIndicator.-online { color: $text-success; }
    ConnectivityIndicator.-syncing { color: $text-accent; }
    ConnectivityIndicator.-connecting { color: $text-muted; }
    ConnectivityIndicator.-offline, ConnectivityIndicator.-work_offline { color: $text-warning; }
    """

    status: reactive[Connectivity] = reactive(Connectivity, layout=True)

    def render(self) -> str:
        return self.status.describe()

    def watch_status(self, old: Connectivity, new: Connectivity) -> None:
        self.remove_class(f"-{old.state}")
        self.add_class(f"-{new.state}")
        tip = {
            "connecting": N_("Starting or reaching the server"),
            "online": N_("Connected; changes are sent at once"),
            "syncing": N_("Sending queued changes"),
            "offline": N_("The server cannot be reached; changes wait in the outbox"),
            "work_offline": N_("Working offline by choice; changes wait in the outbox"),
        }.get(new.state)
        self.tooltip = _(tip) if tip else None

    def on_mount(self) -> None:
        self.add_class(f"-{self.status.state}")
