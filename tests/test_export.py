"""Export of a whole TwinSpace from the replica: a Markdown file per page in the tree's
structure, the materials, the members (never pupils' codes), an index, and a zip."""

from __future__ import annotations

import base64
import zipfile

from esep_tui.export import export_twinspace, safe_name
from esep_tui.pages import MATERIAL_BLOB, PageService
from tests.test_page_sync import engine_for
from tests.test_twinspace_pages import make_pupil, make_space

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_export_writes_every_page_material_and_member_offline(app, client, tmp_path):
    space = make_space(app)
    pupil = make_pupil(client, space, nickname="Eleni K.")
    engine = engine_for(app, space.admin, tmp_path, "x")
    service = PageService(engine, space.project_id)
    plan_id = space.pages["Activity plan"]
    uploaded = client.post(
        f"/pages/{plan_id}/materials",
        json={
            "filename": "river.png",
            "content_type": "image/png",
            "data_base64": base64.b64encode(PNG).decode(),
        },
        headers=space.admin.headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    # what the TwinSpace screen does when online: the tree, every body, members, materials
    tree = await service.fetch_tree()
    for page, _depth in service.pages(tree):
        await service.load(page["id"])
    await engine.fetch("member", path=f"/projects/{space.project_id}/members")
    await engine.fetch("pupil", path=f"/projects/{space.project_id}/pupils")
    await engine.fetch("material", path=f"/pages/{plan_id}/materials")
    await service.material_bytes(uploaded.json()["id"])
    assert engine.store.get_entity(MATERIAL_BLOB, uploaded.json()["id"]) is not None
    greeting = space.pages["Getting to know each other"]
    service.edit(greeting, "# Γεια σας, partners\n\nWritten offline.\n")
    engine.set_work_offline(True)  # the export needs no network

    result = export_twinspace(engine, space.project_id, tmp_path / "out", title="Water/around us")
    await engine.client.aclose()

    root = result.folder
    assert root.parent == tmp_path / "out" and root.name.startswith("Water around us ")
    assert result.pages == len(service.pages()) == 12 and result.missing == []
    assert (root / "pages" / "01 Getting to know each other.md").read_text() == (
        "# Γεια σας, partners\n\nWritten offline.\n"
    )
    plan_file = root / "pages" / "02 Activity plan.md"
    assert plan_file.read_text() == service.text(plan_id)
    months = sorted((root / "pages" / "02 Activity plan").glob("*.md"))
    assert len(months) == 10
    for path in months:  # each monthly page, with its own text, under the plan
        page = next(p for p, _d in service.pages() if safe_name(p["title"]) in path.stem)
        assert path.read_text() == service.text(page["id"])
        assert path.stem.startswith(("01 ", "02 ", "03 ", "04 ", "05 ", "06 ", "07 ", "08 ",
                                     "09 ", "10 "))  # fmt: skip
    material = root / "pages" / "02 Activity plan - materials" / "river.png"
    assert material.read_bytes() == PNG
    members = (root / "members.md").read_text()
    assert "teacher_admin" in members and "observer" in members
    assert pupil["username"] in members and "Eleni K." in members
    assert pupil["code"] not in members
    index = (root / "index.md").read_text()
    assert "- [Getting to know each other](pages/01 Getting to know each other.md)" in index
    assert "  - [" in index and "(draft)" in index
    assert "material: [river.png]" in index and "members.md" in index
    with zipfile.ZipFile(result.zip_path) as archive:
        names = set(archive.namelist())
        assert f"{root.name}/index.md" in names
        assert f"{root.name}/pages/02 Activity plan - materials/river.png" in names
        assert len(names) == len(result.files)
        assert archive.read(f"{root.name}/pages/01 Getting to know each other.md").decode() == (
            "# Γεια σας, partners\n\nWritten offline.\n"
        )


async def test_export_of_a_page_never_opened_says_so(app, tmp_path):
    space = make_space(app)
    engine = engine_for(app, space.admin, tmp_path, "y")
    service = PageService(engine, space.project_id)
    await service.fetch_tree()
    await service.load(space.pages["Activity plan"])
    result = export_twinspace(engine, space.project_id, tmp_path / "out")
    await engine.client.aclose()
    assert "Getting to know each other" in result.missing
    text = (result.folder / "pages" / "01 Getting to know each other.md").read_text()
    assert "never opened" in text
    assert "never received" in (result.folder / "index.md").read_text()


def test_safe_name_keeps_letters_and_drops_what_file_systems_refuse():
    assert safe_name('Szkoła: "nasza" <rzeka>/2026') == "Szkoła nasza rzeka 2026"
    assert safe_name("..\x1b[31m..") == "[31m"
    assert safe_name("   ") == "untitled"
