"""TwinSpace rules: who may do what, the starting pages, and page bodies as CRDT documents.

A TwinSpace exists once a project is approved; when the project is closed it stays readable
and refuses every write (``twinspace_read_only``). Roles:

=============  =====  ======  ===========  ===========  ==============
role           read   drafts  page bodies  page tree    pupils
=============  =====  ======  ===========  ===========  ==============
teacher_admin  yes    yes     edit         edit         manage
teacher        yes    yes     edit         edit         manage
observer       yes    yes     -            -            -
pupil_admin    yes    yes     edit         create       -
pupil          yes    -       -            -            -
=============  =====  ======  ===========  ===========  ==============

Visibility depends on the role only, never on the interface language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pycrdt import Doc
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from api_client import crdt
from api_client.models.common import Reason
from api_client.models.twinspace import MAX_DOC_BYTES, TwinSpacePermissions
from reference_backend import clock
from reference_backend.errors import DomainError, NotAllowed, NotFound
from reference_backend.tables import Page, PageRevision, Project, ProjectMember, new_id

TEACHER_ROLES = frozenset({"teacher_admin", "teacher", "observer"})
PUPIL_ROLES = frozenset({"pupil_admin", "pupil"})
OPEN_STATES = frozenset({"approved", "closed"})
ACTIVITY_MONTHS = 10
MAX_PAGES = 2000  # per TwinSpace
MAX_DEPTH = 12


# --- roles and permissions ----------------------------------------------------------------


def member_role(db: DbSession, principal, project_id: str) -> str | None:
    """The caller's role in the project's TwinSpace, or None when they have none."""
    if principal is None:
        return None
    if principal.pupil is not None:
        pupil = principal.pupil
        return pupil.role if pupil.project_id == project_id else None
    user = principal.user
    if user is None or not user.active:
        return None
    return db.scalar(
        select(ProjectMember.role).where(
            ProjectMember.project_id == project_id,
            ProjectMember.user_id == user.id,
            ProjectMember.state == "active",
        )
    )


def can_read(role: str | None) -> bool:
    return role is not None


def sees_drafts(role: str | None) -> bool:
    return role in TEACHER_ROLES or role == "pupil_admin"


def can_edit_pages(role: str | None) -> bool:
    """Rename, move, reorder, publish and delete pages."""
    return role in ("teacher_admin", "teacher")


def can_create_pages(role: str | None) -> bool:
    return role in ("teacher_admin", "teacher", "pupil_admin")


def can_edit_bodies(role: str | None) -> bool:
    return role in ("teacher_admin", "teacher", "pupil_admin")


def can_upload(role: str | None) -> bool:
    return can_edit_bodies(role)


def can_manage_pupils(role: str | None) -> bool:
    return role in ("teacher_admin", "teacher")


def read_only_reason(project: Project) -> str | None:
    if project.state != "closed":
        return None
    when = f" on {project.closed_at:%Y-%m-%d}" if project.closed_at else ""
    return (
        f"The project was closed{when}: its TwinSpace is a read-only archive. "
        "You can still read and export it."
    )


def permissions(project: Project, role: str) -> TwinSpacePermissions:
    closed = project.state == "closed"
    return TwinSpacePermissions(
        role=role,
        read_only=closed,
        read_only_reason=read_only_reason(project),
        can_edit_pages=can_edit_pages(role) and not closed,
        can_create_pages=can_create_pages(role) and not closed,
        can_edit_bodies=can_edit_bodies(role) and not closed,
        can_manage_pupils=can_manage_pupils(role) and not closed,
        can_upload=can_upload(role) and not closed,
        sees_drafts=sees_drafts(role),
    )


def read_only_error(project: Project) -> NotAllowed:
    reason = read_only_reason(project) or "This TwinSpace is read-only."
    return NotAllowed(
        "twinspace_read_only",
        reason,
        reasons=[
            Reason(
                code="project_closed",
                message=reason,
                fix="Export the TwinSpace to keep its content; start a new project to go on "
                "working together.",
                fixed_by="self",
            )
        ],
    )


def not_open_error(project: Project) -> NotAllowed:
    message = (
        f"This project is {project.state.replace('_', ' ')}: its TwinSpace opens when "
        "every National Support Organisation concerned has approved it."
    )
    return NotAllowed(
        "twinspace_not_open",
        message,
        reasons=[
            Reason(
                code=f"project_{project.state}",
                message=message,
                fix="Wait for the partner and the NSO decision; the TwinSpace opens then.",
                fixed_by="nso",
            )
        ],
    )


def twinspace_for(
    db: DbSession, principal, project_id: str, *, write: bool = False
) -> tuple[Project, str]:
    """The project and the caller's role, or the refusal: 404 when the caller has no role
    (or the project does not exist), 409 when there is no TwinSpace yet, 409 read-only for a
    write to a closed project."""
    role = member_role(db, principal, project_id)
    project = db.get(Project, project_id) if role is not None else None
    if project is None:
        raise NotFound("project")
    if project.state not in OPEN_STATES:
        raise not_open_error(project)
    if write and project.state == "closed":
        raise read_only_error(project)
    return project, role


def page_for(
    db: DbSession, principal, page_id: str, *, write: bool = False, lock: bool = False
) -> tuple[Page, Project, str]:
    """A page the caller may see (404 otherwise), its project and the caller's role."""
    page = db.get(Page, page_id, with_for_update=lock) if _is_id(page_id) else None
    if page is None:
        raise NotFound("page")
    try:
        project, role = twinspace_for(db, principal, page.project_id, write=write)
    except NotFound:
        raise NotFound("page") from None
    if not sees_drafts(role) and not _published_path(db, page):
        raise NotFound("page")
    return page, project, role


def _published_path(db: DbSession, page: Page) -> bool:
    """The page and every page above it are published (what pupils may read)."""
    if page.status != "published":
        return False
    parent_id, steps = page.parent_id, 0
    while parent_id is not None and steps <= MAX_DEPTH + 2:
        row = db.execute(select(Page.status, Page.parent_id).where(Page.id == parent_id)).first()
        if row is None:
            return True
        if row.status != "published":
            return False
        parent_id, steps = row.parent_id, steps + 1
    return True


def _is_id(value: str) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 36


@dataclass
class Author:
    kind: str  # user | pupil | system
    id: str
    name: str


def author_of(principal) -> Author:
    if principal.pupil is not None:
        return Author("pupil", principal.pupil.id, principal.pupil.username)
    user = principal.user
    return Author("user", user.id, f"{user.first_name} {user.last_name}".strip())


# --- page documents -----------------------------------------------------------------------


def load_doc(page: Page) -> Doc:
    return crdt.doc_from_update(page.doc or b"")


def change_summary(before: str, after: str) -> str:
    if before == after:
        return "no text change"
    start, end = crdt._common_affixes(before, after)
    added = len(after) - start - end
    removed = len(before) - start - end
    parts = []
    if added:
        parts.append(f"+{added}")
    if removed:
        parts.append(f"-{removed}")
    return " ".join(parts) + " characters"


def save_doc(
    db: DbSession,
    page: Page,
    doc: Doc,
    *,
    author: Author,
    state_before: bytes,
    text_before: str,
    summary: str | None = None,
) -> PageRevision | None:
    """Store the document; when it changed, keep what changed as a history entry.

    The entry holds the server document's own diff (not the raw client bytes), so replaying
    the entries in order rebuilds the document exactly as it was after each one."""
    state_after = doc.get_state()
    text_after = crdt.get_text(doc)
    if state_after == state_before and text_after == text_before:
        return None
    full = doc.get_update()
    if len(full) > MAX_DOC_BYTES:
        raise DomainError(
            "too_large",
            f"This page would grow beyond {MAX_DOC_BYTES // (1024 * 1024)} MB; "
            "split it into several pages.",
            status=413,
        )
    change = doc.get_update(state_before) if state_before else full
    page.doc = full
    page.updated_at = clock.now()
    page.updated_by = author.id
    revision = PageRevision(
        page_id=page.id,
        author_kind=author.kind,
        author_id=author.id,
        author_name=author.name[:200],
        update=change,
        summary=(summary or change_summary(text_before, text_after))[:200],
        at=clock.now(),
    )
    db.add(revision)
    db.flush()
    return revision


def text_at(db: DbSession, page: Page, revision_id: int) -> str:
    """The body as it was right after ``revision_id``: its history replayed in order."""
    doc = crdt.new_doc()
    for update in db.scalars(
        select(PageRevision.update)
        .where(PageRevision.page_id == page.id, PageRevision.id <= revision_id)
        .order_by(PageRevision.id)
    ):
        crdt.apply_update(doc, update)
    return crdt.get_text(doc)


def create_page(
    db: DbSession,
    project: Project,
    *,
    title: str,
    author: Author,
    page_id: str | None = None,
    parent_id: str | None = None,
    position: int | None = None,
    status: str = "draft",
    text: str = "",
    update: bytes | None = None,
) -> Page:
    page = Page(
        id=page_id or new_id(),
        project_id=project.id,
        parent_id=parent_id,
        title=title,
        position=position if position is not None else next_position(db, project.id, parent_id),
        status=status,
        doc=b"",
        created_by=author.id,
        created_at=clock.now(),
        updated_at=clock.now(),
        updated_by=author.id,
        version=1,
    )
    db.add(page)
    db.flush()
    doc = crdt.new_doc()
    empty_state, empty_text = doc.get_state(), ""
    if update:
        crdt.apply_update(doc, update)
    elif text:
        crdt.set_text(doc, text)
    page.doc = doc.get_update()
    if update or text:
        save_doc(
            db,
            page,
            doc,
            author=author,
            state_before=empty_state,
            text_before=empty_text,
            summary="created",
        )
    return page


def next_position(db: DbSession, project_id: str, parent_id: str | None) -> int:
    top = db.scalar(
        select(func.max(Page.position)).where(
            Page.project_id == project_id,
            Page.parent_id.is_(None) if parent_id is None else Page.parent_id == parent_id,
        )
    )
    return 0 if top is None else top + 1


def page_count(db: DbSession, project_id: str) -> int:
    return db.scalar(select(func.count()).where(Page.project_id == project_id)) or 0


# --- the starting pages (FAQ: begin by getting to know each other, then ~one activity a month)

GETTING_TO_KNOW = """# Getting to know each other

Start the project by introducing the classes to each other.

## Ideas
- Each pupil writes a short introduction: a nickname, hobbies, a favourite book or game.
  No surnames, addresses or other personal data.
- Share a photo or drawing of your school or town (no faces without consent).
- Agree on the working language(s) and how often you meet online.

## Our classes
- School 1:
- School 2:
"""

ACTIVITY_PLAN = """# Activity plan

About one joint activity a month keeps both classes working together. Each page below is one
month: plan it with your partner, then publish it when the pupils start.

Keep, rename, move or delete these pages as your project needs.
"""

MONTH_TEMPLATE = """# {month}: joint activity

## Aim
- What should the pupils learn or make this month?

## What the pupils do
- Before (in each class):
- Together (both schools):
- Afterwards:

## Tools and materials

## Results to share
"""


def _months(start: datetime, count: int) -> list[str]:
    year, month = start.year, start.month
    result = []
    for _ in range(count):
        result.append(f"{year:04d}-{month:02d}")
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return result


def open_twinspace(db: DbSession, project: Project) -> None:
    """Create a new TwinSpace's starting pages: a published "Getting to know each other" page
    and an "Activity plan" with one draft page per month for the next ten months, starting
    with the month of approval. Teachers keep or delete them. Does nothing when the TwinSpace
    already has pages (so calling it twice is harmless)."""
    if db.scalar(select(Page.id).where(Page.project_id == project.id).limit(1)) is not None:
        return
    author = Author("system", project.creator_id, "TwinSpace")
    create_page(
        db,
        project,
        title="Getting to know each other",
        author=author,
        position=0,
        status="published",
        text=GETTING_TO_KNOW,
    )
    plan = create_page(
        db,
        project,
        title="Activity plan",
        author=author,
        position=1,
        status="published",
        text=ACTIVITY_PLAN,
    )
    start = project.decided_at or clock.now()
    for index, month in enumerate(_months(start, ACTIVITY_MONTHS)):
        create_page(
            db,
            project,
            title=f"{month} — joint activity",
            author=author,
            parent_id=plan.id,
            position=index,
            status="draft",
            text=MONTH_TEMPLATE.format(month=month),
        )
    db.flush()
