"""People search (FAQ: Find partners › People): name, country, subject, pupils' age, language."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Input, OptionList, Static, TabPane
from textual.widgets.option_list import Option

from esep_tui.i18n import _
from esep_tui.sync import new_id
from screens.partners_dialogs import TextPrompt
from screens.partners_live import LiveData, Refreshed, items_of
from widgets.person_card import CONTACT_STATES, person_lines
from widgets.untrusted import clean

DEBOUNCE = 0.35  # seconds of quiet typing before the search runs
PAGE = 20
FILTERS = ("q", "country", "subject", "age", "language")


def person_option(person: dict, requested: bool) -> Content:
    head = [(clean(person.get("name", "")), "bold"), f"  {clean(person.get('country', ''))}"]
    state = "pending_out" if requested else person.get("contact_state")
    if state in CONTACT_STATES:
        head.append((f"  [{_(CONTACT_STATES[state])}]", "italic"))
    lines = person_lines({**person, "description": ""})
    return Content.assemble(*head, *("\n  " + line for line in lines))


class PeoplePane(LiveData, TabPane):
    LIVE_KINDS = ("person_search", "contact")
    BINDINGS = [
        Binding("a", "add_contact", "Add contact", id="people.add"),
        Binding("m", "more", "More", id="people.more"),
    ]

    def __init__(self) -> None:
        super().__init__(_("People"), id="people")
        self.pages: list[dict] = []
        self.shown: list[dict] = []
        self.requested: set[str] = set()
        self._timer = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="filters"):
            yield Input(placeholder=_("name"), id="people-q", max_length=200)
            yield Input(placeholder=_("country"), id="people-country", max_length=2)
            yield Input(placeholder=_("subject"), id="people-subject", max_length=100)
            yield Input(placeholder=_("age"), id="people-age", max_length=3, type="integer")
            yield Input(placeholder=_("language"), id="people-language", max_length=40)
        yield OptionList(id="people-list")
        yield Static("", id="people-status", classes="status", markup=False)

    def on_mount(self) -> None:
        self.start_live()
        self.search()

    def on_unmount(self) -> None:
        self.stop_live()

    # ------------------------------------------------------------ searching

    def params(self) -> dict:
        values = {k: self.query_one(f"#people-{k}", Input).value.strip() for k in FILTERS}
        values["country"] = values["country"].upper()
        if values["country"] and len(values["country"]) != 2:
            values["country"] = ""
        return {**values, "limit": PAGE}

    @on(Input.Changed, ".filters Input")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE, self.search)

    @on(Input.Submitted, ".filters Input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.search()
        self.query_one("#people-list").focus()

    def search(self) -> None:
        self.pages = [self.params()]
        self.show(refresh=True)

    def action_more(self) -> None:
        last = (
            self.live("person_search", "/people", self.pages[-1], refresh=False)
            if self.pages
            else None
        )
        offset = last.get("next_offset") if isinstance(last, dict) else None
        if offset is None:
            self.query_one("#people-status", Static).update(_("No more results."))
            return
        self.pages.append({**self.pages[0], "offset": offset})
        self.show(refresh=True, only_last=True)

    def show(self, *, refresh: bool = False, only_last: bool = False) -> None:
        people: list[dict] = []
        total = None
        waiting = False
        for i, params in enumerate(self.pages):
            fresh = refresh and (not only_last or i == len(self.pages) - 1)
            data = self.live("person_search", "/people", params, refresh=fresh)
            if data is None:
                waiting = True
                continue
            people += items_of(data)
            total = data.get("total", total) if isinstance(data, dict) else total
        self.shown = people
        menu = self.query_one("#people-list", OptionList)
        highlighted = menu.highlighted
        menu.clear_options()
        for p in people:
            menu.add_option(Option(person_option(p, p.get("id") in self.requested), id=p["id"]))
        if people:
            menu.highlighted = min(highlighted or 0, len(people) - 1)
        status = self.query_one("#people-status", Static)
        if self.engine() is None:
            status.update(_("Sign in to search for people."))
        elif waiting and not people:
            status.update(_("Searching…"))
        elif not people:
            status.update(_("Nobody matches. Try fewer words, or another country or subject."))
        else:
            more = " · m " + _("more") if total is not None and total > len(people) else ""
            status.update(
                _("{shown} of {total} teachers").format(shown=len(people), total=total) + more
            )

    @on(Refreshed)
    def _refreshed(self, message: Refreshed) -> None:
        message.stop()
        self.show()

    # ------------------------------------------------------------ adding a contact

    def highlighted(self) -> dict | None:
        menu = self.query_one("#people-list", OptionList)
        if menu.highlighted is None or menu.highlighted >= len(self.shown):
            return None
        return self.shown[menu.highlighted]

    def action_add_contact(self) -> None:
        person = self.highlighted()
        if person is None:
            return
        if person.get("contact_state") or person["id"] in self.requested:
            self.notify(_("Already a contact or a request is open: see the Contacts tab."))
            return

        def queued(note: str | None) -> None:
            if note is None:
                return
            cid = new_id()
            body = {"id": cid, "user_id": person["id"], "note": note}
            optimistic = {
                "id": cid,
                "state": "pending",
                "direction": "outgoing",
                "person": {**person, "contact_state": "pending_out"},
                "note": note,
            }
            item = self.send(
                "POST",
                "/contacts",
                body,
                entity=("contact", cid),
                optimistic=optimistic,
                current_path=f"/contacts/{cid}",
            )
            if item is not None:
                self.requested.add(person["id"])
                self.show()
                self.notify(
                    _("Contact request to {name} queued; it is sent when online.").format(
                        name=clean(person.get("name", ""))
                    ),
                    markup=False,
                )

        self.app.push_screen(
            TextPrompt(
                _("Add to contacts"),
                _("A note for them (optional)"),
                explain=clean(person.get("name", "")),
            ),
            queued,
        )
