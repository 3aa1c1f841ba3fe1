"""A small world for fuzzing and for the authorization matrix, built through the real API.

A European project between a Greek creator and a Polish partner, approved by both NSOs, with
its TwinSpace (pages, a material), two pupils (one pupil admin), partner-finding posts,
contacts, notifications, and pending applications and organisations in both countries.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from reference_backend.tables import AuditEntry, Membership, new_id
from tests.factories import Persona, make_org, make_staff, make_teacher

PROJECT_FIELDS = {
    "title": "Water around us",
    "short_description": "Two classes measure and compare their local rivers.",
    "languages": ["en"],
    "pupils_count": 40,
    "age_min": 10,
    "age_max": 12,
    "subjects": ["Biology"],
    "aims": "Scientific method; collaboration across borders.",
    "work_process": "One joint activity a month.",
    "expected_results": "A shared e-book.",
}
POST_FIELDS = {
    "title": "Looking for a partner class",
    "description": "Rivers and lakes, for pupils of 10 to 12.",
    "subjects": ["Biology"],
    "languages": ["en"],
    "pupil_age_min": 10,
    "pupil_age_max": 12,
}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json() if response.content else {}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def befriend(client, a: Persona, b: Persona) -> str:
    contact = ok(client.post("/contacts", json={"user_id": b.user_id}, headers=a.headers), 201)
    ok(client.post(f"/contacts/{contact['id']}/accept", headers=b.headers))
    return contact["id"]


def decide(client, staff: Persona, kind: str, item_id: str, action: str = "approve") -> dict:
    """One NSO decision against the version the staff member sees."""
    plural = {"application": "applications", "organisation": "organisations"}.get(kind, "projects")
    evidence = ok(client.get(f"/nso/{plural}/{item_id}", headers=staff.headers))
    body = {"action": action, "version": evidence["version"]}
    if action != "approve":
        body["reason"] = "Please check the data."
    return ok(
        client.post(f"/nso/{plural}/{item_id}/decision", json=body, headers=staff.headers), 201
    )


def approved_project(client, creator: Persona, partner: Persona, *nsos: Persona) -> dict:
    project = ok(
        client.post(
            "/projects",
            json={**PROJECT_FIELDS, "partner_id": partner.user_id},
            headers=creator.headers,
        ),
        201,
    )
    ok(client.post(f"/projects/{project['id']}/accept", json={}, headers=partner.headers))
    for staff in nsos:
        decide(client, staff, "project", project["id"])
    return ok(client.get(f"/projects/{project['id']}", headers=creator.headers))


def pupils(client, project_id: str, admin: Persona) -> dict[str, dict]:
    """A pupil and a pupil admin, signed in: role -> {id, username, headers}."""
    out = {}
    for role in ("pupil", "pupil_admin"):
        made = ok(
            client.post(
                f"/projects/{project_id}/pupils",
                json={"nicknames": [f"Kid {role}"], "role": role},
                headers=admin.headers,
            ),
            201,
        )["items"][0]
        login = ok(
            client.post("/pupil-login", json={"username": made["username"], "code": made["code"]}),
            201,
        )
        out[role] = {**made, "headers": bearer(login["access_token"])}
    return out


def applicant(app, client, country: str) -> tuple[Persona, str]:
    """A teacher whose eTwinning application waits in ``country``'s queue."""
    persona = make_teacher(app, country=country, state="esep_registered", first_name="Apply")
    application = ok(client.post("/users/me/etwinning", headers=persona.headers), 201)
    return persona, application["id"]


@dataclass
class World:
    gr_nso: Persona
    pl_nso: Persona
    owner: Persona  # GR creator of the approved project
    partner: Persona  # PL co-founder
    outsider: Persona  # GR teacher, the owner's contact, partner of the pending project
    stranger: Persona  # GR teacher with no contacts, posts or projects
    pl_outsider: Persona  # PL teacher, creator of the foreign project
    pl_second: Persona  # PL teacher, partner of the foreign project
    de_nso: Persona  # NSO staff of a country with nothing in this world
    project_id: str  # GR-PL, approved, TwinSpace open
    foreign_project_id: str  # PL-PL, approved by the Polish NSO
    pending_project_id: str  # owner -> outsider, awaiting the partner
    queued_project_id: str  # owner -> partner, accepted, awaiting both NSOs
    page_id: str
    foreign_page_id: str
    material_id: str
    foreign_material_id: str
    pupil: dict
    pupil_admin: dict
    foreign_pupil_id: str
    post_id: str
    foreign_post_id: str
    contact_id: str  # owner <-> partner, accepted
    pending_contact_id: str  # pl_outsider -> owner, pending
    foreign_contact_id: str  # outsider <-> pl_outsider
    notification_id: str  # owner's
    foreign_notification_id: str  # outsider's
    gr_applicant: Persona
    gr_application_id: str
    pl_applicant: Persona
    pl_application_id: str
    gr_pending_org_id: str
    pl_pending_org_id: str
    gr_audit_id: int
    pl_audit_id: int
    extra: dict = field(default_factory=dict)

    def personas(self) -> list[Persona]:
        return [self.gr_nso, self.pl_nso, self.owner, self.partner, self.outsider, self.stranger]


def build_world(app, client) -> World:
    gr_nso, pl_nso = make_staff(app, "GR"), make_staff(app, "PL")
    owner = make_teacher(app, country="GR", first_name="Eleni")
    partner = make_teacher(app, country="PL", first_name="Anna")
    outsider = make_teacher(app, country="GR", first_name="Zoe")
    stranger = make_teacher(app, country="GR", first_name="Nobody")
    pl_outsider = make_teacher(app, country="PL", first_name="Jan")
    pl_second = make_teacher(app, country="PL", first_name="Ola")
    de_nso = make_staff(app, "DE")
    contact_id = befriend(client, owner, partner)
    foreign_contact_id = befriend(client, pl_outsider, pl_second)
    project = approved_project(client, owner, partner, gr_nso, pl_nso)
    foreign = approved_project(client, pl_outsider, pl_second, pl_nso)
    queued = ok(
        client.post(
            "/projects",
            json={**PROJECT_FIELDS, "partner_id": partner.user_id},
            headers=owner.headers,
        ),
        201,
    )
    ok(client.post(f"/projects/{queued['id']}/accept", json={}, headers=partner.headers))
    # a national project waiting for its partner (owner and outsider become contacts)
    befriend(client, owner, outsider)
    pending = ok(
        client.post(
            "/projects",
            json={**PROJECT_FIELDS, "partner_id": outsider.user_id},
            headers=owner.headers,
        ),
        201,
    )
    pending_contact = ok(
        client.post("/contacts", json={"user_id": owner.user_id}, headers=pl_outsider.headers), 201
    )
    pages = ok(client.get(f"/projects/{project['id']}/pages", headers=owner.headers))
    page_id = _first_page(pages)
    foreign_pages = ok(client.get(f"/projects/{foreign['id']}/pages", headers=pl_outsider.headers))
    foreign_page_id = _first_page(foreign_pages)
    material = _material(client, page_id, owner)
    foreign_material = _material(client, foreign_page_id, pl_outsider)
    kids = pupils(client, project["id"], owner)
    foreign_kids = pupils(client, foreign["id"], pl_outsider)
    post = ok(client.post("/posts", json=POST_FIELDS, headers=owner.headers), 201)
    foreign_post = ok(client.post("/posts", json=POST_FIELDS, headers=pl_outsider.headers), 201)
    notes = ok(client.get("/notifications", headers=owner.headers))["items"]
    foreign_notes = ok(client.get("/notifications", headers=pl_outsider.headers))["items"]
    gr_applicant, gr_app = applicant(app, client, "GR")
    pl_applicant, pl_app = applicant(app, client, "PL")
    gr_org = make_org(app, country="GR", state="pending", registered_by=owner.user_id)
    pl_org = make_org(app, country="PL", state="pending", registered_by=partner.user_id)
    with app.state.sessionmaker() as db, db.begin():
        # the pending schools are on their registrants' profiles too
        for persona, org in ((owner, gr_org), (partner, pl_org)):
            db.add(Membership(id=new_id(), user_id=persona.user_id, org_id=org, role="teacher"))
    with app.state.sessionmaker() as db:
        audit = {
            c: db.query(AuditEntry.id).filter(AuditEntry.country == c).first()[0]
            for c in ("GR", "PL")
        }
    return World(
        gr_nso=gr_nso,
        pl_nso=pl_nso,
        owner=owner,
        partner=partner,
        outsider=outsider,
        stranger=stranger,
        pl_outsider=pl_outsider,
        pl_second=pl_second,
        de_nso=de_nso,
        project_id=project["id"],
        foreign_project_id=foreign["id"],
        pending_project_id=pending["id"],
        queued_project_id=queued["id"],
        page_id=page_id,
        foreign_page_id=foreign_page_id,
        material_id=material["id"],
        foreign_material_id=foreign_material["id"],
        pupil=kids["pupil"],
        pupil_admin=kids["pupil_admin"],
        foreign_pupil_id=foreign_kids["pupil"]["id"],
        post_id=post["id"],
        foreign_post_id=foreign_post["id"],
        contact_id=contact_id,
        pending_contact_id=pending_contact["id"],
        foreign_contact_id=foreign_contact_id,
        notification_id=notes[0]["id"],
        foreign_notification_id=foreign_notes[0]["id"],
        gr_applicant=gr_applicant,
        gr_application_id=gr_app,
        pl_applicant=pl_applicant,
        pl_application_id=pl_app,
        gr_pending_org_id=gr_org,
        pl_pending_org_id=pl_org,
        gr_audit_id=audit["GR"],
        pl_audit_id=audit["PL"],
    )


def _material(client, page_id: str, who: Persona) -> dict:
    body = {
        "filename": "plan.png",
        "content_type": "image/png",
        "data_base64": base64.b64encode(PNG).decode(),
    }
    return ok(client.post(f"/pages/{page_id}/materials", json=body, headers=who.headers), 201)


def _first_page(tree) -> str:
    """The first page id of a page tree answer, whatever its nesting."""
    items = tree["items"] if isinstance(tree, dict) and "items" in tree else tree
    if isinstance(items, dict):
        items = items.get("pages") or items.get("roots") or []
    return items[0]["id"]
