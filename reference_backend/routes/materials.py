"""Materials: small files attached to TwinSpace pages."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from fastapi import APIRouter, Depends, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from api_client import crdt
from api_client.models.common import ApiError
from api_client.models.twinspace import (
    MAX_MATERIAL_BYTES,
    MaterialCreate,
    MaterialList,
    MaterialOut,
)
from reference_backend import changes, clock
from reference_backend.deps import Principal, get_db
from reference_backend.domain import twinspace as ts
from reference_backend.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from reference_backend.routes.twinspace import twinspace_principal
from reference_backend.tables import Material, Page
from reference_backend.uow import UnitOfWorkRoute

ERRORS = {code: {"model": ApiError} for code in (401, 403, 404, 409, 413, 422)}
router = APIRouter(tags=["Materials"], route_class=UnitOfWorkRoute, responses=ERRORS)

MAX_PER_PAGE = 50

# Types a school's material is likely to be; nothing a browser would run (no HTML, SVG, JS).
ALLOWED_TYPES = frozenset(
    {
        "text/plain",
        "text/markdown",
        "text/csv",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
        "audio/mpeg",
        "audio/ogg",
        "audio/wav",
        "video/mp4",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    }
)
# what the first bytes of these types must be, so a renamed file is not passed off as one
MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/pdf": (b"%PDF-",),
}
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul"} | {
    f"{p}{n}" for p in ("com", "lpt") for n in range(1, 10)
}
_FORBIDDEN_CHARS = set('<>:"/\\|?*')
MAX_FILENAME = 120


def sanitise_filename(raw: str) -> str:
    """A file name safe on every system: no path, no control or reserved characters, no
    leading dot, at most 120 characters (the extension kept)."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch if ch.isprintable() and ch not in _FORBIDDEN_CHARS else "_" for ch in name)
    name = " ".join(name.split()).strip(" .")
    if not name:
        return "file"
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if stem.lower() in _WINDOWS_RESERVED or name.lower() in _WINDOWS_RESERVED:
        stem = "_" + (stem or name)
        name = f"{stem}.{ext}" if dot else stem
    if len(name) > MAX_FILENAME:
        ext = ext[:20]
        keep = MAX_FILENAME - (len(ext) + 1 if dot else 0)
        name = stem[:keep].rstrip(" .") + (f".{ext}" if dot else "")
    return name or "file"


def _content_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _content_disposition(filename: str) -> str:
    fallback = filename.encode("ascii", "replace").decode("ascii").replace('"', "_")
    fallback = fallback.replace("?", "_") or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def material_out(material: Material, project_id: str) -> MaterialOut:
    return MaterialOut(
        id=material.id,
        page_id=material.page_id,
        project_id=project_id,
        filename=material.filename,
        content_type=material.content_type,
        size=material.size,
        uploaded_by=material.uploaded_by,
        created_at=material.created_at,
    )


def _material_for(
    db: DbSession, principal: Principal, material_id: str, *, write: bool = False
) -> tuple[Material, Page, str]:
    material = db.get(Material, material_id) if 0 < len(material_id) <= 36 else None
    if material is None:
        raise NotFound("material")
    try:
        page, _project, role = ts.page_for(db, principal, material.page_id, write=write)
    except NotFound:
        raise NotFound("material") from None
    return material, page, role


@changes.serializer("material")
def _material_feed(db: DbSession, principal: Principal, material_id: str) -> dict | None:
    try:
        material, page, _role = _material_for(db, principal, material_id)
    except DomainError:
        return None
    return material_out(material, page.project_id).model_dump(mode="json")


@router.post("/pages/{page_id}/materials", status_code=201, response_model=MaterialOut)
def upload_material(
    page_id: str,
    body: MaterialCreate,
    response: Response,
    principal: Principal = Depends(twinspace_principal),
    db: DbSession = Depends(get_db),
):
    """Attach a small file (at most 512 KB) to a page."""
    page, _project, role = ts.page_for(db, principal, page_id, write=True)
    if not ts.can_upload(role):
        raise Forbidden("Your role in this TwinSpace does not allow adding materials.")
    content_type = _content_type(body.content_type)
    if content_type not in ALLOWED_TYPES:
        raise Invalid(
            "content_type",
            f"Files of type {content_type!r} cannot be attached. Accepted: text, images "
            "(PNG, JPEG, GIF, WebP), PDF, audio, MP4 and office documents.",
            code="unsupported_type",
        )
    try:
        data = crdt.b64decode(body.data_base64)
    except crdt.CrdtError:
        raise Invalid(
            "data_base64", "Send the file as standard base64.", "invalid_base64"
        ) from None
    if len(data) > MAX_MATERIAL_BYTES:
        raise DomainError(
            "too_large",
            f"The file is {len(data) // 1024} KB; materials are at most "
            f"{MAX_MATERIAL_BYTES // 1024} KB. Share a link to larger files instead.",
            field="data_base64",
            status=413,
        )
    if not data:
        raise Invalid("data_base64", "The file is empty.", code="empty")
    magic = MAGIC.get(content_type)
    if magic and not data.startswith(magic):
        raise Invalid(
            "data_base64",
            f"The file's content is not {content_type}; check the file or its type.",
            code="type_mismatch",
        )
    if body.id is not None and db.get(Material, body.id) is not None:
        raise Conflict("exists", "A material with this id exists already.", field="id")
    count = db.scalar(select(func.count()).where(Material.page_id == page.id)) or 0
    if count >= MAX_PER_PAGE:
        raise Conflict("too_many_materials", f"A page holds at most {MAX_PER_PAGE} materials.")
    fields = {"id": body.id} if body.id else {}
    material = Material(
        **fields,
        page_id=page.id,
        filename=sanitise_filename(body.filename),
        content_type=content_type,
        size=len(data),
        data=data,
        uploaded_by=ts.author_of(principal).id,
        created_at=clock.now(),
    )
    db.add(material)
    db.flush()
    changes.record(db, [changes.project(page.project_id)], "material", material.id)
    response.headers["Location"] = f"/materials/{material.id}"
    return material_out(material, page.project_id)


@router.get("/pages/{page_id}/materials", response_model=MaterialList)
def list_materials(
    page_id: str,
    principal: Principal = Depends(twinspace_principal),
    db: DbSession = Depends(get_db),
):
    page, _project, _role = ts.page_for(db, principal, page_id)
    rows = db.scalars(
        select(Material)
        .where(Material.page_id == page.id)
        .order_by(Material.created_at, Material.id)
    )
    return MaterialList(items=[material_out(m, page.project_id) for m in rows])


@router.get(
    "/materials/{material_id}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_material(
    material_id: str,
    principal: Principal = Depends(twinspace_principal),
    db: DbSession = Depends(get_db),
):
    """The file itself, always as an attachment."""
    material, _page, _role = _material_for(db, principal, material_id)
    return Response(
        content=material.data,
        media_type=material.content_type,
        headers={
            "Content-Disposition": _content_disposition(material.filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=0",
        },
    )


@router.delete("/materials/{material_id}", status_code=204)
def delete_material(
    material_id: str,
    principal: Principal = Depends(twinspace_principal),
    db: DbSession = Depends(get_db),
):
    """Teachers remove any material; a pupil admin only their own."""
    material, page, role = _material_for(db, principal, material_id, write=True)
    own = material.uploaded_by == ts.author_of(principal).id
    if not (ts.can_edit_pages(role) or (own and ts.can_upload(role))):
        raise Forbidden("Your role in this TwinSpace does not allow removing this material.")
    changes.record(db, [changes.project(page.project_id)], "material", material.id, "delete")
    db.delete(material)
    return Response(status_code=204)
