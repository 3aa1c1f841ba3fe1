"""Contacts: requests waiting for me (accept / decline), my requests, accepted contacts."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import OptionList, Static, TabPane
from textual.widgets.option_list import Option

from esep_tui.i18n import N_, _
from screens.partners_live import LiveData, Refreshed, merged
from widgets.person_card import person_lines
from widgets.untrusted import clean

GROUPS = (
    ("incoming", N_("Asking to be your contact")),
    ("outgoing", N_("Your requests")),
    ("accepted", N_("Contacts")),
)


def group_of(contact: dict) -> str:
    if contact.get("state") == "accepted":
        return "accepted"
    return "incoming" if contact.get("direction") == "incoming" else "outgoing"


class ContactsPane(LiveData, TabPane):
    LIVE_KINDS = ("contact", "contact_list")
    BINDINGS = [
        Binding("a", "accept", "Accept", id="contacts.accept"),
        Binding("x", "decline", "Decline", id="contacts.decline"),
        Binding("delete,d", "remove", "Remove", id="contacts.remove"),
    ]

    def __init__(self) -> None:
        super().__init__(_("Contacts"), id="contacts")
        self.rows: list[dict] = []

    def compose(self) -> ComposeResult:
        yield OptionList(id="contacts-list")
        yield Static("", id="contacts-status", classes="status", markup=False)

    def on_mount(self) -> None:
        self.start_live()
        self.show(refresh=True)

    def on_unmount(self) -> None:
        self.stop_live()

    def show(self, *, refresh: bool = False) -> None:
        data = self.live("contact_list", "/contacts", refresh=refresh)
        rows = [r for r in merged(self.engine(), "contact", data) if r.get("state") != "declined"]
        order = {g: i for i, (g, _t) in enumerate(GROUPS)}
        rows.sort(key=lambda r: order[group_of(r)])
        self.rows = []
        menu = self.query_one("#contacts-list", OptionList)
        highlighted = menu.highlighted
        menu.clear_options()
        group = None
        for r in rows:
            if group_of(r) != group:
                group = group_of(r)
                title = dict(GROUPS)[group]
                menu.add_option(Option(Content.styled(_(title), "bold underline"), disabled=True))
                self.rows.append({})
            menu.add_option(Option(self.prompt(r), id=r["id"]))
            self.rows.append(r)
        if self.rows:
            wanted = min(highlighted or 1, len(self.rows) - 1)
            if not self.rows[wanted]:  # a group title: take the next contact
                wanted = min(wanted + 1, len(self.rows) - 1)
            menu.highlighted = wanted
        status = self.query_one("#contacts-status", Static)
        if data is None and not rows:
            status.update(_("Loading contacts…") if self.engine() else _("Sign in first."))
        elif not rows:
            status.update(_("No contacts yet: find people on the People tab and add them."))
        else:
            status.update(_("a accept · x decline · d remove (pending requests too)"))

    def prompt(self, contact: dict) -> Content:
        person = contact.get("person") or {}
        head = [(clean(person.get("name", "")), "bold"), f"  {clean(person.get('country', ''))}"]
        if contact.get("_dirty") or self.queued_for("contact", contact["id"]):
            head.append(("  " + _("queued"), "italic"))
        problem = self.attention_for("contact", contact["id"])
        lines = person_lines({**person, "description": ""})
        if contact.get("note"):
            lines.append("“" + clean(contact["note"]) + "”")
        if problem:
            lines.append("✗ " + clean(problem))
        return Content.assemble(*head, *("\n  " + line for line in lines))

    @on(Refreshed)
    def _refreshed(self, message: Refreshed) -> None:
        message.stop()
        self.show()

    def current(self) -> dict | None:
        menu = self.query_one("#contacts-list", OptionList)
        if menu.highlighted is None or menu.highlighted >= len(self.rows):
            return None
        return self.rows[menu.highlighted] or None

    def _decide(self, verb: str, state: str) -> None:
        contact = self.current()
        if contact is None:
            return
        if group_of(contact) != "incoming":
            self.notify(_("Only requests waiting for you can be accepted or declined."))
            return
        cid = contact["id"]
        clean_copy = {k: v for k, v in contact.items() if not k.startswith("_")}
        self.send(
            "POST",
            f"/contacts/{cid}/{verb}",
            entity=("contact", cid),
            optimistic={**clean_copy, "state": state},
            current_path=f"/contacts/{cid}",
        )
        self.show()

    def action_accept(self) -> None:
        self._decide("accept", "accepted")

    def action_decline(self) -> None:
        self._decide("decline", "declined")

    def action_remove(self) -> None:
        contact = self.current()
        if contact is None:
            return
        cid = contact["id"]
        self.send("DELETE", f"/contacts/{cid}", entity=("contact", cid))
        self.notify(
            _("{name} removed.").format(name=clean((contact.get("person") or {}).get("name", ""))),
            markup=False,
        )
        self.show()
