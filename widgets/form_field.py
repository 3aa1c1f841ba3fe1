"""A labelled input with its error under it. What the user typed is never cleared by an error."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from esep_tui.i18n import _
from widgets.untrusted import plain


class FormField(Vertical):
    """Label, input, and an inline error in a row of its own (blank while there is none).

    The error text usually comes from the server, so it is shown as plain text.
    """

    DEFAULT_CSS = """
    FormField {
        height: auto;
    }
    FormField > Label {
        color: $text-muted;
    }
    /* the error row is always there (blank when fine): a short error never moves the form */
    FormField > .form-field--error {
        height: auto;
        min-height: 1;
        color: $text-error;
    }
    FormField.-invalid > Input {
        border: tall $error;
    }
    """

    def __init__(
        self,
        label: str,
        *,
        name: str,
        placeholder: str = "",
        password: bool = False,
        max_length: int = 0,
        value: str = "",
        id: str | None = None,
    ):
        super().__init__(id=id or f"field-{name}", classes="form-field")
        self.field_name = name
        self._label = label
        self._input = Input(
            value=value,
            placeholder=placeholder,
            password=password,
            max_length=max_length,
            id=f"{name}-input",
        )
        self._error = Static("", classes="form-field--error", markup=False)

    def compose(self) -> ComposeResult:
        yield Label(self._label, markup=False)
        yield self._input
        yield self._error

    @property
    def input(self) -> Input:
        return self._input

    @property
    def value(self) -> str:
        return self._input.value

    @value.setter
    def value(self, text: str) -> None:
        self._input.value = text

    @property
    def error(self) -> str:
        return str(self._error.content) if self.has_class("-invalid") else ""

    def set_error(self, message: str | None) -> None:
        if message:
            self._error.update(plain(message))
            self.add_class("-invalid")
        else:
            self._error.update("")
            self.remove_class("-invalid")

    def focus(self, scroll_visible: bool = True) -> FormField:
        self._input.focus(scroll_visible)
        return self


def show_api_error(
    fields: dict[str, FormField],
    status: Static,
    error: Exception,
    *,
    fallback_field: str | None = None,
) -> FormField | None:
    """Put a server refusal (``code``, ``message``, ``field``) next to the field it names.

    A refusal without a field goes to ``fallback_field`` (sign-in's "wrong email or password"
    belongs under the password), else to the form's status line. Returns the field that got it.
    """
    for form_field in fields.values():
        form_field.set_error(None)
    message = getattr(error, "message", None) or str(error) or _("Something went wrong.")
    name = getattr(error, "field", None)
    target = fields.get(name or "") or (fields.get(fallback_field) if fallback_field else None)
    if target is not None and getattr(error, "code", "") not in ("network", "timeout", "offline"):
        target.set_error(message)
        status.update("")
        status.remove_class("-error")
        return target
    status.update(plain(message))
    status.add_class("-error")
    return None
