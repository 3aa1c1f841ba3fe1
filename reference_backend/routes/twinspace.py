"""TwinSpace pages: the tree, metadata, CRDT body sync, history and restore."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response
from pycrdt import get_state
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session as DbSession

from api_client import crdt
from api_client.models.common import ApiError
from api_client.models.twinspace import (
    MAX_UPDATE_BYTES,
    PageCreate,
    PageMeta,
    PageOut,
    PagePatch,
    PageTree,
    RestoreRequest,
    RevisionList,
    RevisionOut,
    SyncRequest,
    SyncResponse,
)
from reference_backend import changes, clock
from reference_backend.deps import Principal, check_if_match, current_principal, get_db
from reference_backend.domain import twinspace as ts
from reference_backend.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from reference_backend.tables import Material, Page, PageRevision, Project
from reference_backend.uow import UnitOfWorkRoute

ERRORS = {code: {"model": ApiError} for code in (401, 403, 404, 409, 412, 413, 422)}
router = APIRouter(tags=["TwinSpace"], route_class=UnitOfWorkRoute, responses=ERRORS)


def twinspace_principal(principal: Principal = Depends(current_principal)) -> Principal:
    """A pupil, or a platform user whose account is on."""
    if principal.pupil is None:
        if principal.user is None:
            raise Forbidden(
                "Finish the platform registration form first.", code="registration_incomplete"
            )
        if not principal.user.active:
            raise Forbidden("This account has been switched off by staff.", code="inactive")
    return principal


# --- wire shapes --------------------------------------------------------------------------


def _state_of(page: Page) -> bytes:
    if not page.doc:
        return b"\x00"
    try:
        return get_state(page.doc)
    except Exception:  # pragma: no cover - stored documents are always valid
        return b"\x00"


def page_meta(page: Page) -> PageMeta:
    return PageMeta(
        id=page.id,
        project_id=page.project_id,
        parent_id=page.parent_id,
        position=page.position,
        title=page.title,
        status=page.status,
        version=page.version,
        created_at=page.created_at,
        created_by=page.created_by,
        updated_at=page.updated_at,
        updated_by=page.updated_by,
        state_vector=crdt.b64encode(_state_of(page)),
    )


def page_out(page: Page) -> PageOut:
    doc = ts.load_doc(page)
    return PageOut(
        **page_meta(page).model_dump(),
        doc=crdt.b64encode(doc.get_update()),
        text=crdt.get_text(doc),
    )


def _revision_out(row: PageRevision) -> RevisionOut:
    return RevisionOut(
        id=row.id,
        page_id=row.page_id,
        author_kind=row.author_kind,
        author_id=row.author_id,
        author_name=row.author_name,
        at=row.at,
        summary=row.summary,
        size=len(row.update),
    )


@changes.serializer("page")
def _page_feed(db: DbSession, principal: Principal, page_id: str) -> dict | None:
    try:
        page, _project, _role = ts.page_for(db, principal, page_id)
    except DomainError:
        return None
    return page_meta(page).model_dump(mode="json")


def _record(db: DbSession, page: Page, op: str = "upsert") -> None:
    changes.record(db, [changes.project(page.project_id)], "page", page.id, op)


# --- tree helpers -------------------------------------------------------------------------


def _ordered(pages: list[Page], visible_to_pupil: bool) -> list[Page]:
    """Parents before children, siblings by position; for pupils, only published pages under
    published parents."""
    children: dict[str | None, list[Page]] = {}
    ids = {p.id for p in pages}
    for p in pages:
        parent = p.parent_id if p.parent_id in ids else None
        children.setdefault(parent, []).append(p)
    for group in children.values():
        group.sort(key=lambda p: (p.position, p.title, p.id))
    result: list[Page] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        page = stack.pop()
        if visible_to_pupil and page.status != "published":
            continue
        result.append(page)
        stack.extend(reversed(children.get(page.id, [])))
    return result


def _ancestors(db: DbSession, page_id: str | None) -> list[str]:
    """Ids from ``page_id`` up to the root (bounded, so a damaged tree cannot loop)."""
    chain: list[str] = []
    while page_id is not None and len(chain) <= ts.MAX_DEPTH + 2:
        chain.append(page_id)
        page_id = db.scalar(select(Page.parent_id).where(Page.id == page_id))
    return chain


def _check_parent(db: DbSession, project: Project, parent_id: str | None, role: str) -> None:
    if parent_id is None:
        return
    parent = db.get(Page, parent_id)
    if parent is None or parent.project_id != project.id:
        raise Invalid("parent_id", "No such page in this TwinSpace.")
    if parent.status == "draft" and not ts.sees_drafts(role):
        raise Invalid("parent_id", "No such page in this TwinSpace.")
    if len(_ancestors(db, parent_id)) >= ts.MAX_DEPTH:
        raise Invalid("parent_id", f"Pages nest at most {ts.MAX_DEPTH} levels deep.")


def _siblings(db: DbSession, project_id: str, parent_id: str | None, but: str) -> list[Page]:
    parent_clause = Page.parent_id.is_(None) if parent_id is None else Page.parent_id == parent_id
    return list(
        db.scalars(
            select(Page)
            .where(Page.project_id == project_id, parent_clause, Page.id != but)
            .order_by(Page.position, Page.title, Page.id)
        )
    )


def _renumber(db: DbSession, pages: list[Page], moved: Page | None = None) -> None:
    """Positions 0..n-1; siblings whose position changed get a new version."""
    for index, sibling in enumerate(pages):
        if sibling.position != index:
            sibling.position = index
            if sibling is not moved:
                sibling.version += 1
                _record(db, sibling)


def _place(db: DbSession, page: Page, position: int) -> None:
    """Put ``page`` at ``position`` among its siblings and renumber them 0..n-1."""
    siblings = _siblings(db, page.project_id, page.parent_id, page.id)
    siblings.insert(min(position, len(siblings)), page)
    _renumber(db, siblings, moved=page)


def _subtree(db: DbSession, page: Page) -> list[str]:
    ids, frontier = [page.id], [page.id]
    while frontier:
        frontier = list(db.scalars(select(Page.id).where(Page.parent_id.in_(frontier))))
        frontier = [i for i in frontier if i not in ids]
        ids.extend(frontier)
    return ids


def _decode(field: str, value: str | None, limit: int) -> bytes:
    if not value:
        return b""
    try:
        data = crdt.b64decode(value)
    except crdt.CrdtError:
        raise Invalid(field, "Send standard base64.", code="invalid_base64") from None
    if len(data) > limit:
        raise DomainError(
            "too_large",
            f"{field} is {len(data)} bytes; at most {limit} are accepted per request. "
            "Sync more often, or split the page.",
            field=field,
            status=413,
        )
    return data


# --- pages --------------------------------------------------------------------------------


@router.get("/projects/{project_id}/pages", response_model=PageTree)
def list_pages(
    project_id: str,
    principal: Principal = Depends(twinspace_principal),
    db: DbSession = Depends(get_db),
):
    """The page tree the caller may see. Pupils see published pages only; the interface
    language plays no part in what is listed."""
    project, role = ts.twinspace_for(db, principal, project_id)
    pages = list(db.scalars(select(Page).where(Page.project_id == project.id)))
    ordered = _ordered(pages, visible_to_pupil=not ts.sees_drafts(role))
    return PageTree(
        project_id=project.id,
        project_state=project.state,
        permissions=ts.permissions(project, role),
        items=[page_meta(p) for p in ordered],
    )


@router.post("/projects/{project_id}/pages", status_code=201, response_model=PageOut)
def create_page(
    project_id: str,
    body: PageCreate,
    response: Response,
    principal: Principal = Depends(twinspace_principal),
    db: DbSession = Depends(get_db),
):
    """Create a page. Offline clients send their own ``id`` and, instead of ``markdown``, the
    ``update`` of the document they already edited (so their later syncs merge cleanly)."""
    project, role = ts.twinspace_for(db, principal, project_id, write=True)
    if not ts.can_create_pages(role):
        raise Forbidden("Your role in this TwinSpace does not allow creating pages.")
    if body.markdown is not None and body.update is not None:
        raise Invalid("update", "Send either markdown or update, not both.")
    if body.id is not None and db.get(Page, body.id) is not None:
        raise Conflict("exists", "A page with this id exists already.", field="id")
    if ts.page_count(db, project.id) >= ts.MAX_PAGES:
        raise Conflict("too_many_pages", f"A TwinSpace holds at most {ts.MAX_PAGES} pages.")
    _check_parent(db, project, body.parent_id, role)
    update_bytes = _decode("update", body.update, MAX_UPDATE_BYTES)
    try:
        page = ts.create_page(
            db,
            project,
            title=body.title,
            author=ts.author_of(principal),
            page_id=body.id,
            parent_id=body.parent_id,
            status=body.status,
            text=body.markdown or "",
            update=update_bytes or None,
        )
    except crdt.CrdtError:
        raise Invalid(
            "update", "This is not a valid document update.", code="invalid_update"
        ) from None
    if body.position is not None:
        _place(db, page, body.position)
    db.flush()
    _record(db, page)
    response.headers["Location"] = f"/pages/{page.id}"
    return page_out(page)


@router.get("/pages/{page_id}", response_model=PageOut)
def get_page(
    page_id: str,
    principal: Principal = Depends(twinspace_principal),
    db: DbSession = Depends(get_db),
):
    """Metadata plus the whole document (base64 pycrdt update) and its text."""
    page, _project, _role = ts.page_for(db, principal, page_id)
    return page_out(page)


@router.patch("/pages/{page_id}", response_model=PageMeta)
def patch_page(
    page_id: str,
    body: PagePatch,
    request: Request,
    principal: Principal = Depends(twinspace_principal),
    db: DbSession = Depends(get_db),
):
    """Rename, move (``parent_id``), reorder (``position``) or publish. Send ``If-Match``."""
    page, project, role = ts.page_for(db, principal, page_id, write=True)
    if not ts.can_edit_pages(role):
        raise Forbidden("Your role in this TwinSpace does not allow changing pages.")
    check_if_match(request, page.version)
    sent = body.model_fields_set
    for name in ("title", "status"):
        if name in sent and getattr(body, name) is None:
            raise Invalid(name, f"{name} cannot be null.")
    if "position" in sent and body.position is None:
        raise Invalid("position", "position cannot be null.")
    changed = False
    if "title" in sent and body.title != page.title:
        page.title, changed = body.title, True
    if "status" in sent and body.status != page.status:
        page.status, changed = body.status, True
    moved = "parent_id" in sent and body.parent_id != page.parent_id
    if moved:
        if body.parent_id is not None:
            if page.id in _ancestors(db, body.parent_id):
                raise Invalid(
                    "parent_id", "A page cannot move under itself or its own subpages.", "cycle"
                )
            _check_parent(db, project, body.parent_id, role)
        old_parent = page.parent_id
        page.parent_id = body.parent_id
        changed = True
        db.flush()
        _renumber(db, _siblings(db, project.id, old_parent, page.id))
    if moved or ("position" in sent and body.position != page.position):
        target = (
            body.position
            if "position" in sent
            else ts.next_position(db, project.id, page.parent_id)
        )
        _place(db, page, target)
        changed = True
    if changed:
        page.version += 1
        page.updated_at = clock.now()
        page.updated_by = ts.author_of(principal).id
        db.flush()
        _record(db, page)
    return page_meta(page)


@router.delete("/pages/{page_id}", status_code=204)
def delete_page(
    page_id: str,
    request: Request,
    principal: Principal = Depends(twinspace_principal),
    db: DbSession = Depends(get_db),
):
    """Delete a page with its subpages, their history and materials."""
    page, _project, role = ts.page_for(db, principal, page_id, write=True)
    if not ts.can_edit_pages(role):
        raise Forbidden("Your role in this TwinSpace does not allow deleting pages.")
    check_if_match(request, page.version)
    ids = _subtree(db, page)
    project_id = page.project_id
    audience = [changes.project(project_id)]
    for material_id in db.scalars(select(Material.id).where(Material.page_id.in_(ids))):
        changes.record(db, audience, "material", material_id, "delete")
    for pid in ids:
        changes.record(db, audience, "page", pid, "delete")
    db.expunge(page)
    db.execute(update(Page).where(Page.id.in_(ids)).values(parent_id=None))
    db.execute(delete(Material).where(Material.page_id.in_(ids)))
    db.execute(delete(PageRevision).where(PageRevision.page_id.in_(ids)))
    db.execute(delete(Page).where(Page.id.in_(ids)))
    return Response(status_code=204)


# --- body sync, history, restore ----------------------------------------------------------


@router.post("/pages/{page_id}/sync", response_model=SyncResponse)
def sync_page(
    page_id: str,
    body: SyncRequest,
    principal: Principal = Depends(twinspace_principal),
    db: DbSession = Depends(get_db),
):
    """Send your state vector (after your edits) and your pending update; get back only what
    you lack. Readers send ``update: null``. Concurrent edits merge; nothing is lost."""
    page, project, role = ts.page_for(db, principal, page_id, lock=True)
    client_sv_bytes = _decode("state_vector", body.state_vector, 262_144)
    try:
        if client_sv_bytes:
            crdt.decode_state_vector(client_sv_bytes)
    except crdt.CrdtError:
        raise Invalid(
            "state_vector", "This is not a valid state vector.", code="invalid_state_vector"
        ) from None
    update_bytes = _decode("update", body.update, MAX_UPDATE_BYTES)
    doc = ts.load_doc(page)
    state_before, text_before = doc.get_state(), crdt.get_text(doc)
    # what the server held that the client had not seen: someone else's text
    merged = crdt.has_insertions(crdt.diff_since(doc, client_sv_bytes or None))
    applied_fully = True
    revision = None
    if update_bytes:
        try:
            crdt.apply_update(doc, update_bytes)
            crdt.get_text(doc)
        except crdt.CrdtError:
            raise Invalid(
                "update", "This is not a valid document update.", code="invalid_update"
            ) from None
        changed = doc.get_state() != state_before or crdt.get_text(doc) != text_before
        if changed:
            if project.state == "closed":
                raise ts.read_only_error(project)
            if not ts.can_edit_bodies(role):
                raise Forbidden("Your role in this TwinSpace does not allow editing pages.")
        applied_fully = crdt.fully_applied(doc, update_bytes)
        revision = ts.save_doc(
            db,
            page,
            doc,
            author=ts.author_of(principal),
            state_before=state_before,
            text_before=text_before,
        )
        if revision is not None:
            _record(db, page)
    try:
        diff = crdt.diff_since(doc, client_sv_bytes or None)
    except crdt.CrdtError:  # pragma: no cover - decoded above
        raise Invalid("state_vector", "This is not a valid state vector.") from None
    return SyncResponse(
        update=crdt.b64encode(diff),
        state_vector=crdt.b64encode(doc.get_state()),
        version=page.version,
        merged_from_others=merged,
        applied_fully=applied_fully,
        revision_id=revision.id if revision is not None else None,
    )


@router.get("/pages/{page_id}/history", response_model=RevisionList)
def page_history(
    page_id: str,
    offset: int = Query(0, ge=0, le=10**9),
    limit: int = Query(50, ge=1, le=200),
    principal: Principal = Depends(twinspace_principal),
    db: DbSession = Depends(get_db),
):
    """Who changed the body and when, newest first."""
    page, _project, _role = ts.page_for(db, principal, page_id)
    total = db.scalar(select(func.count()).where(PageRevision.page_id == page.id)) or 0
    rows = db.scalars(
        select(PageRevision)
        .where(PageRevision.page_id == page.id)
        .order_by(PageRevision.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    next_offset = offset + len(rows) if offset + len(rows) < total else None
    return RevisionList(
        items=[_revision_out(r) for r in rows], total=total, next_offset=next_offset
    )


@router.post("/pages/{page_id}/restore", response_model=PageOut)
def restore_page(
    page_id: str,
    body: RestoreRequest,
    principal: Principal = Depends(twinspace_principal),
    db: DbSession = Depends(get_db),
):
    """Bring the body back to how it was after a history entry. The restore is an ordinary
    edit (it syncs to every replica and is itself a history entry)."""
    page, project, role = ts.page_for(db, principal, page_id, write=True, lock=True)
    if not ts.can_edit_bodies(role):
        raise Forbidden("Your role in this TwinSpace does not allow editing pages.")
    revision = db.get(PageRevision, body.revision_id)
    if revision is None or revision.page_id != page.id:
        raise NotFound("revision")
    target = ts.text_at(db, page, revision.id)
    doc = ts.load_doc(page)
    state_before, text_before = doc.get_state(), crdt.get_text(doc)
    crdt.set_text(doc, target)
    saved = ts.save_doc(
        db,
        page,
        doc,
        author=ts.author_of(principal),
        state_before=state_before,
        text_before=text_before,
        summary=f"restored the version of {revision.at:%Y-%m-%d %H:%M} by {revision.author_name}"[
            :200
        ],
    )
    if saved is not None:
        _record(db, page)
    _ = project
    return page_out(page)
