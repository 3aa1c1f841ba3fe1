"""Find partners: People (search), Contacts (requests and contacts), Posts (partner finding)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input, TabbedContent

from screens.partners_contacts import ContactsPane
from screens.partners_people import PeoplePane
from screens.partners_posts import PostsPane
from widgets.app_header import AppHeader


class PartnersScreen(Screen):
    CSS_PATH = "partners.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", id="partners.back"),
        Binding("slash", "filters", "Search", id="partners.search"),
        Binding("1", "tab('people')", "People", show=False, id="partners.people"),
        Binding("2", "tab('contacts')", "Contacts", show=False, id="partners.contacts"),
        Binding("3", "tab('posts')", "Posts", show=False, id="partners.posts"),
    ]
    HELP = """\
## Find partners

Three tabs (**1**, **2**, **3**, or the arrow keys on the tab bar):

**/** jumps to the search filters (**tab** moves between them, **enter** or **escape** back
to the list).

- **People**: search validated teachers by name (any accents), country (two letters, e.g.
  PL), subject, the age of their pupils and language. Results come as you type, a page at a
  time (**m** for more). **a** adds the highlighted person to your contacts, with a note.
- **Contacts**: requests waiting for you (**a** accept, **x** decline), your own requests and
  your contacts (**d** removes one). A project partner must be one of your contacts.
- **Posts**: project ideas looking for partners. Filter by words, subject, age, language and
  country; **enter** reads one, **i** expresses interest (and asks the author to be a contact,
  with your note), **r** reports it, **n** publishes your own, **o** shows only yours.

Everything works offline: what was seen before is shown from the local copy, and your changes
wait in the outbox until the link is back.
"""

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with TabbedContent(id="partners-tabs"):
            yield PeoplePane()
            yield ContactsPane()
            yield PostsPane()
        yield Footer()

    LISTS = {"people": "#people-list", "contacts": "#contacts-list", "posts": "#posts-list"}

    def on_mount(self) -> None:
        self.query_one("#people-list").focus()

    def action_back(self) -> None:
        """From a filter back to its list; from a list back to where you came from."""
        focused = self.focused
        if (
            isinstance(focused, Input)
            and focused.parent is not None
            and focused.parent.has_class("filters")
        ):
            self.query_one(self.LISTS[self.query_one(TabbedContent).active]).focus()
        else:
            self.app.pop_screen()

    def action_filters(self) -> None:
        tab = self.query_one(TabbedContent).active
        if tab in ("people", "posts"):
            self.query_one(f"#{tab}-q", Input).focus()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self.query_one(self.LISTS[tab]).focus()
