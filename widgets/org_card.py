"""An organisation on the profile, and its action menu (the web's "three dots"; here: m).

The card posts :class:`OrgCard.ActionChosen`; the screen runs the action and may show the
server's refusal under the card with :meth:`OrgCard.show_reasons`.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from esep_tui.i18n import N_, _
from widgets.status_badge import StatusBadge
from widgets.untrusted import clean, plain

ACTION_LABELS = {
    "leave": N_("Leave organisation"),
    "readd": N_("Leave and add again (fixes a stale link)"),
    "add_again": N_("Add again"),
    "request_validation": N_("Request eTwinning validation"),
    "apply_etwinning": N_("Apply for eTwinning"),
    "change_role": N_("Change my role here"),
}


def card_actions(membership: dict[str, Any], user_state: str | None = None) -> list[str]:
    """The menu for one card, from the server's ``actions`` and where the card stands."""
    if membership.get("left_at"):
        return ["add_again"]
    server = list(membership.get("actions") or [])
    actions = []
    if "leave" in server:
        actions += ["leave", "readd"]
    if "change_role" in server:
        actions.append("change_role")
    if "request_validation" in server:
        standing = membership.get("standing") or (membership.get("org") or {}).get("standing")
        apply = standing == "etwinning" and user_state in ("esep_registered", "etwinning_rejected")
        actions.append("apply_etwinning" if apply else "request_validation")
    return actions


class ActionMenu(ModalScreen[str | None]):
    """The card's menu: choose with enter, escape closes it."""

    DEFAULT_CSS = """
    ActionMenu { align: center middle; }
    ActionMenu > Vertical { width: 60; height: auto; border: round $primary; background: $surface; }
    ActionMenu OptionList { height: auto; max-height: 10; }
    """
    BINDINGS = [Binding("escape", "dismiss_menu", "Close", id="org_card.close")]

    def __init__(self, title: str, actions: list[str]):
        super().__init__()
        self._title = title
        self._actions = actions

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = clean(self._title)
            yield OptionList(*[Option(_(ACTION_LABELS[a]), id=a) for a in self._actions])

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_dismiss_menu(self) -> None:
        self.dismiss(None)


class OrgCard(Vertical, can_focus=True):
    DEFAULT_CSS = """
    OrgCard { height: auto; padding: 0 1; margin: 0 0 1 0; border-left: wide $panel; }
    OrgCard:focus { border-left: wide $accent; background: $boost; }
    OrgCard > Horizontal { height: 1; }
    OrgCard .org-card--name { width: 1fr; text-style: bold; }
    OrgCard .org-card--meta { color: $text-muted; }
    OrgCard .org-card--reasons { color: $text-warning; height: auto; }
    """
    BINDINGS = [
        Binding("m", "menu", "Actions", id="org_card.menu"),
        Binding("full_stop", "menu", "Actions", show=False, id="org_card.menu_dot"),
    ]

    class ActionChosen(Message):
        def __init__(self, card: OrgCard, action: str):
            super().__init__()
            self.card = card
            self.action = action

    def __init__(self, membership: dict[str, Any], *, user_state: str | None = None):
        mid = str(membership.get("id", ""))
        super().__init__(classes=f"org-card org-card-{mid}")
        self.membership = membership
        self.user_state = user_state

    @property
    def org(self) -> dict[str, Any]:
        return self.membership.get("org") or {}

    @property
    def actions(self) -> list[str]:
        return card_actions(self.membership, self.user_state)

    def compose(self) -> ComposeResult:
        org = self.org
        state = "left" if self.membership.get("left_at") else str(org.get("state", ""))
        with Horizontal():
            yield Static(plain(org.get("public_name", "")), classes="org-card--name")
            yield StatusBadge(state)
        role = clean(self.membership.get("role_label") or self.membership.get("role", ""))
        meta = f"{clean(org.get('city', ''))}, {clean(org.get('country', ''))} · "
        meta += f"{clean(org.get('type', ''))} · " + _("role: {role}").format(role=role)
        if self.membership.get("_queued"):
            meta += " · " + _("queued")
        yield Static(plain(meta), classes="org-card--meta")
        yield Static("", classes="org-card--reasons")

    def show_reasons(self, lines: list[str]) -> None:
        self.query_one(".org-card--reasons", Static).update(plain("\n".join(lines)))

    def action_menu(self) -> None:
        actions = self.actions
        if not actions:
            self.notify(_("No actions for this organisation."))
            return

        def chosen(action: str | None) -> None:
            if action:
                self.post_message(self.ActionChosen(self, action))

        self.app.push_screen(ActionMenu(str(self.org.get("public_name", "")), actions), chosen)
