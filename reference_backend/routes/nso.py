"""NSO staff: validation queues, evidence, decisions (audited, bulk, undoable), stats.

Everything is scoped to the staff member's country: an item of another country does not exist
for them (404), so no decision ever crosses a country.
"""

from __future__ import annotations

import re
import statistics
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BeforeValidator
from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from api_client.models.common import ApiError, Page
from api_client.models.nso import (
    ActiveIn,
    ActiveOut,
    ApplicationEvidence,
    ApprovalOut,
    AuditOut,
    BulkIn,
    BulkOut,
    BulkResult,
    DayStats,
    DecisionIn,
    DecisionOut,
    DuplicateCandidate,
    Founder,
    LegacyLink,
    NearDuplicate,
    OrganisationEvidence,
    OrgBrief,
    PastDecision,
    PersonBrief,
    ProjectEvidence,
    QueueItem,
    QueuesOut,
    QueueStat,
    QueueSummary,
    ReasonTemplate,
    RoleAtOrganisation,
    StatsOut,
    UndoOut,
)
from reference_backend import changes, clock
from reference_backend.deps import Principal, current_staff, get_db
from reference_backend.domain import decisions as dec
from reference_backend.domain.countries import SCHOOL_NUMBER_REQUIRED
from reference_backend.domain.rules import (
    BLOCKING_ROLES,
    ORG_TYPES,
    ROLES,
    SCHOOL_TYPES,
    current_memberships,
    is_etwinning_school,
    org_standing,
)
from reference_backend.errors import DomainError, Invalid, NotFound
from reference_backend.tables import (
    Account,
    Application,
    AuditEntry,
    LegacyAccount,
    Membership,
    Organisation,
    OrganisationToken,
    Project,
    ProjectApproval,
    User,
)
from reference_backend.text import fold, similarity, tokens
from reference_backend.uow import UnitOfWorkRoute

ERRORS = {
    401: {"model": ApiError},
    403: {"model": ApiError},
    404: {"model": ApiError},
    409: {"model": ApiError},
    422: {"model": ApiError},
}
router = APIRouter(prefix="/nso", tags=["NSO"], route_class=UnitOfWorkRoute, responses=ERRORS)

Sort = Literal["-age", "age", "name"]
StateFilter = Literal["pending", "info_requested", "open"]
NEAR_DUPLICATE = 0.6
MAX_DAYS = 36500


# --- helpers -----------------------------------------------------------------------------


def _person(db: DbSession, user: User) -> PersonBrief:
    email = db.scalar(select(Account.email).where(Account.id == user.account_id)) or ""
    return PersonBrief(
        user_id=user.id,
        name=dec.full_name(user),
        email=email,
        country=user.country,
        state=user.state,
        active=user.active,
    )


def _org_brief(org: Organisation) -> OrgBrief:
    return OrgBrief(
        id=org.id,
        public_name=org.public_name,
        city=org.city,
        country=org.country,
        type=org.type,
        state=org.state,
        standing=org_standing(org),
        school_number=org.school_number,
    )


def _names(db: DbSession, user_ids) -> dict[str, str]:
    ids = {u for u in user_ids if u}
    if not ids:
        return {}
    return {u.id: dec.full_name(u) for u in db.scalars(select(User).where(User.id.in_(ids)))}


def _past(db: DbSession, subject_type: str, subject_ids: list[str]) -> list[PastDecision]:
    if not subject_ids:
        return []
    rows = list(
        db.scalars(
            select(AuditEntry)
            .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id.in_(subject_ids))
            .order_by(AuditEntry.id.desc())
            .limit(50)
        )
    )
    names = _names(db, [r.actor_id for r in rows])
    return [
        PastDecision(
            audit_id=r.id,
            at=r.at,
            actor_name=names.get(r.actor_id, "someone"),
            action=r.action,
            subject_type=r.subject_type,
            subject_id=r.subject_id,
            reason=r.reason,
        )
        for r in rows
    ]


def _states(state: StateFilter) -> tuple[str, ...]:
    return ("pending", "info_requested") if state == "open" else (state,)


def _state_cond(column, states: tuple[str, ...]):
    return column == states[0] if len(states) == 1 else column.in_(states)


def _cutoff(days: int) -> datetime:
    return clock.now() - timedelta(days=days)


def _page(items, more: bool, total: int | None, offset: int) -> Page[QueueItem]:
    nxt = offset + len(items)
    return Page[QueueItem](items=items, total=total, next_offset=nxt if more else None)


def _total(db: DbSession, stmt, offset: int) -> int | None:
    """The count, on the first page only: later pages keep the total the client already has."""
    return (db.scalar(stmt) or 0) if offset == 0 else None


# --- building queue items (batched per page) ---------------------------------------------


def _application_items(db: DbSession, apps: list[Application]) -> list[QueueItem]:
    if not apps:
        return []
    user_ids = [a.user_id for a in apps]
    users = {u.id: u for u in db.scalars(select(User).where(User.id.in_(user_ids)))}
    roles: dict[str, list[tuple[Membership, Organisation]]] = {}
    for m, o in db.execute(
        select(Membership, Organisation)
        .join(Organisation, Organisation.id == Membership.org_id)
        .where(Membership.user_id.in_(user_ids), Membership.left_at.is_(None))
        .order_by(Membership.created_at)
    ):
        roles.setdefault(m.user_id, []).append((m, o))
    folded = {u.name_folded for u in users.values()}
    dupes = {
        name
        for name, n in db.execute(
            select(User.name_folded, func.count())
            .where(User.name_folded.in_(folded))
            .group_by(User.name_folded)
        )
        if n > 1
    }
    items = []
    for app in apps:
        user = users.get(app.user_id)
        if user is None:
            continue
        mine = roles.get(user.id, [])
        teaching = [(m, o) for m, o in mine if m.role not in BLOCKING_ROLES]
        schools = [(m, o) for m, o in teaching if o.type in SCHOOL_TYPES and o.state != "rejected"]
        first = (schools or teaching or mine or [None])[0]
        flags = []
        if user.name_folded in dupes:
            flags.append("duplicate_suspected")
        if mine and not teaching:
            flags.append("company_staff_only")
        elif not schools:
            flags.append("no_school")
        elif not any(o.state == "validated" for _m, o in schools):
            flags.append("school_pending")
        if user.legacy_account_id:
            flags.append("legacy_account")
        detail = ""
        if first is not None:
            m, o = first
            detail = f"{ROLES.get(m.role, m.role)} · {o.public_name}, {o.city}"
            if o.state != "validated":
                detail += f" ({o.state})"
        items.append(
            QueueItem(
                kind="application",
                id=app.id,
                title=dec.full_name(user),
                detail=detail,
                state=app.state,
                submitted_at=app.submitted_at,
                age_days=dec.age_days(app.submitted_at),
                overdue=dec.is_overdue(app.submitted_at),
                version=app.version,
                region=first[1].region if first else "",
                type=first[1].type if first else "",
                flags=flags,
            )
        )
    return items


def _organisation_items(orgs: list[Organisation]) -> list[QueueItem]:
    items = []
    for org in orgs:
        flags = []
        if org.country in SCHOOL_NUMBER_REQUIRED and not org.school_number:
            flags.append("school_number_missing")
        if org.type not in SCHOOL_TYPES:
            flags.append("not_a_school")
        number = org.school_number or "no school number"
        items.append(
            QueueItem(
                kind="organisation",
                id=org.id,
                title=org.public_name,
                detail=f"{org.city} · {org.type} · {number}",
                state=org.state,
                submitted_at=org.created_at,
                age_days=dec.age_days(org.created_at),
                overdue=dec.is_overdue(org.created_at),
                version=org.version,
                region=org.region,
                type=org.type,
                flags=flags,
            )
        )
    return items


def _project_items(db: DbSession, rows: list[tuple[ProjectApproval, Project]]) -> list[QueueItem]:
    if not rows:
        return []
    pids = [p.id for _a, p in rows]
    others: dict[str, list[ProjectApproval]] = {}
    for a in db.scalars(select(ProjectApproval).where(ProjectApproval.project_id.in_(pids))):
        others.setdefault(a.project_id, []).append(a)
    people = {
        u.id: u
        for u in db.scalars(
            select(User).where(
                User.id.in_({p.creator_id for _a, p in rows} | {p.partner_id for _a, p in rows})
            )
        )
    }
    items = []
    for approval, project in rows:
        flags = []
        for other in others.get(project.id, []):
            if other.id == approval.id:
                continue
            if other.state == "approved":
                flags.append("other_nso_approved")
            elif other.state in dec.OPEN:
                flags.append("other_nso_pending")
        creator, partner = people.get(project.creator_id), people.get(project.partner_id)
        who = " + ".join(
            f"{dec.full_name(u)} ({u.country})" for u in (creator, partner) if u is not None
        )
        since = approval.queued_at or project.created_at
        items.append(
            QueueItem(
                kind="project",
                id=project.id,
                title=project.title,
                detail=f"{who} · {project.scope}",
                state=approval.state,
                submitted_at=since,
                age_days=dec.age_days(since),
                overdue=dec.is_overdue(since),
                version=approval.version,
                type=project.scope,
                flags=flags,
            )
        )
    return items


# --- queues ------------------------------------------------------------------------------


def _queue_figures(country: str):
    """(queue, time column, conditions for pending, for info_requested) of every queue."""
    yield (
        "applications",
        Application.submitted_at,
        [Application.country == country, Application.state == "pending"],
        [Application.country == country, Application.state == "info_requested"],
    )
    yield (
        "organisations",
        Organisation.created_at,
        [Organisation.country == country, Organisation.state == "pending"],
        None,
    )
    yield (
        "projects",
        ProjectApproval.queued_at,
        [ProjectApproval.country == country, ProjectApproval.state == "pending"],
        [ProjectApproval.country == country, ProjectApproval.state == "info_requested"],
    )


def _count(db: DbSession, column, conds) -> int:
    return db.scalar(select(func.count()).select_from(column.table).where(*conds)) or 0


@router.get("/queues", response_model=QueuesOut)
def queues(staff: User = Depends(current_staff), db: DbSession = Depends(get_db)):
    """Each queue of the staff member's country: how many wait, the oldest, how many overdue."""
    country = staff.staff_country
    out = []
    for name, col, pending, info in _queue_figures(country):
        oldest = db.scalar(select(func.min(col)).where(*pending))
        out.append(
            QueueSummary(
                queue=name,
                count=_count(db, col, pending),
                oldest_age_days=dec.age_days(oldest) if oldest is not None else None,
                overdue=_count(db, col, [*pending, col <= clock.now() - dec.OVERDUE_AFTER]),
                info_requested=_count(db, col, info) if info is not None else 0,
            )
        )
    return QueuesOut(country=country, queues=out)


@router.get("/queues/{queue}", response_model=Page[QueueItem])
def queue_items(
    queue: Literal["applications", "organisations", "projects"],
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(50, ge=1, le=200),
    sort: Sort = Query("-age", description="-age: oldest first (default); age: newest first"),
    q: str | None = Query(None, max_length=200, description="words of the name (folded)"),
    region: str | None = Query(None, max_length=120),
    type: str | None = Query(
        None, max_length=30, description="organisation type; for projects national|european"
    ),
    min_age_days: int | None = Query(None, ge=0, le=MAX_DAYS),
    state: StateFilter = Query("pending", description="pending, info_requested or open (both)"),
    staff: User = Depends(current_staff),
    db: DbSession = Depends(get_db),
):
    """One queue, paged in index order (country, state, age), filtered and sorted.

    ``total`` is counted on the first page (offset 0) only; ``next_offset`` is null at the end.
    """
    country = staff.staff_country
    words = tokens(q) if q else []
    if type is not None:
        allowed = ("national", "european") if queue == "projects" else ORG_TYPES
        if type not in allowed:
            raise Invalid("type", f"type is one of: {', '.join(allowed)}.")
    if queue == "applications":
        return _applications_page(
            db, country, offset, limit, sort, words, region, type, min_age_days, state
        )
    if queue == "organisations":
        return _organisations_page(
            db, country, offset, limit, sort, words, region, type, min_age_days, state
        )
    return _projects_page(
        db, country, offset, limit, sort, words, region, type, min_age_days, state
    )


def _org_exists(user_col, *conds):
    return exists(
        select(Membership.id)
        .join(Organisation, Organisation.id == Membership.org_id)
        .where(Membership.user_id == user_col, Membership.left_at.is_(None), *conds)
    )


def _applications_page(db, country, offset, limit, sort, words, region, type_, min_age, state):
    conds = [Application.country == country, _state_cond(Application.state, _states(state))]
    if min_age is not None:
        conds.append(Application.submitted_at <= _cutoff(min_age))
    if region:
        conds.append(_org_exists(Application.user_id, Organisation.region == region))
    if type_:
        conds.append(_org_exists(Application.user_id, Organisation.type == type_))
    need_user = bool(words) or sort == "name"
    for word in words:
        conds.append(User.name_folded.contains(word, autoescape=True))
    base = select(Application)
    count = select(func.count()).select_from(Application)
    if need_user:
        base = base.join(User, User.id == Application.user_id)
        count = count.join(User, User.id == Application.user_id)
    order = {
        "-age": (Application.submitted_at, Application.id),
        "age": (Application.submitted_at.desc(), Application.id.desc()),
        "name": (User.name_folded, Application.id),
    }[sort]
    total = _total(db, count.where(*conds), offset)
    apps = list(db.scalars(base.where(*conds).order_by(*order).offset(offset).limit(limit + 1)))
    return _page(_application_items(db, apps[:limit]), len(apps) > limit, total, offset)


def _organisations_page(db, country, offset, limit, sort, words, region, type_, min_age, state):
    if state == "info_requested":  # organisations stay pending while a question is open
        return _page([], False, 0 if offset == 0 else None, offset)
    conds = [Organisation.country == country, Organisation.state == "pending"]
    if min_age is not None:
        conds.append(Organisation.created_at <= _cutoff(min_age))
    if region:
        conds.append(Organisation.region == region)
    if type_:
        conds.append(Organisation.type == type_)
    for word in words:
        conds.append(
            exists(
                select(OrganisationToken.org_id).where(
                    OrganisationToken.country == country,
                    OrganisationToken.token.startswith(word, autoescape=True),
                    OrganisationToken.org_id == Organisation.id,
                )
            )
        )
    order = {
        "-age": (Organisation.created_at, Organisation.id),
        "age": (Organisation.created_at.desc(), Organisation.id.desc()),
        "name": (func.lower(Organisation.public_name), Organisation.id),
    }[sort]
    total = _total(db, select(func.count()).select_from(Organisation).where(*conds), offset)
    orgs = list(
        db.scalars(
            select(Organisation).where(*conds).order_by(*order).offset(offset).limit(limit + 1)
        )
    )
    return _page(_organisation_items(orgs[:limit]), len(orgs) > limit, total, offset)


def _projects_page(db, country, offset, limit, sort, words, region, type_, min_age, state):
    conds = [
        ProjectApproval.country == country,
        _state_cond(ProjectApproval.state, _states(state)),
    ]
    if min_age is not None:
        conds.append(ProjectApproval.queued_at <= _cutoff(min_age))
    need_project = bool(words) or bool(region) or bool(type_) or sort == "name"
    if type_:
        conds.append(Project.scope == type_)
    if region:
        conds.append(
            exists(
                select(Organisation.id).where(
                    Organisation.id.in_((Project.creator_school_id, Project.partner_school_id)),
                    Organisation.country == country,
                    Organisation.region == region,
                )
            )
        )
    for word in words:
        founders = select(User.id).where(
            User.id.in_((Project.creator_id, Project.partner_id)),
            User.name_folded.contains(word, autoescape=True),
        )
        conds.append(
            or_(func.lower(Project.title).contains(word, autoescape=True), exists(founders))
        )
    order = {
        "-age": (ProjectApproval.queued_at, ProjectApproval.id),
        "age": (ProjectApproval.queued_at.desc(), ProjectApproval.id.desc()),
        "name": (Project.title, ProjectApproval.id),
    }[sort]
    count = select(func.count()).select_from(ProjectApproval)
    if need_project:
        count = count.join(Project, Project.id == ProjectApproval.project_id)
    total = _total(db, count.where(*conds), offset)
    rows = db.execute(
        select(ProjectApproval, Project)
        .join(Project, Project.id == ProjectApproval.project_id)
        .where(*conds)
        .order_by(*order)
        .offset(offset)
        .limit(limit + 1)
    ).all()
    items = _project_items(db, [(a, p) for a, p in rows[:limit]])
    return _page(items, len(rows) > limit, total, offset)


# --- evidence ----------------------------------------------------------------------------


@router.get("/applications/{app_id}", response_model=ApplicationEvidence)
def application_evidence(
    app_id: str, staff: User = Depends(current_staff), db: DbSession = Depends(get_db)
):
    """Everything needed to decide a teacher's application, on one screen."""
    app = dec.get_application(db, staff.staff_country, app_id[:36])
    user = db.get(User, app.user_id)
    if user is None:
        raise NotFound("application")
    roles = [
        RoleAtOrganisation(
            membership_id=m.id,
            role=m.role,
            role_label=ROLES.get(m.role, m.role),
            blocks_etwinning=m.role in BLOCKING_ROLES,
            organisation=_org_brief(o),
        )
        for m, o in current_memberships(db, user.id)
    ]
    legacy = None
    if user.legacy_account_id:
        row = db.get(LegacyAccount, user.legacy_account_id)
        if row is not None:
            legacy = LegacyLink(
                platform=row.platform,
                email=row.email,
                first_name=row.first_name,
                last_name=row.last_name,
                migrated_at=row.migrated_at,
            )
    own_email = db.scalar(select(Account.email).where(Account.id == user.account_id))
    duplicates = [
        DuplicateCandidate(
            user_id=u.id,
            name=dec.full_name(u),
            email=email,
            country=u.country,
            state=u.state,
            created_at=u.created_at,
        )
        for u, email in db.execute(
            select(User, Account.email)
            .join(Account, Account.id == User.account_id)
            .where(
                User.name_folded == user.name_folded,
                User.id != user.id,
                Account.email != own_email,
            )
            .order_by(User.created_at)
            .limit(20)
        )
    ]
    app_ids = list(db.scalars(select(Application.id).where(Application.user_id == user.id)))
    return ApplicationEvidence(
        id=app.id,
        state=app.state,
        version=app.version,
        submitted_at=app.submitted_at,
        days_waiting=dec.age_days(app.submitted_at),
        overdue=dec.is_overdue(app.submitted_at) and app.state in dec.OPEN,
        reason=app.reason,
        applicant=_person(db, user),
        capacity=user.capacity,
        roles=roles,
        legacy=legacy,
        suspected_duplicates=duplicates,
        earlier_decisions=_past(db, "application", app_ids),
        blockers=dec.application_blockers(db, user),
    )


def _near_duplicates(db: DbSession, org: Organisation) -> list[NearDuplicate]:
    found: dict[str, NearDuplicate] = {}

    def score(other: Organisation) -> float:
        return max(
            similarity(org.public_name, other.public_name),
            similarity(org.legal_name, other.legal_name),
            similarity(org.public_name, other.legal_name),
        )

    try:
        from reference_backend.domain.search import similar_organisations
    except ImportError:
        similar_organisations = None
    if similar_organisations is not None:
        candidates = similar_organisations(
            db,
            country=org.country,
            city=org.city,
            name=org.public_name,
            school_number=org.school_number,
            limit=6,
        )
    else:
        candidates = db.scalars(
            select(Organisation)
            .where(
                Organisation.country == org.country,
                Organisation.city_folded == (org.city_folded or fold(org.city)),
            )
            .limit(2000)
        )
    for other in candidates:
        if other.id == org.id:
            continue
        s = score(other)
        if s >= NEAR_DUPLICATE:
            found[other.id] = NearDuplicate(
                id=other.id,
                public_name=other.public_name,
                legal_name=other.legal_name,
                city=other.city,
                state=other.state,
                school_number=other.school_number,
                similarity=round(s, 3),
            )
    if org.school_number:
        for other in db.scalars(
            select(Organisation)
            .where(
                Organisation.country == org.country,
                Organisation.school_number == org.school_number,
                Organisation.id != org.id,
            )
            .limit(5)
        ):
            found[other.id] = NearDuplicate(
                id=other.id,
                public_name=other.public_name,
                legal_name=other.legal_name,
                city=other.city,
                state=other.state,
                school_number=other.school_number,
                similarity=1.0,
                same_school_number=True,
            )
    return sorted(found.values(), key=lambda d: (-d.similarity, d.public_name))[:10]


@router.get("/organisations/{org_id}", response_model=OrganisationEvidence)
def organisation_evidence(
    org_id: str, staff: User = Depends(current_staff), db: DbSession = Depends(get_db)
):
    """A new organisation with its near-duplicates, school number and who registered it."""
    org = dec.get_organisation(db, staff.staff_country, org_id[:36])
    registrant = db.get(User, org.registered_by) if org.registered_by else None
    members = (
        db.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.org_id == org.id, Membership.left_at.is_(None))
        )
        or 0
    )
    return OrganisationEvidence(
        id=org.id,
        state=org.state,
        version=org.version,
        legal_name=org.legal_name,
        public_name=org.public_name,
        country=org.country,
        region=org.region,
        city=org.city,
        type=org.type,
        school_number=org.school_number,
        school_number_required=org.country in SCHOOL_NUMBER_REQUIRED,
        principal_name=org.principal_name,
        principal_email=org.principal_email,
        website=org.website,
        created_at=org.created_at,
        days_waiting=dec.age_days(org.created_at),
        overdue=dec.is_overdue(org.created_at) and org.state == "pending",
        registered_by=_person(db, registrant) if registrant else None,
        members=members,
        near_duplicates=_near_duplicates(db, org),
        earlier_decisions=_past(db, "organisation", [org.id]),
    )


@router.get("/projects/{project_id}", response_model=ProjectEvidence)
def project_evidence(
    project_id: str, staff: User = Depends(current_staff), db: DbSession = Depends(get_db)
):
    """A project with both founders, the countries involved and the other NSO's decision."""
    country = staff.staff_country
    project, approval = dec.get_project(db, country, project_id[:36])
    approvals = list(
        db.scalars(
            select(ProjectApproval)
            .where(ProjectApproval.project_id == project.id)
            .order_by(ProjectApproval.country)
        )
    )
    names = _names(db, [a.decided_by for a in approvals])
    founders = []
    for role, uid, school_id in (
        ("creator", project.creator_id, project.creator_school_id),
        ("partner", project.partner_id, project.partner_school_id),
    ):
        user = db.get(User, uid)
        if user is None:
            continue
        school = db.get(Organisation, school_id) if school_id else None
        founders.append(
            Founder(
                role=role,
                person=_person(db, user),
                school=_org_brief(school) if school else None,
                validated=user.state == "etwinning_validated"
                and user.active
                and school is not None
                and is_etwinning_school(school),
            )
        )
    since = approval.queued_at or project.created_at
    countries = sorted({a.country for a in approvals} | {f.person.country for f in founders})
    return ProjectEvidence(
        id=project.id,
        title=project.title,
        short_description=project.short_description,
        scope=project.scope,
        project_state=project.state,
        state=approval.state,
        version=approval.version,
        created_at=project.created_at,
        queued_at=approval.queued_at,
        days_waiting=dec.age_days(since),
        overdue=dec.is_overdue(since) and approval.state in dec.OPEN,
        languages=list(project.languages or []),
        subjects=list(project.subjects or []),
        age_min=project.age_min,
        age_max=project.age_max,
        pupils_count=project.pupils_count,
        aims=project.aims,
        countries=countries,
        founders=founders,
        approvals=[
            ApprovalOut(
                country=a.country,
                state=a.state,
                decided_at=a.decided_at,
                decided_by_name=names.get(a.decided_by) if a.decided_by else None,
                reason=a.reason,
            )
            for a in approvals
        ],
        other_nso_decided=any(
            a.id != approval.id and a.state in ("approved", "rejected") for a in approvals
        ),
        earlier_decisions=_past(db, "project", [project.id]),
    )


# --- decisions ---------------------------------------------------------------------------


@router.get("/reason-templates", response_model=list[ReasonTemplate])
def reason_templates(staff: User = Depends(current_staff)):
    """Reasons to pick instead of typing, per kind of item and action."""
    _ = staff
    return [ReasonTemplate(**t) for t in dec.TEMPLATES]


def _decision_out(outcome: dec.Outcome) -> DecisionOut:
    return DecisionOut(
        audit_id=outcome.entry.id,
        kind=outcome.kind,
        id=outcome.id,
        action=outcome.action,
        state=outcome.state,
        version=outcome.version,
        project_state=outcome.project_state,
        undo_until=outcome.undo_until,
    )


def _decide(kind: str, item_id: str, body: DecisionIn, response: Response, staff, db):
    outcome = dec.decide(
        db,
        staff,
        kind,
        item_id[:36],
        body.action,
        version=body.version,
        reason=body.reason,
        template=body.template,
    )
    response.headers["Location"] = f"/nso/decisions/{outcome.entry.id}"
    return _decision_out(outcome)


_DECISION_DOC = (
    "approve | reject (reason) | request_info (reason), against the version the staff member "
    "saw. Decided by someone else first: 409 `already_decided`, naming who and when."
)


@router.post(
    "/applications/{item_id}/decision",
    status_code=201,
    response_model=DecisionOut,
    description=_DECISION_DOC,
)
def decide_application(
    item_id: str,
    body: DecisionIn,
    response: Response,
    staff: User = Depends(current_staff),
    db: DbSession = Depends(get_db),
):
    return _decide("application", item_id, body, response, staff, db)


@router.post(
    "/organisations/{item_id}/decision",
    status_code=201,
    response_model=DecisionOut,
    description=_DECISION_DOC,
)
def decide_organisation(
    item_id: str,
    body: DecisionIn,
    response: Response,
    staff: User = Depends(current_staff),
    db: DbSession = Depends(get_db),
):
    return _decide("organisation", item_id, body, response, staff, db)


@router.post(
    "/projects/{item_id}/decision",
    status_code=201,
    response_model=DecisionOut,
    description=_DECISION_DOC + " Decides this country's approval; the last one makes it final.",
)
def decide_project(
    item_id: str,
    body: DecisionIn,
    response: Response,
    staff: User = Depends(current_staff),
    db: DbSession = Depends(get_db),
):
    return _decide("project", item_id, body, response, staff, db)


@router.post("/decisions/bulk", response_model=BulkOut)
def decide_bulk(
    body: BulkIn, staff: User = Depends(current_staff), db: DbSession = Depends(get_db)
):
    """One action on many items; each succeeds or fails on its own (its own savepoint)."""
    # the reason is checked once, so a missing one refuses the whole request
    for kind in {i.kind for i in body.items}:
        dec.resolve_reason(kind, body.action, body.reason, body.template)
    results = []
    for item in body.items:
        try:
            with db.begin_nested():
                outcome = dec.decide(
                    db,
                    staff,
                    item.kind,
                    item.id,
                    body.action,
                    version=item.version,
                    reason=body.reason,
                    template=body.template,
                )
            results.append(
                BulkResult(kind=item.kind, id=item.id, ok=True, decision=_decision_out(outcome))
            )
        except DomainError as exc:
            results.append(
                BulkResult(
                    kind=item.kind,
                    id=item.id,
                    ok=False,
                    code=exc.code,
                    message=exc.message,
                    reasons=exc.reasons,
                )
            )
        except IntegrityError:
            results.append(
                BulkResult(
                    kind=item.kind,
                    id=item.id,
                    ok=False,
                    code="conflict",
                    message="The item changed while it was being decided; reload and retry.",
                )
            )
    ok = sum(1 for r in results if r.ok)
    return BulkOut(results=results, ok=ok, failed=len(results) - ok)


@router.post("/decisions/{audit_id}/undo", status_code=201, response_model=UndoOut)
def undo_decision(
    audit_id: int,
    response: Response,
    staff: User = Depends(current_staff),
    db: DbSession = Depends(get_db),
):
    """Take back one's own decision within 30 seconds; later: 409 `undo_expired`."""
    if not 0 < audit_id < 2**62:
        raise NotFound("decision")
    undo_entry, entry, state, version = dec.undo(db, staff, audit_id)
    response.headers["Location"] = f"/nso/decisions/{undo_entry.id}"
    return UndoOut(
        audit_id=undo_entry.id,
        undone=entry.id,
        kind=entry.subject_type,
        id=entry.subject_id,
        state=state,
        version=version,
    )


# --- audit log and stats -----------------------------------------------------------------


def _subject_titles(db: DbSession, entries: list[AuditEntry]) -> dict[tuple[str, str], str]:
    by_type: dict[str, set[str]] = {}
    for e in entries:
        by_type.setdefault(e.subject_type, set()).add(e.subject_id)
    titles: dict[tuple[str, str], str] = {}
    if ids := by_type.get("application"):
        for app_id, first, last in db.execute(
            select(Application.id, User.first_name, User.last_name)
            .join(User, User.id == Application.user_id)
            .where(Application.id.in_(ids))
        ):
            titles[("application", app_id)] = f"{first} {last}"
    if ids := by_type.get("organisation"):
        for org_id, name in db.execute(
            select(Organisation.id, Organisation.public_name).where(Organisation.id.in_(ids))
        ):
            titles[("organisation", org_id)] = name
    if ids := by_type.get("project"):
        for pid, title in db.execute(select(Project.id, Project.title).where(Project.id.in_(ids))):
            titles[("project", pid)] = title
    if ids := by_type.get("user"):
        for uid, name in _names(db, ids).items():
            titles[("user", uid)] = name
    return titles


def _undoable(db: DbSession, staff: User, entries: list[AuditEntry]) -> set[int]:
    now = clock.now()
    fresh = [
        e
        for e in entries
        if e.actor_id == staff.id
        and e.action in dec.ACTIONS
        and e.data
        and now - e.at <= dec.UNDO_WINDOW
    ]
    result = set()
    for e in fresh:
        later = db.scalar(
            select(AuditEntry.id)
            .where(
                AuditEntry.subject_type == e.subject_type,
                AuditEntry.subject_id == e.subject_id,
                AuditEntry.id > e.id,
            )
            .limit(1)
        )
        if later is None:
            result.add(e.id)
    return result


def _audit_out(db: DbSession, staff: User, entries: list[AuditEntry]) -> list[AuditOut]:
    names = _names(db, [e.actor_id for e in entries])
    titles = _subject_titles(db, entries)
    undoable = _undoable(db, staff, entries)
    return [
        AuditOut(
            id=e.id,
            at=e.at,
            actor_id=e.actor_id,
            actor_name=names.get(e.actor_id, "someone"),
            action=e.action,
            subject_type=e.subject_type,
            subject_id=e.subject_id,
            subject_title=titles.get((e.subject_type, e.subject_id), ""),
            reason=e.reason,
            undoable=e.id in undoable,
        )
        for e in entries
    ]


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_datetime(value):
    """Only ISO 8601 date-times, as the document says (not numbers read as Unix time)."""
    if isinstance(value, str) and not _ISO_DATETIME.match(value):
        raise ValueError("an ISO 8601 date-time, e.g. 2026-01-31T09:00:00Z")
    return value


IsoDateTime = Annotated[datetime | None, Query(), BeforeValidator(_iso_datetime)]


@router.get("/audit", response_model=Page[AuditOut])
def audit_log(
    actor: str | None = Query(None, max_length=36, description="staff user id"),
    action: str | None = Query(None, max_length=40),
    subject_type: str | None = Query(None, max_length=30),
    subject_id: str | None = Query(None, max_length=36),
    since: IsoDateTime = None,
    until: IsoDateTime = None,
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(50, ge=1, le=200),
    staff: User = Depends(current_staff),
    db: DbSession = Depends(get_db),
):
    """Every decision of this country's NSO, newest first: who, when, what, why."""
    conds = [AuditEntry.country == staff.staff_country]
    if actor:
        conds.append(AuditEntry.actor_id == actor)
    if action:
        conds.append(AuditEntry.action == action)
    if subject_type:
        conds.append(AuditEntry.subject_type == subject_type)
    if subject_id:
        conds.append(AuditEntry.subject_id == subject_id)
    if since is not None:
        conds.append(AuditEntry.at >= _aware(since))
    if until is not None:
        conds.append(AuditEntry.at < _aware(until))
    total = db.scalar(select(func.count()).select_from(AuditEntry).where(*conds)) or 0
    entries = list(
        db.scalars(
            select(AuditEntry)
            .where(*conds)
            .order_by(AuditEntry.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )
    nxt = offset + len(entries)
    return Page[AuditOut](
        items=_audit_out(db, staff, entries),
        total=total,
        next_offset=nxt if nxt < total else None,
    )


@router.get("/decisions/{audit_id}", response_model=AuditOut)
def decision(audit_id: int, staff: User = Depends(current_staff), db: DbSession = Depends(get_db)):
    entry = db.get(AuditEntry, audit_id) if 0 < audit_id < 2**62 else None
    if entry is None or entry.country != staff.staff_country:
        raise NotFound("decision")
    return _audit_out(db, staff, [entry])[0]


def _median_age(db: DbSession, col, conds) -> tuple[int, float | None]:
    n = _count(db, col, conds)
    if n == 0:
        return 0, None
    middle = list(
        db.scalars(select(col).where(*conds).order_by(col).offset((n - 1) // 2).limit(2 - n % 2))
    )
    now = clock.now()
    ages = [(now - t).total_seconds() / 86400 for t in middle if t is not None]
    return n, round(statistics.fmean(ages), 1) if ages else None


@router.get("/stats", response_model=StatsOut)
def stats(staff: User = Depends(current_staff), db: DbSession = Depends(get_db)):
    """Decisions per day over the last 30 days, and the median age of each queue."""
    country = staff.staff_country
    today = clock.now().astimezone(UTC).date()
    first = today - timedelta(days=29)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    days = {first + timedelta(days=i): DayStats(day=first + timedelta(days=i)) for i in range(30)}
    for at, action in db.execute(
        select(AuditEntry.at, AuditEntry.action).where(
            AuditEntry.country == country,
            AuditEntry.at >= start,
            AuditEntry.action.in_((*dec.ACTIONS, "undo")),
        )
    ):
        day = days.get(at.astimezone(UTC).date())
        if day is None:
            continue
        setattr(day, action, getattr(day, action) + 1)
        if action != "undo":
            day.total += 1
    queues_out = []
    for name, col, pending, _info in _queue_figures(country):
        n, median = _median_age(db, col, pending)
        oldest = db.scalar(select(func.min(col)).where(*pending))
        queues_out.append(
            QueueStat(
                queue=name,
                count=n,
                median_age_days=median,
                oldest_age_days=dec.age_days(oldest) if oldest is not None else None,
            )
        )
    return StatsOut(country=country, days=list(days.values()), queues=queues_out)


# --- accounts ----------------------------------------------------------------------------


@router.post("/users/{user_id}/active", response_model=ActiveOut)
def set_active(
    user_id: str,
    body: ActiveIn,
    staff: User = Depends(current_staff),
    db: DbSession = Depends(get_db),
):
    """Switch an account of this country off (every session ends at once) or on again."""
    user, ended = dec.set_active(db, staff, user_id[:36], body.active, body.reason)
    return ActiveOut(
        user_id=user.id, active=user.active, version=user.version, sessions_ended=ended
    )


# --- the change feed: queue items as the NSO sees them -----------------------------------


def _staff_country(principal: Principal) -> str | None:
    user = principal.user
    return user.staff_country if user is not None and user.active else None


@changes.serializer("nso_application")
def _serialize_application(db: DbSession, principal: Principal, app_id: str) -> dict | None:
    country = _staff_country(principal)
    app = db.get(Application, app_id)
    if country is None or app is None or app.country != country or app.state not in dec.OPEN:
        return None
    items = _application_items(db, [app])
    return items[0].model_dump(mode="json") if items else None


@changes.serializer("nso_organisation")
def _serialize_organisation(db: DbSession, principal: Principal, org_id: str) -> dict | None:
    country = _staff_country(principal)
    org = db.get(Organisation, org_id)
    if country is None or org is None or org.country != country or org.state != "pending":
        return None
    return _organisation_items([org])[0].model_dump(mode="json")


@changes.serializer("nso_project")
def _serialize_project(db: DbSession, principal: Principal, project_id: str) -> dict | None:
    country = _staff_country(principal)
    if country is None:
        return None
    row = db.execute(
        select(ProjectApproval, Project)
        .join(Project, Project.id == ProjectApproval.project_id)
        .where(ProjectApproval.project_id == project_id, ProjectApproval.country == country)
    ).first()
    if row is None or row[0].state not in dec.OPEN:
        return None
    return _project_items(db, [(row[0], row[1])])[0].model_dump(mode="json")
