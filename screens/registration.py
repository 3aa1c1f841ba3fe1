"""The registration wizard (FAQ A, steps 1-9): EU Login, the platform form, Join eTwinning,
role and organisation, the optional profile, and what happens next.

An interrupted wizard resumes where it stopped, even after a restart: the step and what was
typed (never the password) are kept in the account's replica, and the server's
``registration_step`` says how far the account really got.
"""

from __future__ import annotations

import json
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from esep_tui.i18n import N_, _
from screens.profile import Outcome, add_membership, load_user, refusal_lines, send
from screens.registration_steps import (
    Loaded,
    OrgSearching,
    ProfileForm,
    RegisterOrganisationScreen,
    RoleChoice,
    countries,
)
from widgets.app_header import AppHeader
from widgets.form_field import FormField, show_api_error
from widgets.org_search import OrgSearch
from widgets.status_badge import StatusBadge
from widgets.step_header import StepHeader
from widgets.untrusted import clean, plain

META_KEY = "registration_wizard"
TITLES = {
    1: N_("Create account"),
    2: N_("EU Login"),
    3: N_("Email"),
    4: N_("Password"),
    5: N_("Platform registration form"),
    6: N_("Join eTwinning"),
    7: N_("Role and organisation"),
    8: N_("Your profile (optional)"),
    9: N_("Finish"),
}
# the server's registration_step -> the wizard's step
SERVER_STEPS = {
    "platform_form": 5,
    "join_etwinning": 6,
    "organisation": 7,
    "profile": 8,
    "finish": 9,
    "done": 9,
}
OFFLINE_CODES = ("network", "timeout", "offline")


def _offline(exc: Exception) -> bool:
    return getattr(exc, "code", "") in OFFLINE_CODES or type(exc).__name__ in (
        "Offline",
        "Transient",
    )


class RegistrationScreen(OrgSearching, Screen):
    CSS_PATH = "registration.tcss"
    BINDINGS = [
        Binding("escape", "leave", "Leave (resumes later)", id="registration.leave"),
        Binding("ctrl+n", "next", "Next", id="registration.next"),
        Binding("ctrl+b", "previous", "Previous step", id="registration.previous"),
        Binding("ctrl+s", "skip", "Skip", id="registration.skip"),
        Binding("ctrl+l", "add_registered", "Link it to my profile", id="registration.add"),
    ]
    HELP = """\
## Registration (9 steps)

1 Create account · 2 EU Login · 3 Email · 4 Password · 5 the platform form (its fields follow
your capacity) · 6 Join eTwinning · 7 your role and your school: search by country and words
of its name; if it is missing, register it, then link it to your profile with **ctrl+l** ·
8 profile (optional, **ctrl+s** skips) · 9 what happens next.

**ctrl+n** next, **ctrl+b** previous step, **escape** leaves: the wizard resumes at the same
step next time, with what you typed (never the password). Creating the account and signing in
need the server; from step 6 on everything also works offline and is sent later.
"""

    def __init__(self) -> None:
        super().__init__()
        self.step = 1
        self.values: dict[str, Any] = {}
        self.user: dict[str, Any] | None = None
        self.country_list: list[tuple[str, str]] = []
        self.registered_org: dict[str, Any] | None = None
        self._busy = False

    # ------------------------------------------------------------ frame

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield StepHeader(1, title=_(TITLES[1]), id="step-header")
        with VerticalScroll(id="wizard"):
            yield Vertical(id="step-body")
            yield Static("", id="wizard-status", classes="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._resume()

    @property
    def account(self):
        return getattr(self.app, "account", None)

    @property
    def engine(self):
        return self.app.connection.engine() if self.account is not None else None

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "skip":
            return self.step in (6, 8)
        if action == "add_registered":
            return self.step == 7 and self.registered_org is not None
        if action == "previous":
            return self.step > 1
        return True

    # ------------------------------------------------------------ resume

    @work(exclusive=True, group="wizard-resume", exit_on_error=False)
    async def _resume(self) -> None:
        saved: dict[str, Any] = {}
        engine = None
        if self.account is not None:
            await self.app.connection.ready()
            engine = self.engine
        if engine is not None:
            raw = engine.store.get_meta(META_KEY)
            saved = json.loads(raw) if raw else {}
        step = int(saved.get("step") or 1)
        user = None
        if self.account is not None:
            user = await load_user(self.app)
            if user is not None:
                server = SERVER_STEPS.get(str(user.get("registration_step")), 5)
                # never behind the server; a saved step further on wins (typed, not sent yet)
                step = max(step, server) if saved else server
            elif self.account.user_id is None:
                # no platform user yet: a fresh EU Login account begins at step 1
                step = step if saved else 1
        self.country_list = await countries(self.app) if self.account is not None else []
        self.post_message(Loaded("resume", step, values=saved.get("values") or {}, user=user))

    def loaded(self, message: Loaded) -> None:
        handler = getattr(self, f"_on_{message.tag}", None)
        if handler is not None:
            handler(message)

    def _on_resume(self, message: Loaded) -> None:
        self.values = dict(message.extra["values"])
        self.user = message.extra["user"]
        self.show_step(int(message.data))

    def _save(self) -> None:
        engine = self.engine
        if engine is None:
            return
        self._collect()
        values = {k: v for k, v in self.values.items() if k != "password"}
        engine.store.set_meta(META_KEY, json.dumps({"step": self.step, "values": values}))

    # ------------------------------------------------------------ steps

    def show_step(self, step: int) -> None:
        self.step = max(1, min(9, step))
        self.query_one(StepHeader).set_step(self.step, _(TITLES[self.step]))
        self.set_status("")
        body = self.query_one("#step-body", Vertical)
        body.remove_children()
        mounting = body.mount_all(getattr(self, f"_step{self.step}")())

        async def mounted() -> None:
            await mounting
            self._after_mount()

        self.call_later(mounted)
        self.refresh_bindings()
        self._save()

    def _after_mount(self) -> None:
        handler = getattr(self, f"_mounted{self.step}", None)
        if handler is not None:
            handler()
        focusable = self.query("#step-body Input, #step-body Select, #step-body OptionList")
        focusable = focusable or self.query("#step-body Button")
        if focusable:
            focusable.first().focus()

    def set_status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#wizard-status", Static)
        status.update(plain(text))
        status.set_class(error, "-error")

    def _next_button(self, label: str) -> Horizontal:
        return Horizontal(Button(label, id="next", variant="primary"), classes="buttons")

    def _step1(self) -> list:
        return [
            Static(
                _(
                    "Registration and login, eTwinning included, only work with an EU Login "
                    "account. Press Create account to begin."
                ),
                classes="lead",
            ),
            self._next_button(_("Create account")),
        ]

    def _step2(self) -> list:
        if self.account is not None:
            return [
                Static(
                    plain(
                        _("You are signed in with EU Login as {email}.").format(
                            email=clean(self.account.email)
                        )
                    )
                ),
                self._next_button(_("Register on this platform with EU Login")),
            ]
        menu = OptionList(
            Option(_("Create an EU Login account (I have none)"), id="create"),
            Option(_("Register on this platform with EU Login (I have one)"), id="existing"),
            id="eulogin-choice",
        )
        return [Static(_("Do you have an EU Login account?"), classes="lead"), menu]

    def _step3(self) -> list:
        if self.account is not None:
            widgets = [
                Static(plain(_("EU Login email: {email}").format(email=clean(self.account.email))))
            ]
            legacy = self.account.legacy
            if legacy is not None:
                widgets.append(
                    Static(
                        plain(
                            _(
                                "This email matches your old {platform} account ({first} {last}, "
                                "{country}): it will be linked and its data migrated when you send "
                                "the platform form."
                            ).format(
                                platform=clean(legacy.platform),
                                first=clean(legacy.first_name),
                                last=clean(legacy.last_name),
                                country=clean(legacy.country),
                            )
                        ),
                        id="legacy-note",
                    )
                )
            widgets.append(self._next_button(_("Next")))
            return widgets
        widgets = []
        if self.values.get("eulogin") == "create":
            widgets.append(
                FormField(
                    _("Full name"), name="name", max_length=200, value=self.values.get("name", "")
                )
            )
        widgets.append(
            FormField(
                _("EU Login email"),
                name="email",
                placeholder="name@school.eu",
                max_length=254,
                value=self.values.get("email", ""),
            )
        )
        widgets.append(
            Static(
                _(
                    "Had an account on the old eTwinning platform or the School Education "
                    "Gateway? Use the same email: it is linked and migrated."
                ),
                classes="hint",
            )
        )
        return widgets

    def _step4(self) -> list:
        if self.account is not None:
            return [
                Static(_("Signed in with EU Login: no password needed again.")),
                self._next_button(_("Next")),
            ]
        return [
            FormField(
                _("EU Login password"),
                name="password",
                password=True,
                max_length=256,
                placeholder=_("at least 10 characters"),
            ),
            Static(_("Signing in needs the server."), classes="hint"),
            self._next_button(_("Sign in")),
        ]

    def _step5(self) -> list:
        capacity = self.values.get("capacity", "school_staff")
        return (
            [
                Static(
                    _("Your registration is not complete: fill in the form for your capacity."),
                    classes="lead",
                ),
                Label(_("Capacity")),
                Select([], id="capacity", allow_blank=True, prompt=_("Capacity")),
                Vertical(id="platform-fields"),
                self._next_button(_("Next")),
            ]
            if capacity
            else []
        )

    def _mounted5(self) -> None:
        self._load_form(self.values.get("capacity", "school_staff"))

    @work(exclusive=True, group="platform-form", exit_on_error=False)
    async def _load_form(self, capacity: str) -> None:
        params = {"capacity": capacity}
        data = None
        engine = self.engine
        try:
            if engine is not None:
                data = (
                    await engine.fetch("platform_form", path="/platform/form", params=params)
                ).data
            else:
                data = await self.app.connection.get(f"/platform/form?capacity={capacity}")
        except Exception as exc:
            self.post_message(Loaded("form_failed", exc))
            return
        self.post_message(Loaded("form", data, capacity=capacity))

    def _on_form_failed(self, message: Loaded) -> None:
        self.set_status(getattr(message.data, "message", str(message.data)), error=True)

    def _on_form(self, message: Loaded) -> None:
        if self.step != 5 or message.data is None:
            if message.data is None:
                self.set_status(_("The form needs the server once; try again online."), error=True)
            return
        form = message.data
        box = self.query_one("#platform-fields", Vertical)
        box.remove_children()
        widgets = []
        for f in form.get("fields", []):
            name = f["name"]
            if name == "capacity":
                select = self.query_one("#capacity", Select)
                with select.prevent(Select.Changed):
                    select.set_options([(c["label"], c["value"]) for c in f.get("choices") or []])
                    select.value = form["capacity"]
                continue
            label = _(f["label"]) + ("" if f.get("required") else _(" (optional)"))
            if f.get("kind") == "choice":
                options = [(c["label"], c["value"]) for c in f.get("choices") or []]
                value = self.values.get(name) or (
                    self.account.legacy.country
                    if self.account and self.account.legacy and name == "country"
                    else None
                )
                widgets.append(Label(label))
                widgets.append(
                    Select(
                        options,
                        value=value if value else Select.NULL,
                        id=f"pf-{name}",
                        prompt=label,
                    )
                )
                widgets.append(Static("", id=f"pf-{name}-error", classes="form-error"))
            else:
                widgets.append(
                    FormField(
                        label,
                        name=name,
                        max_length=f.get("max_length") or 0,
                        value=self.values.get(name, ""),
                    )
                )
        box.mount_all(widgets)

    @on(Select.Changed, "#capacity")
    def _capacity_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.values.get("capacity"):
            self._collect()
            self.values["capacity"] = event.value
            self._save()
            self._load_form(event.value)

    def _step6(self) -> list:
        return [
            Static(
                _(
                    "eTwinning is the community of schools in Europe: projects with partner "
                    "classes, TwinSpaces, training. Join it with your school; your National "
                    "Support Organisation then validates your registration."
                ),
                classes="lead",
            ),
            self._next_button(_("Join eTwinning")),
            Static(_("ctrl+s  not now: stay registered on the platform only"), classes="hint"),
        ]

    def _step7(self) -> list:
        country = self.values.get("org_country") or (self.user or {}).get("country")
        return [
            RoleChoice(self.values.get("role")),
            OrgSearch(self.country_list, country=country, q=self.values.get("org_q", "")),
            Static("", id="org-offer", markup=False),
        ]

    def _mounted7(self) -> None:
        if self.registered_org is not None:
            self._offer(self.registered_org)

    def _step8(self) -> list:
        return [
            Static(
                _("Optional: ctrl+s skips; you can fill it in any time from your profile."),
                classes="hint",
            ),
            ProfileForm(),
            self._next_button(_("Save and continue")),
        ]

    def _mounted8(self) -> None:
        self.query_one(ProfileForm).load(self.user, self.values.get("profile"))

    def _step9(self) -> list:
        return [
            StatusBadge("", id="final-state"),
            Static("", id="final-text", markup=False),
            self._next_button(_("Finish")),
        ]

    def _mounted9(self) -> None:
        self._finish_text()
        if not (self.user or {}).get("profile_done"):
            self._run("finish", self._finish())

    async def _finish(self) -> Outcome:
        user = await load_user(self.app, fresh=False) or self.user or {}
        return await send(
            self.app,
            "PATCH",
            "/users/me/profile",
            {"profile_done": True},
            if_match=self._version(user),
            keep=True,
        )

    def _finish_text(self) -> None:
        user = self.user or {}
        state = str(user.get("state", ""))
        self.query_one("#final-state", StatusBadge).set_state(state)
        names = dict(self.country_list)
        country = names.get(str(user.get("country")), str(user.get("country") or ""))
        if state == "etwinning_pending" or self.values.get("applied"):
            text = _(
                "Your registration is complete. What happens next: the National Support "
                "Organisation of {country} validates your eTwinning registration, usually "
                "within 7 days. Meanwhile you can complete your profile and find partners; "
                "the account doctor (home › d) shows where it stands."
            )
        elif state == "etwinning_validated":
            text = _("You are a validated eTwinning teacher: find partners and create a project.")
        else:
            text = _(
                "You are registered on the platform. To take part in eTwinning, join it "
                "with your school any time from your profile (apply for eTwinning)."
            )
        pending = self.engine.store.outbox.pending_count() if self.engine else 0
        if pending:
            text += "\n" + _(
                "{n} change(s) wait in the outbox and are sent when the link is back."
            ).format(n=pending)
        self.query_one("#final-text", Static).update(plain(text.format(country=country)))

    # ------------------------------------------------------------ moving on

    def _collect(self) -> None:
        """Keep what is typed on this step (restart-safe, password excluded)."""
        for f in self.query("#step-body FormField").results(FormField):
            if f.field_name != "password":
                self.values[f.field_name] = f.value
        for select in self.query("#platform-fields Select").results(Select):
            if isinstance(select.value, str):
                self.values[select.id.removeprefix("pf-")] = select.value
        if self.step == 7 and self.query(RoleChoice):
            self.values["role"] = self.query_one(RoleChoice).value
            search = self.query_one(OrgSearch)
            self.values["org_country"], self.values["org_q"] = search.country, search.q
        if self.step == 8 and self.query(ProfileForm):
            typed = self.query_one(ProfileForm).typed()
            if typed:
                self.values["profile"] = typed

    @on(Input.Changed)
    @on(Select.Changed)
    def _typed(self, event) -> None:
        if self.step in (5, 7, 8):
            self._save()

    @on(Button.Pressed, "#next")
    def _next_pressed(self) -> None:
        self.action_next()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "org-q":
            return
        fields = list(self.query("#step-body FormField").results(FormField))
        names = [f.input for f in fields]
        if event.input in names and names.index(event.input) < len(names) - 1:
            fields[names.index(event.input) + 1].focus()
        elif self.step != 8:
            self.action_next()

    @on(OptionList.OptionSelected, "#eulogin-choice")
    def _eulogin_chosen(self, event: OptionList.OptionSelected) -> None:
        self.values["eulogin"] = event.option.id
        self.show_step(3)

    def action_previous(self) -> None:
        self._collect()
        self.show_step(self.step - 1)

    def action_leave(self) -> None:
        self._save()
        self.app.pop_screen()

    def action_skip(self) -> None:
        if self.step == 6:
            self.values["skipped_etwinning"] = True
            self.show_step(8)
        elif self.step == 8:
            self.show_step(9)

    def action_next(self) -> None:
        if self._busy:
            return
        self._collect()
        step = self.step
        if step in (1, 2) and (step == 1 or self.account is not None):
            self.show_step(step + 1)
        elif step == 2:
            self.set_status(_("Choose one of the two."))
        elif step == 3:
            if self.account is None and not self.values.get("email", "").strip():
                self.query_one("#field-email", FormField).set_error(_("This field is required."))
                return
            self.show_step(4)
        elif step == 4:
            if self.account is not None:
                self.show_step(5)
            else:
                self._busy = True
                self.set_status(_("Signing in with EU Login…"))
                password = self.query_one("#field-password", FormField).value
                self._sign_in(dict(self.values), password)
        elif step == 5:
            self._send_form()
        elif step == 6:
            self.values["joined"] = True
            self.show_step(7)
        elif step == 7:
            self._join()
        elif step == 8:
            body = self.query_one(ProfileForm).patch()
            if body is not None:
                self._busy = True
                self._run("profile", self._save_profile(body))
        elif step == 9:
            self._save()
            self.app.pop_screen()

    # ------------------------------------------------------------ step 4: EU Login

    @work(exclusive=True, group="wizard-signin", exit_on_error=False)
    async def _sign_in(self, values: dict[str, Any], password: str) -> None:
        connection = self.app.connection
        try:
            if values.get("eulogin") == "create":
                await connection.create_account(
                    values.get("email", ""), password, values.get("name", "")
                )
            account = await connection.sign_in(values.get("email", ""), password)
        except Exception as exc:
            self.post_message(Loaded("signin_failed", exc))
            return
        self.post_message(Loaded("signed_in", account))

    def _on_signin_failed(self, message: Loaded) -> None:
        self._busy = False
        exc = message.data
        if _offline(exc):
            self.set_status(
                _(
                    "Creating the account and signing in need the server, which "
                    "cannot be reached now. What you typed is kept: try again "
                    "when the link is back."
                ),
                error=True,
            )
            return
        fields = {f.field_name: f for f in self.query("#step-body FormField").results(FormField)}
        if getattr(exc, "field", None) in ("email", "name"):
            self.show_step(3)
            self.call_after_refresh(self._field_error_later, exc)
            return
        show_api_error(
            fields, self.query_one("#wizard-status", Static), exc, fallback_field="password"
        )

    def _field_error_later(self, exc) -> None:
        fields = {f.field_name: f for f in self.query("#step-body FormField").results(FormField)}
        show_api_error(fields, self.query_one("#wizard-status", Static), exc)

    def _on_signed_in(self, message: Loaded) -> None:
        self._busy = False
        account = message.data
        app = self.app
        app.account = account
        app.account_label = f"{account.name} <{account.email}>"
        app.settings.last_account[app.connection.identity] = account.email
        app._save_settings()
        self.step = 5  # EU Login is done: the platform form is next
        self._save()
        self._resume()

    # ------------------------------------------------------------ step 5: the platform form

    def _send_form(self) -> None:
        body: dict[str, Any] = {"capacity": self.values.get("capacity", "school_staff")}
        for f in self.query("#platform-fields FormField").results(FormField):
            f.set_error(None)
            if f.value.strip():
                body[f.field_name] = f.value.strip()
        for select in self.query("#platform-fields Select").results(Select):
            self.query_one(f"#{select.id}-error", Static).update("")
            if isinstance(select.value, str):
                body[select.id.removeprefix("pf-")] = select.value
        self._busy = True
        self.set_status(_("Sending the form…"))
        self._register(body)

    @work(exclusive=True, group="wizard-form", exit_on_error=False)
    async def _register(self, body: dict[str, Any]) -> None:
        try:
            client = await self.app.connection.ready()
            result = await client.request("POST", "/platform/registration", json=body)
        except Exception as exc:
            if getattr(exc, "code", "") == "already_registered":
                self.post_message(Loaded("registered", {"user": await load_user(self.app)}))
                return
            self.post_message(Loaded("register_failed", exc))
            return
        self.post_message(Loaded("registered", result))

    def _on_register_failed(self, message: Loaded) -> None:
        self._busy = False
        exc = message.data
        if _offline(exc):
            self.set_status(
                _(
                    "Sending the platform form needs the server, which cannot be "
                    "reached now. What you typed is kept."
                ),
                error=True,
            )
            return
        name = getattr(exc, "field", None)
        if name and self.query(f"#pf-{name}-error"):
            self.query_one(f"#pf-{name}-error", Static).update(plain(exc.message))
            self.set_status("")
            return
        fields = {
            f.field_name: f for f in self.query("#platform-fields FormField").results(FormField)
        }
        show_api_error(fields, self.query_one("#wizard-status", Static), exc)

    def _on_registered(self, message: Loaded) -> None:
        self._busy = False
        result = message.data or {}
        user = result.get("user") or {}
        self.user = user
        engine = self.engine
        if engine is not None and user.get("id"):
            engine.store.set_meta("user_id", user["id"])
            engine.store.put_entity("user", user["id"], user)
        if self.account is not None and user.get("id"):
            self.app.account = self.account.model_copy(update={"user_id": user["id"]})
        self.show_step(6)
        if result.get("legacy_linked"):
            self.set_status(
                _("Your old {platform} account is linked and its data migrated.").format(
                    platform=clean(result.get("legacy_platform"))
                )
            )

    # ------------------------------------------------------------ step 7: role and school

    @on(OrgSearch.Picked)
    def _org_picked(self, event: OrgSearch.Picked) -> None:
        self.values["org"] = {k: event.org.get(k) for k in ("id", "public_name", "city")}
        self.query_one("#org-offer", Static).update(
            plain(
                _("Chosen: {name}. ctrl+n adds it and joins eTwinning.").format(
                    name=clean(event.org.get("public_name"))
                )
            )
        )
        self._save()

    @on(OrgSearch.RegisterNew)
    def _org_register(self, event: OrgSearch.RegisterNew) -> None:
        if not event.country:
            self.set_status(_("Choose the country first."), error=True)
            return

        def done(org: dict | None) -> None:
            if not org:
                return
            if org.get("existing"):
                self.values["org"] = {"id": org["id"], "public_name": org.get("public_name")}
                self.query_one("#org-offer", Static).update(
                    _("Using the existing organisation. ctrl+n adds it and joins eTwinning.")
                )
                return
            self.registered_org = org
            self._offer(org)

        self.app.push_screen(
            RegisterOrganisationScreen(event.country, event.q, self.country_list), done
        )

    def _offer(self, org: dict) -> None:
        self.query_one("#org-offer", Static).update(
            plain(
                _(
                    "“{name}” is registered and waits for validation. It is not on your "
                    "profile yet: press ctrl+l to add it now."
                ).format(name=clean(org.get("public_name") or org.get("legal_name")))
            )
        )
        self.refresh_bindings()

    def action_add_registered(self) -> None:
        if self.registered_org is None:
            return
        self.values["org"] = {
            "id": self.registered_org["id"],
            "public_name": self.registered_org.get("public_name"),
        }
        self.registered_org = None
        self.refresh_bindings()
        self._join()

    def _join(self) -> None:
        self._collect()
        role = self.values.get("role")
        org = self.values.get("org")
        if not role:
            self.set_status(_("Choose your role at the school."), error=True)
            return
        if not org:
            self.set_status(_("Search for your school and choose it (enter)."), error=True)
            return
        self._busy = True
        self.set_status(_("Adding the organisation and joining eTwinning…"))
        self._run("join", self._add_and_apply(org["id"], role))

    async def _add_and_apply(self, org_id: str, role: str) -> Outcome:
        added = await add_membership(self.app, org_id, role)
        if not added.ok:
            return added
        applied = await send(self.app, "POST", "/users/me/etwinning")
        if applied.ok:
            self.values["applied"] = True
        return applied

    # ------------------------------------------------------------ step 8 and writes

    async def _save_profile(self, body: dict) -> Outcome:
        user = await load_user(self.app, fresh=False) or self.user or {}
        return await send(
            self.app,
            "PATCH",
            "/users/me/profile",
            body,
            if_match=self._version(user),
            current_path="/users/me",
            keep=True,
        )

    def _version(self, user: dict[str, Any]) -> int | None:
        """If-Match for a profile write: none while this wizard's own earlier writes (which
        change the version) still wait in the outbox; they are sent first, in order."""
        engine = self.engine
        if engine is not None and engine.store.outbox.pending_count():
            return None
        return user.get("version")

    def _run(self, what: str, coro) -> None:
        self._runner(what, coro)

    @work(group="wizard-write", exit_on_error=False)
    async def _runner(self, what: str, coro) -> None:
        outcome = await coro
        user = await load_user(self.app)
        self.post_message(Loaded("outcome", outcome, what=what, user=user))

    def _on_outcome(self, message: Loaded) -> None:
        self._busy = False
        outcome: Outcome = message.data
        what = message.extra["what"]
        self.user = message.extra["user"] or self.user
        if what == "finish":
            if self.step == 9:
                self._finish_text()
            return
        if not outcome.ok:
            if what == "profile" and self.query(ProfileForm):
                self.query_one(ProfileForm).show_error(outcome, self.query_one("#wizard-status"))
            else:
                self.set_status("\n".join(refusal_lines(outcome)), error=True)
            return
        if what == "join":
            self.values.pop("org", None)
            self.show_step(8)
            if outcome.state == "queued":
                self.set_status(_("Saved on this computer: sent when the link is back."))
        elif what == "profile":
            self.values.pop("profile", None)
            self.show_step(9)
