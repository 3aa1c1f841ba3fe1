"""Projects: create (with preview), the partner's answer, edits while pending, members, close.

NSO approval itself is decided under ``/nso``; here a project reaches ``awaiting_nso``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from api_client.models.common import ApiError, Page
from api_client.models.projects import (
    MemberInvite,
    MemberOut,
    MemberUpdate,
    PartnerAccept,
    PartnerDecline,
    ProjectCreate,
    ProjectOut,
    ProjectPreview,
    ProjectSummary,
    ProjectUpdate,
)
from reference_backend import changes
from reference_backend.deps import Principal, check_if_match, current_user, get_db
from reference_backend.domain import projects as domain
from reference_backend.errors import NotFound
from reference_backend.tables import Project, ProjectApproval, ProjectMember, User
from reference_backend.uow import UnitOfWorkRoute

router = APIRouter(
    prefix="/projects",
    tags=["Projects"],
    route_class=UnitOfWorkRoute,
    responses={
        401: {"model": ApiError},
        403: {"model": ApiError},
        404: {"model": ApiError},
        409: {"model": ApiError},
        412: {"model": ApiError},
        422: {"model": ApiError},
    },
)

STATES = "^(awaiting_partner|awaiting_nso|approved|rejected|declined|closed)$"


@changes.serializer("project")
def _serialize(db: DbSession, principal: Principal, project_id: str) -> dict | None:
    """Members see their projects; NSO staff see the ones in their country's queue."""
    project = db.get(Project, project_id)
    user = principal.user
    if project is None or user is None:
        return None
    if domain.membership(db, project.id, user.id) is None:
        queued = db.scalar(
            select(ProjectApproval.id).where(
                ProjectApproval.project_id == project.id,
                ProjectApproval.country == (user.staff_country or ""),
                ProjectApproval.state != "waiting",
            )
        )
        if user.staff_country is None or queued is None:
            return None
    return domain.project_out(db, project, user).model_dump(mode="json")


@router.post("/preview", response_model=ProjectPreview)
def preview_project(
    body: ProjectCreate, me: User = Depends(current_user), db: DbSession = Depends(get_db)
):
    """Check everything a submission would check and show what would be submitted."""
    return domain.preview(domain.plan_creation(db, me, body))


@router.post("", status_code=201, response_model=ProjectOut)
def create_project(
    body: ProjectCreate,
    response: Response,
    me: User = Depends(current_user),
    db: DbSession = Depends(get_db),
):
    """Submit a project with one partner from your contacts; the partner is invited to accept."""
    project = domain.create(db, domain.plan_creation(db, me, body))
    response.headers["Location"] = f"/projects/{project.id}"
    return domain.project_out(db, project, me)


@router.get("", response_model=Page[ProjectSummary])
def my_projects(
    state: str | None = Query(None, pattern=STATES),
    offset: int = Query(0, ge=0, le=100_000),
    limit: int = Query(50, ge=1, le=200),
    me: User = Depends(current_user),
    db: DbSession = Depends(get_db),
):
    """Projects I founded, am a member of, or am invited to; newest first."""
    conditions = [ProjectMember.user_id == me.id]
    if state:
        conditions.append(Project.state == state)
    base = select(Project, ProjectMember).join(
        ProjectMember, ProjectMember.project_id == Project.id
    )
    total = (
        db.scalar(
            select(func.count())
            .select_from(Project)
            .join(ProjectMember, ProjectMember.project_id == Project.id)
            .where(*conditions)
        )
        or 0
    )
    rows = db.execute(
        base.where(*conditions)
        .order_by(Project.created_at.desc(), Project.id)
        .offset(offset)
        .limit(limit)
    ).all()
    next_offset = offset + len(rows) if offset + len(rows) < total else None
    return Page[ProjectSummary](
        items=[domain.summary(db, p, m) for p, m in rows], total=total, next_offset=next_offset
    )


@router.get("/{project_id}", response_model=ProjectOut)
def get_project(project_id: str, me: User = Depends(current_user), db: DbSession = Depends(get_db)):
    """The project with its members and the NSO approvals' states (members only)."""
    project, _member = domain.visible(db, me, project_id)
    return domain.project_out(db, project, me)


@router.get(
    "/{project_id}/image",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}}}},
)
def project_image(
    project_id: str, me: User = Depends(current_user), db: DbSession = Depends(get_db)
):
    project, _member = domain.visible(db, me, project_id)
    if project.image is None:
        raise NotFound("image")
    return Response(
        content=bytes(project.image),
        media_type=project.image_type or "application/octet-stream",
        headers={"Cache-Control": "private, max-age=3600"},
    )


@router.patch("/{project_id}", response_model=ProjectOut)
def edit_project(
    project_id: str,
    body: ProjectUpdate,
    request: Request,
    me: User = Depends(current_user),
    db: DbSession = Depends(get_db),
):
    """Edit while waiting for the partner or the NSO (creator only; send If-Match)."""
    project, _member = domain.visible(db, me, project_id)
    check_if_match(request, project.version)
    domain.update(db, project, me, body)
    return domain.project_out(db, project, me)


@router.delete("/{project_id}", status_code=204)
def delete_project(
    project_id: str,
    request: Request,
    me: User = Depends(current_user),
    db: DbSession = Depends(get_db),
):
    """Withdraw a project while it is still pending (creator only)."""
    project, _member = domain.visible(db, me, project_id)
    check_if_match(request, project.version)
    domain.delete(db, project, me)
    return Response(status_code=204)


@router.post("/{project_id}/accept", response_model=ProjectOut)
def partner_accept(
    project_id: str,
    body: PartnerAccept | None = None,
    me: User = Depends(current_user),
    db: DbSession = Depends(get_db),
):
    """The partner accepts, naming their school; the project goes to the NSOs' queues."""
    project, _member = domain.visible(db, me, project_id)
    domain.accept(db, project, me, body.partner_school_id if body else None)
    return domain.project_out(db, project, me)


@router.post("/{project_id}/decline", response_model=ProjectOut)
def partner_decline(
    project_id: str,
    body: PartnerDecline | None = None,
    me: User = Depends(current_user),
    db: DbSession = Depends(get_db),
):
    project, _member = domain.visible(db, me, project_id)
    domain.decline(db, project, me, body.reason if body else "")
    return domain.project_out(db, project, me)


@router.post("/{project_id}/close", response_model=ProjectOut)
def close_project(
    project_id: str, me: User = Depends(current_user), db: DbSession = Depends(get_db)
):
    """Close an approved project: its TwinSpace becomes a read-only archive."""
    project, member = domain.visible(db, me, project_id)
    domain.close(db, project, member, me)
    return domain.project_out(db, project, me)


# --- members -----------------------------------------------------------------------------------


@router.get("/{project_id}/members", response_model=list[MemberOut])
def list_members(
    project_id: str, me: User = Depends(current_user), db: DbSession = Depends(get_db)
):
    project, _member = domain.visible(db, me, project_id)
    return [domain.member_out(m, u) for m, u in domain.members(db, project.id)]


@router.post("/{project_id}/members", status_code=201, response_model=MemberOut)
def invite_member(
    project_id: str,
    body: MemberInvite,
    response: Response,
    me: User = Depends(current_user),
    db: DbSession = Depends(get_db),
):
    """Invite a teacher or observer (teacher administrators, approved projects only)."""
    project, member = domain.visible(db, me, project_id)
    row, user = domain.invite(db, project, member, me, body.user_id, body.role)
    response.headers["Location"] = f"/projects/{project.id}/members/{user.id}"
    return domain.member_out(row, user)


@router.post("/{project_id}/members/me/accept", response_model=MemberOut)
def accept_invitation(
    project_id: str, me: User = Depends(current_user), db: DbSession = Depends(get_db)
):
    project, member = domain.visible(db, me, project_id)
    domain.accept_invitation(db, project, member, me)
    return domain.member_out(member, me)


@router.patch("/{project_id}/members/{user_id}", response_model=MemberOut)
def change_member_role(
    project_id: str,
    user_id: str,
    body: MemberUpdate,
    me: User = Depends(current_user),
    db: DbSession = Depends(get_db),
):
    project, member = domain.visible(db, me, project_id)
    if user_id == "me":
        user_id = me.id
    row, user = domain.change_role(db, project, member, user_id, body.role)
    return domain.member_out(row, user)


@router.delete("/{project_id}/members/{user_id}", status_code=204)
def remove_member(
    project_id: str, user_id: str, me: User = Depends(current_user), db: DbSession = Depends(get_db)
):
    """Teacher administrators remove members; a member may leave (``me``). Never a founder."""
    project, member = domain.visible(db, me, project_id)
    if user_id == "me":
        user_id = me.id
    domain.remove(db, project, member, user_id)
    return Response(status_code=204)
