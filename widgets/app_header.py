"""The one-line header: product name, the signed-in account, the server, connectivity."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from esep_tui.i18n import _
from widgets.connectivity import ConnectivityIndicator
from widgets.untrusted import plain


class AppHeader(Horizontal):
    """Follows the app's ``account_label``, ``server_label`` and ``connectivity`` reactives."""

    DEFAULT_CSS = """
    AppHeader {
        dock: top;
        height: 1;
        background: $panel;
        color: $foreground;
    }
    AppHeader > #header-title {
        width: auto;
        padding: 0 1;
        text-style: bold;
        color: $text-primary;
    }
    AppHeader > #header-account {
        width: 1fr;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    AppHeader > #header-bytes {
        width: auto;
        color: $text-muted;
        padding: 0 1;
    }
    AppHeader > #header-server {
        width: auto;
        color: $text-muted;
        padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static("esep-tui", id="header-title")
        yield Static("", id="header-account", markup=False)
        yield Static("", id="header-server", markup=False)
        yield Static("", id="header-bytes", markup=False)
        yield ConnectivityIndicator(id="connectivity")

    def on_mount(self) -> None:
        app = self.app
        if hasattr(app, "account_label"):
            self.watch(app, "account_label", self._show_account)
            self.watch(app, "server_label", self._show_server)
            self.watch(app, "connectivity", self._show_connectivity)
        if hasattr(app, "wire_label"):
            self.watch(app, "wire_label", self._show_bytes)

    def _show_account(self, label: str) -> None:
        self.query_one("#header-account", Static).update(plain(label or _("not signed in")))

    def _show_bytes(self, label: str) -> None:
        counter = self.query_one("#header-bytes", Static)
        counter.update(label)
        counter.display = bool(label)

    def _show_server(self, label: str) -> None:
        # the embedded server is named by the interface; a remote one by its address
        shown = _("embedded server") if label == "embedded server" else label
        self.query_one("#header-server", Static).update(plain(shown))

    def _show_connectivity(self, status) -> None:
        self.query_one(ConnectivityIndicator).status = status
