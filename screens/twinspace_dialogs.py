"""Small dialogs of the TwinSpace screens: a one-line prompt, a confirmation, page history."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from esep_tui.i18n import _
from widgets.untrusted import clean, plain

DIALOG_CSS = """
Prompt, Confirm, HistoryDialog { align: center middle; }
Prompt > Vertical, Confirm > Vertical, HistoryDialog > Vertical {
    width: 70; max-width: 100%; height: auto; max-height: 90%;
    background: $surface; border: round $primary; padding: 0 1;
}
HistoryDialog OptionList { height: auto; max-height: 16; }
.dialog-hint { color: $text-muted; }
"""


class Prompt(ModalScreen[str | None]):
    """Ask for one line of text; enter answers, escape cancels."""

    DEFAULT_CSS = DIALOG_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def __init__(self, question: str, value: str = "", *, max_length: int = 200):
        super().__init__()
        self.question, self.value, self.max_length = question, value, max_length

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(plain(self.question))
            yield Input(
                value=self.value,
                max_length=self.max_length,
                select_on_focus=False,
                id="prompt-input",
            )
            yield Static(_("enter: OK · escape: cancel"), classes="dialog-hint")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        text = " ".join(event.value.split())
        self.dismiss(text or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class Confirm(ModalScreen[bool]):
    DEFAULT_CSS = DIALOG_CSS
    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str):
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(plain(self.question))
            yield Static(_("y: yes · n: no"), classes="dialog-hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class HistoryDialog(ModalScreen[int | None]):
    """Who changed the page and when; enter picks a version to restore."""

    DEFAULT_CSS = DIALOG_CSS
    BINDINGS = [Binding("escape", "cancel", "Close", id="history.close")]

    def __init__(self, title: str, revisions: list[dict], *, can_restore: bool):
        super().__init__()
        self.page_title, self.revisions, self.can_restore = title, revisions, can_restore

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(plain(_("History of “{title}”").format(title=clean(self.page_title))))
            options = [
                Option(
                    plain(
                        f"{str(r.get('at', ''))[:16].replace('T', ' ')}  "
                        f"{clean(r.get('author_name', ''))[:24]}  {clean(r.get('summary', ''))}"
                    ),
                    id=str(r["id"]),
                )
                for r in self.revisions
            ]
            yield OptionList(*options, id="history-list")
            hint = _("enter: restore this version · escape: close")
            yield Static(hint if self.can_restore else _("escape: close"), classes="dialog-hint")

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if self.can_restore and event.option.id:
            self.dismiss(int(event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)


class Pick(ModalScreen[str | None]):
    """Choose one of several (id, label) rows; enter picks, escape cancels."""

    DEFAULT_CSS = DIALOG_CSS.replace("HistoryDialog", "Pick")
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="pick.cancel")]

    def __init__(self, question: str, rows: list[tuple[str, str]]):
        super().__init__()
        self.question, self.rows = question, rows

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(plain(self.question))
            yield OptionList(*[Option(plain(label), id=key) for key, label in self.rows])
            yield Static(_("enter: choose · escape: cancel"), classes="dialog-hint")

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
