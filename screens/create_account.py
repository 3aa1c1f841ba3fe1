"""Create an EU Login account (FAQ step 2), then sign in with it."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from esep_tui.i18n import _
from widgets.app_header import AppHeader
from widgets.form_field import FormField, show_api_error


class CreateFailed(Message):
    def __init__(self, error: Exception):
        super().__init__()
        self.error = error


class CreateAccountScreen(Screen):
    """Name, email, password. The server's refusal shows under the field it names."""

    CSS_PATH = "forms.tcss"
    AUTO_FOCUS = "#name-input"
    BINDINGS = [
        Binding("escape", "back", "Back", id="create_account.back"),
    ]
    HELP = """\
## Create an EU Login account

Every login to the platform goes through EU Login. If you had an account on the old eTwinning
platform or the School Education Gateway, **use the same email**: your old account is then
linked and its data migrated when you complete the platform registration.

The password needs at least 10 characters. After the account is made you are signed in.
"""

    def __init__(self, *, email: str = ""):
        super().__init__()
        self._email = email
        self._busy = False

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Vertical(classes="centred"), Vertical(id="form", classes="panel"):
            yield FormField(_("Full name"), name="name", max_length=200)
            yield FormField(
                _("Email"),
                name="email",
                placeholder="name@school.eu",
                max_length=254,
                value=self._email,
            )
            yield FormField(
                _("Password"),
                name="password",
                password=True,
                placeholder=_("at least 10 characters"),
                max_length=256,
            )
            yield Static("", id="form-status", classes="status", markup=False)
            yield Static(
                "enter  " + _("create the account") + "      esc  " + _("back"), classes="hint"
            )
        yield Footer()

    def on_mount(self) -> None:
        self.on_language_changed()

    def on_language_changed(self) -> None:
        form = self.query_one("#form")
        form.border_title = _("Create an EU Login account")
        form.border_subtitle = _("Use the email of your old eTwinning account, if you had one")

    @property
    def fields(self) -> dict[str, FormField]:
        return {f.field_name: f for f in self.query(FormField)}

    @on(Input.Submitted)
    def _next_or_submit(self, event: Input.Submitted) -> None:
        names = list(self.fields)
        current = event.input.id.removesuffix("-input") if event.input.id else ""
        if current in names and names.index(current) < len(names) - 1:
            self.fields[names[names.index(current) + 1]].focus()
        else:
            self.submit()

    def action_back(self) -> None:
        self.app.pop_screen()

    def submit(self) -> None:
        if self._busy:
            return
        status = self.query_one("#form-status", Static)
        status.remove_class("-error")
        status.update(_("Creating the account…"))
        self._busy = True
        self._create({name: f.value for name, f in self.fields.items()})

    @work(exclusive=True, group="create-account", exit_on_error=False)
    async def _create(self, values: dict[str, str]) -> None:
        from esep_tui.app import SignedIn

        connection = self.app.connection
        try:
            await connection.create_account(values["email"], values["password"], values["name"])
            account = await connection.sign_in(values["email"], values["password"])
        except Exception as exc:
            self.post_message(CreateFailed(exc))
            return
        self.app.post_message(SignedIn(account))

    @on(CreateFailed)
    def _failed(self, message: CreateFailed) -> None:
        self._busy = False
        target = show_api_error(self.fields, self.query_one("#form-status", Static), message.error)
        if target is not None:
            target.focus()
