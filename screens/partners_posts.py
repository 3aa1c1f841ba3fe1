"""The partner-finding board: browse and filter project ideas, publish one, express interest,
report. Interest also asks the author to become a contact (with the same note)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import ValidationError
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, OptionList, Static, TabPane
from textual.widgets.option_list import Option

from api_client.models.networking import PostCreate
from esep_tui.i18n import _
from esep_tui.sync import new_id
from screens.partners_dialogs import TextPrompt
from screens.partners_live import LiveData, Refreshed, merged
from widgets.app_header import AppHeader
from widgets.form_field import FormField
from widgets.person_card import ages
from widgets.tag_input import TagInput
from widgets.untrusted import clean, plain

DEBOUNCE = 0.35
FILTERS = ("q", "subject", "age", "language", "country")


def post_text(post: dict) -> str:
    author = post.get("author") or {}
    lines = [
        f"{clean(author.get('name', ''))} ({clean(post.get('country', ''))})",
        _("subjects") + ": " + clean(", ".join(post.get("subjects") or [])),
        _("languages") + ": " + clean(", ".join(post.get("languages") or [])),
        _("pupils aged") + " " + ages(post.get("pupil_age_min"), post.get("pupil_age_max")),
        _("until") + " " + str(post.get("expires_at", ""))[:10],
    ]
    return "\n".join(lines)


def field_errors(exc: ValidationError) -> dict[str, str]:
    out: dict[str, str] = {}
    for err in exc.errors():
        name = str(err.get("loc", ("",))[0])
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        if err.get("type") in ("missing", "string_too_short", "too_short") or err.get("input") in (
            "",
            [],
        ):
            msg = _("This field is required.")
        out.setdefault(name, msg)
    return out


class PostView(ModalScreen[None]):
    """One post in full: the author's idea as they wrote it (plain text)."""

    DEFAULT_CSS = """
    PostView { align: center middle; }
    PostView > VerticalScroll {
        width: 76; max-width: 100%; height: auto; max-height: 90%;
        padding: 0 1; background: $surface; border: round $primary;
    }
    """
    BINDINGS = [Binding("escape", "dismiss", "Back", id="post.back")]

    def __init__(self, post: dict):
        super().__init__()
        self.post = post

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = clean(self.post.get("title", ""))[:60]
            yield Static(plain(post_text(self.post)), markup=False)
            yield Static(plain("\n" + clean(self.post.get("description", ""))), markup=False)
            interests = self.post.get("interests") or []
            if interests:
                lines = [_("Interested:")] + [
                    f"• {clean(i['person']['name'])} ({clean(i['person']['country'])})"
                    + (f": “{clean(i.get('note', ''))}”" if i.get("note") else "")
                    for i in interests
                ]
                yield Static(plain("\n" + "\n".join(lines)), markup=False)


class PostFormScreen(Screen[dict | None]):
    """Publish a project idea; the fields are checked here as the server checks them."""

    CSS_PATH = "partners.tcss"
    BINDINGS = [
        Binding("ctrl+s", "publish", "Publish", id="postform.publish"),
        Binding("escape", "cancel", "Cancel", id="postform.cancel"),
    ]
    HELP = """\
## Publish a partner-finding post

Describe the project idea others can join: title, description, subjects and languages (comma
separated), the pupils' ages, your country (default: yours) and an expiry date (YYYY-MM-DD,
default 90 days, at most a year). **ctrl+s** publishes through the outbox (also offline).
"""

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with VerticalScroll(id="post-form"):
            yield FormField(_("Title"), name="title", max_length=200)
            yield FormField(_("Description"), name="description", max_length=5000)
            yield TagInput(_("Subjects (comma separated)"), name="subjects", max_length=1000)
            yield TagInput(_("Languages (comma separated)"), name="languages", max_length=400)
            with Horizontal(classes="pair"):
                yield FormField(_("Pupils from age"), name="pupil_age_min", max_length=2)
                yield FormField(_("to age"), name="pupil_age_max", max_length=2)
            with Horizontal(classes="pair"):
                yield FormField(_("Country (e.g. GR)"), name="country", max_length=2)
                yield FormField(_("Expires (YYYY-MM-DD)"), name="expires_at", max_length=10)
            yield Static("", id="post-form-status", classes="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#post-form").border_title = _("New partner-finding post")
        self.query_one("#field-title", FormField).focus()

    @property
    def fields(self) -> dict[str, FormField]:
        return {f.field_name: f for f in self.query(FormField)}

    def body(self) -> tuple[dict, dict[str, str]]:
        f = self.fields
        errors: dict[str, str] = {}
        body: dict = {
            "title": f["title"].value.strip(),
            "description": f["description"].value.strip(),
            "subjects": f["subjects"].values,
            "languages": f["languages"].values,
        }
        for name in ("pupil_age_min", "pupil_age_max"):
            text = f[name].value.strip()
            if not text.isdigit():
                errors[name] = _("Enter a whole number.")
            else:
                body[name] = int(text)
        if f["country"].value.strip():
            body["country"] = f["country"].value.strip().upper()
        expiry = f["expires_at"].value.strip()
        if expiry:
            try:
                when = datetime.strptime(expiry, "%Y-%m-%d").replace(hour=23, minute=59, tzinfo=UTC)
                body["expires_at"] = when.isoformat()
            except ValueError:
                errors["expires_at"] = _("Use the form YYYY-MM-DD.")
        try:
            PostCreate.model_validate(body)
        except ValidationError as exc:
            for name, msg in field_errors(exc).items():
                errors.setdefault(name, msg)
        if not errors and body["pupil_age_min"] > body["pupil_age_max"]:
            errors["pupil_age_max"] = _("The oldest pupils' age is below the youngest.")
        return body, errors

    def action_publish(self) -> None:
        body, errors = self.body()
        for name, field in self.fields.items():
            field.set_error(errors.get(name))
        if errors:
            first = next(n for n in self.fields if n in errors)
            self.fields[first].focus()
            self.query_one("#post-form-status", Static).update(_("Fix the fields marked in red."))
            return
        self.dismiss(body)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        self.focus_next()


class PostsPane(LiveData, TabPane):
    LIVE_KINDS = ("post", "post_list")
    BINDINGS = [
        Binding("enter", "open", "Read", id="posts.open", show=False),
        Binding("n", "new", "New post", id="posts.new"),
        Binding("i", "interest", "Interested", id="posts.interest"),
        Binding("r", "report", "Report", id="posts.report"),
        Binding("o", "mine", "Mine", id="posts.mine"),
    ]

    def __init__(self) -> None:
        super().__init__(_("Posts"), id="posts")
        self.rows: list[dict] = []
        self.mine = False
        self._timer = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="filters"):
            yield Input(placeholder=_("words"), id="posts-q", max_length=200)
            yield Input(placeholder=_("subject"), id="posts-subject", max_length=100)
            yield Input(placeholder=_("age"), id="posts-age", max_length=3, type="integer")
            yield Input(placeholder=_("language"), id="posts-language", max_length=40)
            yield Input(placeholder=_("country"), id="posts-country", max_length=2)
        yield OptionList(id="posts-list")
        yield Static("", id="posts-status", classes="status", markup=False)

    def on_mount(self) -> None:
        self.start_live()
        self.show(refresh=True)

    def on_unmount(self) -> None:
        self.stop_live()

    def params(self) -> dict:
        values = {k: self.query_one(f"#posts-{k}", Input).value.strip() for k in FILTERS}
        values["country"] = values["country"].upper() if len(values["country"]) == 2 else ""
        if self.mine:
            values["mine"] = "true"
        return values

    @on(Input.Changed, ".filters Input")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE, lambda: self.show(refresh=True))

    @on(Input.Submitted, ".filters Input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.show(refresh=True)
        self.query_one("#posts-list").focus()

    def show(self, *, refresh: bool = False) -> None:
        data = self.live("post_list", "/posts", self.params(), refresh=refresh)
        rows = merged(self.engine(), "post", data)
        if not self.mine:
            rows = [r for r in rows if not r.get("hidden") and not r.get("expired")]
        self.rows = rows
        menu = self.query_one("#posts-list", OptionList)
        highlighted = menu.highlighted
        menu.clear_options()
        for post in rows:
            menu.add_option(Option(self.prompt(post), id=post["id"]))
        if rows:
            menu.highlighted = min(highlighted or 0, len(rows) - 1)
        status = self.query_one("#posts-status", Static)
        scope = _("your posts") if self.mine else _("current posts")
        if data is None and not rows:
            status.update(_("Loading posts…") if self.engine() else _("Sign in first."))
        else:
            status.update(f"{len(rows)} {scope} · enter " + _("read"))

    def prompt(self, post: dict) -> Content:
        author = post.get("author") or {}
        head = [(clean(post.get("title", "")), "bold")]
        marks = []
        if post.get("_dirty") or self.queued_for("post", post["id"]):
            marks.append(_("queued"))
        if post.get("interested"):
            marks.append(_("interested"))
        if post.get("reported"):
            marks.append(_("reported"))
        if post.get("mine"):
            marks.append(_("{n} interested").format(n=post.get("interest_count", 0)))
        if post.get("hidden"):
            marks.append(_("hidden"))
        if marks:
            head.append(("  [" + ", ".join(marks) + "]", "italic"))
        line = "  " + " · ".join(
            x
            for x in (
                clean(author.get("name", "")),
                clean(post.get("country", "")),
                clean(", ".join(post.get("subjects") or [])),
                _("ages") + " " + ages(post.get("pupil_age_min"), post.get("pupil_age_max")),
            )
            if x
        )
        problem = self.attention_for("post", post["id"])
        tail = ["\n" + line] + (["\n  ✗ " + clean(problem)] if problem else [])
        return Content.assemble(*head, *tail)

    @on(Refreshed)
    def _refreshed(self, message: Refreshed) -> None:
        message.stop()
        self.show()

    def current(self) -> dict | None:
        menu = self.query_one("#posts-list", OptionList)
        if menu.highlighted is None or menu.highlighted >= len(self.rows):
            return None
        return self.rows[menu.highlighted]

    @on(OptionList.OptionSelected, "#posts-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        post = self.current()
        if post is not None:
            self.app.push_screen(PostView(post))

    def action_mine(self) -> None:
        self.mine = not self.mine
        self.show(refresh=True)

    def action_new(self) -> None:
        def publish(body: dict | None) -> None:
            if body is None:
                return
            pid = new_id()
            engine = self.engine()
            me = getattr(self.app, "account", None)
            optimistic = {
                **body,
                "id": pid,
                "mine": True,
                "author": {"id": "", "name": getattr(me, "name", ""), "country": ""},
                "country": body.get("country", ""),
            }
            if engine is None:
                return
            engine.write(
                "POST",
                "/posts",
                {**body, "id": pid},
                entity=("post", pid),
                optimistic=optimistic,
                current_path=f"/posts/{pid}",
            )
            self.notify(_("Post queued; it is published when online."))
            self.show()

        self.app.push_screen(PostFormScreen(), publish)

    def _contact_ids(self) -> set[str]:
        return {
            (data.get("person") or {}).get("id") for data, _dirty in self.local_entities("contact")
        } | {
            (r.get("person") or {}).get("id")
            for r in merged(
                self.engine(), "contact", self.live("contact_list", "/contacts", refresh=False)
            )
        }

    def action_interest(self) -> None:
        post = self.current()
        if post is None:
            return
        if post.get("mine"):
            self.notify(_("This is your own post."))
            return
        if post.get("interested"):
            self.notify(_("You already expressed interest in this post."))
            return

        def send(note: str | None) -> None:
            if note is None:
                return
            pid = post["id"]
            self.send(
                "POST",
                f"/posts/{pid}/interest",
                {"note": note},
                entity=("post", pid),
                optimistic={
                    **{k: v for k, v in post.items() if not k.startswith("_")},
                    "interested": True,
                },
                current_path=f"/posts/{pid}",
            )
            author = (post.get("author") or {}).get("id")
            if author and author not in self._contact_ids():
                cid = new_id()
                self.send(
                    "POST",
                    "/contacts",
                    {"id": cid, "user_id": author, "note": note},
                    entity=("contact", cid),
                    optimistic={
                        "id": cid,
                        "state": "pending",
                        "direction": "outgoing",
                        "person": post.get("author") or {},
                        "note": note,
                    },
                    current_path=f"/contacts/{cid}",
                )
            self.notify(_("Interest queued, with a contact request to the author."))
            self.show()

        self.app.push_screen(
            TextPrompt(
                _("Express interest"),
                _("A note for the author (optional)"),
                explain=clean(post.get("title", "")),
            ),
            send,
        )

    def action_report(self) -> None:
        post = self.current()
        if post is None or post.get("mine"):
            return

        def send(reason: str | None) -> None:
            if not reason:
                return
            pid = post["id"]
            self.send(
                "POST",
                f"/posts/{pid}/report",
                {"reason": reason},
                entity=("post", pid),
                optimistic={
                    **{k: v for k, v in post.items() if not k.startswith("_")},
                    "reported": True,
                },
                current_path=f"/posts/{pid}",
            )
            self.notify(_("Report queued. Thank you."))
            self.show()

        self.app.push_screen(
            TextPrompt(
                _("Report this post"),
                _("Why? (required)"),
                explain=clean(post.get("title", "")),
                required=True,
            ),
            send,
        )
