"""The guided tour's side panel: the current step in plain words, and the steps around it.

It only shows a :class:`esep_tui.tour.TourView`; the trainer decides which step is current.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from esep_tui.i18n import _
from esep_tui.tour import TourView


class TourPanel(VerticalScroll):
    """Docked on the right of the screen it is mounted in; F4 (or ctrl+g, where a screen
    uses F4 itself) shows and hides it."""

    DEFAULT_CSS = """
    TourPanel {
        dock: right;
        width: 30;
        height: 1fr;
        /* below the one-line header; mounted before the footer, which is drawn over it */
        margin: 1 0 0 0;
        background: $panel;
        border-left: tall $accent;
        padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    TourPanel > #tour-heading {
        text-style: bold;
        color: $text-accent;
    }
    TourPanel > #tour-title {
        text-style: bold;
        margin: 1 0 0 0;
    }
    TourPanel > #tour-text {
        margin: 0 0 1 0;
    }
    TourPanel > #tour-steps {
        color: $text-muted;
    }
    TourPanel > #tour-hint {
        color: $text-muted;
        margin: 1 0 0 0;
    }
    """

    can_focus = False

    def __init__(self, tour: TourView | None = None, *, id: str = "tour-panel"):
        super().__init__(id=id)
        self.tour = tour

    def compose(self) -> ComposeResult:
        yield Static("", id="tour-heading", markup=False)
        yield Static("", id="tour-title", markup=False)
        yield Static("", id="tour-text", markup=False)
        yield Static("", id="tour-steps", markup=False)
        yield Static("", id="tour-hint", markup=False)

    def on_mount(self) -> None:
        if self.tour is not None:
            self.show(self.tour)

    def show(self, tour: TourView) -> None:
        self.tour = tour
        if not self.query("#tour-heading"):
            return  # not composed yet: on_mount shows it
        heading = _("Guided tour · step {n} of {total}").format(n=tour.number, total=tour.total)
        if tour.finished:
            heading = _("Guided tour · all steps done")
        self.query_one("#tour-heading", Static).update(heading)
        self.query_one("#tour-title", Static).update(tour.title)
        self.query_one("#tour-text", Static).update(tour.text)
        lines = []
        for title, done, current in tour.steps:
            mark = "✓" if done else ("▸" if current else "·")
            lines.append(f"{mark} {title}")
        self.query_one("#tour-steps", Static).update("\n".join(lines))
        self.query_one("#tour-hint", Static).update(_("F4 or ctrl+g hides the tour"))
