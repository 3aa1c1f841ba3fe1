"""Platform registration, the user's own profile, memberships and the eTwinning application.

The registration wizard (FAQ A, steps 5-9) maps onto these calls: the platform form
(``POST /platform/registration``), "Join eTwinning" with a role at an organisation
(``POST /users/me/memberships`` then ``POST /users/me/etwinning``), the optional profile
(``PATCH /users/me/profile``) and Finish (``profile_done``). ``GET /users/me`` says in
``registration_step`` where an interrupted wizard resumes; an account without a platform user
gets 403 ``registration_incomplete`` there, which is the ``platform_form`` step.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from api_client.models.common import ApiError, Reason
from api_client.models.users import (
    ApplicationOut,
    Choice,
    FormField,
    LegacyInfo,
    MembershipCreate,
    MembershipOut,
    MembershipPatch,
    PlatformForm,
    ProfilePatch,
    RegistrationIn,
    RegistrationOut,
    UserOut,
)
from reference_backend import changes, clock
from reference_backend.deps import (
    Principal,
    check_if_match,
    current_account,
    current_principal,
    current_user,
    get_db,
)
from reference_backend.domain import rules
from reference_backend.domain.countries import COUNTRIES
from reference_backend.errors import Conflict, Forbidden, Invalid, NotAllowed, NotFound
from reference_backend.routes.organisations import can_see, org_summary, usable_id
from reference_backend.tables import (
    Account,
    Application,
    LegacyAccount,
    Membership,
    Organisation,
    User,
)
from reference_backend.text import fold
from reference_backend.uow import UnitOfWorkRoute

ERRORS = {
    401: {"model": ApiError},
    403: {"model": ApiError},
    404: {"model": ApiError},
    409: {"model": ApiError},
    412: {"model": ApiError},
    422: {"model": ApiError},
}
router = APIRouter(tags=["Users"], route_class=UnitOfWorkRoute, responses=ERRORS)

CAPACITY_LABELS = {
    "school_staff": "School staff (teacher, head teacher, librarian, …)",
    "teacher_trainer": "Teacher trainer",
    "researcher": "Researcher",
    "policy_maker": "Policy maker",
    "other": "Other",
}
FIELDS = {
    "country": ("Country", 2),
    "first_name": ("First name", 100),
    "last_name": ("Last name", 100),
    "institution": ("Institution", 200),
    "capacity_other": ("Your capacity", 100),
}
# the user can (re)send an eTwinning application from these states
APPLY_STATES = {"esep_registered", "etwinning_rejected"}


def registered_user(principal: Principal = Depends(current_principal)) -> User:
    """The caller's platform user, even when switched off (so they can read why)."""
    if principal.account is None:
        raise Forbidden("Pupil accounts cannot do this.")
    if principal.user is None:
        raise Forbidden(
            "Finish the platform registration form first.", code="registration_incomplete"
        )
    return principal.user


# --- representations -------------------------------------------------------------------------


def latest_application(db: DbSession, user_id: str) -> Application | None:
    return db.scalar(
        select(Application)
        .where(Application.user_id == user_id)
        .order_by(Application.submitted_at.desc())
        .limit(1)
    )


def application_out(app: Application) -> ApplicationOut:
    open_ = app.state in ("pending", "info_requested")
    return ApplicationOut(
        id=app.id,
        user_id=app.user_id,
        country=app.country,
        state=app.state,
        submitted_at=app.submitted_at,
        decided_at=app.decided_at,
        reason=app.reason,
        waiting_days=rules.days_waiting(app.submitted_at) if open_ else 0,
    )


def may_apply(user: User, app: Application | None) -> bool:
    """Whether the user's state lets them send an eTwinning application now."""
    if user.state in APPLY_STATES:
        return True
    return user.state == "etwinning_pending" and app is not None and app.state == "info_requested"


def membership_out(
    membership: Membership, org: Organisation, *, applying: bool = False
) -> MembershipOut:
    actions = []
    if membership.left_at is None:
        actions = ["leave", "change_role"]
        if (
            applying
            and membership.role not in rules.BLOCKING_ROLES
            and org.type in rules.SCHOOL_TYPES
            and org.state != "rejected"
        ):
            actions.append("request_validation")
    return MembershipOut(
        id=membership.id,
        org_id=org.id,
        role=membership.role,
        role_label=rules.ROLES.get(membership.role, membership.role),
        created_at=membership.created_at,
        left_at=membership.left_at,
        standing=rules.org_standing(org),
        org=org_summary(org),
        actions=actions,
    )


def _profile_started(user: User) -> bool:
    return bool(
        user.available_for_projects
        or user.subjects
        or user.languages
        or user.description
        or user.pupil_age_min is not None
        or user.pupil_age_max is not None
    )


def registration_step(user: User, memberships: list, app: Application | None) -> str:
    if user.staff_country is not None or user.state == "etwinning_validated":
        return "done"
    if may_apply(user, app):
        return "organisation" if memberships else "join_etwinning"
    if user.profile_done:
        return "done"
    return "finish" if _profile_started(user) else "profile"


def user_out(db: DbSession, user: User) -> UserOut:
    memberships = rules.current_memberships(db, user.id)
    app = latest_application(db, user.id)
    open_app = rules.open_application(db, user.id)
    applying = user.active and may_apply(user, open_app)
    legacy = None
    if user.legacy_account_id:
        row = db.get(LegacyAccount, user.legacy_account_id)
        if row is not None:
            legacy = LegacyInfo(id=row.id, platform=row.platform, migrated_at=row.migrated_at)
    return UserOut(
        id=user.id,
        account_id=user.account_id,
        first_name=user.first_name,
        last_name=user.last_name,
        country=user.country,
        capacity=user.capacity,
        institution=user.institution,
        capacity_other=user.capacity_other,
        state=user.state,
        rejection_reason=user.rejection_reason,
        active=user.active,
        staff_country=user.staff_country,
        available_for_projects=user.available_for_projects,
        subjects=list(user.subjects or []),
        languages=list(user.languages or []),
        pupil_age_min=user.pupil_age_min,
        pupil_age_max=user.pupil_age_max,
        description=user.description or "",
        visibility=user.visibility,
        profile_done=user.profile_done,
        version=user.version,
        legacy=legacy,
        memberships=[membership_out(m, o, applying=applying) for m, o in memberships],
        application=application_out(app) if app is not None else None,
        registration_step=registration_step(user, memberships, open_app),
    )


@changes.serializer("user")
def _serialize_user(db: DbSession, principal: Principal, user_id: str) -> dict | None:
    if principal.user is None or principal.user.id != user_id:
        return None
    user = db.get(User, user_id)
    return user_out(db, user).model_dump(mode="json") if user is not None else None


@changes.serializer("membership")
def _serialize_membership(db: DbSession, principal: Principal, mid: str) -> dict | None:
    if principal.user is None:
        return None
    m = db.get(Membership, mid)
    if m is None or m.user_id != principal.user.id or m.left_at is not None:
        return None
    org = db.get(Organisation, m.org_id)
    user = principal.user
    applying = user.active and may_apply(user, rules.open_application(db, user.id))
    return membership_out(m, org, applying=applying).model_dump(mode="json")


def _touch(db: DbSession, user: User) -> None:
    user.version += 1
    changes.record(db, [changes.user(user.id)], "user", user.id)


# --- platform registration -------------------------------------------------------------------


def _capacity(value: str | None) -> str:
    if value not in rules.CAPACITIES:
        raise Invalid("capacity", "capacity: one of " + ", ".join(rules.CAPACITIES) + ".")
    return value


@router.get("/platform/form", response_model=PlatformForm, tags=["Registration"])
def platform_form(capacity: str = Query("school_staff", max_length=40)):
    """The platform registration form for a capacity: its fields, which are required, choices."""
    cap = _capacity(capacity)
    fields = [
        FormField(
            name="capacity",
            label="Capacity",
            required=True,
            kind="choice",
            max_length=40,
            choices=[Choice(value=k, label=v) for k, v in CAPACITY_LABELS.items()],
        )
    ]
    for name in rules.CAPACITIES[cap]:
        label, max_length = FIELDS[name]
        choices = None
        if name == "country":
            choices = [Choice(value=k, label=v) for k, v in COUNTRIES.items()]
        fields.append(
            FormField(
                name=name,
                label=label,
                required=True,
                kind="choice" if choices else "text",
                max_length=max_length,
                choices=choices,
            )
        )
    return PlatformForm(capacity=cap, fields=fields)


@router.post(
    "/platform/registration",
    status_code=201,
    response_model=RegistrationOut,
    tags=["Registration"],
)
def register(
    body: RegistrationIn,
    response: Response,
    account: Account = Depends(current_account),
    db: DbSession = Depends(get_db),
):
    """Fill in the platform form for the signed-in EU Login account (FAQ step 5).

    An old eTwinning / School Education Gateway account with the same email is linked and its
    data migrated (names and country unless given, subjects, languages, description)."""
    if db.scalar(select(User.id).where(User.account_id == account.id)) is not None:
        raise Conflict("already_registered", "This account has already filled in the form.")
    cap = _capacity(body.capacity)
    legacy = db.scalar(
        select(LegacyAccount).where(
            LegacyAccount.email == account.email.lower(),
            LegacyAccount.migrated_to.is_(None),
        )
    )
    values = {
        "country": body.country,
        "first_name": body.first_name,
        "last_name": body.last_name,
        "institution": body.institution,
        "capacity_other": body.capacity_other,
    }
    if legacy is not None:
        for name in ("country", "first_name", "last_name"):
            values[name] = values[name] or getattr(legacy, name) or None
        if values["country"]:
            values["country"] = values["country"].upper()
    for name in rules.CAPACITIES[cap]:
        if not values.get(name):
            raise Invalid(
                name, f"{name}: required for the capacity “{CAPACITY_LABELS[cap]}”.", "required"
            )
    if values["country"] not in COUNTRIES:
        raise Invalid("country", "country: not an eTwinning country code (e.g. GR, PL, DE).")
    asked = set(rules.CAPACITIES[cap])
    user = User(
        account_id=account.id,
        first_name=values["first_name"],
        last_name=values["last_name"],
        name_folded=fold(f"{values['first_name']} {values['last_name']}"),
        country=values["country"],
        capacity=cap,
        institution=values["institution"] if "institution" in asked else None,
        capacity_other=values["capacity_other"] if "capacity_other" in asked else None,
        state="esep_registered",
    )
    if legacy is not None:
        user.subjects = list(legacy.subjects or [])
        user.languages = list(legacy.languages or [])
        user.description = legacy.description or ""
    db.add(user)
    try:
        db.flush()
    except IntegrityError:
        raise Conflict(
            "already_registered", "This account has already filled in the form."
        ) from None
    if legacy is not None:
        user.legacy_account_id = legacy.id
        legacy.migrated_to = user.id
        legacy.migrated_at = clock.now()
        db.flush()
    changes.record(db, [changes.user(user.id)], "user", user.id)
    response.headers["Location"] = "/users/me"
    return RegistrationOut(
        user=user_out(db, user),
        legacy_linked=legacy is not None,
        legacy_platform=legacy.platform if legacy is not None else None,
    )


# --- the user's own profile ------------------------------------------------------------------


@router.get("/users/me", response_model=UserOut)
def me(user: User = Depends(registered_user), db: DbSession = Depends(get_db)):
    """The caller's platform user: state, profile, memberships and where the wizard resumes."""
    return user_out(db, user)


NOT_NULL = {"available_for_projects", "subjects", "languages", "description", "visibility"}


@router.patch("/users/me/profile", response_model=UserOut)
def patch_profile(
    body: ProfilePatch,
    request: Request,
    response: Response,
    user: User = Depends(current_user),
    db: DbSession = Depends(get_db),
):
    """Edit the profile (FAQ step 8, any time later too). Send ``If-Match: <version>``."""
    check_if_match(request, user.version)
    given = body.model_dump(exclude_unset=True)
    for name in NOT_NULL:
        if name in given and given[name] is None:
            raise Invalid(name, f"{name}: cannot be empty (null).")
    if given.get("profile_done") is None:
        given.pop("profile_done", None)
    low = given.get("pupil_age_min", user.pupil_age_min)
    high = given.get("pupil_age_max", user.pupil_age_max)
    if low is not None and high is not None and low > high:
        field = "pupil_age_max" if "pupil_age_max" in given else "pupil_age_min"
        raise Invalid(field, f"{field}: the youngest pupils' age must not exceed the oldest's.")
    for name, value in given.items():
        setattr(user, name, value)
    _touch(db, user)
    db.flush()
    response.headers["ETag"] = f'"{user.version}"'
    return user_out(db, user)


# --- memberships -----------------------------------------------------------------------------


def _role(value: str) -> str:
    if value not in rules.ROLES:
        raise Invalid("role", "role: one of " + ", ".join(rules.ROLES) + ".")
    return value


def _own_membership(db: DbSession, user: User, mid: str) -> tuple[Membership, Organisation]:
    m = db.get(Membership, mid) if usable_id(mid) else None
    if m is None or m.user_id != user.id:
        raise NotFound("membership")
    return m, db.get(Organisation, m.org_id)


def _applying(db: DbSession, user: User) -> bool:
    return user.active and may_apply(user, rules.open_application(db, user.id))


@router.get("/users/me/memberships", response_model=list[MembershipOut])
def list_memberships(
    include_left: bool = False,
    user: User = Depends(registered_user),
    db: DbSession = Depends(get_db),
):
    """The organisations on the profile (``include_left`` adds the ones left)."""
    applying = _applying(db, user)
    stmt = (
        select(Membership, Organisation)
        .join(Organisation, Organisation.id == Membership.org_id)
        .where(Membership.user_id == user.id)
        .order_by(Membership.created_at, Membership.id)
    )
    if not include_left:
        stmt = stmt.where(Membership.left_at.is_(None))
    return [membership_out(m, o, applying=applying) for m, o in db.execute(stmt)]


def _record_membership(db: DbSession, user: User, m: Membership, op: str = "upsert") -> None:
    changes.record(db, [changes.user(user.id)], "membership", m.id, op=op)
    changes.record(db, [changes.user(user.id)], "user", user.id)


@router.post("/users/me/memberships", status_code=201, response_model=MembershipOut)
def add_membership(
    body: MembershipCreate,
    response: Response,
    user: User = Depends(current_user),
    db: DbSession = Depends(get_db),
):
    """Add an organisation to the profile with your role there (also "add again" after leaving).

    The answer's ``actions`` include ``request_validation`` when you can now apply for
    eTwinning with it."""
    role = _role(body.role)
    org = db.get(Organisation, body.org_id) if usable_id(body.org_id) else None
    if org is None or not can_see(db, user, org):
        raise NotFound("organisation")
    if body.id is not None and db.get(Membership, body.id) is not None:
        raise Conflict("exists", "A membership with this id exists.", field="id")
    current = db.scalar(
        select(Membership.id).where(
            Membership.user_id == user.id,
            Membership.org_id == org.id,
            Membership.left_at.is_(None),
        )
    )
    if current is not None:
        raise Conflict(
            "already_member",
            f"“{org.public_name}” is already on your profile; change your role there instead.",
            field="org_id",
        )
    if org.state == "rejected":
        raise NotAllowed(
            "organisation_rejected",
            f"“{org.public_name}” was not validated, so it cannot be added.",
            [_rejected_reason(org)],
        )
    m = Membership(user_id=user.id, org_id=org.id, role=role)
    if body.id is not None:
        m.id = body.id
    db.add(m)
    try:
        db.flush()
    except IntegrityError:
        raise Conflict("exists", "A membership with this id exists.", field="id") from None
    _touch_memberships(db, user, m)
    response.headers["Location"] = f"/users/me/memberships/{m.id}"
    return membership_out(m, org, applying=_applying(db, user))


def _touch_memberships(db: DbSession, user: User, m: Membership, op: str = "upsert") -> None:
    user.version += 1
    _record_membership(db, user, m, op)


def _rejected_reason(org: Organisation) -> Reason:
    return Reason(
        code="organisation_rejected",
        message=f"“{org.public_name}” was not validated by its National Support Organisation"
        + (f": {org.rejection_reason}" if org.rejection_reason else "."),
        fix="Find your school in the search and add it; if it is missing, register it again "
        "with its correct data.",
        action="add_organisation",
    )


@router.patch("/users/me/memberships/{mid}", response_model=MembershipOut)
def change_role(
    mid: str,
    body: MembershipPatch,
    user: User = Depends(current_user),
    db: DbSession = Depends(get_db),
):
    """Change your role at an organisation (e.g. from company staff to teacher)."""
    m, org = _own_membership(db, user, mid)
    role = _role(body.role)
    if m.left_at is not None:
        raise NotAllowed(
            "membership_left",
            "You left this organisation; add it again to choose a role.",
        )
    if m.role != role:
        m.role = role
        _touch_memberships(db, user, m)
        db.flush()
    return membership_out(m, org, applying=_applying(db, user))


@router.delete("/users/me/memberships/{mid}", status_code=204)
def leave(mid: str, user: User = Depends(current_user), db: DbSession = Depends(get_db)):
    """Leave an organisation (the card's "leave organisation")."""
    m, _org = _own_membership(db, user, mid)
    if m.left_at is not None:
        raise NotAllowed("already_left", "You already left this organisation.")
    m.left_at = clock.now()
    _touch_memberships(db, user, m, op="delete")
    db.flush()
    return Response(status_code=204)


# --- the eTwinning application ---------------------------------------------------------------


def file_application(db: DbSession, user: User) -> Application:
    """Send the application to the NSO of the user's country; the user waits for validation."""
    previous = rules.open_application(db, user.id)
    if previous is not None:  # re-applying after a request for information
        previous.state = "withdrawn"
        previous.decided_at = clock.now()
        previous.version += 1
        changes.record(db, [changes.nso(previous.country)], "nso_application", previous.id)
    app = Application(user_id=user.id, country=user.country, state="pending")
    db.add(app)
    user.state = "etwinning_pending"
    user.rejection_reason = None
    db.flush()
    _touch(db, user)
    changes.record(db, [changes.nso(user.country)], "nso_application", app.id)
    return app


def _pending_reason(app: Application | None) -> Reason:
    waited = rules.days_waiting(app.submitted_at) if app is not None else 0
    return Reason(
        code="validation_pending",
        message="Your eTwinning registration is already waiting for validation by your "
        f"National Support Organisation ({waited} days so far).",
        fix=f"Validation usually takes up to {rules.VALIDATION_DAYS} days; contact your NSO if "
        "it takes longer.",
        fixed_by="nso",
    )


def _apply_refusals(db: DbSession, user: User) -> None:
    """Raise when the user's state does not allow an application."""
    app = rules.open_application(db, user.id)
    if user.state == "etwinning_validated":
        raise NotAllowed(
            "already_validated",
            "You are already validated for eTwinning.",
            [r for r in rules.etwinning_access(db, user)],
        )
    if not may_apply(user, app):
        raise NotAllowed(
            "already_pending",
            "Your application is already waiting for validation.",
            [_pending_reason(app)],
        )


@router.get("/users/me/etwinning", response_model=ApplicationOut)
def my_application(user: User = Depends(registered_user), db: DbSession = Depends(get_db)):
    """Your latest eTwinning application."""
    app = latest_application(db, user.id)
    if app is None:
        raise NotFound("application")
    return application_out(app)


@router.post("/users/me/etwinning", status_code=201, response_model=ApplicationOut)
def join_etwinning(
    response: Response, user: User = Depends(current_user), db: DbSession = Depends(get_db)
):
    """ "Join eTwinning" / "Apply for eTwinning": the NSO of your country validates you.

    Needs a teaching role at a school on your profile (company staff blocks eTwinning)."""
    _apply_refusals(db, user)
    reasons = rules.can_apply_etwinning(db, user)
    if reasons:
        raise NotAllowed(
            "cannot_apply", "You cannot apply for eTwinning yet; see the reasons.", reasons
        )
    app = file_application(db, user)
    response.headers["Location"] = "/users/me/etwinning"
    return application_out(app)


@router.post(
    "/users/me/memberships/{mid}/request-validation",
    status_code=201,
    response_model=ApplicationOut,
)
def request_validation(
    mid: str,
    response: Response,
    user: User = Depends(current_user),
    db: DbSession = Depends(get_db),
):
    """The card's "Request eTwinning validation" / "Apply for eTwinning" (FAQ problem 1)."""
    m, org = _own_membership(db, user, mid)
    if m.left_at is not None:
        raise NotAllowed("membership_left", "You left this organisation; add it again first.")
    reasons: list[Reason] = []
    if m.role in rules.BLOCKING_ROLES:
        reasons.append(
            Reason(
                code="company_staff",
                message=f"Your role at “{org.public_name}” is “Company staff”, which is for "
                "non-teaching staff and blocks eTwinning.",
                fix="Choose the role that matches your function (teacher, head teacher, "
                "librarian, …); if you cannot change it yourself, contact your National "
                "Support Organisation.",
                action=f"change_role:{m.id}",
            )
        )
    if org.state == "rejected":
        reasons.append(_rejected_reason(org))
    elif org.type not in rules.SCHOOL_TYPES:
        reasons.append(
            Reason(
                code="not_a_school",
                message=f"“{org.public_name}” is not registered as a school, so it cannot give "
                "eTwinning access.",
                fix="Add the school where you teach. If this is a school registered with the "
                "wrong type, contact your National Support Organisation.",
                fixed_by="nso",
                action="add_organisation",
            )
        )
    app = rules.open_application(db, user.id)
    if not reasons and not may_apply(user, app):
        if org.state == "pending":
            reasons.extend(
                r for r in rules._org_reasons([(m, org)]) if r.code == "organisation_pending"
            )
        elif user.state == "etwinning_pending":
            reasons.append(_pending_reason(app))
        else:
            reasons.append(
                Reason(
                    code="already_validated",
                    message=f"You are validated and “{org.public_name}” gives eTwinning access: "
                    "there is nothing to request.",
                    fix="Nothing to do.",
                )
            )
    if not reasons:
        reasons = rules.can_apply_etwinning(db, user)
    if reasons:
        raise NotAllowed(
            "cannot_request_validation",
            "eTwinning validation cannot be requested with this organisation; see the reasons.",
            reasons,
        )
    app = file_application(db, user)
    response.headers["Location"] = "/users/me/etwinning"
    return application_out(app)
