"""Materials of one page: attach a small file from a path (its size checked before sending),
list, download (kept on this computer for offline reading), delete."""

from __future__ import annotations

import base64
import contextlib
import mimetypes
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from api_client.models.twinspace import MAX_MATERIAL_BYTES
from esep_tui.i18n import N_, _
from esep_tui.pages import PageService, settle
from screens.twinspace_dialogs import Confirm, Prompt
from screens.twinspace_members import Outcome, reasons_text
from widgets.app_header import AppHeader
from widgets.untrusted import clean, plain


def check_file(path: Path) -> str | None:
    """Why this file cannot be attached, or None."""
    if not path.is_file():
        return _("No such file: {path}").format(path=path)
    size = path.stat().st_size
    if size > MAX_MATERIAL_BYTES:
        return _("The file is {kb} KB; materials may be at most {limit} KB.").format(
            kb=(size + 1023) // 1024, limit=MAX_MATERIAL_BYTES // 1024
        )
    return None


class MaterialsScreen(Screen):
    CSS_PATH = "twinspace.tcss"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="materials.back"),
        Binding("a", "attach", "Attach", id="materials.attach"),
        Binding("s", "download", "Save", id="materials.download"),
        Binding("x,delete", "delete", "Delete", id="materials.delete"),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
    ]
    HELP = N_("""\
## Materials

Small files attached to the page. **a** attaches a file from a path (at most 512 KB; the
server accepts documents, images, audio and video, never web pages or scripts), **s** saves
the highlighted file to a folder (it is also kept on this computer for offline reading and
export), **x** deletes it.
""")

    def __init__(self, page: dict, permissions: dict | None = None):
        super().__init__()
        self.page = page
        self.permissions = permissions or {}
        self.materials: list[dict] = []

    @property
    def path(self) -> str:
        return f"/pages/{self.page['id']}/materials"

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Vertical(classes="ts-sub"):
            yield Static(
                plain(_("Materials of “{title}”").format(title=clean(self.page["title"]))),
                classes="heading",
            )
            yield OptionList(id="materials-list")
            yield Static("", id="materials-status", classes="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.engine = self.app.connection.engine()
        self.service = PageService(self.engine, self.page["project_id"])
        self._show(self.engine.read("material", path=self.path, refresh=False).data)
        self.refresh_list()

    @work(exclusive=True, group="materials", exit_on_error=False)
    async def refresh_list(self) -> None:
        snap = await self.engine.fetch("material", path=self.path)
        self.post_message(Outcome("", data=snap.data))
        for m in (snap.data or {}).get("items", []):  # for offline reading
            with contextlib.suppress(Exception):  # reading it later will say why
                await self.service.material_bytes(m["id"])

    def _show(self, data) -> None:
        self.materials = list(data.get("items", [])) if isinstance(data, dict) else []
        menu = self.query_one("#materials-list", OptionList)
        keep = menu.highlighted or 0
        menu.clear_options()
        for m in self.materials:
            text = f"{clean(m['filename'])} · {(m.get('size', 0) + 1023) // 1024} KB"
            menu.add_option(Option(plain(text), id=m["id"]))
        if menu.option_count:
            menu.highlighted = min(keep, menu.option_count - 1)

    @on(Outcome)
    def _outcome(self, message: Outcome) -> None:
        if message.data is not None:
            self._show(message.data)
        if message.text:
            status = self.query_one("#materials-status", Static)
            status.update(plain(message.text))
            status.set_class(message.error, "-error")

    def _selected(self) -> dict | None:
        index = self.query_one("#materials-list", OptionList).highlighted
        return self.materials[index] if index is not None and index < len(self.materials) else None

    def action_cursor(self, step: int) -> None:
        menu = self.query_one("#materials-list", OptionList)
        menu.action_cursor_down() if step > 0 else menu.action_cursor_up()

    def action_attach(self) -> None:
        if not self.permissions.get("can_upload"):
            reason = self.permissions.get("read_only_reason")
            self.post_message(Outcome(reason or _("Your role does not allow attaching."), True))
            return
        self.app.push_screen(
            Prompt(_("Path of the file to attach"), max_length=1000), self._attach_file
        )

    def _attach_file(self, text: str | None) -> None:
        if not text:
            return
        path = Path(text).expanduser()
        problem = check_file(path)
        if problem:
            self.post_message(Outcome(problem, True))
            return
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        data = path.read_bytes()
        body = {
            "filename": path.name,
            "content_type": kind,
            "data_base64": base64.b64encode(data).decode("ascii"),
        }
        item = self.engine.write("POST", f"/pages/{self.page['id']}/materials", body)
        self._send(item, _("Attached {name}.").format(name=path.name))

    @work(group="materials-write", exit_on_error=False)
    async def _send(self, item, done: str) -> None:
        after = await settle(self.engine, item)
        if after is None or after.state == "done":
            self.post_message(Outcome(done))
        elif after.state in ("rejected", "conflict"):
            self.post_message(Outcome(reasons_text(after), True))
        else:
            self.post_message(Outcome(_("Queued: it will be sent when online.")))
        snap = await self.engine.fetch("material", path=self.path)
        self.post_message(Outcome("", data=snap.data))

    def action_download(self) -> None:
        material = self._selected()
        if material is not None:
            from esep_tui.export import default_destination

            self.app.push_screen(
                Prompt(_("Save to folder"), str(default_destination()), max_length=1000),
                lambda folder: folder and self._download(material, folder),
            )

    @work(group="materials-get", exit_on_error=False)
    async def _download(self, material: dict, folder: str) -> None:
        from esep_tui.export import safe_name

        try:
            data = await self.service.material_bytes(material["id"])
            target = Path(folder).expanduser() / safe_name(material["filename"], 120)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        except Exception as exc:
            self.post_message(Outcome(getattr(exc, "message", None) or str(exc), True))
            return
        self.post_message(Outcome(_("Saved to {path}").format(path=target)))

    def action_delete(self) -> None:
        material = self._selected()
        if material is None:
            return
        question = _("Delete {name}?").format(name=clean(material["filename"]))
        self.app.push_screen(
            Confirm(question),
            lambda yes: (
                yes
                and self._send(
                    self.engine.write(
                        "DELETE",
                        f"/materials/{material['id']}",
                        entity=("material", material["id"]),
                    ),
                    _("Deleted."),
                )
            ),
        )
