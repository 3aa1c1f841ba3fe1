"""Export a whole TwinSpace to local files, from the replica (works offline).

PL: "keep your project results on external media". The folder holds one Markdown file per
page in the tree's structure (a page's subpages in a folder of the same name), the materials
beside the page they belong to, ``members.md`` (teachers and pupil usernames, never pupils'
codes) and ``index.md``; a zip of the same folder is written next to it.
"""

from __future__ import annotations

import base64
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from esep_tui.pages import MATERIAL_BLOB, PageService


def default_destination() -> Path:
    """``~/esep-exports`` (under ``ESEP_TUI_HOME`` when that is set); the user can type any
    folder, such as a USB stick's."""
    from esep_tui import paths

    home = paths._home()
    return (home if home is not None else Path.home()) / "esep-exports"


def safe_name(text: str, limit: int = 60) -> str:
    """A file name that is valid everywhere and still readable (letters of any script)."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = re.sub(r'[<>:"/\\|?*]+', " ", text)
    text = " ".join(text.split()).strip(" .")[:limit].strip(" .")
    return text or "untitled"


@dataclass
class ExportResult:
    folder: Path
    zip_path: Path
    pages: int = 0
    materials: int = 0
    missing: list[str] = field(default_factory=list)  # pages whose body this replica lacks
    files: list[Path] = field(default_factory=list)


def _members(store, project_id: str) -> tuple[list[dict], list[dict]]:
    members = store.get_query("member", f"/projects/{project_id}/members")
    pupils = store.get_query("pupil", f"/projects/{project_id}/pupils")
    teacher_rows = members[0] if members and isinstance(members[0], list) else []
    pupil_data = pupils[0] if pupils and isinstance(pupils[0], dict) else {}
    return teacher_rows, list(pupil_data.get("items", []))


def export_twinspace(
    engine: Any, project_id: str, destination: str | Path, *, title: str = ""
) -> ExportResult:
    store = engine.store
    service = PageService(engine, project_id)
    pages = service.pages()
    stamp = datetime.now().strftime("%Y-%m-%d_%H%M")
    root = Path(destination).expanduser() / f"{safe_name(title or 'TwinSpace')} {stamp}"
    root.mkdir(parents=True, exist_ok=True)
    result = ExportResult(root, root.with_suffix(".zip"))

    def write(path: Path, data: bytes | str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
        result.files.append(path)

    folders: dict[str | None, Path] = {None: root / "pages"}
    index = [f"# {title or 'TwinSpace'}", "", f"Exported {stamp}.", "", "## Pages", ""]
    counters: dict[str | None, int] = {}
    for page, depth in pages:
        parent = page.get("parent_id") if page.get("parent_id") in folders else None
        counters[parent] = counters.get(parent, 0) + 1
        name = f"{counters[parent]:02d} {safe_name(page.get('title', ''))}"
        folder = folders[parent]
        folders[page["id"]] = folder / name
        text = service.text(page["id"])
        if text is None:
            result.missing.append(page.get("title", ""))
            text = "*(This page's text was never opened on this computer.)*\n"
        path = folder / f"{name}.md"
        write(path, text)
        result.pages += 1
        status = " (draft)" if page.get("status") == "draft" else ""
        link = path.relative_to(root).as_posix()
        index.append(f"{'  ' * depth}- [{page.get('title', '')}]({link}){status}")
        cached = store.get_query("material", f"/pages/{page['id']}/materials")
        for material in (cached[0] or {}).get("items", []) if cached else []:
            blob = store.get_entity(MATERIAL_BLOB, material["id"])
            if blob is None or not isinstance(blob.data, dict):
                continue
            target = folder / f"{name} - materials" / safe_name(material["filename"], 120)
            write(target, base64.b64decode(blob.data["data"]))
            result.materials += 1
            index.append(f"{'  ' * (depth + 1)}- material: [{material['filename']}]"
                         f"({target.relative_to(root).as_posix()})")  # fmt: skip
    teachers, pupils = _members(store, project_id)
    lines = ["# Members", "", "| name | country | role |", "|---|---|---|"]
    lines += [f"| {m.get('name', '')} | {m.get('country', '')} | {m.get('role', '')} |"
              for m in teachers]  # fmt: skip
    if pupils:
        lines += ["", "## Pupils", "", "| username | nickname | role |", "|---|---|---|"]
        lines += [f"| {p.get('username', '')} | {p.get('nickname', '')} | {p.get('role', '')} |"
                  for p in pupils]  # fmt: skip
    write(root / "members.md", "\n".join(lines) + "\n")
    if result.missing:
        index += ["", "Pages whose text this computer never received: "
                  + ", ".join(result.missing)]  # fmt: skip
    index += ["", "Members: [members.md](members.md)", ""]
    write(root / "index.md", "\n".join(index))
    with zipfile.ZipFile(result.zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in result.files:
            archive.write(path, path.relative_to(root.parent).as_posix())
    return result
