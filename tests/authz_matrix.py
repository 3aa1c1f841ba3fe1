"""The authorization matrix data: one entry per OpenAPI operation ("METHOD /path").

Roles: ``anonymous``; ``teacher`` (the Greek creator who owns the objects), ``partner`` (the
Polish co-founder), ``non_member`` (a validated Greek teacher with no relation to anything),
``pupil`` and ``pupil_admin`` (of the owner's TwinSpace), ``nso`` (Greek NSO staff, the
country of the owner's objects) and ``nso_other`` (German NSO staff, a country with nothing).

Targets: ``own`` uses the owner's objects (the approved GR-PL project, its page, pupil and
material, the owner's post, contact, notification, membership; the Greek application and
pending organisation; the project queued for both NSOs); ``foreign`` uses the same kind of
object from elsewhere (a PL-PL project and everything in it, Polish applications and
organisations). Operations without an object in the path only have ``own``.

Expectations per target: a role -> ``"2xx"`` | ``"4xx"`` | an exact status; ``"*"`` is the
default for the roles not named. ``anonymous`` defaults to 401 on every operation that needs a
session. ``why`` says in a few words who may do it.
"""

from __future__ import annotations

import base64

from tests.fuzz_support import PNG, POST_FIELDS, PROJECT_FIELDS

ROLES = (
    "anonymous",
    "teacher",
    "partner",
    "non_member",
    "pupil",
    "pupil_admin",
    "nso",
    "nso_other",
)
PUBLIC = {
    "POST /eulogin/accounts",
    "POST /eulogin/sessions",
    "POST /eulogin/sessions/refresh",
    "POST /pupil-login",
    "GET /platform/form",
}


def headers(world, role: str) -> dict[str, str]:
    return {
        "anonymous": {},
        "teacher": world.owner.headers,
        "partner": world.partner.headers,
        "non_member": world.stranger.headers,
        "pupil": world.pupil["headers"],
        "pupil_admin": world.pupil_admin["headers"],
        "nso": world.gr_nso.headers,
        "nso_other": world.de_nso.headers,
    }[role]


# path parameter -> (own, foreign) object of the world
def _params(world) -> dict[str, tuple]:
    return {
        "project_id": (world.project_id, world.foreign_project_id),
        "page_id": (world.page_id, world.foreign_page_id),
        "material_id": (world.material_id, world.foreign_material_id),
        "pupil_id": (world.pupil["id"], world.foreign_pupil_id),
        "post_id": (world.post_id, world.foreign_post_id),
        "contact_id": (world.pending_contact_id, world.foreign_contact_id),
        "notification_id": (world.notification_id, world.foreign_notification_id),
        "app_id": (world.gr_application_id, world.pl_application_id),
        "org_id": (world.gr_pending_org_id, world.pl_pending_org_id),
        "audit_id": (world.gr_audit_id, world.pl_audit_id),
        "mid": (world.owner.membership_ids[0], world.pl_outsider.membership_ids[0]),
        "user_id": (world.partner.user_id, world.pl_second.user_id),
        "queue": ("applications", "applications"),
        "item_id": (world.gr_application_id, world.pl_application_id),
    }


# per-operation overrides of the objects: name -> (own, foreign) attribute names of the world
OVERRIDES = {
    "GET /nso/projects/{project_id}": {"project_id": ("queued_project_id", "foreign_project_id")},
    "POST /nso/organisations/{item_id}/decision": {
        "item_id": ("gr_pending_org_id", "pl_pending_org_id")
    },
    "POST /nso/projects/{item_id}/decision": {
        "item_id": ("queued_project_id", "foreign_project_id")
    },
    "POST /projects/{project_id}/accept": {
        "project_id": ("queued_project_id", "foreign_project_id")
    },
    "POST /projects/{project_id}/decline": {
        "project_id": ("queued_project_id", "foreign_project_id")
    },
    "DELETE /contacts/{contact_id}": {"contact_id": ("contact_id", "foreign_contact_id")},
    "POST /nso/users/{user_id}/active": {
        "user_id": ("gr_applicant.user_id", "pl_applicant.user_id")
    },
}


def _attr(world, dotted: str):
    value = world
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def _png() -> str:
    return base64.b64encode(PNG).decode()


# request bodies and queries (a callable gets the world and the target)
BODIES = {
    "POST /eulogin/accounts": {
        "email": "new.person@example.org",
        "password": "a long enough password",
        "name": "New Person",
    },
    "POST /eulogin/sessions": {"email": "nobody@example.org", "password": "wrong password!"},
    "POST /eulogin/sessions/refresh": {"refresh_token": "rt_not_a_real_token"},
    "POST /pupil-login": {"username": "nobody-here-0000", "code": "xxxx-xxxx"},
    "POST /platform/registration": {
        "capacity": "school_staff",
        "country": "GR",
        "first_name": "New",
        "last_name": "Person",
    },
    "PATCH /users/me/profile": {"description": "I teach biology."},
    "POST /users/me/memberships": lambda w, t: {
        "org_id": w.gr_pending_org_id if t == "own" else w.pl_pending_org_id,
        "role": "librarian",
    },
    "PATCH /users/me/memberships/{mid}": {"role": "head_teacher"},
    "POST /contacts": lambda w, t: {"user_id": w.stranger.user_id},
    "POST /posts": POST_FIELDS,
    "POST /posts/{post_id}/interest": {"note": "Interested!"},
    "POST /posts/{post_id}/report": {"reason": "Spam"},
    "POST /organisations": {
        "legal_name": "Brand new school of Thessaloniki",
        "country": "GR",
        "city": "Thessaloniki",
        "type": "primary",
    },
    "POST /projects/preview": lambda w, t: {**PROJECT_FIELDS, "partner_id": w.partner.user_id},
    "POST /projects": lambda w, t: {**PROJECT_FIELDS, "partner_id": w.partner.user_id},
    "PATCH /projects/{project_id}": {"title": "A new title"},
    "POST /projects/{project_id}/accept": {},
    "POST /projects/{project_id}/decline": {"reason": "No time this year."},
    "POST /projects/{project_id}/members": lambda w, t: {
        "user_id": w.stranger.user_id,
        "role": "teacher",
    },
    "PATCH /projects/{project_id}/members/{user_id}": {"role": "teacher"},
    "POST /projects/{project_id}/pages": {"title": "March: our rivers"},
    "PATCH /pages/{page_id}": {"title": "Renamed"},
    "POST /pages/{page_id}/sync": {"state_vector": ""},
    "POST /pages/{page_id}/restore": {"revision_id": 1},
    "POST /pages/{page_id}/materials": {
        "filename": "more.png",
        "content_type": "image/png",
        "data_base64": _png(),
    },
    "POST /projects/{project_id}/pupils": {"nicknames": ["New kid"], "role": "pupil"},
    "PATCH /pupils/{pupil_id}": {"role": "pupil_admin"},
    "POST /nso/applications/{item_id}/decision": {"action": "approve", "version": 1},
    "POST /nso/organisations/{item_id}/decision": {"action": "approve", "version": 1},
    "POST /nso/projects/{item_id}/decision": {"action": "approve", "version": 1},
    "POST /nso/decisions/bulk": lambda w, t: {
        "items": [
            {
                "kind": "application",
                "id": w.gr_application_id if t == "own" else w.pl_application_id,
                "version": 1,
            }
        ],
        "action": "approve",
    },
    "POST /nso/users/{user_id}/active": {"active": False, "reason": "Duplicate account."},
}
QUERIES = {
    "GET /organisations": {"country": "GR", "q": "school"},
    "GET /organisations/similar": {"country": "GR", "city": "Athens", "name": "School"},
    "GET /eligibility/project-member": lambda w, t: {"user_id": w.partner.user_id},
    "GET /platform/form": {"capacity": "school_staff"},
    "GET /sync/changes": {"since": 0},
}


def targets(key: str, entry: dict) -> list[str]:
    return ["own", "foreign"] if "{" in key or "foreign" in entry else ["own"]


def request(world, key: str, entry: dict, target: str) -> tuple[str, str, dict]:
    method, path = key.split(" ", 1)
    index = 0 if target == "own" else 1
    objects = _params(world)
    for name, attrs in OVERRIDES.get(key, {}).items():
        objects[name] = (_attr(world, attrs[0]), _attr(world, attrs[1]))
    for name, values in objects.items():
        path = path.replace("{" + name + "}", str(values[index]))
    kwargs: dict = {}
    body = BODIES.get(key)
    if callable(body):
        body = body(world, target)
    if body is not None:
        kwargs["json"] = body
    query = QUERIES.get(key)
    if callable(query):
        query = query(world, target)
    if query:
        kwargs["params"] = query
    return method, path, kwargs


def expected(key: str, entry: dict, target: str, role: str):
    table = entry.get(target) or entry.get("own") or {}
    if role in table:
        return table[role]
    if role == "anonymous" and key not in PUBLIC:
        return 401
    return table.get("*")


def decided_ok(entry: dict, target: str, role: str, response) -> bool:
    """A bulk answer is 200 even when every item is refused: count what it really decided."""
    limit = entry.get("decided", {}).get(target, {}).get(role)
    return limit is None or response.status_code >= 300 or response.json()["ok"] == limit


def matches(want, status: int) -> bool:
    if want == "2xx":
        return 200 <= status < 300
    if want == "4xx":
        return 400 <= status < 500
    return status == want


MATRIX: dict[str, dict] = {
    "POST /eulogin/accounts": {
        "why": "public: anyone may create an EU Login account",
        "own": {"*": "2xx"},
    },
    "POST /eulogin/sessions": {
        "why": "public sign-in; wrong credentials 401 for everyone",
        "own": {"*": 401},
    },
    "POST /eulogin/sessions/refresh": {
        "why": "public; an unknown refresh token is 401",
        "own": {"*": 401},
    },
    "DELETE /eulogin/sessions/current": {
        "why": "any signed-in principal signs out their own session",
        "own": {"*": "2xx"},
    },
    "GET /eulogin/me": {
        "why": "accounts only; pupils have no EU Login account",
        "own": {"pupil": 403, "pupil_admin": 403, "*": "2xx"},
    },
    "GET /contacts": {
        "why": "platform users' own contacts; pupils refused",
        "own": {"pupil": 403, "pupil_admin": 403, "*": "2xx"},
    },
    "POST /contacts": {
        "why": "teachers ask teachers; NSO staff and pupils refused; self is invalid",
        "own": {"teacher": "2xx", "partner": "2xx", "non_member": 422, "*": 403},
    },
    "POST /contacts/{contact_id}/accept": {
        "why": "only the addressee; everyone else 404",
        "own": {"teacher": "2xx", "pupil": 403, "pupil_admin": 403, "*": 404},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": 404},
    },
    "POST /contacts/{contact_id}/decline": {
        "why": "only the addressee; everyone else 404",
        "own": {"teacher": "2xx", "pupil": 403, "pupil_admin": 403, "*": 404},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": 404},
    },
    "DELETE /contacts/{contact_id}": {
        "why": "either side of the contact; everyone else 404",
        "own": {"teacher": "2xx", "partner": "2xx", "pupil": 403, "pupil_admin": 403, "*": 404},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": 404},
    },
    "GET /eligibility/etwinning": {
        "why": "the caller's own eligibility",
        "own": {"pupil": 403, "pupil_admin": 403, "*": "2xx"},
    },
    "GET /eligibility/project-creation": {
        "why": "the caller's own eligibility",
        "own": {"pupil": 403, "pupil_admin": 403, "*": "2xx"},
    },
    "GET /eligibility/project-member": {
        "why": "about one of my contacts (or myself); others 404",
        "own": {"teacher": "2xx", "partner": "2xx", "pupil": 403, "pupil_admin": 403, "*": 404},
    },
    "POST /pages/{page_id}/materials": {
        "why": "teachers and pupil admins of the TwinSpace",
        "own": {"non_member": 404, "pupil": 403, "nso": 404, "nso_other": 404, "*": "2xx"},
        "foreign": {"*": 404},
    },
    "GET /pages/{page_id}/materials": {
        "why": "everyone in the TwinSpace, pupils included",
        "own": {"non_member": 404, "nso": 404, "nso_other": 404, "*": "2xx"},
        "foreign": {"*": 404},
    },
    "GET /materials/{material_id}": {
        "why": "everyone in the TwinSpace, pupils included",
        "own": {"non_member": 404, "nso": 404, "nso_other": 404, "*": "2xx"},
        "foreign": {"*": 404},
    },
    "DELETE /materials/{material_id}": {
        "why": "the TwinSpace's teachers",
        "own": {"teacher": "2xx", "partner": "2xx", "pupil": 403, "pupil_admin": 403, "*": 404},
        "foreign": {"*": 404},
    },
    "GET /notifications": {
        "why": "a platform user's own notifications",
        "own": {"pupil": 403, "pupil_admin": 403, "*": "2xx"},
    },
    "POST /notifications/{notification_id}/read": {
        "why": "only the notified user",
        "own": {"teacher": "2xx", "pupil": 403, "pupil_admin": 403, "*": 404},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": 404},
    },
    "GET /nso/queues": {
        "why": "NSO staff, their own country's counts",
        "own": {"nso": "2xx", "nso_other": "2xx", "*": 403},
    },
    "GET /nso/queues/{queue}": {
        "why": "NSO staff, their own country's items",
        "own": {"nso": "2xx", "nso_other": "2xx", "*": 403},
        "foreign": {"nso": "2xx", "nso_other": "2xx", "*": 403},
    },
    "GET /nso/applications/{app_id}": {
        "why": "NSO staff of the applicant's country",
        "own": {"nso": "2xx", "nso_other": 404, "*": 403},
        "foreign": {"nso": 404, "nso_other": 404, "*": 403},
    },
    "GET /nso/organisations/{org_id}": {
        "why": "NSO staff of the organisation's country",
        "own": {"nso": "2xx", "nso_other": 404, "*": 403},
        "foreign": {"nso": 404, "nso_other": 404, "*": 403},
    },
    "GET /nso/projects/{project_id}": {
        "why": "NSO staff of a founder country",
        "own": {"nso": "2xx", "nso_other": 404, "*": 403},
        "foreign": {"nso": 404, "nso_other": 404, "*": 403},
    },
    "GET /nso/reason-templates": {
        "why": "NSO staff",
        "own": {"nso": "2xx", "nso_other": "2xx", "*": 403},
    },
    "POST /nso/applications/{item_id}/decision": {
        "why": "NSO staff of the applicant's country",
        "own": {"nso": "2xx", "nso_other": 404, "*": 403},
        "foreign": {"nso": 404, "nso_other": 404, "*": 403},
    },
    "POST /nso/organisations/{item_id}/decision": {
        "why": "NSO staff of the organisation's country",
        "own": {"nso": "2xx", "nso_other": 404, "*": 403},
        "foreign": {"nso": 404, "nso_other": 404, "*": 403},
    },
    "POST /nso/projects/{item_id}/decision": {
        "why": "NSO staff of a founder country (version 1 is stale: 409)",
        "own": {"nso": 409, "nso_other": 404, "*": 403},
        "foreign": {"nso": 404, "nso_other": 404, "*": 403},
    },
    "POST /nso/decisions/bulk": {
        "why": "NSO staff; items of another country fail one by one inside the 200",
        "own": {"nso": "2xx", "nso_other": "2xx", "*": 403},
        "foreign": {"nso": "2xx", "nso_other": "2xx", "*": 403},
        # how many items each 2xx answer may have decided
        "decided": {"own": {"nso": 1, "nso_other": 0}, "foreign": {"nso": 0, "nso_other": 0}},
    },
    "POST /nso/decisions/{audit_id}/undo": {
        "why": "the deciding country's staff (the window has passed: 409)",
        "own": {"nso": 409, "nso_other": 404, "*": 403},
        "foreign": {"nso": 404, "nso_other": 404, "*": 403},
    },
    "GET /nso/audit": {
        "why": "NSO staff, their own country's log",
        "own": {"nso": "2xx", "nso_other": "2xx", "*": 403},
    },
    "GET /nso/decisions/{audit_id}": {
        "why": "NSO staff of the deciding country",
        "own": {"nso": "2xx", "nso_other": 404, "*": 403},
        "foreign": {"nso": 404, "nso_other": 404, "*": 403},
    },
    "GET /nso/stats": {
        "why": "NSO staff, their own country",
        "own": {"nso": "2xx", "nso_other": "2xx", "*": 403},
    },
    "POST /nso/users/{user_id}/active": {
        "why": "NSO staff of the user's country",
        "own": {"nso": "2xx", "nso_other": 404, "*": 403},
        "foreign": {"nso": 404, "nso_other": 404, "*": 403},
    },
    "GET /organisations": {
        "why": "any platform user searches",
        "own": {"pupil": 403, "pupil_admin": 403, "*": "2xx"},
    },
    "POST /organisations": {
        "why": "any platform user registers one (Greek schools need a number: 422)",
        "own": {"pupil": 403, "pupil_admin": 403, "*": 422},
    },
    "GET /organisations/similar": {
        "why": "any platform user",
        "own": {"pupil": 403, "pupil_admin": 403, "*": "2xx"},
    },
    "GET /organisations/{org_id}": {
        "why": "pending and validated organisations are public to platform users",
        "own": {"pupil": 403, "pupil_admin": 403, "*": "2xx"},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": "2xx"},
    },
    "GET /people": {
        "why": "any platform user searches people",
        "own": {"pupil": 403, "pupil_admin": 403, "*": "2xx"},
    },
    "GET /people/{user_id}": {
        "why": "visible profiles, to platform users",
        "own": {"pupil": 403, "pupil_admin": 403, "*": "2xx"},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": "2xx"},
    },
    "GET /posts": {
        "why": "any platform user",
        "own": {"pupil": 403, "pupil_admin": 403, "*": "2xx"},
    },
    "POST /posts": {
        "why": "teachers write posts; NSO staff and pupils refused",
        "own": {"teacher": "2xx", "partner": "2xx", "non_member": "2xx", "*": 403},
    },
    "GET /posts/{post_id}": {
        "why": "any platform user",
        "own": {"pupil": 403, "pupil_admin": 403, "*": "2xx"},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": "2xx"},
    },
    "DELETE /posts/{post_id}": {
        "why": "only the author",
        "own": {"teacher": "2xx", "*": 403},
        "foreign": {"*": 403},
    },
    "POST /posts/{post_id}/interest": {
        "why": "teachers other than the author",
        "own": {"teacher": 409, "partner": "2xx", "non_member": "2xx", "*": 403},
        "foreign": {"teacher": "2xx", "partner": "2xx", "non_member": "2xx", "*": 403},
    },
    "POST /posts/{post_id}/report": {
        "why": "platform users other than the author",
        "own": {"teacher": 409, "pupil": 403, "pupil_admin": 403, "*": "2xx"},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": "2xx"},
    },
    "POST /projects/preview": {
        "why": "validated teachers (the body's partner is not everyone's contact: 409)",
        "own": {"pupil": 403, "pupil_admin": 403, "*": 409},
    },
    "POST /projects": {
        "why": "validated teachers (the body's partner is not everyone's contact: 409)",
        "own": {"pupil": 403, "pupil_admin": 403, "*": 409},
    },
    "GET /projects": {
        "why": "a platform user's own projects",
        "own": {"pupil": 403, "pupil_admin": 403, "*": "2xx"},
    },
    "GET /projects/{project_id}": {
        "why": "members only; others 404",
        "own": {"teacher": "2xx", "partner": "2xx", "pupil": 403, "pupil_admin": 403, "*": 404},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": 404},
    },
    "PATCH /projects/{project_id}": {
        "why": "the creator, while pending (approved: 409)",
        "own": {"teacher": 409, "non_member": 404, "nso": 404, "nso_other": 404, "*": 403},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": 404},
    },
    "DELETE /projects/{project_id}": {
        "why": "the creator, while pending (approved: 409)",
        "own": {"teacher": 409, "non_member": 404, "nso": 404, "nso_other": 404, "*": 403},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": 404},
    },
    "GET /projects/{project_id}/image": {
        "why": "members only (no image here: 404)",
        "own": {"pupil": 403, "pupil_admin": 403, "*": 404},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": 404},
    },
    "POST /projects/{project_id}/accept": {
        "why": "only the partner (of the queued project: already accepted, 409)",
        "own": {"partner": 409, "non_member": 404, "nso": 404, "nso_other": 404, "*": 403},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": 404},
    },
    "POST /projects/{project_id}/decline": {
        "why": "only the partner (already accepted, 409)",
        "own": {"partner": 409, "non_member": 404, "nso": 404, "nso_other": 404, "*": 403},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": 404},
    },
    "POST /projects/{project_id}/close": {
        "why": "teacher administrators",
        "own": {"teacher": "2xx", "partner": "2xx", "pupil": 403, "pupil_admin": 403, "*": 404},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": 404},
    },
    "GET /projects/{project_id}/members": {
        "why": "members only",
        "own": {"teacher": "2xx", "partner": "2xx", "pupil": 403, "pupil_admin": 403, "*": 404},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": 404},
    },
    "POST /projects/{project_id}/members": {
        "why": "teacher administrators of an approved project",
        "own": {"teacher": "2xx", "partner": "2xx", "pupil": 403, "pupil_admin": 403, "*": 404},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": 404},
    },
    "POST /projects/{project_id}/members/me/accept": {
        "why": "invited members (founders are not invited: 409)",
        "own": {"teacher": 409, "partner": 409, "pupil": 403, "pupil_admin": 403, "*": 404},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": 404},
    },
    "PATCH /projects/{project_id}/members/{user_id}": {
        "why": "teacher administrators",
        "own": {"teacher": "2xx", "partner": "2xx", "pupil": 403, "pupil_admin": 403, "*": 404},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": 404},
    },
    "DELETE /projects/{project_id}/members/{user_id}": {
        "why": "teacher administrators; never a founder (409)",
        "own": {"teacher": 409, "partner": 409, "pupil": 403, "pupil_admin": 403, "*": 404},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": 404},
    },
    "GET /projects/{project_id}/pupils": {
        "why": "the TwinSpace's teachers",
        "own": {"teacher": "2xx", "partner": "2xx", "pupil": 403, "pupil_admin": 403, "*": 404},
        "foreign": {"*": 404},
    },
    "POST /projects/{project_id}/pupils": {
        "why": "the TwinSpace's teachers",
        "own": {"teacher": "2xx", "partner": "2xx", "pupil": 403, "pupil_admin": 403, "*": 404},
        "foreign": {"*": 404},
    },
    "POST /pupils/{pupil_id}/reset-code": {
        "why": "the TwinSpace's teachers; pupils never see other pupils",
        "own": {"teacher": "2xx", "partner": "2xx", "*": 404},
        "foreign": {"*": 404},
    },
    "PATCH /pupils/{pupil_id}": {
        "why": "the TwinSpace's teachers",
        "own": {"teacher": "2xx", "partner": "2xx", "*": 404},
        "foreign": {"*": 404},
    },
    "DELETE /pupils/{pupil_id}": {
        "why": "the TwinSpace's teachers",
        "own": {"teacher": "2xx", "partner": "2xx", "*": 404},
        "foreign": {"*": 404},
    },
    "GET /pupils/me": {
        "why": "pupils only",
        "own": {"pupil": "2xx", "pupil_admin": "2xx", "*": 403},
    },
    "POST /pupil-login": {
        "why": "public; unknown pupil credentials 401",
        "own": {"*": 401},
    },
    "GET /sync/changes": {
        "why": "any signed-in principal reads their own feed",
        "own": {"*": "2xx"},
    },
    "GET /sync/cursor": {
        "why": "any signed-in principal",
        "own": {"*": "2xx"},
    },
    "GET /projects/{project_id}/pages": {
        "why": "everyone in the TwinSpace",
        "own": {"non_member": 404, "nso": 404, "nso_other": 404, "*": "2xx"},
        "foreign": {"*": 404},
    },
    "POST /projects/{project_id}/pages": {
        "why": "teachers and pupil admins",
        "own": {"non_member": 404, "pupil": 403, "nso": 404, "nso_other": 404, "*": "2xx"},
        "foreign": {"*": 404},
    },
    "GET /pages/{page_id}": {
        "why": "everyone in the TwinSpace",
        "own": {"non_member": 404, "nso": 404, "nso_other": 404, "*": "2xx"},
        "foreign": {"*": 404},
    },
    "PATCH /pages/{page_id}": {
        "why": "the TwinSpace's teachers",
        "own": {"teacher": "2xx", "partner": "2xx", "pupil": 403, "pupil_admin": 403, "*": 404},
        "foreign": {"*": 404},
    },
    "DELETE /pages/{page_id}": {
        "why": "the TwinSpace's teachers",
        "own": {"teacher": "2xx", "partner": "2xx", "pupil": 403, "pupil_admin": 403, "*": 404},
        "foreign": {"*": 404},
    },
    "POST /pages/{page_id}/sync": {
        "why": "everyone in the TwinSpace (an empty sync only reads)",
        "own": {"non_member": 404, "nso": 404, "nso_other": 404, "*": "2xx"},
        "foreign": {"*": 404},
    },
    "GET /pages/{page_id}/history": {
        "why": "everyone in the TwinSpace",
        "own": {"non_member": 404, "nso": 404, "nso_other": 404, "*": "2xx"},
        "foreign": {"*": 404},
    },
    "POST /pages/{page_id}/restore": {
        "why": "teachers and pupil admins",
        "own": {"non_member": 404, "pupil": 403, "nso": 404, "nso_other": 404, "*": "2xx"},
        "foreign": {"*": 404},
    },
    "GET /platform/form": {
        "why": "public",
        "own": {"*": "2xx"},
    },
    "POST /platform/registration": {
        "why": "accounts without a platform user (all of these have one: 409)",
        "own": {"pupil": 403, "pupil_admin": 403, "*": 409},
    },
    "GET /users/me": {
        "why": "platform users",
        "own": {"pupil": 403, "pupil_admin": 403, "*": "2xx"},
    },
    "PATCH /users/me/profile": {
        "why": "platform users, their own profile",
        "own": {"pupil": 403, "pupil_admin": 403, "*": "2xx"},
    },
    "GET /users/me/memberships": {
        "why": "platform users, their own",
        "own": {"pupil": 403, "pupil_admin": 403, "*": "2xx"},
    },
    "POST /users/me/memberships": {
        "why": "platform users (the owner already has this school: 409)",
        "own": {"teacher": 409, "pupil": 403, "pupil_admin": 403, "*": "2xx"},
    },
    "PATCH /users/me/memberships/{mid}": {
        "why": "only the membership's user",
        "own": {"teacher": "2xx", "pupil": 403, "pupil_admin": 403, "*": 404},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": 404},
    },
    "DELETE /users/me/memberships/{mid}": {
        "why": "only the membership's user",
        "own": {"teacher": "2xx", "pupil": 403, "pupil_admin": 403, "*": 404},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": 404},
    },
    "GET /users/me/etwinning": {
        "why": "platform users' own application (none here: 404)",
        "own": {"pupil": 403, "pupil_admin": 403, "*": 404},
    },
    "POST /users/me/etwinning": {
        "why": "platform users (all here are validated or staff: 409)",
        "own": {"pupil": 403, "pupil_admin": 403, "*": 409},
    },
    "POST /users/me/memberships/{mid}/request-validation": {
        "why": "only the membership's user (validated: 409)",
        "own": {"teacher": 409, "pupil": 403, "pupil_admin": 403, "*": 404},
        "foreign": {"pupil": 403, "pupil_admin": 403, "*": 404},
    },
}
