"""Find an organisation by country and words of its name (PL): debounced, paged results.

The widget never calls the network: it posts :class:`OrgSearch.SearchRequested` after the
user stops typing, and the screen answers with :meth:`OrgSearch.show_page`. Matching (case,
diacritics: ``szkola`` finds “Szkoła”) is the server's.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from esep_tui.i18n import _
from widgets.status_badge import badge_label
from widgets.untrusted import clean, plain

DEBOUNCE = 0.35  # seconds of quiet typing before a search is sent
MORE, REGISTER = "__more__", "__register__"


def org_line(org: dict[str, Any]) -> str:
    """One result row: name, city, type and standing, as plain text."""
    name = clean(org.get("public_name", ""))
    if len(name) > 44:
        name = name[:43] + "…"
    return f"{name} · {clean(org.get('city', ''))} · {clean(org.get('type', ''))} · " + (
        badge_label(str(org.get("state", "")))
    )


class OrgSearch(Vertical):
    DEFAULT_CSS = """
    OrgSearch { height: auto; }
    OrgSearch > Horizontal { height: auto; }
    OrgSearch #org-country { width: 26; }
    OrgSearch #org-q { width: 1fr; }
    OrgSearch #org-results { height: 8; }
    OrgSearch #org-search-status { color: $text-muted; height: 1; }
    """

    class SearchRequested(Message):
        def __init__(self, search: OrgSearch, country: str, q: str, offset: int):
            super().__init__()
            self.search = search
            self.country = country
            self.q = q
            self.offset = offset

    class Picked(Message):
        def __init__(self, search: OrgSearch, org: dict[str, Any]):
            super().__init__()
            self.search = search
            self.org = org

    class RegisterNew(Message):
        def __init__(self, search: OrgSearch, country: str, q: str):
            super().__init__()
            self.search = search
            self.country = country
            self.q = q

    def __init__(
        self,
        countries: list[tuple[str, str]],
        *,
        country: str | None = None,
        q: str = "",
        id: str | None = None,
    ):
        super().__init__(id=id)
        self._countries = countries
        self._country = country
        self._q = q
        self._timer: Timer | None = None
        self.items: list[dict[str, Any]] = []
        self.next_offset: int | None = None

    def compose(self) -> ComposeResult:
        yield Label(_("Search organisation: country and words of its name or city"))
        with Horizontal():
            yield Select(
                [(label, code) for code, label in self._countries],
                value=self._country
                if self._country in {code for code, _label in self._countries}
                else Select.NULL,
                prompt=_("Country"),
                id="org-country",
            )
            yield Input(
                value=self._q, placeholder=_("e.g. szkola krakow"), id="org-q", max_length=200
            )
        yield Static("", id="org-search-status", markup=False)
        yield OptionList(id="org-results")

    def on_mount(self) -> None:
        self._render_results()

    @property
    def country(self) -> str:
        if not self.query("#org-country"):
            return self._country or ""
        value = self.query_one("#org-country", Select).value
        return value if isinstance(value, str) else ""

    @property
    def q(self) -> str:
        if not self.query("#org-q"):
            return self._q
        return self.query_one("#org-q", Input).value

    def set_countries(self, countries: list[tuple[str, str]], country: str | None) -> None:
        select = self.query_one("#org-country", Select)
        select.set_options([(label, code) for code, label in countries])
        if country:
            select.value = country

    @on(Input.Changed, "#org-q")
    @on(Select.Changed, "#org-country")
    def _typed(self, event) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE, self.search_now)

    @on(Input.Submitted, "#org-q")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        self.search_now()
        self.query_one("#org-results", OptionList).focus()

    def search_now(self, offset: int = 0) -> None:
        status = self.query_one("#org-search-status", Static)
        if not self.country or not any(ch.isalnum() for ch in self.q):
            status.update(_("Choose the country and type words of the name."))
            return
        status.update(_("Searching…"))
        self.post_message(self.SearchRequested(self, self.country, self.q.strip(), offset))

    def show_page(
        self, page: dict[str, Any] | None, *, append: bool = False, note: str = ""
    ) -> None:
        """The screen's answer: a ``Page`` of organisations (None: nothing to show yet)."""
        items = list((page or {}).get("items") or [])
        self.items = self.items + items if append else items
        self.next_offset = (page or {}).get("next_offset")
        status = self.query_one("#org-search-status", Static)
        if note:
            status.update(plain(note))
        elif page is not None:
            shown = len(self.items)
            status.update(
                _("{n} found").format(n=shown) + ("+" if self.next_offset is not None else "")
                if shown
                else _("Not found. Register it as a new organisation or school.")
            )
        self._render_results()

    def _render_results(self) -> None:
        results = self.query_one("#org-results", OptionList)
        highlighted = results.highlighted
        results.clear_options()
        for org in self.items:
            results.add_option(Option(plain(org_line(org)), id=str(org.get("id"))))
        if self.next_offset is not None:
            results.add_option(Option(_("… more results"), id=MORE))
        results.add_option(Option(_("+ Register a new organisation or school"), id=REGISTER))
        if highlighted is not None and highlighted < results.option_count:
            results.highlighted = highlighted
        elif results.option_count:
            results.highlighted = 0

    @on(OptionList.OptionSelected, "#org-results")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id == MORE:
            self.search_now(self.next_offset or 0)
        elif event.option.id == REGISTER:
            self.post_message(self.RegisterNew(self, self.country, self.q))
        else:
            org = next((o for o in self.items if str(o.get("id")) == event.option.id), None)
            if org is not None:
                self.post_message(self.Picked(self, org))
