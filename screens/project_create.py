"""Create an eTwinning project (FAQ B): school, partner, description, preview, submit.

1. the school you take part with (asked only when you work in several eTwinning schools);
2. the partner, from your contacts; those who cannot be added show why;
3. the description, every field checked as the server checks it; an optional image by path;
4. the preview, checked by the server (``POST /projects/preview``) and shown as the partner
   will see it; a refusal goes back to the field it names, with what you typed kept;
5. submit, through the outbox with a client id: it works offline and the project is listed at
   once as queued.
"""

from __future__ import annotations

import base64
from pathlib import Path

from pydantic import ValidationError
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, OptionList, Static
from textual.widgets.option_list import Option

from api_client.models.projects import MAX_IMAGE_BYTES, ProjectCreate
from esep_tui.i18n import N_, _
from esep_tui.sync import new_id
from screens.partners_live import LiveData, Refreshed, error_text, merged
from widgets.app_header import AppHeader
from widgets.form_field import FormField
from widgets.person_card import person_lines, reason_lines
from widgets.tag_input import TagInput
from widgets.untrusted import clean, plain

STEPS = (
    ("school", N_("Choose the school")),
    ("partner", N_("Choose the partner")),
    ("describe", N_("Describe the project")),
    ("preview", N_("Preview")),
    ("submit", N_("Submit")),
)
# where each server field is fixed
FIELD_STEP = {"creator_school_id": "school", "partner_id": "partner"}
TEXT_FIELDS = (
    ("title", N_("Title"), 200),
    ("short_description", N_("Short description"), 2000),
    ("aims", N_("Aims"), 5000),
    ("work_process", N_("Work process"), 5000),
    ("expected_results", N_("Expected results"), 5000),
)
NUMBER_FIELDS = (
    ("pupils_count", N_("Number of pupils")),
    ("age_min", N_("Pupils' age from")),
    ("age_max", N_("to")),
)
TAG_FIELDS = (
    ("languages", N_("Languages (comma separated)")),
    ("subjects", N_("Subjects (comma separated)")),
    ("vocational_subjects", N_("Vocational subjects (optional, vocational schools)")),
)
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
CAUTION = N_(
    "CAUTION: you work in more than one school. The project belongs to the school you "
    "choose here: choose the one whose pupils take part."
)


def read_image(path_text: str) -> str:
    """The image file as base64; its size and kind are checked before anything is sent."""
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise ValueError(_("No such file: {path}").format(path=path_text))
    size = path.stat().st_size
    if size > MAX_IMAGE_BYTES:
        raise ValueError(
            _("The image is {kb} KB; at most {limit} KB is allowed.").format(
                kb=size // 1024, limit=MAX_IMAGE_BYTES // 1024
            )
        )
    raw = path.read_bytes()
    webp = raw[:4] == b"RIFF" and raw[8:12] == b"WEBP"
    if not raw or not (raw.startswith(IMAGE_MAGIC) or webp):
        raise ValueError(_("The image must be a PNG, JPEG or WebP file."))
    return base64.b64encode(raw).decode()


def preview_text(p: dict) -> str:
    """The project as the partner will see it in their invitation."""
    school = p.get("creator_school") or {}
    lines = [
        clean(p.get("title", "")),
        "",
        _("From") + f": {clean((p.get('creator') or {}).get('name', ''))}, "
        f"{clean(school.get('public_name', ''))} ({clean(school.get('country', ''))})",
        _("Partner") + f": {clean((p.get('partner') or {}).get('name', ''))}",
        _("Scope")
        + f": {clean(p.get('scope', ''))} · "
        + _("approval by the NSO of")
        + " "
        + clean(", ".join(p.get("approval_countries") or [])),
        "",
        clean(p.get("short_description", "")),
        "",
        _("Languages") + ": " + clean(", ".join(p.get("languages") or [])),
        _("Subjects") + ": " + clean(", ".join(p.get("subjects") or [])),
    ]
    if p.get("vocational_subjects"):
        lines.append(_("Vocational subjects") + ": " + clean(", ".join(p["vocational_subjects"])))
    lines.append(
        _("{n} pupils aged {a}–{b}").format(
            n=p.get("pupils_count"), a=p.get("age_min"), b=p.get("age_max")
        )
    )
    for key, label in (("aims", N_("Aims")), ("work_process", N_("Work process")),
                       ("expected_results", N_("Expected results"))):  # fmt: skip
        lines += ["", _(label), clean(p.get(key, ""))]
    if p.get("has_image"):
        lines += [
            "",
            _("Image") + f": {p.get('image_type')} · {p.get('image_bytes', 0) // 1024} KB",
        ]
    return "\n".join(lines)


class PreviewDone(Message):
    def __init__(self, preview: dict | None, error: Exception | None):
        super().__init__()
        self.preview, self.error = preview, error


class ProjectCreateScreen(LiveData, Screen):
    CSS_PATH = "project_create.tcss"
    LIVE_KINDS = ("me", "contact", "contact_list", "member_eligibility")
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Cancel", id="create.cancel"),
        Binding("ctrl+n", "next", "Next", id="create.next"),
        Binding("ctrl+b", "back", "Back", id="create.back"),
        Binding("ctrl+s", "submit", "Submit", id="create.submit"),
    ]
    HELP = """\
## Create a project

Five steps; **ctrl+n** goes on, **ctrl+b** goes back, **escape** leaves (nothing is sent).

1. **School**: asked only when you work in several eTwinning schools. Careful: the project
   belongs to the school you choose.
2. **Partner**: one of your accepted contacts. Contacts who cannot be added to a project are
   listed but greyed, each with the reasons and their fix (FAQ problem 3).
3. **Description**: title, short description, languages, number and ages of pupils, subjects
   (vocational subjects optional), aims, work process, expected results and an optional image
   (a file path; PNG, JPEG or WebP up to 200 KB).
4. **Preview**: the server checks everything and shows the project as your partner will see
   it. A problem sends you back to the field, with what you typed kept.
5. **Submit** (**ctrl+s**): queued in the outbox and sent when online; your partner then
   accepts, and the National Support Organisations approve.
"""

    def __init__(self) -> None:
        super().__init__()
        self.project_id = new_id()  # one id from the first preview to the submission
        self.schools: list[dict] = []
        self.school_id: str | None = None
        self.partner: dict | None = None
        self.contacts: list[dict] = []
        self.preview: dict | None = None
        self.step = "school"
        self.asked: set[str] = set()  # contacts whose eligibility was asked for

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield Static("", id="create-progress", markup=False)
        with ContentSwitcher(initial="school", id="create-steps"):
            with Vertical(id="school"):
                yield Static(_(CAUTION), id="school-caution", classes="caution", markup=False)
                yield OptionList(id="school-list")
            with Vertical(id="partner"):
                yield Static(
                    _("Your partner must be one of your contacts. Greyed contacts cannot be "
                      "added to a project yet: the reasons are under their name."),
                    classes="lead",
                )  # fmt: skip
                yield OptionList(id="partner-list")
            with VerticalScroll(id="describe"):
                for name, label, limit in TEXT_FIELDS[:2]:
                    yield FormField(_(label), name=name, max_length=limit)
                for name, label in TAG_FIELDS[:1]:
                    yield TagInput(_(label), name=name, limit=10, max_length=440)
                with Horizontal(classes="numbers"):
                    for name, label in NUMBER_FIELDS:
                        yield FormField(_(label), name=name, max_length=4)
                for name, label in TAG_FIELDS[1:]:
                    yield TagInput(_(label), name=name, limit=10, max_length=1100)
                for name, label, limit in TEXT_FIELDS[2:]:
                    yield FormField(_(label), name=name, max_length=limit)
                yield FormField(
                    _("Representative image (optional): path to a PNG, JPEG or WebP ≤ 200 KB"),
                    name="image_path",
                    max_length=1000,
                )
            with VerticalScroll(id="preview"):
                yield Static("", id="preview-text", markup=False)
            with Vertical(id="submit"):
                yield Static("", id="submit-text", markup=False)
        yield Static("", id="create-status", classes="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.start_live()
        self.load(refresh=True)

    def on_unmount(self) -> None:
        self.stop_live()

    @property
    def fields(self) -> dict[str, FormField]:
        return {f.field_name: f for f in self.query(FormField)}

    def status(self, text: str, error: bool = False) -> None:
        line = self.query_one("#create-status", Static)
        line.update(plain(text))
        line.set_class(error, "-error")

    def steps(self) -> list[str]:
        names = [s for s, _t in STEPS]
        return names if len(self.schools) > 1 else names[1:]

    def go(self, step: str) -> None:
        self.step = step
        self.query_one(ContentSwitcher).current = step
        steps = self.steps()
        number = steps.index(step) + 1 if step in steps else 1
        title = dict(STEPS)[step]
        self.query_one("#create-progress", Static).update(
            _("Create a project · step {n} of {total}: {title}").format(
                n=number, total=len(steps), title=_(title)
            )
        )
        focus = {"school": "#school-list", "partner": "#partner-list"}.get(step)
        if focus:
            self.query_one(focus).focus()
        elif step == "describe":
            first_bad = next((f for f in self.fields.values() if f.error), None)
            (first_bad or self.fields["title"]).focus()
        self.status("")

    # ------------------------------------------------------------ data: schools and contacts

    def load(self, *, refresh: bool = False) -> None:
        me = self.live("me", "/users/me", refresh=refresh)
        if isinstance(me, dict):
            self.schools = [
                {**m["org"], "membership": m["id"]}
                for m in me.get("memberships", [])
                if m.get("standing") == "etwinning"
                and m.get("role") != "company_staff"
                and not m.get("left_at")
            ]
        contacts = merged(
            self.engine(), "contact", self.live("contact_list", "/contacts", refresh=refresh)
        )
        self.contacts = [c for c in contacts if c.get("state") == "accepted" and c.get("person")]
        for c in self.contacts:  # FAQ problem 3 for each candidate, asked once and cached
            self.live(
                "member_eligibility",
                "/eligibility/project-member",
                {"user_id": c["person"]["id"]},
                refresh=refresh or c["person"]["id"] not in self.asked,
            )
            self.asked.add(c["person"]["id"])
        self.show_schools()
        self.show_partners()
        if me is None and refresh:
            self.status(_("Loading your schools and contacts…"))
        if self.step == "school" and me is not None:
            self.go("school" if len(self.schools) > 1 else "partner")
        elif me is None:
            self.go(self.step)

    @on(Refreshed)
    def _refreshed(self, message: Refreshed) -> None:
        self.load()

    def show_schools(self) -> None:
        menu = self.query_one("#school-list", OptionList)
        menu.clear_options()
        for s in self.schools:
            label = f"{clean(s.get('public_name', ''))}, {clean(s.get('city', ''))} ({s.get('country')})"
            menu.add_option(Option(plain(label), id=s["id"]))
        if self.school_id is None and len(self.schools) == 1:
            self.school_id = self.schools[0]["id"]

    def reasons_for(self, person_id: str) -> list[dict]:
        answer = self.live(
            "member_eligibility",
            "/eligibility/project-member",
            {"user_id": person_id},
            refresh=False,
        )
        return list(answer.get("reasons") or []) if isinstance(answer, dict) else []

    def show_partners(self) -> None:
        menu = self.query_one("#partner-list", OptionList)
        highlighted = menu.highlighted
        menu.clear_options()
        for c in self.contacts:
            person = c["person"]
            reasons = self.reasons_for(person["id"])
            mark = "● " if self.partner and self.partner["id"] == person["id"] else "  "
            head = [
                mark,
                (clean(person.get("name", "")), "bold"),
                f"  {clean(person.get('country', ''))}",
            ]
            lines = person_lines({**person, "description": ""}) + reason_lines(reasons)
            prompt = Content.assemble(*head, *("\n    " + line for line in lines))
            menu.add_option(Option(prompt, id=person["id"], disabled=bool(reasons)))
        if highlighted is not None and self.contacts:
            menu.highlighted = min(highlighted, len(self.contacts) - 1)
        if not self.contacts and self.step == "partner":
            self.status(
                _("No accepted contacts yet: add your partner under Find partners › People first.")
            )

    @on(OptionList.OptionSelected, "#school-list")
    def _school_chosen(self, event: OptionList.OptionSelected) -> None:
        self.school_id = event.option.id
        self.go("partner")

    @on(OptionList.OptionSelected, "#partner-list")
    def _partner_chosen(self, event: OptionList.OptionSelected) -> None:
        self.partner = next(
            c["person"] for c in self.contacts if c["person"]["id"] == event.option.id
        )
        self.show_partners()
        self.go("describe")

    # ------------------------------------------------------------ the description

    def body(self) -> tuple[dict, dict[str, str]]:
        f = self.fields
        errors: dict[str, str] = {}
        body: dict = {"id": self.project_id, "partner_id": (self.partner or {}).get("id", "")}
        if self.school_id and len(self.schools) > 1:
            body["creator_school_id"] = self.school_id
        for name, _label, _limit in TEXT_FIELDS:
            body[name] = f[name].value.strip()
        for name, _label in TAG_FIELDS:
            body[name] = f[name].values
        for name, _label in NUMBER_FIELDS:
            text = f[name].value.strip()
            if text.isdigit():
                body[name] = int(text)
            else:
                errors[name] = _("Enter a whole number.")
        image = f["image_path"].value.strip()
        if image:
            try:
                body["image_base64"] = read_image(image)
            except (ValueError, OSError) as exc:
                errors["image_path"] = str(exc)
        try:
            ProjectCreate.model_validate(body)
        except ValidationError as exc:
            for err in exc.errors():
                name = str(err.get("loc", ("",))[0])
                msg = str(err.get("msg", "")).removeprefix("Value error, ")
                if err.get("input") in ("", []) or err.get("type") == "missing":
                    msg = _("This field is required.")
                errors.setdefault(name, msg)
        if "age_min" in body and "age_max" in body and body["age_min"] > body["age_max"]:
            errors.setdefault("age_max", _("The oldest pupils' age is below the youngest."))
        return body, errors

    def check_description(self) -> dict | None:
        body, errors = self.body()
        if "partner_id" in errors or not self.partner:
            self.go("partner")
            self.status(_("Choose your partner first."), error=True)
            return None
        for name, field in self.fields.items():
            field.set_error(errors.get(name))
        if errors:
            self.go("describe")
            self.status(_("Fix the fields marked in red; what you typed is kept."), error=True)
            return None
        return body

    # ------------------------------------------------------------ preview and submit

    def action_next(self) -> None:
        if self.step == "school":
            menu = self.query_one("#school-list", OptionList)
            if menu.highlighted is not None:
                self.school_id = self.schools[menu.highlighted]["id"]
                self.go("partner")
        elif self.step == "partner":
            menu = self.query_one("#partner-list", OptionList)
            option = menu.highlighted_option
            if option is not None and not option.disabled:
                menu.action_select()
            elif self.partner:
                self.go("describe")
            else:
                self.status(_("Choose a partner who can be added to a project."), error=True)
        elif self.step == "describe":
            body = self.check_description()
            if body is not None:
                self.go("preview")
                self.query_one("#preview-text", Static).update(_("Checking with the server…"))
                self.run_preview(body)
        elif self.step == "preview":
            self.go("submit")
            self.query_one("#submit-text", Static).update(
                _("Press ctrl+s to submit “{title}”. It is queued in the outbox and sent when "
                  "online; {partner} is then invited to accept.").format(
                    title=clean(self.fields["title"].value), partner=clean(self.partner["name"])
                )
            )  # fmt: skip
        elif self.step == "submit":
            self.action_submit()

    def action_back(self) -> None:
        steps = self.steps()
        if self.step in steps and steps.index(self.step) > 0:
            self.go(steps[steps.index(self.step) - 1])

    @work(exclusive=True, group="preview", exit_on_error=False)
    async def run_preview(self, body: dict) -> None:
        try:
            client = await self.app.connection.ready()
            data = await client.request(
                "POST", "/projects/preview", json=body, idempotency_key=False
            )
        except Exception as exc:
            self.post_message(PreviewDone(None, exc))
            return
        self.post_message(PreviewDone(data, None))

    @on(PreviewDone)
    def _previewed(self, message: PreviewDone) -> None:
        from api_client.errors import Transient

        text = self.query_one("#preview-text", Static)
        if message.error is None:
            self.preview = message.preview
            text.update(plain(preview_text(message.preview)))
            self.status(_("Checked by the server. ctrl+n to go on, ctrl+b to change something."))
            return
        error = message.error
        if isinstance(error, Transient):
            # offline: show what will be sent; the server checks it when it arrives
            body, _errors = self.body()
            local = {
                **body,
                "creator": {"name": getattr(self.app.account, "name", "")},
                "partner": self.partner,
                "creator_school": next((s for s in self.schools if s["id"] == self.school_id), {}),
                "has_image": "image_base64" in body,
            }
            text.update(plain(preview_text(local)))
            self.status(
                _("Offline: not checked by the server yet. You can still submit; it is checked "
                  "when sent.")
            )  # fmt: skip
            return
        field = getattr(error, "field", None)
        detail = error_text(
            {"message": error.message, "reasons": [r.model_dump() for r in error.reasons]}
        )
        name = "image_path" if field == "image_base64" else field
        if name in FIELD_STEP:
            self.go(FIELD_STEP[name])
            self.status(detail, error=True)
        elif name in self.fields:
            self.fields[name].set_error(error.message)
            self.go("describe")
            self.fields[name].focus()
            self.status(_("The server refused a field; what you typed is kept."), error=True)
        else:
            self.go("partner" if error.code.startswith("partner") else "describe")
            self.status(detail, error=True)

    def action_submit(self) -> None:
        body = self.check_description()
        if body is None:
            return
        engine = self.engine()
        if engine is None:
            self.status(_("Sign in first."), error=True)
            return
        school = next((s for s in self.schools if s["id"] == self.school_id), {})
        me = getattr(self.app, "account", None)
        optimistic = {
            **{k: v for k, v in body.items() if k != "image_base64"},
            "state": "queued",
            "partner": {k: self.partner.get(k) for k in ("id", "name", "country")},
            "creator": {"id": getattr(me, "user_id", ""), "name": getattr(me, "name", "")},
            "creator_school": school,
            "founder": True,
            "has_image": "image_base64" in body,
        }
        engine.write(
            "POST",
            "/projects",
            body,
            entity=("project", self.project_id),
            optimistic=optimistic,
            current_path=f"/projects/{self.project_id}",
        )
        self.notify(_("Project queued: it is sent when online, then your partner is invited."))
        from screens.projects import ProjectsScreen

        self.app.pop_screen()
        self.app.push_screen(ProjectsScreen())
