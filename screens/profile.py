"""My profile: the profile editor and the Organisations tab (eTwinning / non-eTwinning cards,
each with its action menu). Also the account operations the wizard and the doctor share:
every write goes through the outbox; the answer (done, queued, refused) is reported back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from esep_tui.i18n import _
from screens.registration_steps import (
    Loaded,
    OrgSearching,
    ProfileForm,
    RegisterOrganisationScreen,
    RoleChoice,
    countries,
)
from widgets.app_header import AppHeader
from widgets.org_card import OrgCard
from widgets.org_search import OrgSearch
from widgets.status_badge import StatusBadge
from widgets.untrusted import clean, plain

# ------------------------------------------------------------------ account operations


@dataclass
class Outcome:
    """What became of one write: done | queued | rejected | conflict | unavailable."""

    state: str
    data: Any = None
    message: str = ""
    code: str | None = None
    reasons: list[dict] = field(default_factory=list)
    field: str | None = None
    seq: int | None = None
    server: Any = None
    local: Any = None

    @property
    def ok(self) -> bool:
        return self.state in ("done", "queued")


def _outcome(engine, seq: int, keep: bool) -> Outcome:
    item = engine.store.outbox.get(seq)
    if item.state == "done":
        return Outcome("done", item.response, seq=seq)
    if item.state in ("rejected", "conflict"):
        local = engine.store.get_entity(*item.entity) if item.entity else None
        out = Outcome(
            item.state,
            message=item.error_message or "",
            code=item.error_code,
            field=item.error_field,
            reasons=list(item.error_reasons or []),
            seq=seq,
            server=item.server_data,
            local=local.data if local else None,
        )
        if item.state == "rejected" and not keep:
            engine.discard(seq)  # shown to the user now; nothing of theirs to fix and resend
        return out
    return Outcome("queued", item.body, seq=seq)


def _no_engine() -> Outcome:
    return Outcome("unavailable", message=_("Not connected to the server yet: try again soon."))


async def send(
    app, method: str, path: str, body: Any = None, *, keep: bool = False, **kw
) -> Outcome:
    """Queue one write in the outbox, try to send it now, and say what happened."""
    engine = app.connection.engine()
    if engine is None:
        return _no_engine()
    item = engine.write(method, path, body, **kw)
    await engine.flush()
    return _outcome(engine, item.seq, keep)


async def create(app, kind: str, path: str, body: dict, *, keep: bool = False) -> Outcome:
    """Create with a client-made id (works offline: the id is usable at once)."""
    engine = app.connection.engine()
    if engine is None:
        return _no_engine()
    item = engine.create(kind, path, body, id=body.get("id"))
    await engine.flush()
    out = _outcome(engine, item.seq, keep)
    if out.state == "queued":
        out.data = item.body
    return out


async def load_user(app, *, fresh: bool = True) -> dict[str, Any] | None:
    """The platform user from the replica, refreshed from the server when it is reachable."""
    engine = app.connection.engine()
    account = getattr(app, "account", None)
    uid = getattr(account, "user_id", None)
    if engine is not None and uid is None:
        uid = engine.store.get_meta("user_id")
    if engine is None:
        try:
            return await app.connection.get("/users/me")
        except Exception:
            return None
    if uid is None:
        try:
            client = await app.connection.ready()
            data = await client.request("GET", "/users/me")
        except Exception:
            return None
        engine.store.set_meta("user_id", data["id"])
        engine.store.put_entity("user", data["id"], data)
        return data
    if fresh:
        return (await engine.fetch("user", uid, path="/users/me")).data
    return engine.read("user", uid, path="/users/me").data


async def add_membership(app, org_id: str, role: str) -> Outcome:
    return await create(
        app, "membership", "/users/me/memberships", {"org_id": org_id, "role": role}
    )


async def readd(app, membership: dict[str, Any]) -> Outcome:
    """FAQ problem 1: leave the organisation, then add the same one again with the same role."""
    left = await send(app, "DELETE", f"/users/me/memberships/{membership['id']}")
    if not left.ok and left.code != "already_left":
        return left
    return await add_membership(app, membership["org_id"], membership["role"])


async def run_fix(app, action: str, user: dict[str, Any] | None) -> Outcome:
    """Run a reason's self-fix (``action``). ``add_organisation`` needs the user's choice."""
    name, _sep, arg = action.partition(":")
    user = user or {}
    memberships = user.get("memberships") or []
    if name == "apply_etwinning":
        return await send(app, "POST", "/users/me/etwinning")
    if name == "request_validation":
        return await send(app, "POST", f"/users/me/memberships/{arg}/request-validation")
    if name == "set_available":
        return await send(
            app,
            "PATCH",
            "/users/me/profile",
            {"available_for_projects": True},
            if_match=user.get("version"),
            keep=True,
        )
    if name == "change_role":
        return await send(app, "PATCH", f"/users/me/memberships/{arg}", {"role": "teacher"})
    if name == "readd_organisation":
        last = Outcome("done")
        for m in memberships:
            last = await readd(app, m)
            if not last.ok:
                return last
        return last
    return Outcome("unavailable", message=_("This fix needs your choice: {a}").format(a=action))


def refusal_lines(outcome: Outcome) -> list[str]:
    """The server's refusal: its message, then each reason with its fix."""
    if outcome.state == "queued":
        return [_("Queued: it is sent when the link is back.")]
    lines = [clean(outcome.message)] if outcome.message else []
    for r in outcome.reasons:
        lines.append(f"✗ {clean(r.get('message'))} → {clean(r.get('fix'))}")
    return lines


# ------------------------------------------------------------------ add an organisation


class AddOrganisationScreen(OrgSearching, ModalScreen[tuple[dict, str] | None]):
    """Find the school (or register it), choose the role; dismisses with (org, role)."""

    DEFAULT_CSS = """
    AddOrganisationScreen { align: center middle; }
    AddOrganisationScreen > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    AddOrganisationScreen #add-status { height: auto; color: $text-warning; }
    """
    BINDINGS = [Binding("escape", "cancel", "Back", id="add_org.cancel")]

    def __init__(self, country: str | None = None, role: str | None = "teacher"):
        super().__init__()
        self.country = country
        self.role = role

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = _("Add an organisation to your profile")
            yield RoleChoice(self.role)
            yield OrgSearch([], country=self.country)
            yield Static("", id="add-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._countries()
        self.query_one("#org-q").focus()

    @work(group="countries", exit_on_error=False)
    async def _countries(self) -> None:
        self.post_message(Loaded("countries", await countries(self.app)))

    def loaded(self, message: Loaded) -> None:
        if message.tag == "countries":
            self.query_one(OrgSearch).set_countries(message.data, self.country)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _role_or_warn(self) -> str | None:
        role = self.query_one(RoleChoice).value
        if role is None:
            self.query_one("#add-status", Static).update(_("Choose your role first."))
        return role

    @on(OrgSearch.Picked)
    def _picked(self, event: OrgSearch.Picked) -> None:
        role = self._role_or_warn()
        if role:
            self.dismiss((event.org, role))

    @on(OrgSearch.RegisterNew)
    def _register(self, event: OrgSearch.RegisterNew) -> None:
        def registered(org: dict | None) -> None:
            if not org:
                return
            role = self._role_or_warn()
            if role:
                self.dismiss((org, role))

        self.app.push_screen(RegisterOrganisationScreen(event.country, event.q), registered)


# ------------------------------------------------------------------ the profile screen


class ProfileScreen(Screen):
    CSS_PATH = "profile.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", id="profile.back"),
        Binding("ctrl+s", "save", "Save profile", id="profile.save"),
        Binding("plus", "add", "Add organisation", key_display="+", id="profile.add"),
        Binding("f5", "refresh", "Refresh", id="profile.refresh"),
        Binding("ctrl+y", "keep_mine", "Keep mine", show=False, id="profile.keep_mine"),
        Binding("ctrl+t", "take_theirs", "Take theirs", show=False, id="profile.take_theirs"),
    ]
    HELP = """\
## Profile and organisations

**Profile**: edit and press **ctrl+s**; the change is queued and sent (it waits in the outbox
while offline). If someone changed the profile meanwhile, both versions are shown: **ctrl+y**
keeps yours, **ctrl+t** takes the server's.

**Organisations**: your eTwinning and non-eTwinning organisations. On a card press **m** for
its menu: leave, leave and add again (fixes "Non-validated" although you are validated),
request eTwinning validation / apply for eTwinning. **+** adds an organisation;
**F5** refreshes.
"""

    def __init__(self) -> None:
        super().__init__()
        self.user: dict[str, Any] | None = None
        self.conflict: Outcome | None = None

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with TabbedContent(id="profile-tabs"):
            with TabPane(_("Profile"), id="tab-profile"), VerticalScroll():
                with Vertical(id="profile-state"):
                    yield StatusBadge("", id="user-state")
                    yield Static("", id="profile-summary", markup=False)
                yield ProfileForm()
                yield Static("", id="profile-status", classes="status", markup=False)
                yield Static("", id="profile-conflict", markup=False)
            with TabPane(_("Organisations"), id="tab-orgs"):
                yield VerticalScroll(id="org-list")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#profile-conflict").display = False
        self.action_refresh()

    def action_back(self) -> None:
        self.app.pop_screen()

    def check_action(self, action: str, parameters) -> bool | None:
        if action in ("keep_mine", "take_theirs"):
            return self.conflict is not None
        return True

    # --- loading
    @work(exclusive=True, group="profile-load", exit_on_error=False)
    async def action_refresh(self) -> None:
        cached = await load_user(self.app, fresh=False)
        if cached is not None:
            self.post_message(Loaded("user", cached))
        user = await load_user(self.app)
        left = None
        try:
            engine = self.app.connection.engine()
            if engine is not None:
                left = (
                    await engine.fetch(
                        "membership_list",
                        path="/users/me/memberships",
                        params={"include_left": "true"},
                    )
                ).data
        except Exception:
            left = None
        self.post_message(Loaded("user", user, left=left))

    @on(Loaded)
    async def _loaded(self, message: Loaded) -> None:
        if message.tag != "user" or message.data is None:
            if message.tag == "outcome":
                self._outcome(message)
            return
        first = self.user is None
        self.user = message.data
        self._show_user(first)
        await self._show_orgs(message.extra.get("left"))

    def _show_user(self, first: bool) -> None:
        user = self.user or {}
        self.query_one("#user-state", StatusBadge).set_state(str(user.get("state", "")))
        name = f"{clean(user.get('first_name'))} {clean(user.get('last_name'))}"
        self.query_one("#profile-summary", Static).update(
            plain(f"{name} · {clean(user.get('country'))} · v{user.get('version')}")
        )
        if first:
            self.query_one(ProfileForm).load(user)

    async def _show_orgs(self, with_left: list | None) -> None:
        user = self.user or {}
        listing = self.query_one("#org-list", VerticalScroll)
        await listing.remove_children()
        current = list(user.get("memberships") or [])
        gone = [m for m in (with_left or []) if m.get("left_at")]
        # the same organisation added again after leaving: only the current card
        gone = [m for m in gone if m["org_id"] not in {c["org_id"] for c in current}]
        state = user.get("state")
        etw = [m for m in current if m.get("standing") == "etwinning"]
        other = [m for m in current if m.get("standing") != "etwinning"]
        widgets: list = [Static(_("eTwinning organisations"), classes="heading")]
        widgets += [OrgCard(m, user_state=state) for m in etw] or [
            Static(_("None yet."), classes="hint")
        ]
        widgets.append(Static(_("Non-eTwinning organisations"), classes="heading"))
        widgets += [OrgCard(m, user_state=state) for m in other] or [
            Static(_("None."), classes="hint")
        ]
        if gone:
            widgets.append(Static(_("Organisations you left"), classes="heading"))
            widgets += [OrgCard(m, user_state=state) for m in gone]
        widgets.append(
            Static(_("m  actions on a card      +  add an organisation"), classes="hint")
        )
        await listing.mount_all(widgets)

    # --- profile editing
    def action_save(self) -> None:
        form = self.query_one(ProfileForm)
        body = form.patch()
        status = self.query_one("#profile-status", Static)
        if body is None or self.user is None:
            return
        status.update(_("Saving…"))
        self._run("save", self._save(body))

    async def _save(self, body: dict) -> Outcome:
        user = self.user or {}
        return await send(
            self.app,
            "PATCH",
            "/users/me/profile",
            body,
            if_match=user.get("version"),
            entity=("user", user["id"]),
            optimistic={**user, **body},
            current_path="/users/me",
            keep=True,
        )

    def _run(self, what: str, coro, card: OrgCard | None = None) -> None:
        self._runner(what, coro, card)

    @work(group="profile-write", exit_on_error=False)
    async def _runner(self, what: str, coro, card: OrgCard | None) -> None:
        outcome = await coro
        self.post_message(Loaded("outcome", outcome, what=what, card=card))

    def _outcome(self, message: Loaded) -> None:
        outcome: Outcome = message.data
        what, card = message.extra["what"], message.extra["card"]
        if what == "save":
            self._saved(outcome)
            return
        if card is not None and card.is_mounted:
            card.show_reasons(refusal_lines(outcome) if outcome.state != "done" else [])
        if outcome.state == "done":
            self.notify(_("Done."))
            self.action_refresh()
        elif outcome.state == "queued":
            self.notify(_("Queued: it is sent when the link is back."))

    def _saved(self, outcome: Outcome) -> None:
        status = self.query_one("#profile-status", Static)
        box = self.query_one("#profile-conflict", Static)
        self.conflict = None
        box.display = False
        if outcome.state == "done":
            status.update(_("Saved."))
            self.user = outcome.data or self.user
            self._show_user(False)
        elif outcome.state == "queued":
            status.update(_("Saved on this computer; queued until the link is back."))
        elif outcome.state == "conflict":
            self.conflict = outcome
            status.update(_("Someone changed your profile meanwhile: both versions below."))
            box.update(plain(self._both(outcome)))
            box.display = True
        else:
            self.query_one(ProfileForm).show_error(outcome, status)
        self.refresh_bindings()

    @staticmethod
    def _both(outcome: Outcome) -> str:
        mine, theirs = outcome.local or {}, outcome.server or {}
        names = (
            "available_for_projects",
            "subjects",
            "languages",
            "pupil_age_min",
            "pupil_age_max",
            "description",
        )
        lines = [_("field: yours | the server's")]
        for name in names:
            a, b = mine.get(name), theirs.get(name)
            mark = "≠ " if a != b else "  "
            lines.append(f"{mark}{name}: {clean(a)} | {clean(b)}")
        lines.append(_("ctrl+y keep mine · ctrl+t take theirs"))
        return "\n".join(lines)

    def action_keep_mine(self) -> None:
        if self.conflict is None:
            return
        engine = self.app.connection.engine()
        engine.resend(self.conflict.seq)
        self._run("save", self._flush_seq(self.conflict.seq))

    async def _flush_seq(self, seq: int) -> Outcome:
        engine = self.app.connection.engine()
        await engine.flush()
        return _outcome(engine, seq, True)

    def action_take_theirs(self) -> None:
        if self.conflict is None:
            return
        self.app.connection.engine().discard(self.conflict.seq)
        self.user = self.conflict.server or self.user
        self.conflict = None
        self.query_one("#profile-conflict").display = False
        self.query_one(ProfileForm).load(self.user)
        self.query_one("#profile-status", Static).update(_("The server's version is shown."))
        self.refresh_bindings()

    # --- organisations
    @on(OrgCard.ActionChosen)
    def _card_action(self, event: OrgCard.ActionChosen) -> None:
        m = event.card.membership
        event.card.show_reasons([_("Working…")])
        coro = {
            "leave": lambda: send(self.app, "DELETE", f"/users/me/memberships/{m['id']}"),
            "readd": lambda: readd(self.app, m),
            "add_again": lambda: add_membership(self.app, m["org_id"], m["role"]),
            "request_validation": lambda: run_fix(
                self.app, f"request_validation:{m['id']}", self.user
            ),
            "apply_etwinning": lambda: run_fix(self.app, "apply_etwinning", self.user),
            "change_role": lambda: run_fix(self.app, f"change_role:{m['id']}", self.user),
        }[event.action]()
        self._run(event.action, coro, event.card)

    def action_add(self) -> None:
        country = (self.user or {}).get("country")

        def chosen(result) -> None:
            if result:
                org, role = result
                self._run("add", add_membership(self.app, org["id"], role))

        self.app.push_screen(AddOrganisationScreen(country), chosen)
