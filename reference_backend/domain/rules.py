"""The platform's rules, once. Everything that can refuse explains itself as ``Reason``s.

The client never re-implements these: it shows the reasons (``{code, message, fix}``) the
eligibility endpoints and the refusals carry.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from api_client.models.common import Reason
from reference_backend import clock
from reference_backend.domain.countries import COUNTRIES
from reference_backend.tables import Application, Membership, Organisation, User

# Roles at an organisation. All but company staff are teaching or pedagogical staff.
ROLES: dict[str, str] = {
    "teacher": "Teacher",
    "head_teacher": "Head teacher",
    "deputy_head": "Deputy head",
    "psychologist": "School psychologist",
    "librarian": "Librarian",
    "counsellor": "Counsellor",
    "pedagogical_advisor": "Pedagogical advisor",
    "teacher_trainer": "Teacher trainer",
    "special_needs_teacher": "Special needs teacher",
    "ict_coordinator": "ICT coordinator",
    "company_staff": "Company staff",
}
BLOCKING_ROLES = {"company_staff"}

# Capacities of the platform registration form; each decides which fields are required.
CAPACITIES: dict[str, tuple[str, ...]] = {
    "school_staff": ("country", "first_name", "last_name"),
    "teacher_trainer": ("country", "first_name", "last_name", "institution"),
    "researcher": ("country", "first_name", "last_name", "institution"),
    "policy_maker": ("country", "first_name", "last_name", "institution"),
    "other": ("country", "first_name", "last_name", "capacity_other"),
}

ORG_TYPES = ("preschool", "primary", "secondary", "vocational", "other")
SCHOOL_TYPES = {"preschool", "primary", "secondary", "vocational"}

VALIDATION_DAYS = 7  # NSOs validate within about a week


def days_waiting(since) -> int:
    return max(0, (clock.now() - since).days)


def is_etwinning_school(org: Organisation) -> bool:
    return org.state == "validated" and org.type in SCHOOL_TYPES and org.country in COUNTRIES


def org_standing(org: Organisation) -> str:
    """``etwinning`` | ``pending`` | ``non_etwinning``: which tab the card is listed under."""
    if is_etwinning_school(org):
        return "etwinning"
    if org.state == "pending" and org.type in SCHOOL_TYPES:
        return "pending"
    return "non_etwinning"


def current_memberships(db: DbSession, user_id: str) -> list[tuple[Membership, Organisation]]:
    rows = db.execute(
        select(Membership, Organisation)
        .join(Organisation, Organisation.id == Membership.org_id)
        .where(Membership.user_id == user_id, Membership.left_at.is_(None))
        .order_by(Membership.created_at)
    )
    return [(m, o) for m, o in rows]


def open_application(db: DbSession, user_id: str) -> Application | None:
    return db.scalar(
        select(Application)
        .where(
            Application.user_id == user_id,
            Application.state.in_(("pending", "info_requested")),
        )
        .order_by(Application.submitted_at.desc())
        .limit(1)
    )


def _org_reasons(memberships) -> list[Reason]:
    """Why the user's organisations do not give eTwinning access (empty when one does)."""
    if not memberships:
        return [
            Reason(
                code="no_organisation",
                message="Your profile has no school or organisation.",
                fix="Search for your school by country and words of its name, and add it "
                "(Profile › Organisations › Add). If it is not listed, register it.",
                action="add_organisation",
            )
        ]
    teaching = [(m, o) for m, o in memberships if m.role not in BLOCKING_ROLES]
    if not teaching:
        return [
            Reason(
                code="company_staff",
                message="Your role at every organisation is “Company staff”, which is for "
                "non-teaching staff and blocks eTwinning.",
                fix="Choose the role that matches your function (teacher, head teacher, "
                "librarian, …) at your school; if you cannot change it yourself, contact "
                "your National Support Organisation.",
                action=f"change_role:{memberships[0][0].id}",
            )
        ]
    if any(is_etwinning_school(o) for _, o in teaching):
        return []
    reasons = []
    for membership, org in teaching:
        if org.state == "pending" and org.type in SCHOOL_TYPES:
            reasons.append(
                Reason(
                    code="organisation_pending",
                    message=f"“{org.public_name}” is waiting for validation by its National "
                    f"Support Organisation ({days_waiting(org.created_at)} days so far).",
                    fix="Nothing to do but wait; validation usually takes up to "
                    f"{VALIDATION_DAYS} days. Contact your NSO if it takes longer.",
                    fixed_by="nso",
                )
            )
        else:
            reasons.append(
                Reason(
                    code="non_etwinning_organisation",
                    message=f"“{org.public_name}” is listed under non-eTwinning organisations.",
                    fix="Profile › Organisations › “…” on its card › “Request eTwinning "
                    "validation”. If it is not a school, add the school where you teach.",
                    action=f"request_validation:{membership.id}",
                )
            )
    return reasons


def etwinning_access(db: DbSession, user: User) -> list[Reason]:
    """Every reason the user has no eTwinning access now (empty list: access)."""
    reasons: list[Reason] = []
    if not user.active:
        reasons.append(
            Reason(
                code="inactive",
                message="Your account has been switched off.",
                fix="Contact your National Support Organisation.",
                fixed_by="nso",
            )
        )
    memberships = current_memberships(db, user.id)
    reasons.extend(_org_reasons(memberships))
    if user.state == "esep_registered":
        reasons.append(
            Reason(
                code="not_in_etwinning",
                message="Your account is “ESEP registered”: you have not applied for eTwinning.",
                fix="Apply for eTwinning (Profile › Organisations › “…” › “Apply for eTwinning”).",
                action="apply_etwinning",
            )
        )
    elif user.state == "etwinning_pending":
        app = open_application(db, user.id)
        waited = days_waiting(app.submitted_at) if app else 0
        info = app is not None and app.state == "info_requested"
        reasons.append(
            Reason(
                code="info_requested" if info else "validation_pending",
                message=(
                    f"Your NSO asked for more information: {app.reason}"
                    if info
                    else f"Your eTwinning registration is waiting for validation by your "
                    f"National Support Organisation ({waited} days so far)."
                ),
                fix=(
                    "Update your profile or organisations as asked, then re-apply."
                    if info
                    else f"Validation usually takes up to {VALIDATION_DAYS} days; contact "
                    "your NSO if it takes longer."
                ),
                fixed_by="self" if info else "nso",
                action="apply_etwinning" if info else None,
            )
        )
    elif user.state == "etwinning_rejected":
        reasons.append(
            Reason(
                code="validation_rejected",
                message="Your eTwinning registration was not validated"
                + (f": {user.rejection_reason}" if user.rejection_reason else "."),
                fix="Correct your role or organisation and apply again.",
                action="apply_etwinning",
            )
        )
    elif (
        user.state == "etwinning_validated"
        and memberships
        and not any(is_etwinning_school(o) and m.role not in BLOCKING_ROLES for m, o in memberships)
    ):
        # FAQ problem 1: validated, but the link to the school is stale or gone.
        reasons.append(
            Reason(
                code="stale_organisation_link",
                message="You are validated, but none of your current organisations gives "
                "eTwinning access, so the platform shows you as not validated.",
                fix="Profile › Organisations: leave the organisation and add it again; if "
                "that does not help, add your school again.",
                action="readd_organisation",
            )
        )
    return reasons


def can_apply_etwinning(db: DbSession, user: User) -> list[Reason]:
    """What blocks sending an eTwinning application (the organisation conditions)."""
    reasons = []
    if not user.active:
        reasons.append(
            Reason(
                code="inactive",
                message="Your account has been switched off.",
                fix="Contact your National Support Organisation.",
                fixed_by="nso",
            )
        )
    memberships = current_memberships(db, user.id)
    teaching = [(m, o) for m, o in memberships if m.role not in BLOCKING_ROLES]
    if not memberships or not teaching:
        reasons.extend(_org_reasons(memberships))
    elif not any(o.type in SCHOOL_TYPES and o.state != "rejected" for _, o in teaching):
        reasons.extend(r for r in _org_reasons(memberships) if r.code != "organisation_pending")
    return reasons


def project_member(db: DbSession, user: User) -> list[Reason]:
    """FAQ problem 3: every condition for being added to a project."""
    reasons = [r for r in etwinning_access(db, user)]
    if not user.available_for_projects:
        reasons.append(
            Reason(
                code="not_available_for_projects",
                message="“Available for eTwinning projects” is not set on the profile.",
                fix="Profile › edit › set “Available for eTwinning projects”.",
                action="set_available",
            )
        )
    for _m, org in current_memberships(db, user.id):
        if org.type in SCHOOL_TYPES and org.state != "validated":
            reasons.append(
                Reason(
                    code="school_not_validated",
                    message=f"“{org.public_name}” is not validated yet; every school on the "
                    "profile must be validated.",
                    fix="Wait for the NSO's validation, or leave that school if it is not yours.",
                    fixed_by="nso",
                )
            )
    # one reason per code, first wins
    unique: dict[str, Reason] = {}
    for r in reasons:
        unique.setdefault(r.code + (r.message if r.code == "school_not_validated" else ""), r)
    return list(unique.values())


def project_creator(db: DbSession, user: User) -> list[Reason]:
    """Creating a project: eTwinning access and a validated school to create it with."""
    return project_member(db, user)


def etwinning_schools(db: DbSession, user_id: str) -> list[Organisation]:
    return [
        o
        for m, o in current_memberships(db, user_id)
        if m.role not in BLOCKING_ROLES and is_etwinning_school(o)
    ]
