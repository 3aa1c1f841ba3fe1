"""After sign-in: who you are, where your account stands, and what to do next."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from esep_tui.i18n import N_, _
from esep_tui.navigation import Destination, for_audience
from widgets.app_header import AppHeader
from widgets.untrusted import clean, plain

if TYPE_CHECKING:
    from api_client.models.auth import AccountOut

# platform user state -> (what it means, what to do next)
NEXT_STEPS: dict[str, tuple[str, str]] = {
    "esep_registered": (
        N_("Registered on the platform, not in eTwinning yet."),
        N_("Join eTwinning: add your school (search by country and words of its name) and apply."),
    ),
    "etwinning_pending": (
        N_("Waiting for validation by your National Support Organisation."),
        N_(
            "Nothing to do: validation normally takes up to 7 days. "
            "Complete your profile meanwhile."
        ),
    ),
    "etwinning_validated": (
        N_("Validated eTwinning teacher."),
        N_("Find partners, add contacts, and create a project with one of them."),
    ),
    "etwinning_rejected": (
        N_("Your eTwinning application was not accepted."),
        N_("Read the reason from your NSO, fix it, and apply again."),
    ),
}


class PlatformUserLoaded(Message):
    def __init__(self, user: dict[str, Any] | None):
        super().__init__()
        self.user = user


def account_summary(account: AccountOut | None, user: dict[str, Any] | None) -> tuple[str, str]:
    """(account state, next step) in plain words."""
    if account is None:
        return (
            _("Pupil of one TwinSpace."),
            _("Open your TwinSpace to read its pages; pupil admins can also edit them."),
        )
    if account.user_id is None:
        state = _("EU Login account only: the platform registration is not complete.")
        step = _(
            "Complete the platform registration: the form for your capacity, then Join eTwinning."
        )
        if account.legacy is not None:
            legacy = account.legacy
            step += " " + _(
                "Your old {platform} account ({name}, {country}) will be linked and its data "
                "migrated."
            ).format(
                platform=legacy.platform,
                name=f"{legacy.first_name} {legacy.last_name}",
                country=legacy.country,
            )
        return state, step
    if user is not None:
        if user.get("active") is False:
            return (
                _("Your platform account has been switched off."),
                _("Contact your National Support Organisation."),
            )
        if user.get("staff_country"):
            return (
                _("National Support Organisation staff ({country}).").format(
                    country=user["staff_country"]
                ),
                _("Open the validation queues (q): teachers, organisations and projects."),
            )
        known = NEXT_STEPS.get(str(user.get("state")))
        if known:
            return _(known[0]), _(known[1])
    return (_("Registered on the platform."), _("Open your profile and organisations."))


class HomeScreen(Screen):
    BINDINGS = [
        Binding("r", "refresh", "Refresh", id="home.refresh"),
        Binding("ctrl+o", "app.sign_out", "Sign out", id="home.sign_out"),
    ]
    HELP = """\
## Home

Shows the signed-in account, where it stands in the registration and validation steps, and
what to do next. **r** refreshes it from the server; **ctrl+o** signs out (also in the command
palette, **ctrl+p**).
"""

    def __init__(self, *, account: AccountOut | None = None, pupil: str | None = None):
        super().__init__()
        self.account = account
        self.pupil = pupil
        self.user: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with VerticalScroll(classes="centred"), Vertical(id="home", classes="panel"):
            yield Static("", id="home-name", markup=False)
            yield Static("", id="home-email", classes="lead", markup=False)
            yield Static(_("Account"), classes="heading")
            yield Static("", id="home-state", markup=False)
            yield Static(_("Next"), classes="heading")
            yield Static("", id="home-next", markup=False)
            yield Static(_("Go to"), classes="heading")
            yield OptionList(id="home-menu")
        yield Footer()

    def on_mount(self) -> None:
        self.on_language_changed()
        self.action_refresh()

    def on_language_changed(self) -> None:
        """Fill in what compose leaves empty (also after the screen is composed again)."""
        self.query_one("#home").border_title = _("Home")
        if self.account is not None:
            self.query_one("#home-name", Static).update(plain(self.account.name))
            self.query_one("#home-email", Static).update(plain(self.account.email))
        else:
            name = _("Pupil {username}").format(username=clean(self.pupil))
            self.query_one("#home-name", Static).update(plain(name))
        self._show_summary()

    def _show_summary(self) -> None:
        state, step = account_summary(self.account, self.user)
        self.query_one("#home-state", Static).update(plain(state))
        self.query_one("#home-next", Static).update(plain(step))
        self._show_menu()

    def audience(self) -> set[str]:
        """Who is signed in, in the terms of ``esep_tui.navigation``."""
        if self.account is None:
            return {"pupil"}
        if self.account.user_id is None:
            return {"unregistered"}
        if self.user is not None and self.user.get("staff_country"):
            return {"staff"}
        if self.user is not None and self.user.get("state") == "etwinning_validated":
            return {"teacher", "validated"}
        return {"teacher"}

    def _show_menu(self) -> None:
        self.destinations: list[Destination] = for_audience(self.audience())
        menu = self.query_one("#home-menu", OptionList)
        menu.clear_options()
        for d in self.destinations:
            label = f"{d.key}  {_(d.title)}  ·  {_(d.help)}"
            menu.add_option(Option(plain(label), id=d.key))
        menu.display = bool(self.destinations)

    def open_destination(self, destination: Destination) -> None:
        self.app.push_screen(destination.load()())

    @on(OptionList.OptionSelected, "#home-menu")
    def _menu_selected(self, event: OptionList.OptionSelected) -> None:
        for d in self.destinations:
            if d.key == event.option.id:
                self.open_destination(d)

    def on_key(self, event) -> None:
        for d in getattr(self, "destinations", []):
            if event.key == d.key:
                event.stop()
                self.open_destination(d)
                return

    @work(exclusive=True, group="home", exit_on_error=False)
    async def action_refresh(self) -> None:
        if self.account is None or self.account.user_id is None:
            return
        try:
            user = await self.app.connection.get("/users/me")
        except Exception:  # offline or not offered by this server: the summary stays
            return
        self.post_message(PlatformUserLoaded(user if isinstance(user, dict) else None))

    @on(PlatformUserLoaded)
    def _loaded(self, message: PlatformUserLoaded) -> None:
        self.user = message.user
        self._show_summary()
