"""Small dialogs of the networking and project screens: a line of text, a choice."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from esep_tui.i18n import _
from widgets.form_field import FormField
from widgets.untrusted import plain

DIALOG_CSS = """
TextPrompt, ChoicePrompt {
    align: center middle;
}
TextPrompt > Vertical, ChoicePrompt > Vertical {
    width: 70;
    max-width: 100%;
    height: auto;
    max-height: 90%;
    padding: 0 1;
    background: $surface;
    border: round $primary;
}
ChoicePrompt OptionList {
    height: auto;
    max-height: 12;
}
.dialog-hint {
    color: $text-muted;
}
"""


class TextPrompt(ModalScreen[str | None]):
    """One line of text; enter gives it back, escape gives None."""

    DEFAULT_CSS = DIALOG_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def __init__(
        self,
        title: str,
        label: str,
        *,
        explain: str = "",
        value: str = "",
        max_length: int = 1000,
        required: bool = False,
    ):
        super().__init__()
        self.title_text, self.label, self.explain = title, label, explain
        self.initial, self.max_length, self.required = value, max_length, required

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            if self.explain:
                yield Static(plain(self.explain), classes="dialog-hint")
            yield FormField(
                self.label, name="prompt", value=self.initial, max_length=self.max_length
            )
            yield Static(_("enter  confirm · escape  cancel"), classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(FormField).focus()

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if self.required and not text:
            self.query_one(FormField).set_error(_("This field is required."))
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoicePrompt(ModalScreen[str | None]):
    """Pick one of several (id, label) options; escape gives None."""

    DEFAULT_CSS = DIALOG_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="choice.cancel")]

    def __init__(self, title: str, explain: str, options: list[tuple[str, str]]):
        super().__init__()
        self.title_text, self.explain, self.options = title, explain, options

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            yield Static(plain(self.explain), classes="dialog-hint")
            yield OptionList(*(Option(plain(label), id=oid) for oid, label in self.options))

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
