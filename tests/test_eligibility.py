"""Eligibility: every FAQ problem becomes a reason with a fix."""

from __future__ import annotations

import uuid
from datetime import timedelta

from reference_backend import clock
from reference_backend.tables import (
    Application,
    Contact,
    Organisation,
    Project,
    ProjectMember,
    User,
)
from tests.factories import make_account, make_org, make_staff, make_teacher


def _codes(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["code"] for r in response.json()["reasons"]]


def _get(client, persona, what, **params):
    return client.get(f"/eligibility/{what}", params=params, headers=persona.headers)


def _set_user(app, user_id, **values):
    with app.state.sessionmaker() as db, db.begin():
        user = db.get(User, user_id)
        for k, v in values.items():
            setattr(user, k, v)


def test_validated_teacher_is_eligible_everywhere(client, app):
    t = make_teacher(app)
    for what in ("etwinning", "project-creation", "project-member"):
        r = _get(client, t, what)
        assert r.json() == {"allowed": True, "reasons": []}


# --- FAQ problem 1 ---------------------------------------------------------------------------


def test_problem_1_esep_registered(client, app):
    t = make_teacher(app, state="esep_registered")
    r = _get(client, t, "etwinning")
    assert r.json()["allowed"] is False
    reason = r.json()["reasons"][0]
    assert reason["code"] == "not_in_etwinning"
    assert reason["action"] == "apply_etwinning"
    assert reason["fix"]


def test_problem_1_non_validated_waiting(client, app):
    t = make_teacher(app, state="etwinning_pending")
    with app.state.sessionmaker() as db, db.begin():
        db.add(
            Application(
                user_id=t.user_id,
                country="GR",
                submitted_at=clock.now() - timedelta(days=9),
            )
        )
    r = _get(client, t, "etwinning")
    reason = r.json()["reasons"][0]
    assert reason["code"] == "validation_pending"
    assert "9 days" in reason["message"]
    assert reason["fixed_by"] == "nso"


def test_problem_1_non_etwinning_organisation_has_an_action(client, app):
    t = make_teacher(app, org_type="other")
    reasons = _get(client, t, "etwinning").json()["reasons"]
    org_reason = next(r for r in reasons if r["code"] == "non_etwinning_organisation")
    assert org_reason["action"] == f"request_validation:{t.membership_ids[0]}"
    assert "Request eTwinning validation" in org_reason["fix"]


def test_problem_1_stale_link_after_validation(client, app):
    t = make_teacher(app, org_state="rejected")
    codes = _codes(_get(client, t, "etwinning"))
    assert "stale_organisation_link" in codes
    # the fix: leave the organisation and add a (validated) school again
    client.delete(f"/users/me/memberships/{t.membership_ids[0]}", headers=t.headers)
    school = make_org(app)
    client.post(
        "/users/me/memberships", json={"org_id": school, "role": "teacher"}, headers=t.headers
    )
    assert _get(client, t, "etwinning").json()["allowed"] is True


def test_rejected_application_says_why(client, app):
    t = make_teacher(app, state="etwinning_rejected")
    _set_user(app, t.user_id, rejection_reason="Not a teacher at this school")
    reason = _get(client, t, "etwinning").json()["reasons"][0]
    assert reason["code"] == "validation_rejected"
    assert "Not a teacher at this school" in reason["message"]
    assert reason["action"] == "apply_etwinning"


def test_pending_organisation_with_its_age(client, app):
    t = make_teacher(app, org_state="pending", state="etwinning_pending")
    with app.state.sessionmaker() as db, db.begin():
        db.get(Organisation, t.org_ids[0]).created_at = clock.now() - timedelta(days=4)
    reasons = _get(client, t, "etwinning").json()["reasons"]
    pending = next(r for r in reasons if r["code"] == "organisation_pending")
    assert "4 days" in pending["message"]
    assert pending["fixed_by"] == "nso"


def test_no_organisation(client, app):
    t = make_teacher(app, with_org=False)
    reason = _get(client, t, "etwinning").json()["reasons"][0]
    assert reason["code"] == "no_organisation"
    assert reason["action"] == "add_organisation"


# --- FAQ problem 3 ---------------------------------------------------------------------------


def test_problem_3_inactive(client, app):
    t = make_teacher(app)
    _set_user(app, t.user_id, active=False)
    assert "inactive" in _codes(_get(client, t, "project-member"))


def test_problem_3_company_staff(client, app):
    t = make_teacher(app, role="company_staff")
    reasons = _get(client, t, "project-member").json()["reasons"]
    staff = next(r for r in reasons if r["code"] == "company_staff")
    assert staff["action"] == f"change_role:{t.membership_ids[0]}"
    assert "NSO" in staff["fix"] or "National Support Organisation" in staff["fix"]


def test_problem_3_not_available_for_projects(client, app):
    t = make_teacher(app, available=False)
    r = _get(client, t, "project-member")
    assert _codes(r) == ["not_available_for_projects"]
    assert r.json()["reasons"][0]["action"] == "set_available"
    client.patch("/users/me/profile", json={"available_for_projects": True}, headers=t.headers)
    assert _get(client, t, "project-member").json()["allowed"] is True


def test_problem_3_unvalidated_school(client, app):
    t = make_teacher(app)
    pending = make_org(app, state="pending", name="New School")
    client.post(
        "/users/me/memberships", json={"org_id": pending, "role": "teacher"}, headers=t.headers
    )
    # eTwinning access remains (one validated school), but a project needs every school validated
    assert _get(client, t, "etwinning").json()["allowed"] is True
    r = _get(client, t, "project-member")
    assert _codes(r) == ["school_not_validated"]
    assert "New School" in r.json()["reasons"][0]["message"]
    assert _codes(_get(client, t, "project-creation")) == ["school_not_validated"]


def test_every_failing_condition_is_listed(client, app):
    t = make_teacher(app, state="esep_registered", role="company_staff", available=False)
    _set_user(app, t.user_id, active=False)
    codes = _codes(_get(client, t, "project-member"))
    for code in ("inactive", "company_staff", "not_in_etwinning", "not_available_for_projects"):
        assert code in codes


# --- whose eligibility you may see -----------------------------------------------------------


def test_other_users_only_via_contacts_projects_or_nso(client, app):
    me = make_teacher(app)
    stranger = make_teacher(app, available=False)
    r = _get(client, me, "project-member", user_id=stranger.user_id)
    assert r.status_code == 404
    assert _get(client, me, "project-member", user_id=str(uuid.uuid4())).status_code == 404

    with app.state.sessionmaker() as db, db.begin():
        db.add(Contact(requester_id=stranger.user_id, addressee_id=me.user_id, state="pending"))
    assert _get(client, me, "project-member", user_id=stranger.user_id).status_code == 404

    friend = make_teacher(app, available=False)
    with app.state.sessionmaker() as db, db.begin():
        db.add(Contact(requester_id=me.user_id, addressee_id=friend.user_id, state="accepted"))
    r = _get(client, me, "project-member", user_id=friend.user_id)
    assert _codes(r) == ["not_available_for_projects"]

    colleague = make_teacher(app, role="company_staff")
    with app.state.sessionmaker() as db, db.begin():
        project = Project(
            title="Our river",
            short_description="x",
            pupils_count=20,
            age_min=9,
            age_max=11,
            aims="a",
            work_process="w",
            expected_results="e",
            scope="national",
            creator_id=me.user_id,
            creator_school_id=me.org_ids[0],
            partner_id=colleague.user_id,
            state="approved",
        )
        db.add(project)
        db.flush()
        db.add(ProjectMember(project_id=project.id, user_id=me.user_id, role="teacher_admin"))
        db.add(ProjectMember(project_id=project.id, user_id=colleague.user_id, role="teacher"))
    assert "company_staff" in _codes(_get(client, me, "project-member", user_id=colleague.user_id))

    staff = make_staff(app, "GR")
    assert _get(client, staff, "project-member", user_id=stranger.user_id).status_code == 200
    foreign_staff = make_staff(app, "PL")
    assert (
        _get(client, foreign_staff, "project-member", user_id=stranger.user_id).status_code == 404
    )


def test_eligibility_needs_a_platform_user(client, app):
    p = make_account(app)
    r = client.get("/eligibility/etwinning", headers=p.headers)
    assert r.status_code == 403
    assert r.json()["code"] == "registration_incomplete"
    assert client.get("/eligibility/etwinning").status_code == 401
    t = make_teacher(app)
    long_id = _get(client, t, "project-member", user_id="x" * 100)
    assert long_id.status_code == 422
    assert _get(client, t, "project-member", user_id="a\x00b").status_code == 404
