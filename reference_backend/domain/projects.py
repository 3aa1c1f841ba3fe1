"""Projects: creation with one partner, the partner's answer, edits while pending, members.

States: ``awaiting_partner`` -> (partner accepts) ``awaiting_nso`` -> ``approved`` | ``rejected``
(decided per founder country by the NSOs, elsewhere) ; ``awaiting_partner`` -> ``declined`` (by
the partner); ``approved`` -> ``closed`` (read-only archive). Every refusal is a ``DomainError``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from api_client.models.common import Reason
from api_client.models.networking import SchoolRef
from api_client.models.projects import (
    MAX_IMAGE_BYTES,
    ApprovalOut,
    MemberOut,
    ProjectCreate,
    ProjectOut,
    ProjectPreview,
    ProjectSummary,
    ProjectUpdate,
)
from reference_backend import changes, clock
from reference_backend.domain import rules
from reference_backend.errors import Conflict, Forbidden, Invalid, NotAllowed, NotFound
from reference_backend.notify import notify
from reference_backend.tables import (
    Contact,
    Organisation,
    Project,
    ProjectApproval,
    ProjectMember,
    User,
    new_id,
)

PENDING_STATES = ("awaiting_partner", "awaiting_nso")
TEXT_FIELDS = (
    "title",
    "short_description",
    "languages",
    "pupils_count",
    "age_min",
    "age_max",
    "subjects",
    "vocational_subjects",
    "aims",
    "work_process",
    "expected_results",
)


def _name(user: User) -> str:
    return f"{user.first_name} {user.last_name}".strip()


def _brief(user: User):
    from api_client.models.networking import PersonBrief

    return PersonBrief(id=user.id, name=_name(user), country=user.country)


def _school(org: Organisation) -> SchoolRef:
    return SchoolRef(id=org.id, public_name=org.public_name, country=org.country, city=org.city)


# --- images ------------------------------------------------------------------------------------


def decode_image(data: str) -> tuple[bytes, str]:
    """A representative image from base64: PNG, JPEG or WebP by magic bytes, ≤ 200 KB."""
    text = data.strip()
    if text.startswith("data:"):
        _, _, text = text.partition(",")
    text = "".join(text.split())
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("image_base64", "The image is not valid base64.") from None
    if not raw:
        raise Invalid("image_base64", "The image is empty.")
    if len(raw) > MAX_IMAGE_BYTES:
        raise Invalid(
            "image_base64",
            f"The image is {len(raw) // 1024} KB; at most {MAX_IMAGE_BYTES // 1024} KB is allowed.",
            code="too_large",
        )
    if raw.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = "image/png"
    elif raw.startswith(b"\xff\xd8\xff"):
        kind = "image/jpeg"
    elif len(raw) >= 12 and raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        kind = "image/webp"
    else:
        raise Invalid(
            "image_base64", "The image must be a PNG, JPEG or WebP file.", code="unsupported_image"
        )
    return raw, kind


# --- creation ----------------------------------------------------------------------------------


@dataclass
class Plan:
    """A checked project creation: everything needed to create it, nothing created yet."""

    body: ProjectCreate
    creator: User
    school: Organisation
    partner: User
    image: bytes | None
    image_type: str | None

    @property
    def scope(self) -> str:
        return "national" if self.creator.country == self.partner.country else "european"

    @property
    def countries(self) -> list[str]:
        return list(dict.fromkeys([self.creator.country, self.partner.country]))


def choose_school(db: DbSession, user: User, school_id: str | None, field: str) -> Organisation:
    """One of the user's eTwinning schools: the one named, or the only one."""
    schools = rules.etwinning_schools(db, user.id)
    if school_id is None:
        if len(schools) == 1:
            return schools[0]
        if not schools:
            raise NotAllowed(
                "no_etwinning_school",
                "None of the organisations on the profile is a validated eTwinning school.",
            )
        raise Invalid(
            field,
            "You work in more than one school: choose the school you take part with.",
            code="school_required",
        )
    for org in schools:
        if org.id == school_id:
            return org
    raise Invalid(field, "Choose one of your validated eTwinning schools.", code="not_your_school")


def accepted_contact(db: DbSession, a: str, b: str) -> bool:
    row = db.scalar(
        select(Contact.id).where(
            Contact.state == "accepted",
            ((Contact.requester_id == a) & (Contact.addressee_id == b))
            | ((Contact.requester_id == b) & (Contact.addressee_id == a)),
        )
    )
    return row is not None


def check_ages(age_min: int, age_max: int) -> None:
    if age_min > age_max:
        raise Invalid("age_max", "The oldest pupils' age is below the youngest.")


def plan_creation(db: DbSession, creator: User, body: ProjectCreate) -> Plan:
    """Check every rule of project creation (FAQ B) and return the plan, or refuse."""
    reasons = rules.project_creator(db, creator)
    if reasons:
        raise NotAllowed("cannot_create_project", "You cannot create a project yet.", reasons)
    if body.id is not None and db.get(Project, body.id.lower()) is not None:
        raise Conflict("exists", "A project with this id exists.", field="id")
    school = choose_school(db, creator, body.creator_school_id, "creator_school_id")
    if body.partner_id == creator.id:
        raise Invalid("partner_id", "Your partner must be someone else.", code="self_partner")
    partner = db.get(User, body.partner_id)
    if partner is None or not accepted_contact(db, creator.id, partner.id):
        raise NotAllowed(
            "partner_not_contact",
            "The partner must be one of your contacts.",
            [
                Reason(
                    code="not_a_contact",
                    message="This person is not among your accepted contacts.",
                    fix="Find them under People, send a contact request, and create the "
                    "project once they accept.",
                    action="request_contact",
                )
            ],
        )
    partner_reasons = rules.project_member(db, partner)
    if partner_reasons:
        raise NotAllowed(
            "partner_not_eligible",
            f"{_name(partner)} cannot be added to a project yet.",
            partner_reasons,
        )
    check_ages(body.age_min, body.age_max)
    image, image_type = (None, None)
    if body.image_base64:
        image, image_type = decode_image(body.image_base64)
    return Plan(body, creator, school, partner, image, image_type)


def preview(plan: Plan) -> ProjectPreview:
    b = plan.body
    return ProjectPreview(
        id=b.id.lower() if b.id else None,
        **{f: getattr(b, f) for f in TEXT_FIELDS},
        has_image=plan.image is not None,
        image_type=plan.image_type,
        image_bytes=len(plan.image or b""),
        scope=plan.scope,
        creator=_brief(plan.creator),
        creator_school=_school(plan.school),
        partner=_brief(plan.partner),
        approval_countries=plan.countries,
    )


def create(db: DbSession, plan: Plan) -> Project:
    b = plan.body
    project = Project(
        id=(b.id or new_id()).lower(),
        **{f: getattr(b, f) for f in TEXT_FIELDS},
        image=plan.image,
        image_type=plan.image_type,
        state="awaiting_partner",
        scope=plan.scope,
        creator_id=plan.creator.id,
        creator_school_id=plan.school.id,
        partner_id=plan.partner.id,
    )
    db.add(project)
    db.flush()
    for country in plan.countries:
        db.add(ProjectApproval(id=new_id(), project_id=project.id, country=country))
    db.add(
        ProjectMember(
            id=new_id(),
            project_id=project.id,
            user_id=plan.creator.id,
            role="teacher_admin",
            founder=True,
            state="active",
        )
    )
    db.add(
        ProjectMember(
            id=new_id(),
            project_id=project.id,
            user_id=plan.partner.id,
            role="teacher_admin",
            founder=True,
            state="invited",
        )
    )
    db.flush()
    notify(
        db,
        plan.partner.id,
        "project_invitation",
        f"{_name(plan.creator)} invites you to found the project “{project.title}” together.",
        "project",
        project.id,
    )
    record(db, project)
    return project


# --- reading -----------------------------------------------------------------------------------


def membership(db: DbSession, project_id: str, user_id: str) -> ProjectMember | None:
    return db.scalar(
        select(ProjectMember).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
        )
    )


def visible(db: DbSession, user: User, project_id: str) -> tuple[Project, ProjectMember]:
    """The project and the caller's membership; 404 to anyone who is not a member."""
    project = db.get(Project, project_id[:36])
    member = membership(db, project.id, user.id) if project is not None else None
    if project is None or member is None:
        raise NotFound("project")
    return project, member


def members(db: DbSession, project_id: str) -> list[tuple[ProjectMember, User]]:
    rows = db.execute(
        select(ProjectMember, User)
        .join(User, User.id == ProjectMember.user_id)
        .where(ProjectMember.project_id == project_id)
        .order_by(ProjectMember.founder.desc(), ProjectMember.joined_at, ProjectMember.id)
    )
    return [(m, u) for m, u in rows]


def member_out(m: ProjectMember, u: User) -> MemberOut:
    return MemberOut(
        user_id=u.id,
        name=_name(u),
        country=u.country,
        role=m.role,
        founder=m.founder,
        state=m.state,
        joined_at=m.joined_at,
    )


def approvals(db: DbSession, project_id: str) -> list[ProjectApproval]:
    return list(
        db.scalars(
            select(ProjectApproval)
            .where(ProjectApproval.project_id == project_id)
            .order_by(ProjectApproval.country)
        )
    )


def project_out(db: DbSession, project: Project, viewer: User | None) -> ProjectOut:
    creator = db.get(User, project.creator_id)
    partner = db.get(User, project.partner_id)
    partner_school = (
        db.get(Organisation, project.partner_school_id) if project.partner_school_id else None
    )
    rows = members(db, project.id)
    mine = next((m for m, u in rows if viewer is not None and u.id == viewer.id), None)
    return ProjectOut(
        id=project.id,
        **{f: getattr(project, f) for f in TEXT_FIELDS},
        has_image=project.image is not None,
        image_type=project.image_type,
        state=project.state,
        scope=project.scope,
        creator=_brief(creator),
        creator_school=_school(db.get(Organisation, project.creator_school_id)),
        partner=_brief(partner),
        partner_school=_school(partner_school) if partner_school else None,
        rejection_reason=project.rejection_reason,
        created_at=project.created_at,
        partner_decided_at=project.partner_decided_at,
        decided_at=project.decided_at,
        closed_at=project.closed_at,
        version=project.version,
        members=[member_out(m, u) for m, u in rows],
        approvals=[
            ApprovalOut(
                country=a.country,
                state=a.state,
                queued_at=a.queued_at,
                decided_at=a.decided_at,
                reason=a.reason,
            )
            for a in approvals(db, project.id)
        ],
        my_role=mine.role if mine else None,
        my_state=mine.state if mine else None,
    )


def summary(db: DbSession, project: Project, mine: ProjectMember) -> ProjectSummary:
    return ProjectSummary(
        id=project.id,
        title=project.title,
        state=project.state,
        scope=project.scope,
        creator=_brief(db.get(User, project.creator_id)),
        partner=_brief(db.get(User, project.partner_id)),
        created_at=project.created_at,
        version=project.version,
        my_role=mine.role,
        my_state=mine.state,
        founder=mine.founder,
    )


def record(db: DbSession, project: Project, *extra_users: str, op: str = "upsert") -> None:
    """The project changed: tell its members (and the NSOs once it is in their queue)."""
    audiences = [changes.project(project.id)]
    audiences += [
        changes.user(uid)
        for uid in db.scalars(
            select(ProjectMember.user_id).where(ProjectMember.project_id == project.id)
        )
    ]
    audiences += [changes.user(uid) for uid in extra_users]
    audiences += [changes.nso(a.country) for a in approvals(db, project.id) if a.state != "waiting"]
    changes.record(db, audiences, "project", project.id, op=op)


# --- changes while pending ---------------------------------------------------------------------


def _creator_only(project: Project, user: User, what: str) -> None:
    if project.creator_id != user.id:
        raise Forbidden(f"Only the project's creator can {what} it.")


def _pending(project: Project, what: str) -> None:
    if project.state not in PENDING_STATES:
        raise NotAllowed(
            "not_pending",
            f"A project can be {what} only while it waits for the partner or the NSO; "
            f"this one is {project.state.replace('_', ' ')}.",
        )


def update(db: DbSession, project: Project, user: User, body: ProjectUpdate) -> Project:
    _creator_only(project, user, "edit")
    _pending(project, "edited")
    given = body.model_dump(exclude_unset=True)
    changing = any(v is not None for k, v in given.items() if k != "remove_image")
    if not changing and not body.remove_image:
        raise Invalid("body", "Nothing to change.", code="empty_update")
    for field in TEXT_FIELDS:
        value = given.get(field)
        if value is not None:
            setattr(project, field, value)
    check_ages(project.age_min, project.age_max)
    if body.creator_school_id is not None:
        project.creator_school_id = choose_school(
            db, user, body.creator_school_id, "creator_school_id"
        ).id
    if body.image_base64:
        project.image, project.image_type = decode_image(body.image_base64)
    elif body.remove_image:
        project.image, project.image_type = None, None
    project.version += 1
    for a in approvals(db, project.id):
        if a.state == "info_requested":
            a.state = "pending"  # the creator answered: back in the NSO's queue
            a.version += 1
    if project.state == "awaiting_nso":
        notify(
            db,
            project.partner_id,
            "project_edited",
            f"{_name(user)} edited the project “{project.title}”.",
            "project",
            project.id,
        )
    record(db, project)
    return project


def delete(db: DbSession, project: Project, user: User) -> None:
    _creator_only(project, user, "delete")
    _pending(project, "deleted")
    record(db, project, op="delete")
    if project.partner_id != user.id:
        notify(
            db,
            project.partner_id,
            "project_withdrawn",
            f"{_name(user)} withdrew the project “{project.title}”.",
            "project",
            None,
        )
    db.query(ProjectApproval).filter(ProjectApproval.project_id == project.id).delete()
    db.query(ProjectMember).filter(ProjectMember.project_id == project.id).delete()
    db.delete(project)
    db.flush()


# --- the partner's answer ----------------------------------------------------------------------


def _partner_only(project: Project, user: User) -> None:
    if project.partner_id != user.id:
        raise Forbidden("Only the invited partner can answer this invitation.")
    if project.state != "awaiting_partner":
        raise NotAllowed(
            "not_awaiting_partner",
            f"The invitation was already answered; the project is "
            f"{project.state.replace('_', ' ')}.",
        )


def accept(db: DbSession, project: Project, user: User, school_id: str | None) -> Project:
    _partner_only(project, user)
    reasons = rules.project_member(db, user)
    if reasons:
        raise NotAllowed("cannot_join_project", "You cannot be added to a project yet.", reasons)
    school = choose_school(db, user, school_id, "partner_school_id")
    now = clock.now()
    project.partner_school_id = school.id
    project.partner_decided_at = now
    project.state = "awaiting_nso"
    project.version += 1
    for a in approvals(db, project.id):
        a.state = "pending"
        a.queued_at = now
        a.version += 1
    mine = membership(db, project.id, user.id)
    if mine is not None:
        mine.state = "active"
    db.flush()
    notify(
        db,
        project.creator_id,
        "project_accepted",
        f"{_name(user)} accepted the project “{project.title}”; it now waits for NSO approval.",
        "project",
        project.id,
    )
    record(db, project)
    return project


def decline(db: DbSession, project: Project, user: User, reason: str) -> Project:
    _partner_only(project, user)
    project.state = "declined"
    project.partner_decided_at = clock.now()
    project.rejection_reason = reason or None
    project.version += 1
    notify(
        db,
        project.creator_id,
        "project_declined",
        f"{_name(user)} declined the project “{project.title}”"
        + (f": {reason}" if reason else "."),
        "project",
        project.id,
    )
    record(db, project)
    return project


# --- members after approval --------------------------------------------------------------------


def _admin(member: ProjectMember) -> None:
    if member.role != "teacher_admin" or member.state != "active":
        raise Forbidden("Only the project's teacher administrators can do this.")


def _approved(project: Project, what: str) -> None:
    if project.state != "approved":
        if project.state == "closed":
            raise NotAllowed("project_closed", "The project is closed: it is read-only now.")
        raise NotAllowed("not_approved", f"{what} once the project is approved by the NSO.")


def _admins_left(db: DbSession, project_id: str, without: str) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(ProjectMember)
            .where(
                ProjectMember.project_id == project_id,
                ProjectMember.role == "teacher_admin",
                ProjectMember.state == "active",
                ProjectMember.user_id != without,
            )
        )
        or 0
    )


def invite(
    db: DbSession, project: Project, me: ProjectMember, inviter: User, user_id: str, role: str
) -> tuple[ProjectMember, User]:
    _admin(me)
    _approved(project, "Members can be invited")
    invitee = db.get(User, user_id)
    if invitee is None or invitee.staff_country is not None:
        raise NotFound("person")
    if membership(db, project.id, invitee.id) is not None:
        raise Conflict("exists", f"{_name(invitee)} is already a member of this project.")
    reasons = rules.project_member(db, invitee)
    if reasons:
        raise NotAllowed(
            "member_not_eligible", f"{_name(invitee)} cannot be added to a project yet.", reasons
        )
    row = ProjectMember(
        id=new_id(),
        project_id=project.id,
        user_id=invitee.id,
        role=role,
        founder=False,
        state="invited",
    )
    db.add(row)
    db.flush()
    notify(
        db,
        invitee.id,
        "member_invitation",
        f"{_name(inviter)} invites you to the project “{project.title}” as "
        f"{role.replace('_', ' ')}.",
        "project",
        project.id,
    )
    record(db, project)
    return row, invitee


def accept_invitation(db: DbSession, project: Project, me: ProjectMember, user: User) -> None:
    if me.state != "invited":
        raise NotAllowed("not_invited", "You are already a member of this project.")
    if me.founder:
        raise NotAllowed(
            "use_partner_accept", "Accept the founding invitation with the project's accept."
        )
    _approved(project, "An invitation can be accepted")
    reasons = rules.project_member(db, user)
    if reasons:
        raise NotAllowed("cannot_join_project", "You cannot be added to a project yet.", reasons)
    me.state = "active"
    me.joined_at = clock.now()
    for m, _u in members(db, project.id):
        if m.role == "teacher_admin" and m.state == "active" and m.user_id != user.id:
            notify(
                db,
                m.user_id,
                "member_joined",
                f"{_name(user)} joined the project “{project.title}”.",
                "project",
                project.id,
            )
    record(db, project)


def target(db: DbSession, project: Project, user_id: str) -> tuple[ProjectMember, User]:
    row = membership(db, project.id, user_id[:36])
    if row is None:
        raise NotFound("member")
    return row, db.get(User, row.user_id)


def change_role(
    db: DbSession, project: Project, me: ProjectMember, user_id: str, role: str
) -> tuple[ProjectMember, User]:
    _admin(me)
    _approved(project, "Roles can be changed")
    row, user = target(db, project, user_id)
    if (
        row.role == "teacher_admin"
        and role != "teacher_admin"
        and _admins_left(db, project.id, row.user_id) == 0
    ):
        raise NotAllowed(
            "last_teacher_admin",
            "A project needs at least one teacher administrator; make someone else one first.",
        )
    if row.role != role:
        row.role = role
        record(db, project)
    return row, user


def remove(db: DbSession, project: Project, me: ProjectMember, user_id: str) -> None:
    leaving = user_id[:36] == me.user_id
    if not leaving:
        _admin(me)
    _approved(project, "Members can be removed")
    row, user = target(db, project, user_id)
    if row.founder:
        raise NotAllowed("founder", "The project's founders cannot be removed.")
    if (
        row.role == "teacher_admin"
        and row.state == "active"
        and _admins_left(db, project.id, row.user_id) == 0
    ):
        raise NotAllowed(
            "last_teacher_admin", "A project needs at least one teacher administrator."
        )
    db.delete(row)
    db.flush()
    if not leaving:
        notify(
            db,
            user.id,
            "member_removed",
            f"You were removed from the project “{project.title}”.",
            "project",
            project.id,
        )
    record(db, project, user.id)


def close(db: DbSession, project: Project, me: ProjectMember, user: User) -> Project:
    _admin(me)
    if project.state != "approved":
        if project.state == "closed":
            raise NotAllowed("project_closed", "The project is already closed.")
        raise NotAllowed("not_approved", "Only an approved project can be closed.")
    project.state = "closed"
    project.closed_at = clock.now()
    project.version += 1
    for m, _u in members(db, project.id):
        if m.state == "active" and m.user_id != user.id:
            notify(
                db,
                m.user_id,
                "project_closed",
                f"{_name(user)} closed the project “{project.title}”; its TwinSpace is "
                "read-only now.",
                "project",
                project.id,
            )
    record(db, project)
    return project
