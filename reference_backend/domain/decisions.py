"""NSO decisions: approve / reject / ask for information, each audited, notified and undoable.

Every decision is scoped to the staff member's country (an item of another country does not
exist for them), checked against the version the staff member saw (a decision made by someone
else first is a conflict, never overwritten), and written to the audit log together with the
state it replaced, so the same staff member can take it back within ``UNDO_SECONDS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session as DbSession

from api_client.models.common import Reason
from api_client.models.nso import UNDO_SECONDS, VALIDATION_DAYS
from reference_backend import changes, clock, security
from reference_backend.errors import Conflict, Forbidden, Invalid, NotAllowed, NotFound
from reference_backend.notify import notify
from reference_backend.tables import (
    Application,
    AuditEntry,
    Membership,
    Organisation,
    Page,
    Project,
    ProjectApproval,
    ProjectMember,
    User,
)

OPEN = ("pending", "info_requested")
KINDS = ("application", "organisation", "project")
ACTIONS = ("approve", "reject", "request_info")
UNDO_WINDOW = timedelta(seconds=UNDO_SECONDS)
OVERDUE_AFTER = timedelta(days=VALIDATION_DAYS + 1)  # age in whole days > VALIDATION_DAYS

VERBS = {
    "approve": "approved",
    "reject": "rejected",
    "request_info": "asked for more information on",
    "undo": "undid a decision on",
    "deactivate": "switched off",
    "activate": "switched on",
}

# Reasons staff pick instead of typing (the text is what the person concerned reads).
TEMPLATES: list[dict] = [
    {
        "code": "not_teaching_role",
        "kinds": ["application"],
        "actions": ["reject"],
        "text": "The role you gave is not a teaching or pedagogical role at a school.",
    },
    {
        "code": "employment_unconfirmed",
        "kinds": ["application"],
        "actions": ["reject"],
        "text": "We could not confirm that you work at the school on your profile.",
    },
    {
        "code": "duplicate_account",
        "kinds": ["application"],
        "actions": ["reject"],
        "text": "You already have another account on the platform; please use that one.",
    },
    {
        "code": "confirm_employment",
        "kinds": ["application"],
        "actions": ["request_info"],
        "text": "Please confirm your employment at the school (for example a short email "
        "from the head teacher to your National Support Organisation).",
    },
    {
        "code": "add_school",
        "kinds": ["application"],
        "actions": ["request_info"],
        "text": "Please add the school where you teach to your profile.",
    },
    {
        "code": "duplicate_organisation",
        "kinds": ["organisation"],
        "actions": ["reject"],
        "text": "This organisation is already registered; search for it by country and "
        "words of its name and add it to your profile.",
    },
    {
        "code": "not_a_school",
        "kinds": ["organisation"],
        "actions": ["reject"],
        "text": "This organisation is not a school eligible for eTwinning.",
    },
    {
        "code": "school_number_unknown",
        "kinds": ["organisation"],
        "actions": ["reject", "request_info"],
        "text": "The national school number could not be found in the national register.",
    },
    {
        "code": "incomplete_description",
        "kinds": ["project"],
        "actions": ["reject", "request_info"],
        "text": "The project description is incomplete: describe the aims, the work process "
        "and the expected results.",
    },
    {
        "code": "ineligible_founder",
        "kinds": ["project"],
        "actions": ["reject"],
        "text": "A founder of the project is not a validated teacher of a validated school.",
    },
    {
        "code": "not_pedagogical",
        "kinds": ["project"],
        "actions": ["reject"],
        "text": "The project has no pedagogical content or involves commercial activity.",
    },
]
_TEMPLATES = {t["code"]: t for t in TEMPLATES}


@dataclass
class Outcome:
    entry: AuditEntry
    kind: str
    id: str
    action: str
    state: str
    version: int
    project_state: str | None = None

    @property
    def undo_until(self) -> datetime:
        return self.entry.at + UNDO_WINDOW


# --- small helpers -----------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def full_name(user: User | None) -> str:
    return f"{user.first_name} {user.last_name}" if user is not None else "someone"


def age_days(since: datetime | None) -> int:
    if since is None:
        return 0
    return max(0, (clock.now() - since).days)


def is_overdue(since: datetime | None) -> bool:
    return age_days(since) > VALIDATION_DAYS


def resolve_reason(kind: str, action: str, reason: str | None, template: str | None) -> str | None:
    """The reason the person concerned will read; required to reject or ask for information."""
    text = (reason or "").strip() or None
    if template is not None:
        tpl = _TEMPLATES.get(template)
        if tpl is None or kind not in tpl["kinds"] or action not in tpl["actions"]:
            raise Invalid("template", f"No reason template {template!r} for this decision.")
        text = tpl["text"] + (f" {text}" if text else "")
    if action in ("reject", "request_info") and not text:
        what = "a rejection" if action == "reject" else "a request for information"
        raise Invalid("reason", f"Give the reason for {what}: type it or pick a template.")
    return text


def latest_entry(db: DbSession, subject_type: str, subject_id: str) -> AuditEntry | None:
    return db.scalar(
        select(AuditEntry)
        .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == subject_id)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )


def _already_decided(db: DbSession, subject_type: str, subject_id: str, state: str):
    last = latest_entry(db, subject_type, subject_id)
    if last is not None:
        actor = db.get(User, last.actor_id)
        message = (
            f"{full_name(actor)} {VERBS.get(last.action, last.action)} this "
            f"{subject_type} at {last.at:%Y-%m-%d %H:%M} UTC; it is now “{state}”."
        )
        action = f"decided_by:{last.actor_id}"
    else:
        message = f"This {subject_type} changed since you loaded it; it is now “{state}”."
        action = None
    return Conflict(
        "already_decided",
        message,
        reasons=[
            Reason(
                code="already_decided",
                message=message,
                fix="Reload the item to see the decision; nothing was overwritten.",
                fixed_by="nso",
                action=action,
            )
        ],
    )


def _locked(db: DbSession, stmt):
    return db.scalar(stmt.with_for_update().execution_options(populate_existing=True))


# --- loading, scoped to the staff member's country ---------------------------------------


def get_application(db: DbSession, country: str, app_id: str, *, lock: bool = False):
    stmt = select(Application).where(Application.id == app_id, Application.country == country)
    row = _locked(db, stmt) if lock else db.scalar(stmt)
    if row is None:
        raise NotFound("application")
    return row


def get_organisation(db: DbSession, country: str, org_id: str, *, lock: bool = False):
    stmt = select(Organisation).where(Organisation.id == org_id, Organisation.country == country)
    row = _locked(db, stmt) if lock else db.scalar(stmt)
    if row is None:
        raise NotFound("organisation")
    return row


def get_project(db: DbSession, country: str, project_id: str, *, lock: bool = False):
    """The project and this country's approval row (no row: not this NSO's project)."""
    approval = db.scalar(
        select(ProjectApproval).where(
            ProjectApproval.project_id == project_id, ProjectApproval.country == country
        )
    )
    if approval is None:
        raise NotFound("project")
    if lock:
        # the project row first: two NSOs approving at once serialise here, so the second
        # sees the first's approval and makes the project final
        project = _locked(db, select(Project).where(Project.id == project_id))
        approval = _locked(db, select(ProjectApproval).where(ProjectApproval.id == approval.id))
    else:
        project = db.get(Project, project_id)
    if project is None or approval is None:
        raise NotFound("project")
    return project, approval


# --- what refuses an approval ------------------------------------------------------------


def application_blockers(db: DbSession, user: User) -> list[Reason]:
    """Why this teacher cannot be validated: company staff only, or no school at all."""
    from reference_backend.domain.rules import BLOCKING_ROLES, SCHOOL_TYPES, current_memberships

    memberships = current_memberships(db, user.id)
    teaching = [(m, o) for m, o in memberships if m.role not in BLOCKING_ROLES]
    if memberships and not teaching:
        return [
            Reason(
                code="company_staff",
                message="The teacher's only role is “Company staff”: no company-staff member "
                "gets eTwinning access.",
                fix="Ask the teacher for information (their role at a school), or reject.",
                fixed_by="nso",
            )
        ]
    if not any(o.type in SCHOOL_TYPES and o.state != "rejected" for _m, o in teaching):
        return [
            Reason(
                code="no_school",
                message="The teacher has no school on their profile (no organisation, or only "
                "non-school or rejected organisations).",
                fix="Ask the teacher to add the school where they teach, or reject.",
                fixed_by="nso",
            )
        ]
    return []


# --- the decisions -----------------------------------------------------------------------


def decide(
    db: DbSession,
    staff: User,
    kind: str,
    item_id: str,
    action: str,
    *,
    version: int,
    reason: str | None = None,
    template: str | None = None,
) -> Outcome:
    if kind not in KINDS:
        raise NotFound(kind)
    if action not in ACTIONS:
        raise Invalid("action", "The action is approve, reject or request_info.")
    text = resolve_reason(kind, action, reason, template)
    country = staff.staff_country
    handler = {
        "application": _decide_application,
        "organisation": _decide_organisation,
        "project": _decide_project,
    }[kind]
    return handler(db, staff, country, item_id, action, text, version)


def _audit(db, staff, action, subject_type, subject_id, reason, data) -> AuditEntry:
    entry = AuditEntry(
        actor_id=staff.id,
        country=staff.staff_country,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        reason=reason,
        data=data,
        at=clock.now(),
    )
    db.add(entry)
    db.flush()
    return entry


def _decide_application(db, staff, country, app_id, action, text, version) -> Outcome:
    app = get_application(db, country, app_id, lock=True)
    if app.state not in OPEN or app.version != version:
        raise _already_decided(db, "application", app.id, app.state)
    user = _locked(db, select(User).where(User.id == app.user_id))
    if action == "approve":
        blockers = application_blockers(db, user)
        if blockers:
            raise NotAllowed(
                "cannot_approve", "This teacher cannot be validated for eTwinning.", blockers
            )
    now = clock.now()
    before = {
        "app": {
            "state": app.state,
            "reason": app.reason,
            "decided_at": _iso(app.decided_at),
            "decided_by": app.decided_by,
        },
        "user": {"state": user.state, "rejection_reason": user.rejection_reason},
    }
    app.decided_at, app.decided_by = now, staff.id
    if action == "approve":
        app.state, app.reason = "approved", None
        user.state, user.rejection_reason = "etwinning_validated", None
        note = "Your eTwinning registration was validated: welcome to eTwinning!"
    elif action == "reject":
        app.state, app.reason = "rejected", text
        user.state, user.rejection_reason = "etwinning_rejected", text
        note = f"Your eTwinning registration was not validated: {text}"
    else:
        app.state, app.reason = "info_requested", text
        note = f"Your National Support Organisation asks for more information: {text}"
    app.version += 1
    user.version += 1
    entry = _audit(
        db,
        staff,
        action,
        "application",
        app.id,
        text,
        {"before": before, "after": {"app": app.version, "user": user.version}},
    )
    notify(db, user.id, f"application_{app.state}", note, "application", app.id)
    _record_application(db, app)
    return Outcome(entry, "application", app.id, action, app.state, app.version)


def _record_application(db, app: Application) -> None:
    changes.record(db, [changes.nso(app.country)], "nso_application", app.id)
    changes.record(db, [changes.user(app.user_id)], "user", app.user_id)


def _org_audiences(db, org: Organisation) -> list[str]:
    users = list(
        db.scalars(
            select(Membership.user_id)
            .where(Membership.org_id == org.id, Membership.left_at.is_(None))
            .limit(500)
        )
    )
    if org.registered_by:
        users.append(org.registered_by)
    return [changes.user(u) for u in users]


def _decide_organisation(db, staff, country, org_id, action, text, version) -> Outcome:
    org = get_organisation(db, country, org_id, lock=True)
    if org.state != "pending" or org.version != version:
        raise _already_decided(db, "organisation", org.id, org.state)
    if action == "request_info" and org.registered_by is None:
        raise NotAllowed(
            "nobody_to_ask",
            "Nobody registered this organisation on the platform, so there is nobody to ask.",
        )
    before = {
        "state": org.state,
        "rejection_reason": org.rejection_reason,
        "decided_at": _iso(org.decided_at),
    }
    name = org.public_name
    if action == "approve":
        org.state, org.rejection_reason, org.decided_at = "validated", None, clock.now()
        note = f"“{name}” was validated by your National Support Organisation."
    elif action == "reject":
        org.state, org.rejection_reason, org.decided_at = "rejected", text, clock.now()
        note = f"“{name}” was not validated: {text}"
    else:
        note = f"Your National Support Organisation asks about “{name}”: {text}"
    org.version += 1
    entry = _audit(
        db,
        staff,
        action,
        "organisation",
        org.id,
        text,
        {"before": before, "after": {"org": org.version}},
    )
    if org.registered_by:
        kind = (
            "organisation_info_requested"
            if action == "request_info"
            else f"organisation_{org.state}"
        )
        notify(db, org.registered_by, kind, note, "organisation", org.id)
    _record_organisation(db, org)
    return Outcome(entry, "organisation", org.id, action, org.state, org.version)


def _record_organisation(db, org: Organisation) -> None:
    changes.record(db, [changes.nso(org.country)], "nso_organisation", org.id)
    changes.record(db, _org_audiences(db, org), "organisation", org.id)


def _founder_rows(db, project: Project) -> list[ProjectMember]:
    return list(
        db.scalars(
            select(ProjectMember).where(
                ProjectMember.project_id == project.id,
                (ProjectMember.founder.is_(True))
                | ProjectMember.user_id.in_((project.creator_id, project.partner_id)),
            )
        )
    )


def _decide_project(db, staff, country, project_id, action, text, version) -> Outcome:
    project, approval = get_project(db, country, project_id, lock=True)
    if approval.state == "waiting":
        raise NotAllowed(
            "partner_not_accepted",
            "The partner has not accepted this project yet; it cannot be decided before.",
        )
    if approval.state not in OPEN or approval.version != version:
        raise _already_decided(db, "project", project.id, approval.state)
    if project.state != "awaiting_nso":
        raise NotAllowed(
            "project_not_awaiting_nso",
            f"The project is “{project.state}”, not waiting for NSO approval.",
        )
    others = [
        a
        for a in db.scalars(
            select(ProjectApproval)
            .where(ProjectApproval.project_id == project.id, ProjectApproval.id != approval.id)
            .execution_options(populate_existing=True)
        )
    ]
    now = clock.now()
    before = {
        "approval": {
            "state": approval.state,
            "reason": approval.reason,
            "decided_at": _iso(approval.decided_at),
            "decided_by": approval.decided_by,
        },
        "project": {
            "state": project.state,
            "decided_at": _iso(project.decided_at),
            "rejection_reason": project.rejection_reason,
        },
        "others": {a.id: {"state": a.state, "reason": a.reason} for a in others},
        "members": {},
        "pages": [],
    }
    approval.decided_at, approval.decided_by = now, staff.id
    project_changed = False
    if action == "approve":
        approval.state, approval.reason = "approved", None
        if all(a.state == "approved" for a in others):
            project.state, project.decided_at, project.rejection_reason = "approved", now, None
            project_changed = True
            for member in _founder_rows(db, project):
                before["members"][member.id] = member.state
                member.state = "active"
            existing = set(db.scalars(select(Page.id).where(Page.project_id == project.id)))
            _open_twinspace(db, project)
            db.flush()
            created = set(db.scalars(select(Page.id).where(Page.project_id == project.id)))
            before["pages"] = sorted(created - existing)
            note = f"Your project “{project.title}” was approved: its TwinSpace is open."
        else:
            waiting = ", ".join(sorted(a.country for a in others if a.state != "approved"))
            note = (
                f"Your project “{project.title}” was approved by the NSO of {country}; it "
                f"still needs the approval of the NSO of {waiting}."
            )
    elif action == "reject":
        approval.state, approval.reason = "rejected", text
        project.state, project.decided_at, project.rejection_reason = "rejected", now, text
        project_changed = True
        for other in others:
            if other.state in OPEN or other.state == "waiting":
                other.state = "closed"
                other.reason = f"Rejected by the NSO of {country}."
                other.version += 1
        note = f"Your project “{project.title}” was not approved: {text}"
    else:
        approval.state, approval.reason = "info_requested", text
        note = f"The NSO of {country} asks about your project “{project.title}”: {text}"
    approval.version += 1
    if project_changed:
        project.version += 1
    entry = _audit(
        db,
        staff,
        action,
        "project",
        project.id,
        text,
        {
            "before": before,
            "after": {"approval": approval.version, "project": project.version},
            "approval_id": approval.id,
        },
    )
    kind = f"project_{project.state}" if project_changed else f"project_{approval.state}"
    for uid in dict.fromkeys((project.creator_id, project.partner_id)):
        notify(db, uid, kind, note, "project", project.id)
    _record_project(db, project, [approval, *others])
    return Outcome(
        entry, "project", project.id, action, approval.state, approval.version, project.state
    )


def _open_twinspace(db, project: Project) -> None:
    try:
        from reference_backend.domain.twinspace import open_twinspace
    except ModuleNotFoundError as exc:  # the TwinSpace module is part of every full install
        if exc.name != "reference_backend.domain.twinspace":
            raise
        return
    open_twinspace(db, project)


def _record_project(db, project: Project, approvals) -> None:
    changes.record(db, [changes.nso(a.country) for a in approvals], "nso_project", project.id)
    audiences = [changes.project(project.id)]
    audiences += [changes.user(u) for u in (project.creator_id, project.partner_id)]
    changes.record(db, audiences, "project", project.id)


# --- undo --------------------------------------------------------------------------------


def undo(db: DbSession, staff: User, audit_id: int) -> tuple[AuditEntry, AuditEntry, str, int]:
    """Take back a decision: (undo entry, original entry, state now, version now)."""
    entry = db.get(AuditEntry, audit_id)
    if entry is None or entry.country != staff.staff_country:
        raise NotFound("decision")
    if entry.action not in ACTIONS or not entry.data or "before" not in entry.data:
        raise NotAllowed("not_undoable", "Only approve, reject and request_info can be undone.")
    if entry.actor_id != staff.id:
        raise Forbidden(
            "Only the staff member who made a decision can undo it.", code="not_your_decision"
        )
    if clock.now() - entry.at > UNDO_WINDOW:
        raise Conflict(
            "undo_expired",
            f"A decision can be undone only within {UNDO_SECONDS} seconds; this one was made "
            f"at {entry.at:%Y-%m-%d %H:%M:%S} UTC.",
        )
    later = db.scalar(
        select(AuditEntry)
        .where(
            AuditEntry.subject_type == entry.subject_type,
            AuditEntry.subject_id == entry.subject_id,
            AuditEntry.id > entry.id,
        )
        .order_by(AuditEntry.id)
        .limit(1)
    )
    if later is not None:
        if later.action == "undo" and (later.data or {}).get("undo_of") == entry.id:
            raise Conflict("already_undone", "This decision was already undone.")
        raise Conflict(
            "undo_conflict", "The item was decided again after this decision; undo that first."
        )
    handler = {
        "application": _undo_application,
        "organisation": _undo_organisation,
        "project": _undo_project,
    }[entry.subject_type]
    state, version, note, notify_ids = handler(db, entry)
    undo_entry = _audit(
        db,
        staff,
        "undo",
        entry.subject_type,
        entry.subject_id,
        f"Undo of the decision #{entry.id} ({entry.action}).",
        {"undo_of": entry.id},
    )
    for uid in notify_ids:
        notify(
            db,
            uid,
            f"{entry.subject_type}_decision_withdrawn",
            note,
            entry.subject_type,
            entry.subject_id,
        )
    return undo_entry, entry, state, version


def _conflict_changed():
    return Conflict(
        "undo_conflict",
        "The item changed after this decision, so it can no longer be undone.",
    )


def _undo_application(db, entry: AuditEntry):
    app = get_application(db, entry.country, entry.subject_id, lock=True)
    user = _locked(db, select(User).where(User.id == app.user_id))
    after = entry.data["after"]
    if app.version != after["app"] or user.version != after["user"]:
        raise _conflict_changed()
    before = entry.data["before"]
    app.state = before["app"]["state"]
    app.reason = before["app"]["reason"]
    app.decided_at = _dt(before["app"]["decided_at"])
    app.decided_by = before["app"]["decided_by"]
    user.state = before["user"]["state"]
    user.rejection_reason = before["user"]["rejection_reason"]
    app.version += 1
    user.version += 1
    _record_application(db, app)
    note = "The decision on your eTwinning registration was withdrawn; it is being reviewed again."
    return app.state, app.version, note, [user.id]


def _undo_organisation(db, entry: AuditEntry):
    org = get_organisation(db, entry.country, entry.subject_id, lock=True)
    if org.version != entry.data["after"]["org"]:
        raise _conflict_changed()
    before = entry.data["before"]
    org.state = before["state"]
    org.rejection_reason = before["rejection_reason"]
    org.decided_at = _dt(before["decided_at"])
    org.version += 1
    _record_organisation(db, org)
    note = f"The decision on “{org.public_name}” was withdrawn; it is being reviewed again."
    return org.state, org.version, note, [org.registered_by] if org.registered_by else []


def _undo_project(db, entry: AuditEntry):
    project, approval = get_project(db, entry.country, entry.subject_id, lock=True)
    after = entry.data["after"]
    if approval.version != after["approval"] or project.version != after["project"]:
        raise _conflict_changed()
    before = entry.data["before"]
    approval.state = before["approval"]["state"]
    approval.reason = before["approval"]["reason"]
    approval.decided_at = _dt(before["approval"]["decided_at"])
    approval.decided_by = before["approval"]["decided_by"]
    approval.version += 1
    project_changed = project.state != before["project"]["state"]
    project.state = before["project"]["state"]
    project.decided_at = _dt(before["project"]["decided_at"])
    project.rejection_reason = before["project"]["rejection_reason"]
    others = []
    for other_id, prior in before["others"].items():
        other = db.get(ProjectApproval, other_id)
        if other is None:
            continue
        others.append(other)
        if other.state != prior["state"]:
            other.state, other.reason = prior["state"], prior["reason"]
            other.version += 1
    for member_id, state in before["members"].items():
        member = db.get(ProjectMember, member_id)
        if member is not None:
            member.state = state
    if before["pages"]:
        db.execute(delete(Page).where(Page.id.in_(before["pages"])))
        for page_id in before["pages"]:
            changes.record(db, [changes.project(project.id)], "page", page_id, op="delete")
    if project_changed:
        project.version += 1
    _record_project(db, project, [approval, *others])
    note = (
        f"The decision on your project “{project.title}” was withdrawn; it is being reviewed again."
    )
    return (
        approval.state,
        approval.version,
        note,
        list(dict.fromkeys((project.creator_id, project.partner_id))),
    )


# --- switching accounts off and on -------------------------------------------------------


def set_active(
    db: DbSession, staff: User, user_id: str, active: bool, reason: str | None
) -> tuple[User, int]:
    """Switch an account of the staff member's country off (ending its sessions) or on."""
    from reference_backend.tables import Session

    user = _locked(db, select(User).where(User.id == user_id, User.country == staff.staff_country))
    if user is None:
        raise NotFound("user")
    if user.id == staff.id and not active:
        raise NotAllowed("cannot_switch_off_self", "You cannot switch off your own account.")
    ended = 0
    if user.active != active:
        user.active = active
        user.version += 1
        if not active:
            ended = (
                db.scalar(
                    select(func.count()).where(
                        Session.subject_kind == "account",
                        Session.subject_id == user.account_id,
                        Session.revoked_at.is_(None),
                    )
                )
                or 0
            )
            security.revoke_subject(db, "account", user.account_id)
        _audit(
            db,
            staff,
            "activate" if active else "deactivate",
            "user",
            user.id,
            (reason or "").strip() or None,
            None,
        )
        text = (
            "Your account was switched on again by your National Support Organisation."
            if active
            else "Your account was switched off by your National Support Organisation"
            + (f": {reason.strip()}" if reason and reason.strip() else ".")
        )
        notify(
            db,
            user.id,
            "account_activated" if active else "account_deactivated",
            text,
            "user",
            user.id,
        )
        changes.record(db, [changes.user(user.id), changes.nso(user.country)], "user", user.id)
    return user, ended
