"""Choose a persona in the demo world and sign in as them with one key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from esep_tui.i18n import N_, _
from widgets.app_header import AppHeader
from widgets.untrusted import clean, plain


@dataclass(frozen=True)
class Persona:
    key: str
    title: str
    description: str = ""
    email: str | None = None
    password: str | None = None
    username: str | None = None  # pupils
    code: str | None = None
    kind: str = ""

    @property
    def is_new_teacher(self) -> bool:
        """Nothing yet: each choice makes a fresh EU Login account (one per trainee)."""
        return self.kind == "new_teacher" or (self.email is None and self.username is None)

    @property
    def is_pupil(self) -> bool:
        return self.username is not None


def _field(raw: Any, *names: str) -> Any:
    for name in names:
        value = raw.get(name) if isinstance(raw, dict) else getattr(raw, name, None)
        if value is not None:
            return value
    return None


# the picker's own words for the seeded personas (their names and schools stay as they are)
LABELS = {
    "new_teacher": N_("A brand-new teacher (nothing yet: starts the registration wizard)"),
    "greek_teacher": N_("Validated Greek teacher with contacts"),
    "polish_teacher": N_("Polish partner teacher with a pending project invitation"),
    "nso_greece": N_("NSO Greece staff member with a queue"),
    "nso_poland": N_("NSO Poland staff member"),
    "pupil": N_("A pupil of the running Greek–Polish TwinSpace"),
}
DESCRIPTIONS = {
    "new_teacher": N_("A fresh EU Login account is created: the registration wizard from step 1"),
}


def load_personas() -> list[Persona]:
    """The demo world's personas, from the seed module; empty when it offers none."""
    try:
        from reference_backend.seed import PERSONAS
    except ImportError:
        return []
    items = PERSONAS.items() if isinstance(PERSONAS, dict) else enumerate(PERSONAS)
    personas = []
    for key, raw in items:
        title = _field(raw, "label", "title", "display_name", "name") or str(key)
        name = _field(raw, "name") or ""
        country = _field(raw, "country") or ""
        about = _field(raw, "description", "summary", "about") or " · ".join(
            part for part in (name, country) if part
        )
        key = str(_field(raw, "key", "id", "slug") or key)
        title = _(LABELS[key]) if key in LABELS else title
        about = _(DESCRIPTIONS[key]) if key in DESCRIPTIONS else about
        personas.append(
            Persona(
                key=key,
                title=clean(title),
                description=clean(about),
                email=_field(raw, "email"),
                password=_field(raw, "password"),
                username=_field(raw, "username", "pupil_username"),
                code=_field(raw, "code", "activation_code"),
                kind=str(_field(raw, "kind") or ""),
            )
        )
    return personas


class PersonaFailed(Message):
    def __init__(self, persona: Persona, error: Exception):
        super().__init__()
        self.persona = persona
        self.error = error


class PersonaScreen(Screen):
    """Up/down (or j/k) to choose, enter to sign in as that persona."""

    BINDINGS = [
        Binding("escape", "sign_in", "Sign in instead", id="persona.sign_in"),
        Binding("j", "cursor_down", "Down", show=False, id="persona.down"),
        Binding("k", "cursor_up", "Up", show=False, id="persona.up"),
        Binding("g", "first", "First", show=False, id="persona.first"),
        Binding("G", "last", "Last", show=False, id="persona.last"),
    ]
    HELP = """\
## Demo personas

The embedded server holds a demo world: schools, teachers, projects and national support
staff. Pick someone and press **enter** to sign in as them. Each persona keeps its own local
copy of what it has seen. **escape** goes to the ordinary sign-in.

`esep-tui demo reset --yes` restores the demo world.
"""

    def __init__(self):
        super().__init__()
        self.personas = load_personas()

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Vertical(id="personas", classes="panel"):
            yield Static(_("Sign in as someone in the demo world."), classes="lead")
            yield OptionList(
                *(
                    Option(
                        plain(f"{p.title}\n  {p.description}" if p.description else p.title),
                        id=p.key,
                    )
                    for p in self.personas
                ),
                id="persona-list",
            )
            yield Static("", id="persona-status", classes="status", markup=False)
        yield Footer()

    def on_language_changed(self) -> None:
        self.query_one("#personas").border_title = _("Demo personas")
        self.query_one(OptionList).focus()

    def on_mount(self) -> None:
        self.query_one("#personas").border_title = _("Demo personas")
        if not self.personas:
            self.notify(_("This server has no demo personas; sign in instead."), markup=False)
            self.action_sign_in()
            return
        self.query_one(OptionList).focus()

    def _list(self) -> OptionList:
        return self.query_one(OptionList)

    def action_cursor_down(self) -> None:
        self._list().action_cursor_down()

    def action_cursor_up(self) -> None:
        self._list().action_cursor_up()

    def action_first(self) -> None:
        self._list().action_first()

    def action_last(self) -> None:
        self._list().action_last()

    def action_sign_in(self) -> None:
        from screens.signin import SignInScreen

        self.app.switch_screen(SignInScreen())

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        persona = next(p for p in self.personas if p.key == event.option.id)
        status = self.query_one("#persona-status", Static)
        status.remove_class("-error")
        status.update(plain(_("Signing in as {persona}…").format(persona=persona.title)))
        self._sign_in_as(persona)

    @work(exclusive=True, group="persona", exit_on_error=False)
    async def _sign_in_as(self, persona: Persona) -> None:
        from esep_tui.app import SignedIn

        connection = self.app.connection
        try:
            if persona.is_new_teacher:
                account = await self._fresh_teacher(persona)
                self.app.post_message(SignedIn(account))
            elif persona.is_pupil:
                pupil = await connection.pupil_sign_in(persona.username, persona.code or "")
                self.app.post_message(SignedIn(pupil=pupil))
            else:
                account = await connection.sign_in(persona.email, persona.password or "")
                self.app.post_message(SignedIn(account))
        except Exception as exc:
            self.post_message(PersonaFailed(persona, exc))

    async def _fresh_teacher(self, persona: Persona):
        """A new EU Login account under the next free trainee email, then signed in."""
        from api_client.errors import Conflict

        try:
            from reference_backend.seed import new_trainee_email
        except ImportError:

            def new_trainee_email(n: int) -> str:
                return f"new.teacher.{n}@demo.invalid"

        connection = self.app.connection
        password = persona.password or "demo password 2022"
        for n in range(1, 1000):
            email = new_trainee_email(n)
            try:
                await connection.create_account(email, password, f"New Teacher {n}")
            except Conflict:
                continue
            return await connection.sign_in(email, password)
        raise RuntimeError("no free trainee account left; run `esep-tui demo reset --yes`")

    @on(PersonaFailed)
    def _failed(self, message: PersonaFailed) -> None:
        status = self.query_one("#persona-status", Static)
        status.update(
            plain(f"{message.persona.title}: {getattr(message.error, 'message', message.error)}")
        )
        status.add_class("-error")
