"""Trainer mode: personas switched from the palette, a bad-network switch, demo reset, the tour.

* Personas: signing in as another persona keeps each one's own replica (the sync engine is
  per account) and its stored sign-in, so switching back needs no password.
* The network switch: online, "slow link (Edge: 240 kbit/s, 840 ms)" (the link shaper's Edge
  preset, applied to the client's own traffic by :class:`ShapedTransport`) and offline
  (work offline: writes wait in the outbox). The header shows the bytes that crossed.
* Reset (embedded server only, after a confirmation): the demo world and every local replica
  are restored in seconds, as ``esep-tui demo reset`` does.
* Classroom: :func:`fresh_trainee` makes each trainee their own "new teacher".
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from esep_tui.i18n import N_, _, format_bytes
from esep_tui.tour import TourContext, view

if TYPE_CHECKING:
    from esep_tui.app import EsepApp

log = logging.getLogger("esep_tui.trainer")

LINK_MODES = ("online", "slow", "offline")
LINK_LABELS = {
    "online": N_("online"),
    "slow": N_("slow link (Edge: 240 kbit/s, 840 ms)"),
    "offline": N_("offline"),
}
BYTES_INTERVAL = 1.0
# the demo world's one password for adults (docs/personas.md); fresh trainees get it too
DEMO_PASSWORD = "eTwinning-demo-2026"


# ---------------------------------------------------------------- the slow link


@dataclass(frozen=True)
class LinkProfile:
    name: str
    down_kbit: float
    up_kbit: float
    rtt_ms: float


def edge() -> LinkProfile:
    """The Edge preset (240 kbit/s down, 200 up, 840 ms), from the link shaper when present."""
    try:
        from esep_tui.link_shaper import PRESETS

        p = PRESETS["edge"]
        return LinkProfile(p.name, p.down_kbit, p.up_kbit, p.rtt_ms)
    except (ImportError, KeyError, AttributeError):
        return LinkProfile("Edge", 240, 200, 840)


class _Link:
    """One radio link shared by every request: bytes queue up behind each other."""

    def __init__(self, kbit: float):
        self.rate = kbit * 1000 / 8  # bytes per second
        self._free_at = 0.0

    async def carry(self, nbytes: int) -> None:
        loop = asyncio.get_running_loop()
        start = max(loop.time(), self._free_at)
        self._free_at = start + nbytes / self.rate
        delay = self._free_at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)


def _request_bytes(request) -> int:
    head = len(request.method) + len(request.url.raw_path) + 12
    head += sum(len(k) + len(v) + 4 for k, v in request.headers.raw)
    return head + len(request.content or b"")


class ShapedTransport:
    """Wraps the client's httpx transport; with a profile set, every exchange takes as long
    as it would over that link (half the round trip each way, bandwidth per direction)."""

    def __init__(self, inner: Any, profile: LinkProfile | None = None):
        self.inner = inner
        self.profile: LinkProfile | None = None
        self.set_profile(profile)

    def set_profile(self, profile: LinkProfile | None) -> None:
        self.profile = profile
        if profile is not None:
            self._up, self._down = _Link(profile.up_kbit), _Link(profile.down_kbit)

    async def handle_async_request(self, request):
        import httpx

        profile = self.profile
        if profile is None:
            return await self.inner.handle_async_request(request)
        up, down = self._up, self._down
        await asyncio.sleep(profile.rtt_ms / 2000)
        await up.carry(_request_bytes(request))
        response = await self.inner.handle_async_request(request)
        try:
            body = b"".join([chunk async for chunk in response.stream])
        finally:
            await response.aclose()
        size = len(body) + sum(len(k) + len(v) + 4 for k, v in response.headers.raw) + 17
        await down.carry(size)
        await asyncio.sleep(profile.rtt_ms / 2000)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(body),
            extensions=response.extensions,
            request=request,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def __aenter__(self):
        await self.inner.__aenter__()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.inner.__aexit__(*exc)


def shape(client: Any, profile: LinkProfile | None) -> ShapedTransport:
    """Put the shaper between ``client`` (an ApiClient) and the wire; idempotent."""
    http = client._http
    transport = http._transport
    if not isinstance(transport, ShapedTransport):
        transport = ShapedTransport(transport)
        http._transport = transport
    transport.set_profile(profile)
    return transport


# ---------------------------------------------------------------- classroom


async def fresh_trainee(connection: Any, password: str, *, name: str = "New Teacher"):
    """A new EU Login account under a free ``new_trainee_email(n)``, signed in.

    The first few numbers are tried in order (a trainer's own laptop); in a room where they
    are taken, random ones, so thirty trainees asking at once do not queue on each other.
    """
    from api_client.errors import Conflict, Transient

    try:
        from reference_backend.seed import new_trainee_email
    except ImportError:

        def new_trainee_email(n: int) -> str:
            return f"new.teacher.{n}@demo.esep"

    candidates = [*range(1, 6), *(random.randint(6, 999_999) for _ in range(50))]
    for n in candidates:
        email = new_trainee_email(n)
        for attempt in range(4):
            try:
                await connection.create_account(email, password, f"{name} {n}")
            except Conflict:
                break  # taken by another trainee: the next number
            except Transient:
                if attempt == 3:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))  # a busy server: the same again
                continue
            return await connection.sign_in(email, password)
    raise RuntimeError(_("No free trainee account was found; reset the demo world."))


# ---------------------------------------------------------------- reset confirmation


class ConfirmReset(ModalScreen[bool]):
    """Nothing is deleted without a yes."""

    BINDINGS = [
        Binding("y", "answer(True)", "Reset", id="reset.yes"),
        Binding("n,escape", "answer(False)", "Cancel", id="reset.no"),
    ]
    DEFAULT_CSS = """
    ConfirmReset { align: center middle; }
    ConfirmReset > Vertical {
        width: 64; max-width: 100%; height: auto;
        background: $surface; border: round $warning; padding: 1 2;
    }
    ConfirmReset .buttons { height: auto; margin: 1 0 0 0; }
    ConfirmReset Button { margin: 0 1 0 0; }
    """

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-reset") as box:
            box.border_title = _("Reset the demo world?")
            yield Static(
                _(
                    "Every change made in the demo world, by every persona, is lost: the "
                    "database is seeded again and the local copies are deleted. It takes a "
                    "few seconds."
                ),
                markup=False,
            )
            with Horizontal(classes="buttons"):
                yield Button(_("Reset (y)"), id="reset-yes", variant="warning")
                yield Button(_("Cancel (n)"), id="reset-no")

    def on_mount(self) -> None:
        self.query_one("#reset-no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "reset-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


# ---------------------------------------------------------------- the trainer


class Trainer:
    """The app's trainer features. Lives as ``app.trainer``; touches widgets only on the
    app's own thread (its workers post back through the app)."""

    def __init__(self, app: EsepApp):
        self.app = app
        self.link = "online"
        self.tour_on = False
        self.visited: set[str] = set()
        self.user: dict[str, Any] | None = None
        self._timer = None

    # -------------------------------------------------------- palette

    @property
    def demo(self) -> bool:
        """The demo world is there: the embedded server, or ``esep-tui --server URL demo``."""
        return self.app.connection.is_embedded or self.app.start == "persona"

    def commands(self) -> list[tuple[str, str, str]]:
        out: list[tuple[str, str, str]] = []
        for mode in LINK_MODES:
            if mode != self.link:
                out.append(
                    (
                        _("Network: {mode}").format(mode=_(LINK_LABELS[mode])),
                        _("Trainer: show how the app behaves on this link"),
                        f"link({mode!r})",
                    )
                )
        out.append(
            (
                _("Classroom: a fresh new-teacher account for me"),
                _("Trainees: your own brand-new teacher, starting the registration wizard"),
                "switch_persona('new_teacher')",
            )
        )
        if not self.demo:
            return out
        from screens.persona import load_personas

        for persona in load_personas():
            out.append(
                (
                    _("Persona: {title}").format(title=persona.title),
                    _("Switch to this persona (each keeps its own local copy)"),
                    f"switch_persona({persona.key!r})",
                )
            )
        out.append(
            (
                _("Choose a demo persona"),
                _("Sign in as someone in the demo world"),
                "personas",
            )
        )
        if self.app.connection.is_embedded:
            out.append(
                (
                    _("Reset the demo world"),
                    _("Restore the seeded world and delete local copies (asks first)"),
                    "reset_demo",
                )
            )
        return out

    # -------------------------------------------------------- network switch

    def set_link(self, mode: str) -> None:
        if mode not in LINK_MODES:
            return
        app = self.app
        client = app.connection.client
        if mode == "offline":
            if not app.connection.work_offline:
                app.set_work_offline(True)
        else:
            if client is not None:
                shape(client, edge() if mode == "slow" else None)
            if app.connection.work_offline:
                app.set_work_offline(False)
        self.link = mode
        if mode == "slow":
            app.notify(_("Network: {mode}").format(mode=_(LINK_LABELS[mode])))
        self.start_counter()
        self.show_bytes()

    def start_counter(self) -> None:
        if self._timer is None:
            self._timer = self.app.set_interval(BYTES_INTERVAL, self.show_bytes)

    def show_bytes(self) -> None:
        client = self.app.connection.client
        if client is None:
            return
        stats = client.stats
        label = f"↓{format_bytes(stats.bytes_down)} ↑{format_bytes(stats.bytes_up)}"
        if self.link == "slow":
            label = f"{edge().name} {label}"
        self.app.wire_label = label

    # -------------------------------------------------------- personas

    def switch_persona(self, key: str) -> None:
        from screens.persona import load_personas

        persona = next((p for p in load_personas() if p.key == key), None)
        if persona is None and key == "new_teacher":  # a classroom server's own new teacher
            from screens.persona import Persona

            persona = Persona("new_teacher", _("New teacher"), kind="new_teacher")
        if persona is None:
            self.app.notify(_("No such persona on this server."), severity="warning")
            return
        self.app.notify(_("Signing in as {persona}…").format(persona=persona.title))
        self.app.run_worker(
            self._switch(persona), group="persona", exclusive=True, exit_on_error=False
        )

    async def _switch(self, persona) -> None:
        from esep_tui.app import SignedIn

        app = self.app
        connection = app.connection
        try:
            await self._close_replica()
            connection.tokens._pair = None  # the last persona's sign-in stays stored
            if persona.is_new_teacher:
                account = await fresh_trainee(connection, persona.password or DEMO_PASSWORD)
                app.post_message(SignedIn(account))
            elif persona.is_pupil:
                pupil = await connection.pupil_sign_in(persona.username, persona.code or "")
                app.post_message(SignedIn(pupil=pupil))
            else:
                account = await connection.restore(persona.email)
                if account is None:
                    account = await connection.sign_in(persona.email, persona.password or "")
                app.post_message(SignedIn(account))
        except Exception as exc:
            app.notify(
                f"{persona.title}: {getattr(exc, 'message', exc)}",
                title=_("Could not switch persona"),
                severity="error",
                markup=False,
            )

    async def _close_replica(self) -> None:
        """Stop the current persona's sync engine; the next one opens its own replica."""
        connection = self.app.connection
        engine, connection.sync = connection.sync, None
        stop = getattr(engine, "stop", None)
        if stop is not None:
            result = stop()
            if asyncio.iscoroutine(result):
                await result
        store = getattr(engine, "store", None)
        client = connection.client
        if client is not None and store is not None and client.etags is store.http_cache:
            # the kept ETags were that persona's; the next engine brings its own
            from api_client.http import MemoryEtagCache

            client.etags = MemoryEtagCache()
        close = getattr(store, "close", None)
        if close is not None:
            close()
        self.user = None

    # -------------------------------------------------------- reset

    def confirm_reset(self) -> None:
        if not self.app.connection.is_embedded:
            self.app.notify(
                _("Only the embedded demo server can be reset from here."), severity="warning"
            )
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.run_worker(
                    self._reset_or_say_why(), group="reset", exclusive=True, exit_on_error=False
                )

        self.app.push_screen(ConfirmReset(), answered)

    async def _reset_or_say_why(self) -> None:
        try:
            await self.reset()
        except Exception as exc:
            log.exception("demo reset failed")
            self.app.notify(
                _("The demo world could not be restored: {reason}").format(reason=exc),
                severity="error",
                markup=False,
            )

    async def reset(self) -> None:
        """Stop the embedded server, wipe the world and the replicas, seed, reconnect."""
        from esep_tui import embedded as embedded_mod
        from esep_tui.connection import Connection, forget_tokens, remove_replicas
        from esep_tui.settings import EMBEDDED

        app = self.app
        old = app.connection
        app.notify(_("Restoring the demo world…"))
        await self._close_replica()
        await old.aclose()
        server = old.embedded
        path = server.path if server is not None else None
        if server is not None:
            await asyncio.to_thread(server.stop, 10.0)

        def wipe() -> None:
            forget_tokens(app.settings, [EMBEDDED])
            embedded_mod.remove_database(path)
            remove_replicas(EMBEDDED)

        await asyncio.to_thread(wipe)
        app.settings.last_account.pop(EMBEDDED, None)
        app._save_settings()
        fresh = embedded_mod.EmbeddedServer(path) if server is not None else None
        connection = Connection(None, transport=old.transport, embedded=fresh)
        connection.work_offline = old.work_offline
        connection.on_connectivity(app._connectivity_from_any_thread)
        app.embedded = fresh
        app.connection = connection
        app.account = app.pupil = None
        app.account_label = ""
        self.visited.clear()
        from screens.persona import PersonaScreen

        app._show(PersonaScreen())
        if fresh is not None:
            fresh.start()
        app.connect()
        await connection.settled()
        if self.link == "slow" and connection.client is not None:
            shape(connection.client, edge())
        app.notify(_("The demo world is restored."))

    # -------------------------------------------------------- tour

    def toggle_tour(self) -> None:
        self.tour_on = not self.tour_on
        for screen in self.app.screen_stack:
            self._place_panel(screen)
        if self.tour_on:
            self.refresh_tour()
            self._fetch_user()

    def _place_panel(self, screen) -> None:
        from widgets.tour_panel import TourPanel

        if isinstance(screen, ModalScreen) or not screen.is_mounted:
            return
        panels = list(screen.query(TourPanel))
        if self.tour_on and not panels:
            from textual.widgets import Footer

            footers = list(screen.query(Footer))
            panel = TourPanel(self.tour_view())
            if footers:
                screen.mount(panel, before=footers[0])
            else:
                screen.mount(panel)
        elif not self.tour_on:
            for panel in panels:
                panel.remove()

    def context(self) -> TourContext:
        app = self.app
        account = app.account
        user = self.user or {}
        try:
            screen = type(app.screen).__name__
        except Exception:
            screen = ""
        return TourContext(
            screen=screen,
            signed_in=bool(account is not None or app.pupil),
            pupil=bool(app.pupil) and account is None,
            registered=bool(account is not None and account.user_id),
            state=user.get("state"),
            staff=bool(user.get("staff_country")),
            visited=set(self.visited),
        )

    def tour_view(self):
        return view(self.context())

    def refresh_tour(self) -> None:
        if not self.tour_on:
            return
        from widgets.tour_panel import TourPanel

        tour = self.tour_view()
        for screen in self.app.screen_stack:
            for panel in screen.query(TourPanel):
                panel.show(tour)

    def screen_changed(self, screen) -> None:
        if not isinstance(screen, ModalScreen):
            self.visited.add(type(screen).__name__)
        if self.tour_on:
            self._place_panel(screen)
            self.refresh_tour()
            self._fetch_user()

    def language_changed(self, screen) -> None:
        if self.tour_on:
            self._place_panel(screen)
            self.refresh_tour()
        if self._timer is not None:
            self.show_bytes()

    def _fetch_user(self) -> None:
        account = self.app.account
        if account is None or not account.user_id:
            self.user = None
            return
        self.app.run_worker(
            self._load_user(), group="tour-user", exclusive=True, exit_on_error=False
        )

    async def _load_user(self) -> None:
        try:
            user = await self.app.connection.get("/users/me")
        except Exception:  # offline: the tour keeps what it knew
            return
        if isinstance(user, dict):
            self.user = user
            self.refresh_tour()
