"""TwinSpace pages: starting pages, roles, the tree, CRDT sync and merge, history, restore."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from api_client import crdt
from reference_backend import clock
from reference_backend.domain.twinspace import member_role, open_twinspace
from reference_backend.tables import Page, Project, ProjectMember, new_id
from tests.factories import Persona, make_staff, make_teacher

APPROVED_AT = datetime(2026, 11, 15, 9, 0, tzinfo=UTC)


@dataclass
class Space:
    """An approved project with one member of every teacher role and an outsider."""

    project_id: str
    admin: Persona  # creator, teacher_admin
    partner: Persona  # co-founder, teacher_admin
    teacher: Persona
    observer: Persona
    outsider: Persona
    invited: Persona
    pages: dict[str, str] = field(default_factory=dict)  # title -> id


def make_space(app, *, state: str = "approved", country: str = "GR") -> Space:
    """Insert an approved (or ``state``) project with members and open its TwinSpace."""
    admin = make_teacher(app, country=country, first_name="Eleni")
    partner = make_teacher(app, country="PL", first_name="Anna")
    teacher = make_teacher(app, country=country, first_name="Nikos")
    observer = make_teacher(app, country=country, first_name="Olga")
    outsider = make_teacher(app, country=country, first_name="Zoe")
    invited = make_teacher(app, country=country, first_name="Ivan")
    project_id = new_id()
    with app.state.sessionmaker() as db, db.begin():
        project = Project(
            id=project_id,
            title="Water around us",
            short_description="Two classes study their rivers.",
            languages=["en"],
            pupils_count=40,
            age_min=9,
            age_max=11,
            subjects=["Science"],
            aims="Learn about water.",
            work_process="Monthly joint activities.",
            expected_results="A shared e-book.",
            state=state,
            scope="european",
            creator_id=admin.user_id,
            creator_school_id=admin.org_ids[0],
            partner_id=partner.user_id,
            partner_school_id=partner.org_ids[0],
            decided_at=APPROVED_AT if state in ("approved", "closed") else None,
            closed_at=datetime(2027, 6, 30, tzinfo=UTC) if state == "closed" else None,
        )
        db.add(project)
        db.flush()
        for persona, role, founder, mstate in (
            (admin, "teacher_admin", True, "active"),
            (partner, "teacher_admin", True, "active"),
            (teacher, "teacher", False, "active"),
            (observer, "observer", False, "active"),
            (invited, "teacher", False, "invited"),
        ):
            db.add(
                ProjectMember(
                    project_id=project_id,
                    user_id=persona.user_id,
                    role=role,
                    founder=founder,
                    state=mstate,
                )
            )
        db.flush()
        if state in ("approved", "closed"):
            open_twinspace(db, project)
    space = Space(project_id, admin, partner, teacher, observer, outsider, invited)
    with app.state.sessionmaker() as db:
        for page in db.query(Page).filter(Page.project_id == project_id):
            space.pages[page.title] = page.id
    return space


def make_pupil(client, space: Space, role: str = "pupil", nickname: str = "Kid") -> dict:
    """A pupil account signed in: {id, username, code, headers}."""
    r = client.post(
        f"/projects/{space.project_id}/pupils",
        json={"nicknames": [nickname], "role": role},
        headers=space.admin.headers,
    )
    assert r.status_code == 201, r.text
    pupil = r.json()["items"][0]
    login = client.post("/pupil-login", json={"username": pupil["username"], "code": pupil["code"]})
    assert login.status_code == 201, login.text
    pupil["headers"] = {"Authorization": f"Bearer {login.json()['access_token']}"}
    return pupil


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def fetch_doc(client, page_id, headers):
    r = client.get(f"/pages/{page_id}", headers=headers)
    assert r.status_code == 200, r.text
    return crdt.doc_from_update(crdt.b64decode(r.json()["doc"])), r.json()


def sync(client, page_id, headers, doc, server_state: bytes | None = None, send=True):
    update = None
    if send:
        update = b64(doc.get_update(server_state) if server_state else doc.get_update())
    return client.post(
        f"/pages/{page_id}/sync",
        json={"state_vector": b64(doc.get_state()), "update": update},
        headers=headers,
    )


def new_page(client, space, headers=None, **body):
    body.setdefault("title", "Our rivers")
    return client.post(
        f"/projects/{space.project_id}/pages", json=body, headers=headers or space.admin.headers
    )


# --- the starting pages -------------------------------------------------------------------


def test_open_twinspace_creates_getting_to_know_and_a_monthly_plan(client, app):
    s = make_space(app)
    tree = client.get(f"/projects/{s.project_id}/pages", headers=s.admin.headers).json()
    items = tree["items"]
    assert items[0]["title"] == "Getting to know each other"
    assert items[0]["status"] == "published" and items[0]["parent_id"] is None
    plan = items[1]
    assert plan["title"] == "Activity plan" and plan["parent_id"] is None
    months = [i for i in items if i["parent_id"] == plan["id"]]
    assert [m["title"] for m in months] == [
        f"{y}-{m:02d} — joint activity"
        for y, m in [(2026, 11), (2026, 12)] + [(2027, n) for n in range(1, 9)]
    ]
    assert all(m["status"] == "draft" for m in months)
    assert [m["position"] for m in months] == list(range(10))
    body = client.get(f"/pages/{months[1]['id']}", headers=s.teacher.headers).json()
    assert body["text"].startswith("# 2026-12: joint activity")
    assert "## Aim" in body["text"]
    assert tree["permissions"]["role"] == "teacher_admin"
    assert tree["permissions"]["can_edit_pages"] is True


def test_open_twinspace_twice_adds_nothing(client, app):
    s = make_space(app)
    with app.state.sessionmaker() as db, db.begin():
        open_twinspace(db, db.get(Project, s.project_id))
    with app.state.sessionmaker() as db:
        assert db.query(Page).filter(Page.project_id == s.project_id).count() == 12


def test_teachers_may_delete_the_starting_plan(client, app):
    s = make_space(app)
    plan = s.pages["Activity plan"]
    assert client.delete(f"/pages/{plan}", headers=s.teacher.headers).status_code == 204
    tree = client.get(f"/projects/{s.project_id}/pages", headers=s.admin.headers).json()
    assert [i["title"] for i in tree["items"]] == ["Getting to know each other"]


def test_member_role_for_every_kind_of_principal(client, app):
    from reference_backend.deps import resolve_principal

    s = make_space(app)
    pupil = make_pupil(client, s, role="pupil_admin")
    other = make_space(app)
    with app.state.sessionmaker() as db:

        def role_of(headers, project_id=s.project_id):
            token = headers["Authorization"].split()[1]
            return member_role(db, resolve_principal(db, token), project_id)

        assert role_of(s.admin.headers) == "teacher_admin"
        assert role_of(s.partner.headers) == "teacher_admin"
        assert role_of(s.teacher.headers) == "teacher"
        assert role_of(s.observer.headers) == "observer"
        assert role_of(s.invited.headers) is None
        assert role_of(s.outsider.headers) is None
        assert role_of(pupil["headers"]) == "pupil_admin"
        assert role_of(pupil["headers"], other.project_id) is None
        assert member_role(db, None, s.project_id) is None


# --- reaching a TwinSpace -----------------------------------------------------------------


@pytest.mark.parametrize("state", ["awaiting_partner", "awaiting_nso", "rejected", "declined"])
def test_no_twinspace_before_approval(client, app, state):
    s = make_space(app, state=state)
    r = client.get(f"/projects/{s.project_id}/pages", headers=s.admin.headers)
    assert r.status_code == 409
    assert r.json()["code"] == "twinspace_not_open"
    assert r.json()["reasons"][0]["code"] == f"project_{state}"
    assert new_page(client, s).json()["code"] == "twinspace_not_open"


def test_outsiders_invited_and_staff_get_404_everywhere(client, app):
    s = make_space(app)
    page = s.pages["Getting to know each other"]
    staff = make_staff(app, "GR")
    doc = crdt.new_doc()
    for who in (s.outsider, s.invited, staff):
        h = who.headers
        assert client.get(f"/projects/{s.project_id}/pages", headers=h).status_code == 404
        assert client.get(f"/pages/{page}", headers=h).status_code == 404
        assert client.get(f"/pages/{page}/history", headers=h).status_code == 404
        assert sync(client, page, h, doc).status_code == 404
        assert client.patch(f"/pages/{page}", json={"title": "x"}, headers=h).status_code == 404
        assert client.delete(f"/pages/{page}", headers=h).status_code == 404
        assert new_page(client, s, headers=h).status_code == 404
    assert client.get(f"/projects/{new_id()}/pages", headers=s.admin.headers).status_code == 404
    assert client.get(f"/pages/{new_id()}", headers=s.admin.headers).status_code == 404
    assert client.get(f"/pages/{page}").status_code == 401


def test_a_switched_off_user_is_refused(client, app):
    from reference_backend.tables import User

    s = make_space(app)
    with app.state.sessionmaker() as db, db.begin():
        db.get(User, s.teacher.user_id).active = False
    r = client.get(f"/projects/{s.project_id}/pages", headers=s.teacher.headers)
    assert r.status_code == 403 and r.json()["code"] == "inactive"


def test_visibility_never_depends_on_language(client, app):
    s = make_space(app)
    pupil = make_pupil(client, s)
    for headers in (s.admin.headers, pupil["headers"]):
        seen = []
        for lang in ("en", "fr", "el", "pl-PL,pl;q=0.9", "de"):
            r = client.get(
                f"/projects/{s.project_id}/pages",
                headers={**headers, "Accept-Language": lang},
            )
            seen.append([i["id"] for i in r.json()["items"]])
        assert all(ids == seen[0] for ids in seen)
        assert seen[0]


# --- creating, renaming, moving, deleting -------------------------------------------------


def test_create_page_with_client_id_and_markdown(client, app):
    s = make_space(app)
    pid = new_id()
    r = new_page(
        client, s, id=pid.upper(), markdown="# Rivers\nΠοτάμια και rzeki.", status="published"
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/pages/{pid}"
    assert r.json()["id"] == pid
    assert r.json()["text"] == "# Rivers\nΠοτάμια και rzeki."
    assert r.json()["version"] == 1
    again = new_page(client, s, id=pid)
    assert again.status_code == 409 and again.json()["code"] == "exists"
    history = client.get(f"/pages/{pid}/history", headers=s.admin.headers).json()
    assert history["total"] == 1 and history["items"][0]["summary"] == "created"


def test_create_page_offline_with_its_own_document(client, app):
    s = make_space(app)
    doc = crdt.new_doc("Written on the train")
    pid = new_id()
    r = new_page(client, s, id=pid, update=b64(doc.get_update()))
    assert r.status_code == 201, r.text
    # more offline edits, then a sync: no duplicated text
    server_state = crdt.b64decode(r.json()["state_vector"])
    crdt.set_text(doc, "Written on the train, then at home")
    r = sync(client, pid, s.admin.headers, doc, server_state)
    assert r.status_code == 200, r.text
    assert client.get(f"/pages/{pid}", headers=s.admin.headers).json()["text"] == (
        "Written on the train, then at home"
    )


def test_create_page_refusals(client, app):
    s = make_space(app)
    assert new_page(client, s, markdown="a", update=b64(b"\x00\x00")).status_code == 422
    r = new_page(client, s, update="%%%not base64")
    assert r.status_code == 422 and r.json()["code"] == "invalid_base64"
    r = new_page(client, s, update=b64(b"\x05garbage"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_update"
    r = new_page(client, s, parent_id=new_id())
    assert r.status_code == 422 and r.json()["field"] == "parent_id"
    other = make_space(app)
    r = new_page(client, s, parent_id=other.pages["Activity plan"])
    assert r.status_code == 422
    assert new_page(client, s, title="").status_code == 422
    assert new_page(client, s, title="x" * 201).status_code == 422
    assert new_page(client, s, id="not-a-uuid").status_code == 422
    assert new_page(client, s, status="secret").status_code == 422
    assert new_page(client, s, colour="red").status_code == 422


def test_create_roles(client, app):
    s = make_space(app)
    assert new_page(client, s, headers=s.teacher.headers).status_code == 201
    assert new_page(client, s, headers=s.partner.headers).status_code == 201
    r = new_page(client, s, headers=s.observer.headers)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    pupil = make_pupil(client, s)
    assert new_page(client, s, headers=pupil["headers"]).status_code == 403
    pupil_admin = make_pupil(client, s, role="pupil_admin", nickname="Boss")
    r = new_page(client, s, headers=pupil_admin["headers"], title="Our poster")
    assert r.status_code == 201
    assert r.json()["created_by"] == pupil_admin["id"]


def test_create_at_a_position_renumbers_siblings(client, app):
    s = make_space(app)
    r = new_page(client, s, title="First of all", position=0, status="published")
    tree = client.get(f"/projects/{s.project_id}/pages", headers=s.admin.headers).json()
    top = [(i["title"], i["position"]) for i in tree["items"] if i["parent_id"] is None]
    assert top == [("First of all", 0), ("Getting to know each other", 1), ("Activity plan", 2)]
    assert r.status_code == 201


def test_drafts_are_hidden_from_pupils_but_not_pupil_admins(client, app):
    s = make_space(app)
    pupil = make_pupil(client, s)
    padmin = make_pupil(client, s, role="pupil_admin", nickname="Boss")
    month = next(v for k, v in s.pages.items() if k.startswith("2026-12"))
    tree = client.get(f"/projects/{s.project_id}/pages", headers=pupil["headers"]).json()
    assert [i["title"] for i in tree["items"]] == ["Getting to know each other", "Activity plan"]
    assert tree["permissions"]["sees_drafts"] is False
    assert client.get(f"/pages/{month}", headers=pupil["headers"]).status_code == 404
    assert client.get(f"/pages/{month}/history", headers=pupil["headers"]).status_code == 404
    assert client.get(f"/pages/{month}", headers=padmin["headers"]).status_code == 200
    tree = client.get(f"/projects/{s.project_id}/pages", headers=padmin["headers"]).json()
    assert len(tree["items"]) == 12
    # a published page under a draft stays hidden from pupils
    r = new_page(client, s, title="Hidden child", parent_id=month, status="published")
    child = r.json()["id"]
    assert client.get(f"/pages/{child}", headers=pupil["headers"]).status_code == 404
    client.patch(f"/pages/{month}", json={"status": "published"}, headers=s.admin.headers)
    assert client.get(f"/pages/{child}", headers=pupil["headers"]).status_code == 200


def test_rename_with_if_match_bumps_the_version(client, app):
    s = make_space(app)
    page = s.pages["Getting to know each other"]
    r = client.patch(
        f"/pages/{page}",
        json={"title": "Hello, partners!"},
        headers={**s.teacher.headers, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.json()["title"] == "Hello, partners!"
    assert r.json()["updated_by"] == s.teacher.user_id
    stale = client.patch(
        f"/pages/{page}", json={"title": "Other"}, headers={**s.admin.headers, "If-Match": '"1"'}
    )
    assert stale.status_code == 412 and stale.json()["code"] == "version_conflict"
    same = client.patch(
        f"/pages/{page}", json={"title": "Hello, partners!"}, headers=s.admin.headers
    )
    assert same.json()["version"] == 2  # nothing changed, no bump


def test_patch_roles(client, app):
    s = make_space(app)
    page = s.pages["Getting to know each other"]
    pupil = make_pupil(client, s)
    padmin = make_pupil(client, s, role="pupil_admin", nickname="Boss")
    for h in (s.observer.headers, pupil["headers"], padmin["headers"]):
        r = client.patch(f"/pages/{page}", json={"title": "x"}, headers=h)
        assert r.status_code == 403
        assert client.delete(f"/pages/{page}", headers=h).status_code == 403
    assert (
        client.patch(f"/pages/{page}", json={"title": "y"}, headers=s.partner.headers).json()[
            "title"
        ]
        == "y"
    )


def test_patch_refusals(client, app):
    s = make_space(app)
    plan = s.pages["Activity plan"]
    month = next(v for k, v in s.pages.items() if k.startswith("2027-01"))
    h = s.admin.headers
    r = client.patch(f"/pages/{plan}", json={"parent_id": month}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "cycle"
    r = client.patch(f"/pages/{plan}", json={"parent_id": plan}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "cycle"
    assert client.patch(f"/pages/{plan}", json={"title": None}, headers=h).status_code == 422
    assert client.patch(f"/pages/{plan}", json={"status": None}, headers=h).status_code == 422
    assert client.patch(f"/pages/{plan}", json={"position": -1}, headers=h).status_code == 422
    assert (
        client.patch(f"/pages/{plan}", json={"parent_id": new_id()}, headers=h).status_code == 422
    )
    assert client.patch(f"/pages/{plan}", json={"body": "x"}, headers=h).status_code == 422


def test_move_and_reorder(client, app):
    s = make_space(app)
    plan = s.pages["Activity plan"]
    intro = s.pages["Getting to know each other"]
    month = next(v for k, v in s.pages.items() if k.startswith("2027-03"))
    h = s.admin.headers
    # move a month to the top level, at the front
    r = client.patch(f"/pages/{month}", json={"parent_id": None, "position": 0}, headers=h)
    assert r.status_code == 200 and r.json()["parent_id"] is None
    tree = client.get(f"/projects/{s.project_id}/pages", headers=h).json()["items"]
    top = [i["id"] for i in tree if i["parent_id"] is None]
    assert top == [month, intro, plan]
    children = [i for i in tree if i["parent_id"] == plan]
    assert len(children) == 9 and [c["position"] for c in children] == list(range(9))
    # move the intro page under the plan (appended) and reorder it to second place
    r = client.patch(f"/pages/{intro}", json={"parent_id": plan}, headers=h)
    assert r.json()["position"] == 9
    r = client.patch(f"/pages/{intro}", json={"position": 1}, headers=h)
    tree = client.get(f"/projects/{s.project_id}/pages", headers=h).json()["items"]
    children = [i["id"] for i in tree if i["parent_id"] == plan]
    assert children[1] == intro and len(children) == 10
    # the tree lists parents before their children
    seen = set()
    for item in tree:
        assert item["parent_id"] is None or item["parent_id"] in seen
        seen.add(item["id"])


def test_delete_takes_the_children_and_their_materials(client, app):
    s = make_space(app)
    plan = s.pages["Activity plan"]
    month = next(v for k, v in s.pages.items() if k.startswith("2027-02"))
    m = client.post(
        f"/pages/{month}/materials",
        json={"filename": "plan.txt", "content_type": "text/plain", "data_base64": b64(b"hi")},
        headers=s.admin.headers,
    )
    assert m.status_code == 201
    r = client.delete(f"/pages/{plan}", headers={**s.admin.headers, "If-Match": '"7"'})
    assert r.status_code == 412
    assert client.delete(f"/pages/{plan}", headers=s.admin.headers).status_code == 204
    assert client.get(f"/pages/{month}", headers=s.admin.headers).status_code == 404
    assert client.get(f"/materials/{m.json()['id']}", headers=s.admin.headers).status_code == 404
    feed = client.get("/sync/changes", headers=s.admin.headers).json()["changes"]
    deleted = {c["id"] for c in feed if c["op"] == "delete"}
    assert {plan, month, m.json()["id"]} <= deleted


# --- body sync ----------------------------------------------------------------------------


def test_two_offline_editors_merge_and_neither_loses_text(client, app):
    s = make_space(app)
    page = new_page(client, s, markdown="The river flows.\n").json()
    pid = page["id"]
    base = crdt.b64decode(page["doc"])
    server_state = crdt.b64decode(page["state_vector"])
    a = crdt.doc_from_update(base)
    b = crdt.doc_from_update(base)
    # both edit offline: at the start, the middle and the end
    crdt.set_text(a, "Intro from Athens.\nThe river flows.\n")
    crdt.set_text(b, "The river flows fast.\nEnd from Kraków.\n")
    ra = sync(client, pid, s.admin.headers, a, server_state)
    assert ra.status_code == 200, ra.text
    assert ra.json()["merged_from_others"] is False
    assert ra.json()["applied_fully"] is True
    rb = sync(client, pid, s.partner.headers, b, server_state)
    assert rb.json()["merged_from_others"] is True
    assert crdt.apply_remote(b, crdt.b64decode(rb.json()["update"])) is True
    # a pulls what b did
    ra2 = sync(client, pid, s.admin.headers, a, send=False)
    assert ra2.json()["merged_from_others"] is True
    crdt.apply_remote(a, crdt.b64decode(ra2.json()["update"]))
    server_text = client.get(f"/pages/{pid}", headers=s.teacher.headers).json()["text"]
    assert crdt.get_text(a) == crdt.get_text(b) == server_text
    for piece in ("Intro from Athens.", "flows fast.", "End from Kraków."):
        assert piece in server_text
    authors = [
        i["author_id"]
        for i in client.get(f"/pages/{pid}/history", headers=s.admin.headers).json()["items"]
    ]
    assert authors[:2] == [s.partner.user_id, s.admin.user_id]


def test_noop_sync_returns_an_almost_empty_diff(client, app):
    s = make_space(app)
    page = new_page(client, s, markdown="x" * 50_000).json()
    doc = crdt.doc_from_update(crdt.b64decode(page["doc"]))
    r = sync(client, page["id"], s.admin.headers, doc, send=False)
    assert r.status_code == 200
    assert len(crdt.b64decode(r.json()["update"])) <= 4
    assert r.json()["merged_from_others"] is False and r.json()["revision_id"] is None
    # an empty update changes nothing and is not a history entry
    r = sync(client, page["id"], s.admin.headers, doc, crdt.b64decode(page["state_vector"]))
    assert r.json()["revision_id"] is None
    assert client.get(f"/pages/{page['id']}/history", headers=s.admin.headers).json()["total"] == 1


def test_small_edit_of_a_large_page_sends_few_bytes(client, app):
    s = make_space(app)
    page = new_page(client, s, markdown="lorem ipsum " * 9000).json()
    server_state = crdt.b64decode(page["state_vector"])
    doc = crdt.doc_from_update(crdt.b64decode(page["doc"]))
    crdt.set_text(doc, crdt.get_text(doc) + "!")
    update = doc.get_update(server_state)
    assert len(update) < 100
    r = sync(client, page["id"], s.admin.headers, doc, server_state)
    assert r.json()["revision_id"] is not None
    assert len(crdt.b64decode(r.json()["update"])) <= 4


def test_pull_without_state_vector_gets_the_whole_document(client, app):
    s = make_space(app)
    page = s.pages["Getting to know each other"]
    r = client.post(f"/pages/{page}/sync", json={"update": None}, headers=s.observer.headers)
    assert r.status_code == 200
    doc = crdt.doc_from_update(crdt.b64decode(r.json()["update"]))
    assert crdt.get_text(doc).startswith("# Getting to know each other")


def test_readers_may_pull_but_not_push(client, app):
    s = make_space(app)
    page = s.pages["Getting to know each other"]
    pupil = make_pupil(client, s)
    for h in (s.observer.headers, pupil["headers"]):
        doc, meta = fetch_doc(client, page, h)
        assert sync(client, page, h, doc, send=False).status_code == 200
        crdt.set_text(doc, "vandalised")
        r = sync(client, page, h, doc, crdt.b64decode(meta["state_vector"]))
        assert r.status_code == 403
    text = client.get(f"/pages/{page}", headers=s.admin.headers).json()["text"]
    assert "vandalised" not in text


def test_pupil_admin_edits_bodies(client, app):
    s = make_space(app)
    page = s.pages["Getting to know each other"]
    padmin = make_pupil(client, s, role="pupil_admin", nickname="Boss")
    doc, meta = fetch_doc(client, page, padmin["headers"])
    crdt.set_text(doc, crdt.get_text(doc) + "\nHello from our class!")
    r = sync(client, page, padmin["headers"], doc, crdt.b64decode(meta["state_vector"]))
    assert r.status_code == 200, r.text
    entry = client.get(f"/pages/{page}/history", headers=s.admin.headers).json()["items"][0]
    assert entry["author_kind"] == "pupil"
    assert entry["author_name"] == padmin["username"]  # never the nickname


def test_sync_hostile_input_is_422_or_413_never_500(client, app):
    s = make_space(app)
    page = s.pages["Getting to know each other"]
    h = s.admin.headers
    url = f"/pages/{page}/sync"
    cases = [
        ({"state_vector": "@@@", "update": None}, "invalid_base64"),
        ({"state_vector": b64(b"\xff\xff\xff"), "update": None}, "invalid_state_vector"),
        ({"state_vector": b64(b"\x01\x05"), "update": None}, "invalid_state_vector"),
        ({"state_vector": "", "update": b64(b"\x01\x02\x03garbage")}, "invalid_update"),
        ({"state_vector": "", "update": "AAA"}, "invalid_base64"),
        ({"state_vector": "", "update": "ünïcode"}, "invalid_base64"),
    ]
    for body, code in cases:
        r = client.post(url, json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["code"] == code
    assert client.post(url, json={"state_vector": 5}, headers=h).status_code == 422
    assert (
        client.post(
            url, content=b"{not json", headers={**h, "Content-Type": "application/json"}
        ).status_code
        == 422
    )
    big = client.post(
        url, json={"state_vector": "", "update": b64(b"\x00" * (1024 * 1024 + 1))}, headers=h
    )
    assert big.status_code == 413 and big.json()["code"] == "too_large"
    huge = client.post(
        url, json={"state_vector": "", "update": "A" * (4 * 1024 * 1024 + 4)}, headers=h
    )
    assert huge.status_code == 422
    # the page is intact
    assert client.get(f"/pages/{page}", headers=h).json()["text"].startswith("# Getting")


def test_mutated_updates_never_break_the_server(client, app):
    import random

    s = make_space(app)
    page = new_page(client, s, markdown="base").json()
    doc = crdt.doc_from_update(crdt.b64decode(page["doc"]))
    crdt.set_text(doc, "base with more words")
    good = doc.get_update(crdt.b64decode(page["state_vector"]))
    rng = random.Random(7)
    for _ in range(40):
        bad = bytearray(good)
        for _ in range(rng.randint(1, 3)):
            bad[rng.randrange(len(bad))] = rng.randrange(256)
        r = client.post(
            f"/pages/{page['id']}/sync",
            json={"state_vector": "", "update": b64(bytes(bad))},
            headers=s.admin.headers,
        )
        assert r.status_code in (200, 422), r.text
    assert client.get(f"/pages/{page['id']}", headers=s.admin.headers).status_code == 200


def test_update_with_a_missing_base_is_reported(client, app):
    s = make_space(app)
    page = new_page(client, s).json()
    doc = crdt.doc_from_update(crdt.b64decode(page["doc"]))
    crdt.set_text(doc, "one")
    first_state = doc.get_state()
    crdt.set_text(doc, "one two")
    second_only = doc.get_update(first_state)  # builds on "one", which the server lacks
    r = client.post(
        f"/pages/{page['id']}/sync",
        json={"state_vector": b64(doc.get_state()), "update": b64(second_only)},
        headers=s.admin.headers,
    )
    assert r.status_code == 200
    assert r.json()["applied_fully"] is False
    # sending again from the server's state vector completes it
    server_state = crdt.b64decode(r.json()["state_vector"])
    r = sync(client, page["id"], s.admin.headers, doc, server_state)
    assert r.json()["applied_fully"] is True
    assert client.get(f"/pages/{page['id']}", headers=s.admin.headers).json()["text"] == "one two"


def test_sync_is_in_the_change_feed_and_hides_drafts_from_pupils(client, app):
    s = make_space(app)
    pupil = make_pupil(client, s)
    draft = new_page(client, s, title="Secret plan", markdown="shh").json()["id"]
    feed = client.get("/sync/changes", headers=s.teacher.headers).json()
    entry = next(c for c in feed["changes"] if c["id"] == draft)
    assert entry["entity"] == "page" and entry["data"]["title"] == "Secret plan"
    pupil_feed = client.get("/sync/changes", headers=pupil["headers"]).json()["changes"]
    seen = [c for c in pupil_feed if c["id"] == draft]
    assert seen and seen[0]["data"] is None
    outsider_feed = client.get("/sync/changes", headers=s.outsider.headers).json()["changes"]
    assert not [c for c in outsider_feed if c["id"] == draft]


# --- history and restore ------------------------------------------------------------------


def _edit(client, page_id, persona_headers, text):
    doc, meta = fetch_doc(client, page_id, persona_headers)
    crdt.set_text(doc, text)
    r = sync(client, page_id, persona_headers, doc, crdt.b64decode(meta["state_vector"]))
    assert r.status_code == 200, r.text
    return r.json()["revision_id"]


def test_history_lists_who_and_when(client, app):
    s = make_space(app)
    pid = new_page(client, s, markdown="v1").json()["id"]
    clock.advance(__import__("datetime").timedelta(minutes=2))
    _edit(client, pid, s.teacher.headers, "v1 v2")
    _edit(client, pid, s.partner.headers, "v1 v2 v3")
    h = client.get(f"/pages/{pid}/history", headers=s.observer.headers).json()
    assert h["total"] == 3
    assert [i["author_id"] for i in h["items"]] == [
        s.partner.user_id,
        s.teacher.user_id,
        s.admin.user_id,
    ]
    assert h["items"][0]["author_name"] == "Anna " + h["items"][0]["author_name"].split()[1]
    assert h["items"][0]["summary"] == "+3 characters"
    assert h["items"][0]["size"] > 0
    assert h["items"][0]["at"] > h["items"][2]["at"]
    paged = client.get(f"/pages/{pid}/history?limit=2", headers=s.admin.headers).json()
    assert len(paged["items"]) == 2 and paged["next_offset"] == 2
    assert client.get(f"/pages/{pid}/history?limit=0", headers=s.admin.headers).status_code == 422


def test_restore_rebuilds_an_old_version_as_a_new_change(client, app):
    s = make_space(app)
    created = new_page(client, s, markdown="Our plan: visit the river.")
    pid = created.json()["id"]
    first = client.get(f"/pages/{pid}/history", headers=s.admin.headers).json()["items"][0]["id"]
    # a replica that has the current version
    replica = crdt.doc_from_update(crdt.b64decode(created.json()["doc"]))
    _edit(client, pid, s.teacher.headers, "Our plan: visit the river and the sea. ζ😀")
    _edit(client, pid, s.partner.headers, "Scrapped.")
    r = client.post(f"/pages/{pid}/restore", json={"revision_id": first}, headers=s.admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["text"] == "Our plan: visit the river."
    hist = client.get(f"/pages/{pid}/history", headers=s.admin.headers).json()
    assert hist["total"] == 4
    assert hist["items"][0]["summary"].startswith("restored the version of")
    # the restore syncs to a replica like any edit
    r = sync(client, pid, s.observer.headers, replica, send=False)
    crdt.apply_remote(replica, crdt.b64decode(r.json()["update"]))
    assert crdt.get_text(replica) == "Our plan: visit the river."
    # restoring the middle version brings back the multibyte text exactly
    middle = hist["items"][2]["id"]
    r = client.post(f"/pages/{pid}/restore", json={"revision_id": middle}, headers=s.admin.headers)
    assert r.json()["text"] == "Our plan: visit the river and the sea. ζ😀"


def test_restore_refusals(client, app):
    s = make_space(app)
    pid = new_page(client, s, markdown="one").json()["id"]
    other = new_page(client, s, markdown="two").json()["id"]
    rev = client.get(f"/pages/{other}/history", headers=s.admin.headers).json()["items"][0]["id"]
    r = client.post(f"/pages/{pid}/restore", json={"revision_id": rev}, headers=s.admin.headers)
    assert r.status_code == 404
    r = client.post(f"/pages/{pid}/restore", json={"revision_id": 0}, headers=s.admin.headers)
    assert r.status_code == 422
    own = client.get(f"/pages/{pid}/history", headers=s.admin.headers).json()["items"][0]["id"]
    r = client.post(f"/pages/{pid}/restore", json={"revision_id": own}, headers=s.observer.headers)
    assert r.status_code == 403
    pupil = make_pupil(client, s)
    pub = s.pages["Getting to know each other"]
    prev = client.get(f"/pages/{pub}/history", headers=s.admin.headers).json()["items"][0]["id"]
    r = client.post(f"/pages/{pub}/restore", json={"revision_id": prev}, headers=pupil["headers"])
    assert r.status_code == 403


# --- a closed project ---------------------------------------------------------------------


def test_closed_twinspace_is_readable_and_refuses_every_write(client, app):
    s = make_space(app, state="closed")
    page = s.pages["Getting to know each other"]
    h = s.admin.headers
    tree = client.get(f"/projects/{s.project_id}/pages", headers=h).json()
    assert tree["permissions"]["read_only"] is True
    assert "closed on 2027-06-30" in tree["permissions"]["read_only_reason"]
    assert tree["permissions"]["can_edit_pages"] is False
    doc, meta = fetch_doc(client, page, h)
    assert sync(client, page, h, doc, send=False).status_code == 200
    crdt.set_text(doc, "late edit")
    rev = client.get(f"/pages/{page}/history", headers=h).json()["items"][0]["id"]
    writes = [
        new_page(client, s),
        client.patch(f"/pages/{page}", json={"title": "x"}, headers=h),
        client.delete(f"/pages/{page}", headers=h),
        sync(client, page, h, doc, crdt.b64decode(meta["state_vector"])),
        client.post(f"/pages/{page}/restore", json={"revision_id": rev}, headers=h),
        client.post(
            f"/pages/{page}/materials",
            json={"filename": "a.txt", "content_type": "text/plain", "data_base64": b64(b"a")},
            headers=h,
        ),
        client.post(f"/projects/{s.project_id}/pupils", json={"nicknames": ["A"]}, headers=h),
    ]
    for r in writes:
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "twinspace_read_only"
        assert "read-only" in r.json()["message"]
        assert r.json()["reasons"][0]["code"] == "project_closed"
    assert client.get(f"/pages/{page}", headers=h).json()["text"].startswith("# Getting")


def test_foreign_root_types_do_not_break_a_page(client, app):
    from pycrdt import Array, Doc, Map

    s = make_space(app)
    hostile = Doc()
    hostile["body"] = Map({"a": 1})
    hostile["junk"] = Array([1, 2])
    r = new_page(client, s, update=b64(hostile.get_update()))
    assert r.status_code in (201, 422), r.text
    pid = s.pages["Getting to know each other"]
    r = client.post(
        f"/pages/{pid}/sync",
        json={"state_vector": "", "update": b64(hostile.get_update())},
        headers=s.admin.headers,
    )
    assert r.status_code in (200, 422), r.text
    page = client.get(f"/pages/{pid}", headers=s.admin.headers)
    assert page.status_code == 200
    assert page.json()["text"].startswith("# Getting to know each other")
