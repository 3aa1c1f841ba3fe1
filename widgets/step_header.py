"""The registration wizard's progress line: "Step N of 9 · title" with a bar of steps."""

from __future__ import annotations

from textual.widgets import Static

from esep_tui.i18n import _


class StepHeader(Static):
    DEFAULT_CSS = """
    StepHeader { height: 2; padding: 0 1; background: $panel; color: $text; }
    """

    def __init__(self, step: int = 1, total: int = 9, title: str = "", *, id: str | None = None):
        super().__init__("", id=id, markup=False)
        self.total = total
        self.set_step(step, title)

    def set_step(self, step: int, title: str) -> None:
        self.step = step
        self.title = title
        bar = "".join("●" if n <= step else "○" for n in range(1, self.total + 1))
        self.update(
            _("Step {n} of {total}").format(n=step, total=self.total) + f" · {title}\n{bar}"
        )

    @property
    def text(self) -> str:
        return _("Step {n} of {total}").format(n=self.step, total=self.total)
