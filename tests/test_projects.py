"""Projects: creation rules (FAQ B), preview, partner answer, edits while pending, members, close."""

from __future__ import annotations

import base64

from sqlalchemy import select

from reference_backend.tables import (
    Change,
    Membership,
    Project,
    ProjectApproval,
    ProjectMember,
    User,
    new_id,
)
from tests.factories import make_org, make_staff, make_teacher

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 64


def befriend(client, a, b) -> None:
    r = client.post("/contacts", json={"user_id": b.user_id}, headers=a.headers)
    assert r.status_code == 201, r.text
    r = client.post(f"/contacts/{r.json()['id']}/accept", headers=b.headers)
    assert r.status_code == 200


def fields(**over) -> dict:
    body = {
        "title": "Water around us",
        "short_description": "Two classes measure and compare their local rivers.",
        "languages": ["en"],
        "pupils_count": 40,
        "age_min": 10,
        "age_max": 12,
        "subjects": ["Biology", "Geography"],
        "aims": "Scientific method; collaboration across borders.",
        "work_process": "One joint activity a month, starting with getting to know each other.",
        "expected_results": "A shared e-book of measurements.",
    }
    body.update(over)
    return body


def pair(app, client, partner_country="GR"):
    creator = make_teacher(app, country="GR")
    partner = make_teacher(app, country=partner_country)
    befriend(client, creator, partner)
    return creator, partner


def create(client, creator, partner, **over):
    return client.post(
        "/projects", json=fields(partner_id=partner.user_id, **over), headers=creator.headers
    )


def created(client, creator, partner, **over) -> dict:
    r = create(client, creator, partner, **over)
    assert r.status_code == 201, r.text
    return r.json()


def accepted(client, creator, partner) -> dict:
    project = created(client, creator, partner)
    r = client.post(f"/projects/{project['id']}/accept", json={}, headers=partner.headers)
    assert r.status_code == 200, r.text
    return r.json()


def approve(app, project_id: str) -> None:
    """What the NSOs' final approval does (decided elsewhere): the project is approved."""
    with app.state.sessionmaker() as db, db.begin():
        db.get(Project, project_id).state = "approved"
        for a in db.scalars(
            select(ProjectApproval).where(ProjectApproval.project_id == project_id)
        ):
            a.state = "approved"


def approved(app, client, creator, partner) -> dict:
    project = accepted(client, creator, partner)
    approve(app, project["id"])
    return project


def add_school(app, persona, country="GR") -> str:
    org = make_org(app, country=country)
    with app.state.sessionmaker() as db, db.begin():
        db.add(Membership(id=new_id(), user_id=persona.user_id, org_id=org, role="teacher"))
    return org


def _set(app, user_id: str, **values) -> None:
    with app.state.sessionmaker() as db, db.begin():
        user = db.get(User, user_id)
        for k, v in values.items():
            setattr(user, k, v)


# --- creation ------------------------------------------------------------------------------


def test_create_national_project(client, app):
    creator, partner = pair(app, client)
    r = create(client, creator, partner)
    assert r.status_code == 201
    p = r.json()
    assert r.headers["location"] == f"/projects/{p['id']}"
    assert p["state"] == "awaiting_partner" and p["scope"] == "national"
    assert p["creator_school"]["id"] == creator.org_ids[0]  # the only school, by default
    assert p["partner"]["id"] == partner.user_id and p["partner_school"] is None
    assert [(a["country"], a["state"]) for a in p["approvals"]] == [("GR", "waiting")]
    members = {m["user_id"]: (m["role"], m["state"], m["founder"]) for m in p["members"]}
    assert members == {
        creator.user_id: ("teacher_admin", "active", True),
        partner.user_id: ("teacher_admin", "invited", True),
    }
    assert p["my_role"] == "teacher_admin" and p["version"] == 1
    notes = client.get("/notifications", headers=partner.headers).json()["items"]
    assert notes[0]["kind"] == "project_invitation" and notes[0]["subject_id"] == p["id"]
    # both founders list it; the partner sees it as invited
    mine = client.get("/projects", headers=partner.headers).json()
    assert [(x["id"], x["my_state"]) for x in mine["items"]] == [(p["id"], "invited")]
    seen = client.get(f"/projects/{p['id']}", headers=partner.headers)
    assert seen.status_code == 200 and seen.json()["my_state"] == "invited"
    stranger = make_teacher(app)
    r = client.get(f"/projects/{p['id']}", headers=stranger.headers)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert client.get("/projects", headers=stranger.headers).json()["items"] == []


def test_european_project_needs_both_nsos(client, app):
    creator, partner = pair(app, client, partner_country="PL")
    p = created(client, creator, partner)
    assert p["scope"] == "european"
    assert sorted(a["country"] for a in p["approvals"]) == ["GR", "PL"]


def test_creator_reasons_refuse(client, app):
    pending = make_teacher(app, state="etwinning_pending")
    partner = make_teacher(app)
    r = create(client, pending, partner)
    assert r.status_code == 409
    assert r.json()["code"] == "cannot_create_project"
    assert "validation_pending" in [x["code"] for x in r.json()["reasons"]]
    staff_role = make_teacher(app, role="company_staff")
    r = create(client, staff_role, partner)
    assert r.status_code == 409
    assert "company_staff" in [x["code"] for x in r.json()["reasons"]]
    nso = make_staff(app)
    assert create(client, nso, partner).status_code == 409


def test_school_must_be_chosen_when_several(client, app):
    creator, partner = pair(app, client)
    second = add_school(app, creator)
    r = create(client, creator, partner)
    assert r.status_code == 422
    assert r.json()["code"] == "school_required" and r.json()["field"] == "creator_school_id"
    other = make_org(app)
    r = create(client, creator, partner, creator_school_id=other)
    assert r.status_code == 422 and r.json()["code"] == "not_your_school"
    pending_school = make_org(app, state="pending")
    r = create(client, creator, partner, creator_school_id=pending_school)
    assert r.status_code == 422 and r.json()["code"] == "not_your_school"
    p = created(client, creator, partner, creator_school_id=second)
    assert p["creator_school"]["id"] == second


def test_partner_must_be_an_accepted_contact(client, app):
    creator = make_teacher(app)
    stranger = make_teacher(app)
    r = create(client, creator, stranger)
    assert r.status_code == 409 and r.json()["code"] == "partner_not_contact"
    assert r.json()["reasons"][0]["code"] == "not_a_contact"
    # a pending request is not enough
    client.post("/contacts", json={"user_id": stranger.user_id}, headers=creator.headers)
    assert create(client, creator, stranger).json()["code"] == "partner_not_contact"
    r = client.post("/projects", json=fields(partner_id="no-such-user"), headers=creator.headers)
    assert r.status_code == 409 and r.json()["code"] == "partner_not_contact"
    r = create(client, creator, creator)
    assert r.status_code == 422 and r.json()["code"] == "self_partner"


def test_exactly_one_partner(client, app):
    creator, partner = pair(app, client)
    body = fields(partner_id=[partner.user_id, partner.user_id])
    r = client.post("/projects", json=body, headers=creator.headers)
    assert r.status_code == 422 and r.json()["field"] == "partner_id"
    body = fields()
    r = client.post("/projects", json=body, headers=creator.headers)
    assert r.status_code == 422 and r.json()["field"] == "partner_id"


def test_partner_reasons_are_carried(client, app):
    creator, partner = pair(app, client)
    _set(app, partner.user_id, available_for_projects=False)
    r = create(client, creator, partner)
    assert r.status_code == 409
    assert r.json()["code"] == "partner_not_eligible"
    assert [x["code"] for x in r.json()["reasons"]] == ["not_available_for_projects"]
    _set(app, partner.user_id, available_for_projects=True, state="etwinning_rejected")
    r = create(client, creator, partner)
    assert "validation_rejected" in [x["code"] for x in r.json()["reasons"]]


def test_field_limits(client, app):
    creator, partner = pair(app, client)
    cases = [
        ({"title": "x" * 201}, "title"),
        ({"title": ""}, "title"),
        ({"pupils_count": 0}, "pupils_count"),
        ({"age_min": 14, "age_max": 10}, "age_max"),
        ({"languages": []}, "languages"),
        ({"subjects": ["x"] * 11}, "subjects"),
        ({"vocational_subjects": [""]}, "vocational_subjects"),
        ({"aims": "a" * 5001}, "aims"),
        ({"id": "not-a-uuid"}, "id"),
    ]
    for over, field in cases:
        r = create(client, creator, partner, **over)
        assert r.status_code == 422, (over, r.text)
        assert r.json()["field"] == field, (over, r.json())
    body = fields(partner_id=partner.user_id)
    del body["expected_results"]
    r = client.post("/projects", json=body, headers=creator.headers)
    assert r.status_code == 422 and r.json()["field"] == "expected_results"
    r = client.post("/projects", json={**body, "surprise": 1}, headers=creator.headers)
    assert r.status_code == 422
    assert client.get("/projects", headers=creator.headers).json()["total"] == 0


def test_vocational_subjects_optional(client, app):
    creator, partner = pair(app, client)
    p = created(client, creator, partner, vocational_subjects=["Welding"])
    assert p["vocational_subjects"] == ["Welding"]


def test_image_kinds_and_limits(client, app):
    creator, partner = pair(app, client)
    for raw, kind in ((PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp")):
        p = created(client, creator, partner, image_base64=base64.b64encode(raw).decode())
        assert p["has_image"] is True and p["image_type"] == kind
        r = client.get(f"/projects/{p['id']}/image", headers=partner.headers)
        assert r.status_code == 200
        assert r.content == raw and r.headers["content-type"] == kind
    stranger = make_teacher(app)
    assert client.get(f"/projects/{p['id']}/image", headers=stranger.headers).status_code == 404
    big = base64.b64encode(PNG + b"\x00" * (200 * 1024)).decode()
    r = create(client, creator, partner, image_base64=big)
    assert r.status_code == 422 and r.json()["code"] == "too_large"
    gif = base64.b64encode(b"GIF89a" + b"\x00" * 20).decode()
    r = create(client, creator, partner, image_base64=gif)
    assert r.status_code == 422 and r.json()["code"] == "unsupported_image"
    r = create(client, creator, partner, image_base64="@@not base64@@")
    assert r.status_code == 422 and r.json()["field"] == "image_base64"
    r = create(client, creator, partner, image_base64="A" * 400_000)
    assert r.status_code == 422 and r.json()["field"] == "image_base64"
    plain = created(client, creator, partner)
    r = client.get(f"/projects/{plain['id']}/image", headers=creator.headers)
    assert r.status_code == 404


def test_preview_checks_everything_and_creates_nothing(client, app):
    creator, partner = pair(app, client, partner_country="IT")
    body = fields(partner_id=partner.user_id, image_base64=base64.b64encode(PNG).decode())
    r = client.post("/projects/preview", json=body, headers=creator.headers)
    assert r.status_code == 200, r.text
    pv = r.json()
    assert pv["scope"] == "european" and pv["approval_countries"] == ["GR", "IT"]
    assert pv["image_type"] == "image/png" and pv["image_bytes"] == len(PNG)
    assert pv["creator_school"]["id"] == creator.org_ids[0]
    assert pv["title"] == body["title"] and pv["state"] == "awaiting_partner"
    assert client.get("/projects", headers=creator.headers).json()["total"] == 0
    kinds = [
        n["kind"] for n in client.get("/notifications", headers=partner.headers).json()["items"]
    ]
    assert "project_invitation" not in kinds
    stranger = make_teacher(app)
    r = client.post(
        "/projects/preview", json=fields(partner_id=stranger.user_id), headers=creator.headers
    )
    assert r.status_code == 409 and r.json()["code"] == "partner_not_contact"


def test_client_id_and_idempotent_replay(client, app):
    creator, partner = pair(app, client)
    pid = "5f1c2b9e-8a41-4a55-9a5b-6a9e1f0c2d33"
    p = created(client, creator, partner, id=pid)
    assert p["id"] == pid
    r = create(client, creator, partner, id=pid)
    assert r.status_code == 409 and r.json()["code"] == "exists"
    body = fields(partner_id=partner.user_id, id=pid)
    r = client.post("/projects/preview", json=body, headers=creator.headers)
    assert r.status_code == 409 and r.json()["code"] == "exists"
    h = {**creator.headers, "Idempotency-Key": "create-1"}
    first = client.post("/projects", json=fields(partner_id=partner.user_id), headers=h)
    again = client.post("/projects", json=fields(partner_id=partner.user_id), headers=h)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert client.get("/projects", headers=creator.headers).json()["total"] == 2


# --- partner answer ------------------------------------------------------------------------


def test_partner_accepts(client, app):
    creator, partner = pair(app, client, partner_country="PL")
    p = created(client, creator, partner)
    r = client.post(f"/projects/{p['id']}/accept", json={}, headers=creator.headers)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    stranger = make_teacher(app)
    r = client.post(f"/projects/{p['id']}/accept", json={}, headers=stranger.headers)
    assert r.status_code == 404
    r = client.post(f"/projects/{p['id']}/accept", headers=partner.headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["state"] == "awaiting_nso" and out["version"] == 2
    assert out["partner_school"]["id"] == partner.org_ids[0]
    assert {a["state"] for a in out["approvals"]} == {"pending"}
    assert all(a["queued_at"] for a in out["approvals"])
    assert out["my_state"] == "active"
    kinds = [
        n["kind"] for n in client.get("/notifications", headers=creator.headers).json()["items"]
    ]
    assert "project_accepted" in kinds
    with app.state.sessionmaker() as db:
        audiences = set(
            db.scalars(
                select(Change.audience).where(
                    Change.entity == "project", Change.entity_id == p["id"]
                )
            )
        )
    assert {"nso:GR", "nso:PL", f"project:{p['id']}", f"user:{partner.user_id}"} <= audiences
    # NSO staff of a founder country see it in their feed; others do not
    gr = make_staff(app, "GR")
    feed = client.get("/sync/changes", headers=gr.headers).json()["changes"]
    item = next(c for c in feed if c["entity"] == "project")
    assert item["data"]["state"] == "awaiting_nso"
    # answering twice is refused
    r = client.post(f"/projects/{p['id']}/accept", json={}, headers=partner.headers)
    assert r.status_code == 409 and r.json()["code"] == "not_awaiting_partner"
    r = client.post(f"/projects/{p['id']}/decline", json={}, headers=partner.headers)
    assert r.status_code == 409 and r.json()["code"] == "not_awaiting_partner"


def test_partner_school_choice(client, app):
    creator, partner = pair(app, client)
    second = add_school(app, partner)
    p = created(client, creator, partner)
    r = client.post(f"/projects/{p['id']}/accept", json={}, headers=partner.headers)
    assert r.status_code == 422 and r.json()["code"] == "school_required"
    r = client.post(
        f"/projects/{p['id']}/accept",
        json={"partner_school_id": creator.org_ids[0]},
        headers=partner.headers,
    )
    assert r.status_code == 422 and r.json()["code"] == "not_your_school"
    r = client.post(
        f"/projects/{p['id']}/accept", json={"partner_school_id": second}, headers=partner.headers
    )
    assert r.status_code == 200 and r.json()["partner_school"]["id"] == second


def test_partner_who_became_ineligible_cannot_accept(client, app):
    creator, partner = pair(app, client)
    p = created(client, creator, partner)
    _set(app, partner.user_id, available_for_projects=False)
    r = client.post(f"/projects/{p['id']}/accept", json={}, headers=partner.headers)
    assert r.status_code == 409 and r.json()["code"] == "cannot_join_project"
    assert [x["code"] for x in r.json()["reasons"]] == ["not_available_for_projects"]


def test_partner_declines(client, app):
    creator, partner = pair(app, client)
    p = created(client, creator, partner)
    r = client.post(
        f"/projects/{p['id']}/decline", json={"reason": "No time"}, headers=creator.headers
    )
    assert r.status_code == 403
    r = client.post(
        f"/projects/{p['id']}/decline",
        json={"reason": "No time this year"},
        headers=partner.headers,
    )
    assert r.status_code == 200 and r.json()["state"] == "declined"
    notes = client.get("/notifications", headers=creator.headers).json()["items"]
    assert notes[0]["kind"] == "project_declined" and "No time this year" in notes[0]["text"]
    r = client.post(f"/projects/{p['id']}/accept", json={}, headers=partner.headers)
    assert r.status_code == 409 and r.json()["code"] == "not_awaiting_partner"
    listed = client.get("/projects", params={"state": "declined"}, headers=creator.headers).json()
    assert [x["id"] for x in listed["items"]] == [p["id"]]


# --- edit / delete while pending -----------------------------------------------------------


def test_edit_while_pending_with_if_match(client, app):
    creator, partner = pair(app, client)
    p = created(client, creator, partner)
    url = f"/projects/{p['id']}"
    r = client.patch(url, json={"title": "Rivers"}, headers={**creator.headers, "If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["title"] == "Rivers" and r.json()["version"] == 2
    r = client.patch(url, json={"title": "Lakes"}, headers={**creator.headers, "If-Match": '"1"'})
    assert r.status_code == 412 and r.json()["code"] == "version_conflict"
    r = client.patch(url, json={"title": "Lakes"}, headers=partner.headers)
    assert r.status_code == 403
    r = client.patch(url, json={"title": "Lakes"}, headers=make_teacher(app).headers)
    assert r.status_code == 404
    r = client.patch(url, json={}, headers=creator.headers)
    assert r.status_code == 422 and r.json()["code"] == "empty_update"
    r = client.patch(url, json={"age_min": 15}, headers=creator.headers)
    assert r.status_code == 422 and r.json()["field"] == "age_max"
    r = client.patch(url, json={"partner_id": creator.user_id}, headers=creator.headers)
    assert r.status_code == 422
    r = client.patch(
        url, json={"image_base64": base64.b64encode(PNG).decode()}, headers=creator.headers
    )
    assert r.json()["has_image"] is True
    r = client.patch(url, json={"remove_image": True}, headers=creator.headers)
    assert r.json()["has_image"] is False and r.json()["version"] == 4
    assert client.get(url, headers=creator.headers).json()["title"] == "Rivers"


def test_edit_answers_an_info_request(client, app):
    creator, partner = pair(app, client)
    p = accepted(client, creator, partner)
    with app.state.sessionmaker() as db, db.begin():
        for a in db.scalars(select(ProjectApproval).where(ProjectApproval.project_id == p["id"])):
            a.state = "info_requested"
            a.reason = "Please describe the work process in more detail."
    r = client.patch(
        f"/projects/{p['id']}",
        json={"work_process": "Monthly joint activities, detailed."},
        headers=creator.headers,
    )
    assert r.status_code == 200
    assert [a["state"] for a in r.json()["approvals"]] == ["pending"]
    kinds = [
        n["kind"] for n in client.get("/notifications", headers=partner.headers).json()["items"]
    ]
    assert "project_edited" in kinds


def test_no_edit_or_delete_once_decided(client, app):
    creator, partner = pair(app, client)
    p = approved(app, client, creator, partner)
    url = f"/projects/{p['id']}"
    r = client.patch(url, json={"title": "Late change"}, headers=creator.headers)
    assert r.status_code == 409 and r.json()["code"] == "not_pending"
    r = client.delete(url, headers=creator.headers)
    assert r.status_code == 409 and r.json()["code"] == "not_pending"


def test_delete_while_pending(client, app):
    creator, partner = pair(app, client)
    p = created(client, creator, partner)
    url = f"/projects/{p['id']}"
    assert client.delete(url, headers=partner.headers).status_code == 403
    r = client.delete(url, headers={**creator.headers, "If-Match": '"7"'})
    assert r.status_code == 412
    assert client.delete(url, headers=creator.headers).status_code == 204
    assert client.get(url, headers=creator.headers).status_code == 404
    assert client.get("/projects", headers=partner.headers).json()["items"] == []
    kinds = [
        n["kind"] for n in client.get("/notifications", headers=partner.headers).json()["items"]
    ]
    assert kinds[0] == "project_withdrawn"
    feed = client.get("/sync/changes", headers=partner.headers).json()["changes"]
    last = [c for c in feed if c["entity"] == "project" and c["id"] == p["id"]]
    assert last and last[-1]["op"] == "delete"


def test_delete_while_awaiting_nso(client, app):
    creator, partner = pair(app, client)
    p = accepted(client, creator, partner)
    assert client.delete(f"/projects/{p['id']}", headers=creator.headers).status_code == 204
    with app.state.sessionmaker() as db:
        assert db.get(Project, p["id"]) is None
        left = db.scalars(select(ProjectApproval).where(ProjectApproval.project_id == p["id"]))
        assert list(left) == []


# --- members after approval ----------------------------------------------------------------


def test_invite_only_after_approval_by_teacher_admins(client, app):
    creator, partner = pair(app, client)
    p = accepted(client, creator, partner)
    third = make_teacher(app)
    url = f"/projects/{p['id']}/members"
    r = client.post(url, json={"user_id": third.user_id}, headers=creator.headers)
    assert r.status_code == 409 and r.json()["code"] == "not_approved"
    approve(app, p["id"])
    r = client.post(
        url, json={"user_id": third.user_id, "role": "teacher"}, headers=creator.headers
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"{url}/{third.user_id}"
    assert r.json()["state"] == "invited" and r.json()["role"] == "teacher"
    notes = client.get("/notifications", headers=third.headers).json()["items"]
    assert notes[0]["kind"] == "member_invitation"
    r = client.post(url, json={"user_id": third.user_id}, headers=creator.headers)
    assert r.status_code == 409 and r.json()["code"] == "exists"
    # an invited member is not an administrator, even when invited as one
    fourth = make_teacher(app)
    r = client.post(url, json={"user_id": fourth.user_id}, headers=third.headers)
    assert r.status_code == 403
    r = client.post(url, json={"user_id": fourth.user_id, "role": "owner"}, headers=creator.headers)
    assert r.status_code == 422 and r.json()["field"] == "role"
    r = client.post(url, json={"user_id": "nobody"}, headers=creator.headers)
    assert r.status_code == 404
    assert (
        client.post(url, json={"user_id": fourth.user_id}, headers=fourth.headers).status_code
        == 404
    )


def test_invitee_reasons_faq_problem_3(client, app):
    creator, partner = pair(app, client)
    p = approved(app, client, creator, partner)
    url = f"/projects/{p['id']}/members"
    cases = [
        (make_teacher(app, role="company_staff"), "company_staff"),
        (make_teacher(app, state="esep_registered"), "not_in_etwinning"),
        (make_teacher(app, available=False), "not_available_for_projects"),
        (make_teacher(app, org_state="pending", state="etwinning_pending"), "school_not_validated"),
    ]
    off = make_teacher(app)
    _set(app, off.user_id, active=False)
    cases.append((off, "inactive"))
    for invitee, code in cases:
        r = client.post(url, json={"user_id": invitee.user_id}, headers=creator.headers)
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "member_not_eligible"
        reasons = r.json()["reasons"]
        assert code in [x["code"] for x in reasons], (code, reasons)
        assert all(x["fix"] for x in reasons)


def test_invitation_accept_roles_and_removal(client, app):
    creator, partner = pair(app, client)
    p = approved(app, client, creator, partner)
    base = f"/projects/{p['id']}/members"
    third = make_teacher(app)
    client.post(base, json={"user_id": third.user_id, "role": "observer"}, headers=creator.headers)
    r = client.post(f"{base}/me/accept", headers=creator.headers)
    assert r.status_code == 409 and r.json()["code"] == "not_invited"
    r = client.post(f"{base}/me/accept", headers=third.headers)
    assert r.status_code == 200 and r.json()["state"] == "active"
    r = client.post(f"{base}/me/accept", headers=third.headers)
    assert r.status_code == 409 and r.json()["code"] == "not_invited"
    kinds = [
        n["kind"] for n in client.get("/notifications", headers=partner.headers).json()["items"]
    ]
    assert "member_joined" in kinds
    listed = client.get(base, headers=third.headers).json()
    assert [m["user_id"] for m in listed] == [creator.user_id, partner.user_id, third.user_id]
    assert [m["founder"] for m in listed] == [True, True, False]
    assert {m["user_id"] for m in listed} == {creator.user_id, partner.user_id, third.user_id}

    # only teacher administrators change roles
    r = client.patch(f"{base}/{creator.user_id}", json={"role": "teacher"}, headers=third.headers)
    assert r.status_code == 403
    r = client.patch(
        f"{base}/{third.user_id}", json={"role": "teacher_admin"}, headers=partner.headers
    )
    assert r.status_code == 200 and r.json()["role"] == "teacher_admin"
    # founders can be demoted while another administrator remains, never the last one
    for who in (creator, partner):
        r = client.patch(f"{base}/{who.user_id}", json={"role": "teacher"}, headers=third.headers)
        assert r.status_code == 200 and r.json()["role"] == "teacher"
    r = client.patch(f"{base}/me", json={"role": "observer"}, headers=third.headers)
    assert r.status_code == 409 and r.json()["code"] == "last_teacher_admin"
    r = client.delete(f"{base}/me", headers=third.headers)
    assert r.status_code == 409 and r.json()["code"] == "last_teacher_admin"
    r = client.patch(f"{base}/nobody", json={"role": "teacher"}, headers=third.headers)
    assert r.status_code == 404
    # founders are never removed
    r = client.delete(f"{base}/{creator.user_id}", headers=third.headers)
    assert r.status_code == 409 and r.json()["code"] == "founder"
    r = client.delete(f"{base}/me", headers=partner.headers)
    assert r.status_code == 409 and r.json()["code"] == "founder"
    # a non-admin cannot remove others
    fourth = make_teacher(app)
    client.post(base, json={"user_id": fourth.user_id}, headers=third.headers)
    r = client.delete(f"{base}/{fourth.user_id}", headers=creator.headers)
    assert r.status_code == 403
    assert client.delete(f"{base}/{fourth.user_id}", headers=third.headers).status_code == 204
    assert client.get(f"/projects/{p['id']}", headers=fourth.headers).status_code == 404
    kinds = [
        n["kind"] for n in client.get("/notifications", headers=fourth.headers).json()["items"]
    ]
    assert kinds[0] == "member_removed"


def test_member_may_leave(client, app):
    creator, partner = pair(app, client)
    p = approved(app, client, creator, partner)
    base = f"/projects/{p['id']}/members"
    third = make_teacher(app)
    client.post(base, json={"user_id": third.user_id}, headers=creator.headers)
    assert client.delete(f"{base}/me", headers=third.headers).status_code == 204
    assert client.get(f"/projects/{p['id']}", headers=third.headers).status_code == 404


def test_invitee_who_became_ineligible_cannot_accept(client, app):
    creator, partner = pair(app, client)
    p = approved(app, client, creator, partner)
    base = f"/projects/{p['id']}/members"
    third = make_teacher(app)
    client.post(base, json={"user_id": third.user_id}, headers=creator.headers)
    _set(app, third.user_id, available_for_projects=False)
    r = client.post(f"{base}/me/accept", headers=third.headers)
    assert r.status_code == 409 and r.json()["code"] == "cannot_join_project"


# --- close ---------------------------------------------------------------------------------


def test_close(client, app):
    creator, partner = pair(app, client)
    pending = created(client, creator, partner)
    r = client.post(f"/projects/{pending['id']}/close", headers=creator.headers)
    assert r.status_code == 409 and r.json()["code"] == "not_approved"
    p = approved(app, client, creator, partner)
    base = f"/projects/{p['id']}"
    third = make_teacher(app)
    client.post(f"{base}/members", json={"user_id": third.user_id}, headers=creator.headers)
    client.post(f"{base}/members/me/accept", headers=third.headers)
    r = client.post(f"{base}/close", headers=third.headers)
    assert r.status_code == 403
    assert client.post(f"{base}/close", headers=make_teacher(app).headers).status_code == 404
    r = client.post(f"{base}/close", headers=partner.headers)
    assert r.status_code == 200
    assert r.json()["state"] == "closed" and r.json()["closed_at"] is not None
    kinds = [n["kind"] for n in client.get("/notifications", headers=third.headers).json()["items"]]
    assert kinds[0] == "project_closed"
    r = client.post(f"{base}/close", headers=partner.headers)
    assert r.status_code == 409 and r.json()["code"] == "project_closed"
    fourth = make_teacher(app)
    r = client.post(f"{base}/members", json={"user_id": fourth.user_id}, headers=creator.headers)
    assert r.status_code == 409 and r.json()["code"] == "project_closed"
    r = client.patch(
        f"{base}/members/{third.user_id}", json={"role": "observer"}, headers=creator.headers
    )
    assert r.status_code == 409 and r.json()["code"] == "project_closed"
    with app.state.sessionmaker() as db:
        assert db.get(Project, p["id"]).state == "closed"
        members = db.scalars(select(ProjectMember).where(ProjectMember.project_id == p["id"]))
        assert len(list(members)) == 3


def test_projects_list_filter_and_paging(client, app):
    creator, partner = pair(app, client)
    ids = [created(client, creator, partner)["id"] for _ in range(3)]
    client.post(f"/projects/{ids[0]}/accept", json={}, headers=partner.headers)
    page = client.get("/projects", params={"limit": 2}, headers=creator.headers).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["next_offset"] == 2
    waiting = client.get("/projects", params={"state": "awaiting_nso"}, headers=creator.headers)
    assert [x["id"] for x in waiting.json()["items"]] == [ids[0]]
    r = client.get("/projects", params={"state": "bogus"}, headers=creator.headers)
    assert r.status_code == 422


def test_hostile_input_is_never_a_500(client, app):
    creator, partner = pair(app, client)
    p = created(client, creator, partner)
    long_id = "ż" * 300
    for method, url in (
        ("GET", f"/projects/{long_id}"),
        ("GET", f"/projects/{long_id}/image"),
        ("POST", f"/projects/{long_id}/accept"),
        ("DELETE", f"/projects/{p['id']}/members/{long_id}"),
        ("PATCH", f"/projects/{p['id']}/members/{long_id}"),
    ):
        r = client.request(method, url, json={"role": "teacher"}, headers=creator.headers)
        assert r.status_code in (404, 409, 422), (method, url, r.status_code)
    r = client.post(
        "/projects",
        content=b"{not json",
        headers={**creator.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    r = client.post("/projects", json=fields(partner_id="x" * 37), headers=creator.headers)
    assert r.status_code == 422 and r.json()["field"] == "partner_id"
    r = client.post("/projects", json=fields(pupils_count="many"), headers=creator.headers)
    assert r.status_code == 422
    assert client.post("/projects", json=fields(partner_id=partner.user_id)).status_code == 401
