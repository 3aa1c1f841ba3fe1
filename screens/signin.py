"""Sign in with EU Login, or as a pupil (username and activation code from the teacher)."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Static

from esep_tui.i18n import _
from widgets.app_header import AppHeader
from widgets.form_field import FormField, show_api_error


class SignInFailed(Message):
    """The sign-in worker's refusal, handled on the screen (workers do not touch widgets)."""

    def __init__(self, error: Exception):
        super().__init__()
        self.error = error


class SignInScreen(Screen):
    """The first screen. An error never clears what was typed."""

    CSS_PATH = "forms.tcss"
    AUTO_FOCUS = "#email-input, #username-input"
    BINDINGS = [
        Binding("ctrl+n", "create_account", "New account", id="signin.create_account"),
        Binding("ctrl+t", "toggle_pupil", "Pupil", id="signin.toggle_pupil"),
        Binding("f3", "demo", "Demo", id="signin.demo"),
    ]
    HELP = """\
## Sign in

Sign in with your **EU Login** account (email and password). The platform accepts no other
login; if you have none, press **ctrl+n** to create one, using the email of any old eTwinning
account so the two are linked.

Pupils sign in with the username and activation code their teacher made: press **ctrl+t**.

On the embedded server, **F3** opens the demo world's personas.
"""

    def __init__(self, *, pupil: bool = False):
        super().__init__()
        self.pupil = pupil

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Vertical(classes="centred"), Vertical(id="form", classes="panel"):
            if self.pupil:
                yield Static(
                    _("Pupils: use the username and code your teacher gave you."),
                    classes="lead",
                )
                yield FormField(_("Username"), name="username", max_length=80)
                yield FormField(_("Activation code"), name="code", password=True, max_length=80)
            else:
                yield Static(
                    _("Sign in with your EU Login account. No account? Create one."),
                    classes="lead",
                )
                yield FormField(
                    _("Email"), name="email", placeholder="name@school.eu", max_length=254
                )
                yield FormField(_("Password"), name="password", password=True, max_length=256)
            yield Static("", id="form-status", classes="status", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(_("Sign in"), id="sign-in", variant="primary")
                yield Static(self._hint(), id="signin-hint", classes="hint")
        yield Footer()

    def _hint(self) -> str:
        """The other ways in, as keys (one button keeps the first paint light)."""
        hints = (
            ["ctrl+t  " + _("teacher sign-in")]
            if self.pupil
            else ["ctrl+n  " + _("create an account")]
        )
        if not self.pupil:
            hints.append("ctrl+t  " + _("pupil sign-in"))
        connection = getattr(self.app, "connection", None)
        if connection is not None and connection.is_embedded:
            hints.append("f3      " + _("demo personas"))
        return "\n".join(hints)

    def on_mount(self) -> None:
        self.on_language_changed()

    def on_language_changed(self) -> None:
        self.query_one("#form").border_title = (
            _("Pupil sign-in") if self.pupil else _("Sign in with EU Login")
        )

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

    @on(Button.Pressed, "#sign-in")
    def _sign_in_pressed(self) -> None:
        self.submit()

    def action_create_account(self) -> None:
        from screens.create_account import CreateAccountScreen

        email = self.fields["email"].value if "email" in self.fields else ""
        self.app.push_screen(CreateAccountScreen(email=email))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "demo":  # the demo world lives on the embedded server only
            return self.app.connection.is_embedded
        if action == "create_account":
            return not self.pupil
        return True

    def action_demo(self) -> None:
        if self.app.connection.is_embedded:
            self.app.action_personas()
        else:
            self.notify(_("The demo personas live on the embedded server only."))

    def action_toggle_pupil(self) -> None:
        self.app.switch_screen(SignInScreen(pupil=not self.pupil))

    def submit(self) -> None:
        status = self.query_one("#form-status", Static)
        status.remove_class("-error")
        status.update(
            _("Signing in…")
            if self.app.connection.client
            else _("Waiting for the server to start…")
        )
        self.query_one("#sign-in", Button).disabled = True
        self._sign_in({name: f.value for name, f in self.fields.items()})

    @work(exclusive=True, group="sign-in", exit_on_error=False)
    async def _sign_in(self, values: dict[str, str]) -> None:
        from esep_tui.app import SignedIn

        connection = self.app.connection
        try:
            if self.pupil:
                pupil = await connection.pupil_sign_in(values["username"], values["code"])
                self.app.post_message(SignedIn(pupil=pupil))
            else:
                account = await connection.sign_in(values["email"], values["password"])
                self.app.post_message(SignedIn(account))
        except Exception as exc:
            self.post_message(SignInFailed(exc))

    @on(SignInFailed)
    def _failed(self, message: SignInFailed) -> None:
        self.query_one("#sign-in", Button).disabled = False
        fallback = "code" if self.pupil else "password"
        target = show_api_error(
            self.fields,
            self.query_one("#form-status", Static),
            message.error,
            fallback_field=fallback,
        )
        if target is not None:
            target.focus()
