"""My projects: state badges, the status timeline, the partner's answer, members, closing.

A project moves awaiting partner → awaiting NSO (one approval per founder country) → approved
(its TwinSpace opens) or rejected (with the reason); the partner may decline; an approved
project is later closed. The invited partner accepts here, naming their school when they
have several; teacher administrators invite members once the project is approved, and see
each candidate's reasons when one cannot be added (FAQ problem 3).
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from esep_tui.i18n import N_, _, ngettext
from screens.partners_dialogs import ChoicePrompt, TextPrompt
from screens.partners_live import LiveData, Refreshed, merged
from widgets.app_header import AppHeader
from widgets.person_card import reason_lines
from widgets.untrusted import clean, plain

STATE_LABELS = {
    "queued": N_("queued, not sent yet"),
    "awaiting_partner": N_("awaiting partner"),
    "awaiting_nso": N_("awaiting NSO"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "declined": N_("declined by the partner"),
    "closed": N_("closed"),
}
APPROVAL_LABELS = {
    "waiting": N_("waiting for the partner"),
    "pending": N_("pending"),
    "info_requested": N_("information requested"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
}
SCHOOL_CAUTION = N_(
    "CAUTION: you work in more than one school. Choose the school whose pupils take part."
)


def approvals_text(project: dict) -> str:
    return ", ".join(
        f"{a.get('country')} {_(APPROVAL_LABELS.get(a.get('state'), a.get('state', '')))}"
        for a in project.get("approvals") or []
    )


def badge(project: dict, refused: str = "") -> str:
    if refused:
        return _("refused") + ": " + refused.splitlines()[0]
    state = project.get("state") or "queued"
    text = _(STATE_LABELS.get(state, state))
    if state == "awaiting_nso" and project.get("approvals"):
        text += f" ({approvals_text(project)})"
    if state in ("rejected", "declined") and project.get("rejection_reason"):
        text += ": " + clean(project["rejection_reason"])
    if project.get("_dirty") and state != "queued":
        text += " · " + _("change queued")
    return text


def invited(project: dict) -> bool:
    return project.get("my_state") == "invited"


def timeline(project: dict) -> list[str]:
    """The status timeline, step by step, with a mark for done (✓), now (▶) or refused (✗)."""
    state = project.get("state") or "queued"
    order = ["queued", "awaiting_partner", "awaiting_nso", "approved", "closed"]
    steps = [
        ("queued", _("submitted")),
        ("awaiting_partner", _("partner accepts")),
        (
            "awaiting_nso",
            _("NSO approval")
            + (f": {approvals_text(project)}" if project.get("approvals") else ""),
        ),
        ("approved", _("approved: TwinSpace open")),
        ("closed", _("closed (read-only archive)")),
    ]
    if state in ("rejected", "declined"):
        stop = "awaiting_nso" if state == "rejected" else "awaiting_partner"
        lines = []
        for key, label in steps:
            if key == stop:
                reason = clean(project.get("rejection_reason") or "")
                lines.append(
                    f"✗ {label}: {_(STATE_LABELS[state])}" + (f" — {reason}" if reason else "")
                )
                break
            lines.append(f"✓ {label}")
        return lines
    now = order.index(state) if state in order else 0
    return [
        ("✓ " if i < now or state == "closed" else "▶ " if i == now else "  ") + label
        for i, (_key, label) in enumerate(steps)
    ]


class Candidates(Message):
    """Contacts who could join a project, each with the reasons they cannot (yet)."""

    def __init__(self, project: dict, candidates: list[tuple[dict, list[dict]]]):
        super().__init__()
        self.project, self.candidates = project, candidates


class ProjectDetailScreen(LiveData, Screen):
    """One project: everything the founders wrote, the timeline, the approvals, the members."""

    CSS_PATH = "projects.tcss"
    LIVE_KINDS = ("project",)
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="project.back")]

    def __init__(self, project_id: str, owner: ProjectsScreen):
        super().__init__()
        self.project_id, self.owner = project_id, owner

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with VerticalScroll(id="project-detail"):
            yield Static("", id="project-text", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.start_live()
        self.show(refresh=True)
        self.query_one("#project-detail").focus()

    def on_unmount(self) -> None:
        self.stop_live()

    def show(self, *, refresh: bool = False) -> None:
        p = self.entity("project", self.project_id, f"/projects/{self.project_id}", refresh=refresh)
        if not isinstance(p, dict):
            self.query_one("#project-text", Static).update(_("Not available offline yet."))
            return
        self.query_one("#project-detail").border_title = clean(p.get("title", ""))[:60]
        school = p.get("creator_school") or {}
        lines = [
            _("State") + ": " + badge(p, self.attention_for("project", self.project_id)),
            "",
            *timeline(p),
            "",
            _("Founders") + f": {clean((p.get('creator') or {}).get('name', ''))} "
            f"({clean(school.get('public_name', ''))}) · "
            f"{clean((p.get('partner') or {}).get('name', ''))}"
            + (
                f" ({clean((p.get('partner_school') or {}).get('public_name', ''))})"
                if p.get("partner_school")
                else ""
            ),
            "",
            clean(p.get("short_description", "")),
            "",
            _("Languages") + ": " + clean(", ".join(p.get("languages") or [])),
            _("Subjects")
            + ": "
            + clean(", ".join((p.get("subjects") or []) + (p.get("vocational_subjects") or []))),
            _("{n} pupils aged {a}–{b}").format(
                n=p.get("pupils_count"), a=p.get("age_min"), b=p.get("age_max")
            ),
        ]
        for key, label in (("aims", N_("Aims")), ("work_process", N_("Work process")),
                           ("expected_results", N_("Expected results"))):  # fmt: skip
            if p.get(key):
                lines += ["", _(label), clean(p[key])]
        members = p.get("members") or []
        if members:
            lines += ["", _("Members")]
            for m in members:
                lines.append(
                    f"• {clean(m.get('name', ''))} ({m.get('country')}) · {m.get('role', '').replace('_', ' ')}"
                    + (" · " + _("founder") if m.get("founder") else "")
                    + (" · " + _("invited") if m.get("state") == "invited" else "")
                )
        self.query_one("#project-text", Static).update(plain("\n".join(lines)))

    @on(Refreshed)
    def _refreshed(self, message: Refreshed) -> None:
        self.show()


class ProjectsScreen(LiveData, Screen):
    CSS_PATH = "projects.tcss"
    LIVE_KINDS = ("project", "project_summary", "me")
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="projects.back"),
        Binding("enter", "open", "Open", id="projects.open", show=False),
        Binding("a", "accept", "Accept", id="projects.accept"),
        Binding("x", "decline", "Decline", id="projects.decline"),
        Binding("i", "invite", "Invite", id="projects.invite"),
        Binding("c", "close", "Close project", id="projects.close"),
        Binding("delete", "withdraw", "Withdraw", show=False, id="projects.withdraw"),
        Binding("r", "refresh", "Refresh", show=False, id="projects.refresh"),
    ]
    HELP = """\
## My projects

Every project you founded, are a member of, or are invited to, with its state: awaiting
partner, awaiting NSO (each country's approval shown), approved, rejected (with the reason),
declined, closed. A project you just submitted shows as *queued* until the outbox sends it.

- **enter** opens a project: its description, status timeline and members.
- **a** accepts an invitation (you choose your school if you work in several); **x** declines
  it, with an optional reason.
- **i** invites a contact once the project is approved (teacher administrators). Contacts who
  cannot be added show the reasons and the fix.
- **c** closes an approved project: its TwinSpace becomes a read-only archive.
- **delete** withdraws a project you created while it still waits for the partner or the NSO.
"""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict] = []
        self.asked: set[str] = set()  # projects whose full copy was asked for

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield OptionList(id="projects-list")
        yield Static("", id="projects-status", classes="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.start_live()
        self.show(refresh=True)
        self.query_one("#projects-list").focus()

    def on_unmount(self) -> None:
        self.stop_live()

    def action_refresh(self) -> None:
        self.show(refresh=True)

    def show(self, *, refresh: bool = False) -> None:
        data = self.live("project_summary", "/projects", refresh=refresh)
        rows = merged(self.engine(), "project_summary", data, overlay="project")
        if refresh:  # what the answers and invitations need, fetched ahead for offline use
            self.live("me", "/users/me")
            self.live("contact_list", "/contacts")
        for r in rows:  # each country's approval state lives on the full copy
            wanted = r.get("state") in ("awaiting_nso", "rejected") and not r.get("approvals")
            if wanted and (refresh or r["id"] not in self.asked):
                self.asked.add(r["id"])
                self.entity("project", r["id"], f"/projects/{r['id']}")
        self.rows = rows
        menu = self.query_one("#projects-list", OptionList)
        highlighted = menu.highlighted
        menu.clear_options()
        for p in rows:
            menu.add_option(Option(self.prompt(p), id=p["id"]))
        if rows:
            menu.highlighted = min(highlighted or 0, len(rows) - 1)
        status = self.query_one("#projects-status", Static)
        if data is None and not rows:
            status.update(_("Loading your projects…") if self.engine() else _("Sign in first."))
        elif not rows:
            status.update(_("No projects yet: create one with a partner from your contacts."))
        else:
            count = ngettext("{n} project", "{n} projects", len(rows)).format(n=len(rows))
            status.update(count + " · " + _("enter opens one"))

    def prompt(self, p: dict) -> Content:
        refused = self.attention_for("project", p["id"])
        creator = (p.get("creator") or {}).get("name", "")
        partner = (p.get("partner") or {}).get("name", "")
        head = [(clean(p.get("title", "")), "bold"), ("  [" + badge(p, refused) + "]", "italic")]
        line = f"\n  {clean(creator)} & {clean(partner)} · {clean(p.get('scope') or '')}"
        tail = [line]
        if invited(p) and p.get("state") in ("awaiting_partner", "approved"):
            tail.append("\n  " + _("You are invited: a accept · x decline"))
        if refused:
            tail.append("\n  " + clean(refused))
        return Content.assemble(*head, *tail)

    @on(Refreshed)
    def _refreshed(self, message: Refreshed) -> None:
        self.show()

    def current(self) -> dict | None:
        menu = self.query_one("#projects-list", OptionList)
        if menu.highlighted is None or menu.highlighted >= len(self.rows):
            return None
        return self.rows[menu.highlighted]

    @on(OptionList.OptionSelected, "#projects-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        p = self.current()
        if p is not None:
            self.app.push_screen(ProjectDetailScreen(p["id"], self))

    def _write(self, p: dict, path: str, body: dict | None, optimistic: dict) -> None:
        copy = {k: v for k, v in p.items() if not k.startswith("_")}
        self.send(
            "POST",
            path,
            body,
            entity=("project", p["id"]),
            optimistic={**copy, **optimistic},
            current_path=f"/projects/{p['id']}",
        )
        self.show()

    # ------------------------------------------------------------ the partner's answer

    def my_schools(self) -> list[dict]:
        me = self.live("me", "/users/me", refresh=False)
        if not isinstance(me, dict):
            return []
        return [
            m["org"]
            for m in me.get("memberships", [])
            if m.get("standing") == "etwinning" and m.get("role") != "company_staff"
        ]

    def action_accept(self) -> None:
        p = self.current()
        if p is None or not invited(p):
            self.notify(_("There is no invitation to answer on this project."))
            return
        if not p.get("founder") and p.get("state") == "approved":
            self._write(p, f"/projects/{p['id']}/members/me/accept", None, {"my_state": "active"})
            return
        if p.get("state") != "awaiting_partner":
            self.notify(_("This invitation was already answered."))
            return
        self.live("me", "/users/me")  # refresh for next time
        schools = self.my_schools()

        def accept(school_id: str | None) -> None:
            if school_id is None and len(schools) > 1:
                return
            body = {"partner_school_id": school_id} if school_id else {}
            self._write(
                p,
                f"/projects/{p['id']}/accept",
                body,
                {"state": "awaiting_nso", "my_state": "active"},
            )
            self.notify(_("Accepted: the project goes to the NSOs once the outbox sends it."))

        if len(schools) > 1:
            options = [
                (s["id"], f"{clean(s.get('public_name', ''))}, {clean(s.get('city', ''))}")
                for s in schools
            ]
            self.app.push_screen(ChoicePrompt(_("Your school"), _(SCHOOL_CAUTION), options), accept)
        else:
            accept(schools[0]["id"] if schools else None)

    def action_decline(self) -> None:
        p = self.current()
        if p is None or not invited(p) or p.get("state") != "awaiting_partner":
            self.notify(_("There is no invitation to decline on this project."))
            return

        def decline(reason: str | None) -> None:
            if reason is None:
                return
            self._write(
                p,
                f"/projects/{p['id']}/decline",
                {"reason": reason},
                {"state": "declined", "rejection_reason": reason},
            )

        self.app.push_screen(
            TextPrompt(
                _("Decline the invitation"),
                _("Why? (optional; the creator reads it)"),
                explain=clean(p.get("title", "")),
            ),
            decline,
        )

    # ------------------------------------------------------------ members and closing

    def _admin_of_approved(self, p: dict | None) -> bool:
        if p is None:
            return False
        if p.get("state") != "approved":
            self.notify(
                _("Only an approved project can do this; this one is {state}.").format(
                    state=_(STATE_LABELS.get(p.get("state") or "queued", ""))
                )
            )
            return False
        if p.get("my_role") != "teacher_admin" or p.get("my_state") != "active":
            self.notify(_("Only the project's teacher administrators can do this."))
            return False
        return True

    def action_invite(self) -> None:
        p = self.current()
        if self._admin_of_approved(p):
            self.status(_("Checking which contacts can be added…"))
            self.gather_candidates(p)

    def status(self, text: str) -> None:
        self.query_one("#projects-status", Static).update(plain(text))

    @work(exclusive=True, group="invite", exit_on_error=False)
    async def gather_candidates(self, p: dict) -> None:
        """Each contact not yet a member, with why they cannot be added (FAQ problem 3)."""
        engine = self.engine()
        if engine is None:
            return
        member_ids = {m.get("user_id") for m in p.get("members") or []}
        if not member_ids:
            full = await engine.fetch("project", p["id"], path=f"/projects/{p['id']}")
            member_ids = {m.get("user_id") for m in (full.data or {}).get("members") or []}
        listing = await engine.fetch("contact_list", path="/contacts")
        candidates = []
        for c in merged(engine, "contact", listing.data):
            person = c.get("person") or {}
            if c.get("state") != "accepted" or person.get("id") in member_ids:
                continue
            answer = await engine.fetch(
                "member_eligibility",
                path="/eligibility/project-member",
                params={"user_id": person["id"]},
            )
            reasons = (answer.data or {}).get("reasons") if isinstance(answer.data, dict) else None
            candidates.append((person, list(reasons or [])))
        self.post_message(Candidates(p, candidates))

    @on(Candidates)
    def _candidates(self, message: Candidates) -> None:
        p = message.project
        self.show()
        if not message.candidates:
            self.notify(_("No contacts left to invite: add more under Find partners."))
            return
        options, reasons = [], {}
        for person, why in message.candidates:
            reasons[person["id"]] = why
            label = f"{clean(person.get('name', ''))} ({person.get('country', '')})"
            if why:
                label += "\n" + "\n".join("   " + line for line in reason_lines(why))
            options.append((person["id"], label))

        def invite(user_id: str | None) -> None:
            if user_id is None:
                return
            if reasons.get(user_id):
                self.notify("\n".join(reason_lines(reasons[user_id])), title=_("Cannot be added yet"),
                            severity="warning", markup=False, timeout=12)  # fmt: skip
                return
            self.send(
                "POST",
                f"/projects/{p['id']}/members",
                {"user_id": user_id, "role": "teacher"},
                entity=("project", p["id"]),
                current_path=f"/projects/{p['id']}",
            )
            self.notify(_("Invitation queued."))
            self.show()

        self.app.push_screen(
            ChoicePrompt(
                _("Invite a member"), _("Contacts who cannot be added show why."), options
            ),
            invite,
        )

    def action_close(self) -> None:
        p = self.current()
        if not self._admin_of_approved(p):
            return

        def close(answer: str | None) -> None:
            if answer == "close":
                self._write(p, f"/projects/{p['id']}/close", None, {"state": "closed"})

        self.app.push_screen(
            ChoicePrompt(
                _("Close the project"),
                _("Its TwinSpace becomes a read-only archive. This cannot be undone."),
                [("close", _("Close it")), ("keep", _("Keep it open"))],
            ),
            close,
        )

    def action_withdraw(self) -> None:
        p = self.current()
        if p is None:
            return
        me = getattr(self.app, "account", None)
        mine = (p.get("creator") or {}).get("id") == getattr(me, "user_id", None)
        if not mine or p.get("state") not in ("awaiting_partner", "awaiting_nso"):
            self.notify(_("Only the creator can withdraw a project, and only while it is pending."))
            return

        def withdraw(answer: str | None) -> None:
            if answer != "withdraw":
                return
            self.send(
                "DELETE",
                f"/projects/{p['id']}",
                entity=("project", p["id"]),
                if_match=p.get("version"),
            )
            self.show()

        self.app.push_screen(
            ChoicePrompt(
                _("Withdraw the project"),
                _("Your partner is told; nothing is kept."),
                [("withdraw", _("Withdraw it")), ("keep", _("Keep it"))],
            ),
            withdraw,
        )
