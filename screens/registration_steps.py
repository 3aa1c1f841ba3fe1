"""Pieces of the registration wizard that the profile and the doctor use too: the profile form,
the role choice with its company-staff warning, organisation search and registration."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Footer, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from esep_tui.i18n import N_, _
from widgets.form_field import FormField, show_api_error
from widgets.org_search import OrgSearch
from widgets.untrusted import clean, plain

# the platform's roles at a school (the server checks them; labels are the interface's)
ROLES: dict[str, str] = {
    "teacher": N_("Teacher"),
    "head_teacher": N_("Head teacher"),
    "deputy_head": N_("Deputy head"),
    "psychologist": N_("School psychologist"),
    "librarian": N_("Librarian"),
    "counsellor": N_("Counsellor"),
    "pedagogical_advisor": N_("Pedagogical advisor"),
    "teacher_trainer": N_("Teacher trainer"),
    "special_needs_teacher": N_("Special needs teacher"),
    "ict_coordinator": N_("ICT coordinator"),
    "company_staff": N_("Company staff"),
}
BLOCKING_ROLE = "company_staff"
ORG_TYPES: dict[str, str] = {
    "preschool": N_("Preschool"),
    "primary": N_("Primary school"),
    "secondary": N_("Secondary school"),
    "vocational": N_("Vocational school"),
    "other": N_("Other organisation (not a school)"),
}
COMPANY_STAFF_WARNING = N_(
    "“Company staff” is for non-teaching staff: it blocks eTwinning. Choose your function "
    "(teacher, head teacher, librarian, …) to take part in eTwinning."
)


async def countries(app) -> list[tuple[str, str]]:
    """(code, name) of the eTwinning countries, from the platform form (cached in the replica)."""
    params = {"capacity": "school_staff"}
    engine = app.connection.engine()
    data = None
    if engine is not None:
        snap = engine.read("platform_form", path="/platform/form", params=params, refresh=False)
        data = snap.data
        if data is None:
            data = (await engine.fetch("platform_form", path="/platform/form", params=params)).data
    if data is None:
        try:
            data = await app.connection.get("/platform/form?capacity=school_staff")
        except Exception:
            return []
    for f in data.get("fields", []):
        if f.get("name") == "country":
            return [(c["value"], c["label"]) for c in f.get("choices") or []]
    return []


class Loaded(Message):
    """A worker's answer for the screen: ``tag`` says what, ``data`` is it."""

    def __init__(self, tag: str, data: Any = None, error: Exception | None = None, **extra):
        super().__init__()
        self.tag = tag
        self.data = data
        self.error = error
        self.extra = extra


class RoleChoice(Vertical):
    """The role at school; company staff warns inline that it blocks eTwinning (PL)."""

    DEFAULT_CSS = """
    RoleChoice { height: auto; }
    RoleChoice #role-warning { color: $text-warning; height: auto; }
    """

    def __init__(self, role: str | None = None, *, id: str | None = "role-choice"):
        super().__init__(id=id)
        self._role = role

    def compose(self) -> ComposeResult:
        yield Label(_("Your role at the school or organisation"))
        yield Select(
            [(_(label), value) for value, label in ROLES.items()],
            value=self._role if self._role in ROLES else Select.NULL,
            prompt=_("Role"),
            id="role",
        )
        yield Static("", id="role-warning", markup=False)

    def on_mount(self) -> None:
        self._warn()

    @property
    def value(self) -> str | None:
        if not self.query("#role"):
            return self._role
        value = self.query_one("#role", Select).value
        return value if isinstance(value, str) else None

    @on(Select.Changed, "#role")
    def _warn(self, event=None) -> None:
        warning = _(COMPANY_STAFF_WARNING) if self.value == BLOCKING_ROLE else ""
        self.query_one("#role-warning", Static).update(warning)


class ProfileForm(Vertical):
    """FAQ step 8 and the profile editor: availability, subjects, languages, ages, description."""

    DEFAULT_CSS = """
    ProfileForm { height: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Checkbox(_("Available for eTwinning projects"), id="available")
        yield FormField(_("Subjects (comma separated)"), name="subjects", max_length=2000)
        yield FormField(
            _("Languages (codes, comma separated: el, pl, en)"), name="languages", max_length=200
        )
        yield FormField(_("Pupils' age from"), name="pupil_age_min", max_length=2)
        yield FormField(_("Pupils' age to"), name="pupil_age_max", max_length=2)
        yield FormField(_("About you and your class"), name="description", max_length=5000)

    @property
    def fields(self) -> dict[str, FormField]:
        return {f.field_name: f for f in self.query(FormField)}

    def load(self, user: dict[str, Any] | None, saved: dict[str, Any] | None = None) -> None:
        """Show the user's profile, or what was typed before (``saved`` wins)."""
        user = user or {}
        typed = saved or {}
        self.query_one("#available", Checkbox).value = bool(
            typed.get("available", user.get("available_for_projects", False))
        )
        values = {
            "subjects": ", ".join(user.get("subjects") or []),
            "languages": ", ".join(user.get("languages") or []),
            "pupil_age_min": ""
            if user.get("pupil_age_min") is None
            else str(user["pupil_age_min"]),
            "pupil_age_max": ""
            if user.get("pupil_age_max") is None
            else str(user["pupil_age_max"]),
            "description": user.get("description") or "",
        }
        for name, field in self.fields.items():
            field.value = str(typed.get(name, values[name]))

    def typed(self) -> dict[str, Any]:
        """What is on screen, as typed (kept across restarts); {} before it is shown."""
        if not self.query("#available"):
            return {}
        out: dict[str, Any] = {n: f.value for n, f in self.fields.items()}
        out["available"] = self.query_one("#available", Checkbox).value
        return out

    def patch(self) -> dict[str, Any] | None:
        """The profile change to send, or None after marking the fields that are wrong."""
        fields = self.fields
        for field in fields.values():
            field.set_error(None)
        body: dict[str, Any] = {
            "available_for_projects": self.query_one("#available", Checkbox).value,
            "subjects": [s.strip() for s in fields["subjects"].value.split(",") if s.strip()],
            "languages": [s.strip() for s in fields["languages"].value.split(",") if s.strip()],
            "description": fields["description"].value,
        }
        ok = True
        for name in ("pupil_age_min", "pupil_age_max"):
            text = fields[name].value.strip()
            if not text:
                continue
            if not text.isdigit() or not 2 <= int(text) <= 25:
                fields[name].set_error(_("A whole number from 2 to 25."))
                ok = False
            else:
                body[name] = int(text)
        for code in body["languages"]:
            if not (2 <= len(code) <= 3 and code.isascii() and code.isalpha()):
                fields["languages"].set_error(_("Use ISO codes such as el, pl, en."))
                ok = False
                break
        low, high = body.get("pupil_age_min"), body.get("pupil_age_max")
        if ok and low is not None and high is not None and low > high:
            fields["pupil_age_max"].set_error(_("Must not be below the youngest age."))
            ok = False
        return body if ok else None

    def show_error(self, error: Any, status: Static) -> None:
        show_api_error(self.fields, status, error)


class OrgSearching:
    """Screen mixin: answers :class:`OrgSearch.SearchRequested` from the server (or the
    replica's copy of the same search when offline)."""

    # plain handler names: a mixin's @on handlers would not be registered by Textual
    def on_org_search_search_requested(self, event: OrgSearch.SearchRequested) -> None:
        self._org_search(event.search, event.country, event.q, event.offset)

    @work(exclusive=True, group="org-search", exit_on_error=False)
    async def _org_search(self, search: OrgSearch, country: str, q: str, offset: int) -> None:
        params = {"country": country, "q": q, "offset": offset, "limit": 10}
        note = ""
        page = None
        engine = self.app.connection.engine()
        try:
            if engine is not None:
                page = (await engine.fetch("org_search", path="/organisations", params=params)).data
                if page is None:
                    note = _("Offline: this search was never made before; try again online.")
            else:
                page = await self.app.connection.get(
                    f"/organisations?country={country}&q={q}&offset={offset}&limit=10"
                )
        except Exception as exc:
            note = getattr(exc, "message", str(exc))
        self.post_message(Loaded("org_page", page, search=search, append=offset > 0, note=note))

    def on_loaded(self, message: Loaded) -> None:
        if message.tag == "org_page":
            message.extra["search"].show_page(
                message.data, append=message.extra["append"], note=message.extra["note"]
            )
        else:
            self.loaded(message)

    def loaded(self, message: Loaded) -> None:  # the screen's own answers
        pass


ORG_FIELDS = [
    ("legal_name", N_("Legal name"), 300),
    ("public_name", N_("Public name (if different)"), 300),
    ("city", N_("City"), 120),
    ("region", N_("Region"), 120),
    ("school_number", N_("National school number"), 60),
    ("principal_name", N_("Principal's name (schools)"), 200),
    ("principal_email", N_("Principal's email (schools)"), 254),
    ("website", N_("Website"), 300),
]


class RegisterOrganisationScreen(OrgSearching, ModalScreen[dict | None]):
    """ "Register a new organisation or school": the full form, and a near-duplicate warning
    (from ``/organisations/similar`` and the server's 409) before anything is created.
    Dismisses with the organisation (new, or the existing one chosen instead)."""

    DEFAULT_CSS = """
    RegisterOrganisationScreen { align: center middle; }
    RegisterOrganisationScreen > VerticalScroll {
        width: 76; max-width: 100%; height: 100%; border: round $primary; background: $surface;
        padding: 0 1;
    }
    RegisterOrganisationScreen #dupes { height: auto; max-height: 6; }
    RegisterOrganisationScreen #dupes-note { color: $text-warning; height: auto; }
    RegisterOrganisationScreen #reg-status { height: auto; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Back", id="register_org.cancel"),
        Binding("ctrl+s", "submit", "Register", id="register_org.submit"),
        Binding("ctrl+y", "confirm", "Not a duplicate", id="register_org.confirm"),
    ]

    def __init__(self, country: str, name: str = "", countries: list | None = None):
        super().__init__()
        self.country = country
        self._name = name
        self._countries = countries or []
        self.candidates: list[dict] = []
        self.confirmed = False

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = _("Register a new organisation or school")
            yield Static(
                _(
                    "Country: {c}. It waits for your NSO's validation, and you add it to your "
                    "profile afterwards."
                ).format(c=self.country),
                classes="lead",
            )
            yield Label(_("Type"))
            yield Select([(_(v), k) for k, v in ORG_TYPES.items()], value="primary", id="org-type")
            for name, label, length in ORG_FIELDS:
                value = self._name if name == "legal_name" else ""
                yield FormField(_(label), name=name, max_length=length, value=value)
            yield Static("", id="dupes-note", markup=False)
            yield OptionList(id="dupes")
            yield Static("", id="reg-status", classes="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#dupes", OptionList).display = False

    @property
    def fields(self) -> dict[str, FormField]:
        return {f.field_name: f for f in self.query(FormField)}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"country": self.country, "type": self.query_one("#org-type").value}
        for name, field in self.fields.items():
            if field.value.strip():
                body[name] = field.value.strip()
        body.setdefault("region", "")
        if self.confirmed:
            body["confirm_not_duplicate"] = True
        return body

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_confirm(self) -> None:
        if self.candidates:
            self.confirmed = True
            self.action_submit()

    def action_submit(self) -> None:
        self.query_one("#reg-status", Static).update(_("Checking for near-duplicates…"))
        self._register(self.body())

    @work(exclusive=True, group="register-org", exit_on_error=False)
    async def _register(self, body: dict[str, Any]) -> None:
        from screens.profile import create

        if not body.get("confirm_not_duplicate") and body.get("city") and body.get("legal_name"):
            try:
                client = await self.app.connection.ready()
                params = {
                    "country": body["country"],
                    "city": body["city"],
                    "name": body.get("public_name") or body["legal_name"],
                }
                if body.get("school_number"):
                    params["school_number"] = body["school_number"]
                similar = await client.request("GET", "/organisations/similar", params=params)
            except Exception:
                similar = []  # offline: the server's own check answers when it is sent
            if similar:
                self.post_message(Loaded("dupes", similar))
                return
        outcome = await create(self.app, "organisation", "/organisations", body)
        self.post_message(Loaded("created", outcome))

    def loaded(self, message: Loaded) -> None:
        status = self.query_one("#reg-status", Static)
        if message.tag == "dupes":
            self._show_dupes(message.data)
            status.update("")
            return
        outcome = message.data
        if outcome.state in ("done", "queued"):
            org = outcome.data or {}
            self.dismiss(org.get("organisation") or org)
            return
        if outcome.code == "near_duplicate":
            self._show_dupes([r for r in outcome.reasons], reasons=True)
            status.update("")
            return
        show_api_error(self.fields, status, outcome)

    def _show_dupes(self, items: list[dict], *, reasons: bool = False) -> None:
        self.candidates = items
        self.query_one("#dupes-note", Static).update(
            _(
                "This organisation may already be registered. Enter on one to use it instead, "
                "or ctrl+y if yours is a different one."
            )
        )
        dupes = self.query_one("#dupes", OptionList)
        dupes.clear_options()
        for i, item in enumerate(items):
            if reasons:
                text = clean(item.get("message", ""))
            else:
                text = f"{clean(item.get('public_name'))} · {clean(item.get('city'))} · " + (
                    clean(item.get("state"))
                )
            dupes.add_option(Option(plain(text), id=str(i)))
        dupes.display = True
        dupes.focus()

    @on(OptionList.OptionSelected, "#dupes")
    def _use_existing(self, event: OptionList.OptionSelected) -> None:
        item = self.candidates[int(event.option.id or 0)]
        if "action" in item:  # a reason: use_existing:<org id>
            org_id = str(item.get("action") or "").partition(":")[2]
            self.dismiss({"id": org_id, "public_name": "", "existing": True})
        else:
            self.dismiss({**item, "existing": True})
