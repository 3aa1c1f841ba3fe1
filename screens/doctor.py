"""The account doctor: why can't I access eTwinning / be added to a project / create one?

Every failing condition from ``GET /eligibility/*`` is one line: what is wrong, and the fix.
A fix the user can do runs with one key (1-9) and the checks run again; a fix only staff can
do names the country's National Support Organisation.
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from esep_tui.i18n import N_, _
from screens.profile import AddOrganisationScreen, add_membership, load_user, refusal_lines, run_fix
from screens.registration_steps import Loaded, countries
from widgets.app_header import AppHeader
from widgets.untrusted import clean, plain

QUESTIONS = [
    ("etwinning", "/eligibility/etwinning", N_("Why can't I access eTwinning?")),
    ("project_member", "/eligibility/project-member", N_("Why can't I be added to a project?")),
    ("project_creation", "/eligibility/project-creation", N_("Why can't I create a project?")),
]
FIX_KEYS = "123456789"


class DoctorScreen(Screen):
    CSS_PATH = "doctor.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", id="doctor.back"),
        Binding("r", "recheck", "Check again", id="doctor.recheck"),
        *[
            Binding(k, f"fix({i})", f"Fix {k}", show=False, id=f"doctor.fix{k}")
            for i, k in enumerate(FIX_KEYS)
        ],
    ]
    HELP = """\
## Account doctor

Answers three questions from the server's own rules: can I access eTwinning, can I be added to
a project, can I create one. Each failing condition is one line with its fix. Press the
**number** shown before a fix to run it; the checks run again afterwards. Fixes only your
National Support Organisation (NSO) can make say so, with the country. **r** checks again.
"""

    def __init__(self) -> None:
        super().__init__()
        self.answers: dict[str, dict[str, Any] | None] = {}
        self.user: dict[str, Any] | None = None
        self.fixes: list[str] = []
        self.country_names: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with VerticalScroll(id="doctor"):
            yield Static(_("Checking…"), id="doctor-report", markup=False)
            yield Static("", id="doctor-status", classes="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#doctor").border_title = _("Account doctor")
        self.action_recheck()

    def action_back(self) -> None:
        self.app.pop_screen()

    @work(exclusive=True, group="doctor", exit_on_error=False)
    async def action_recheck(self) -> None:
        engine = self.app.connection.engine()
        answers: dict[str, Any] = {}
        for key, path, _q in QUESTIONS:
            try:
                if engine is not None:
                    answers[key] = (await engine.fetch("eligibility", path=path)).data
                else:
                    answers[key] = await self.app.connection.get(path)
            except Exception:
                answers[key] = None
        user = await load_user(self.app)
        names = dict(await countries(self.app))
        self.post_message(Loaded("answers", answers, user=user, names=names))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if message.tag == "answers":
            self.answers = message.data
            self.user = message.extra["user"]
            self.country_names = message.extra["names"] or self.country_names
            self._show_report()
        elif message.tag == "fixed":
            lines = refusal_lines(message.data) if message.data.state != "done" else []
            status = self.query_one("#doctor-status", Static)
            status.update(plain("\n".join(lines) or _("Fixed. Checking again…")))
            self.action_recheck()

    def nso_name(self) -> str:
        code = str((self.user or {}).get("country") or "")
        name = self.country_names.get(code, code)
        return _("contact your National Support Organisation in {country}").format(
            country=name or _("your country")
        )

    def report(self) -> str:
        """The whole diagnosis as text (also what the tests read)."""
        self.fixes = []
        lines: list[str] = []
        seen_fix: dict[str, int] = {}
        for key, _path, question in QUESTIONS:
            answer = self.answers.get(key)
            lines.append(_(question))
            if answer is None:
                lines.append("  " + _("Not known yet: the server was not reached."))
                continue
            if answer.get("allowed"):
                lines.append("  ✓ " + _("Nothing stops you."))
                continue
            for r in answer.get("reasons") or []:
                line = f"  ✗ {clean(r.get('message'))} → {clean(r.get('fix'))}"
                action = r.get("action")
                if r.get("fixed_by") == "nso":
                    line += f" ({self.nso_name()})"
                elif action:
                    if action not in seen_fix and len(self.fixes) < len(FIX_KEYS):
                        self.fixes.append(action)
                        seen_fix[action] = len(self.fixes)
                    if action in seen_fix:
                        line += "  [" + _("press {k} to fix").format(k=seen_fix[action]) + "]"
                lines.append(line)
        return "\n".join(lines)

    def _show_report(self) -> None:
        self.query_one("#doctor-report", Static).update(plain(self.report()))

    def action_fix(self, index: int) -> None:
        if index >= len(self.fixes):
            return
        action = self.fixes[index]
        status = self.query_one("#doctor-status", Static)
        if action == "add_organisation":
            country = (self.user or {}).get("country")

            def chosen(result) -> None:
                if result:
                    org, role = result
                    status.update(_("Adding the organisation…"))
                    self._fix(add_membership(self.app, org["id"], role))

            self.app.push_screen(AddOrganisationScreen(country), chosen)
            return
        status.update(_("Running the fix…"))
        self._fix(run_fix(self.app, action, self.user))

    @work(group="doctor-fix", exit_on_error=False)
    async def _fix(self, coro) -> None:
        self.post_message(Loaded("fixed", await coro))
