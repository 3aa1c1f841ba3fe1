"""NSO staff: queues, evidence, decisions, conflicts, bulk, undo, audit, stats, switching off."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from reference_backend import clock, security
from reference_backend.tables import (
    Account,
    Application,
    AuditEntry,
    Change,
    LegacyAccount,
    Membership,
    Notification,
    Organisation,
    Page,
    Project,
    ProjectApproval,
    ProjectMember,
    Session,
    User,
    new_id,
)
from tests.factories import make_org, make_staff, make_teacher

# --- queue items written straight to the database ----------------------------------------


def make_application(app, *, country="GR", state="pending", age_days=0, **teacher):
    """A teacher waiting for eTwinning validation, and their application."""
    t = make_teacher(app, country=country, state="etwinning_pending", **teacher)
    with app.state.sessionmaker() as db, db.begin():
        row = Application(
            id=new_id(),
            user_id=t.user_id,
            country=country,
            state=state,
            submitted_at=clock.now() - timedelta(days=age_days),
        )
        db.add(row)
    t.app_id = row.id
    return t


def make_pending_org(app, *, country="GR", age_days=0, registered_by=None, **kw):
    org_id = make_org(app, country=country, state="pending", registered_by=registered_by, **kw)
    with app.state.sessionmaker() as db, db.begin():
        db.get(Organisation, org_id).created_at = clock.now() - timedelta(days=age_days)
    return org_id


def make_project(app, *, countries=("GR", "PL"), state="pending", age_days=0, title="Our rivers"):
    """A project of two founders (one per country) whose partner accepted; approvals ``state``."""
    creator = make_teacher(app, country=countries[0])
    partner = make_teacher(app, country=countries[-1])
    with app.state.sessionmaker() as db, db.begin():
        project = Project(
            id=new_id(),
            title=title,
            short_description="Pupils study the rivers of their towns.",
            languages=["en"],
            pupils_count=20,
            age_min=9,
            age_max=11,
            subjects=["Geography"],
            aims="Learn together",
            work_process="Monthly activities",
            expected_results="A shared map",
            state="awaiting_nso" if state != "waiting" else "awaiting_partner",
            scope="european" if countries[0] != countries[-1] else "national",
            creator_id=creator.user_id,
            creator_school_id=creator.org_ids[0],
            partner_id=partner.user_id,
            partner_school_id=partner.org_ids[0],
        )
        db.add(project)
        db.flush()
        for cc in dict.fromkeys(countries):
            db.add(
                ProjectApproval(
                    project_id=project.id,
                    country=cc,
                    state=state,
                    queued_at=None
                    if state == "waiting"
                    else clock.now() - timedelta(days=age_days),
                )
            )
        db.add(
            ProjectMember(
                project_id=project.id,
                user_id=creator.user_id,
                role="teacher_admin",
                founder=True,
                state="active",
            )
        )
        db.add(
            ProjectMember(
                project_id=project.id,
                user_id=partner.user_id,
                role="teacher_admin",
                founder=True,
                state="invited",
            )
        )
    return project.id, creator, partner


def _sign_in_again(app, persona):
    """A new session after the clock moved past the old one's expiry."""
    with app.state.sessionmaker() as db, db.begin():
        _session, persona.token, persona.refresh = security.issue_session(
            db, "account", persona.account_id
        )


def _get(app, model, key):
    with app.state.sessionmaker() as db:
        return db.get(model, key)


def _decide(client, staff, kind, item_id, action="approve", version=1, **extra):
    return client.post(
        f"/nso/{kind}s/{item_id}/decision",
        json={"action": action, "version": version, **extra},
        headers=staff.headers,
    )


# --- queues ------------------------------------------------------------------------------


def test_queue_counts_oldest_age_and_overdue(client, app):
    staff = make_staff(app, "GR")
    make_application(app, age_days=9)
    make_application(app, age_days=2)
    make_application(app, state="info_requested", age_days=20)
    make_application(app, country="PL", age_days=30)  # another country's
    make_pending_org(app, age_days=8)
    make_project(app, age_days=3)
    r = client.get("/nso/queues", headers=staff.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["country"] == "GR"
    q = {x["queue"]: x for x in body["queues"]}
    assert q["applications"] == {
        "queue": "applications",
        "count": 2,
        "oldest_age_days": 9,
        "overdue": 1,
        "info_requested": 1,
    }
    assert q["organisations"]["count"] == 1 and q["organisations"]["overdue"] == 1
    assert q["projects"]["count"] == 1 and q["projects"]["oldest_age_days"] == 3
    clock.advance(timedelta(days=5))  # ages 14 and 7: seven days is not yet overdue
    _sign_in_again(app, staff)
    q = {x["queue"]: x for x in client.get("/nso/queues", headers=staff.headers).json()["queues"]}
    assert q["applications"]["overdue"] == 1 and q["projects"]["overdue"] == 1
    clock.advance(timedelta(days=1))
    _sign_in_again(app, staff)
    q = {x["queue"]: x for x in client.get("/nso/queues", headers=staff.headers).json()["queues"]}
    assert q["applications"]["overdue"] == 2 and q["projects"]["overdue"] == 1


def test_non_staff_and_anonymous_are_refused(client, app):
    teacher = make_teacher(app)
    assert client.get("/nso/queues").status_code == 401
    r = client.get("/nso/queues", headers=teacher.headers)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


def test_application_queue_sort_filter_and_flags(client, app):
    staff = make_staff(app, "GR")
    old = make_application(app, age_days=10, first_name="Zoe", last_name="Ålander")
    mid = make_application(app, age_days=5, first_name="Anna", last_name="Papadopoulou")
    new = make_application(
        app, age_days=1, first_name="Maria", last_name="Kowalska", role="company_staff"
    )
    make_teacher(app, first_name="Anna", last_name="Papadopoulou")  # same name, other email
    make_application(app, country="PL", age_days=50)
    r = client.get("/nso/queues/applications", headers=staff.headers)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 3 and page["next_offset"] is None
    assert [i["id"] for i in page["items"]] == [old.app_id, mid.app_id, new.app_id]
    first = page["items"][0]
    assert first["age_days"] == 10 and first["overdue"] is True and first["version"] == 1
    assert first["title"] == "Zoe Ålander" and first["detail"].startswith("Teacher · ")
    flags = {i["id"]: i["flags"] for i in page["items"]}
    assert "duplicate_suspected" in flags[mid.app_id]
    assert "company_staff_only" in flags[new.app_id]
    newest = client.get("/nso/queues/applications?sort=age", headers=staff.headers).json()
    assert [i["id"] for i in newest["items"]] == [new.app_id, mid.app_id, old.app_id]
    by_name = client.get("/nso/queues/applications?sort=name", headers=staff.headers).json()
    assert [i["title"] for i in by_name["items"]] == [
        "Anna Papadopoulou",
        "Maria Kowalska",
        "Zoe Ålander",
    ]
    folded = client.get("/nso/queues/applications?q=ALANDER", headers=staff.headers).json()
    assert [i["id"] for i in folded["items"]] == [old.app_id]
    aged = client.get("/nso/queues/applications?min_age_days=5", headers=staff.headers).json()
    assert {i["id"] for i in aged["items"]} == {old.app_id, mid.app_id}
    paged = client.get("/nso/queues/applications?limit=2", headers=staff.headers).json()
    assert len(paged["items"]) == 2 and paged["next_offset"] == 2 and paged["total"] == 3
    rest = client.get("/nso/queues/applications?limit=2&offset=2", headers=staff.headers).json()
    assert [i["id"] for i in rest["items"]] == [new.app_id] and rest["next_offset"] is None
    bad = client.get("/nso/queues/applications?limit=500", headers=staff.headers)
    assert bad.status_code == 422 and bad.json()["field"] == "limit"
    bad = client.get("/nso/queues/applications?type=castle", headers=staff.headers)
    assert bad.status_code == 422 and bad.json()["field"] == "type"
    assert client.get("/nso/queues/nothing", headers=staff.headers).status_code == 422


def test_organisation_and_project_queues_filter(client, app):
    staff = make_staff(app, "GR")
    a = make_pending_org(app, name="Γυμνάσιο Κηφισιάς", type="secondary", age_days=4)
    b = make_pending_org(app, name="Kindergarten Sun", type="preschool", age_days=2)
    make_pending_org(app, country="PL", name="Szkoła Podstawowa")
    page = client.get("/nso/queues/organisations", headers=staff.headers).json()
    assert [i["id"] for i in page["items"]] == [a, b]
    assert page["items"][0]["flags"] == ["school_number_missing"]  # GR requires one
    r = client.get("/nso/queues/organisations?q=γυμνασιο", headers=staff.headers).json()
    assert [i["id"] for i in r["items"]] == [a]
    r = client.get("/nso/queues/organisations?type=preschool", headers=staff.headers).json()
    assert [i["id"] for i in r["items"]] == [b]
    eu, *_ = make_project(app, title="Rivers", age_days=3)
    national, *_ = make_project(app, countries=("GR", "GR"), title="Bridges", age_days=1)
    make_project(app, state="waiting", title="Not yet accepted")
    r = client.get("/nso/queues/projects", headers=staff.headers).json()
    assert [i["id"] for i in r["items"]] == [eu, national]
    assert r["items"][0]["flags"] == ["other_nso_pending"]
    r = client.get("/nso/queues/projects?type=national", headers=staff.headers).json()
    assert [i["id"] for i in r["items"]] == [national]
    r = client.get("/nso/queues/projects?q=bridg", headers=staff.headers).json()
    assert [i["id"] for i in r["items"]] == [national]


def test_five_thousand_item_queue_pages_without_gaps(client, app):
    staff = make_staff(app, "GR")
    n = 5000
    base = clock.now() - timedelta(days=60)
    expected = []
    with app.state.sessionmaker() as db, db.begin():
        accounts, users, apps = [], [], []
        for i in range(n):
            aid, uid, app_id = new_id(), new_id(), new_id()
            accounts.append(
                {
                    "id": aid,
                    "email": f"bulk{i}@example.org",
                    "password_hash": "x",
                    "name": f"Bulk {i}",
                    "disabled": False,
                    "created_at": base,
                }
            )
            users.append(
                {
                    "id": uid,
                    "account_id": aid,
                    "first_name": "Bulk",
                    "last_name": str(i),
                    "name_folded": f"bulk {i}",
                    "country": "GR",
                    "capacity": "school_staff",
                    "state": "etwinning_pending",
                    "version": 1,
                }
            )
            # several items share a timestamp, so paging must not depend on it alone
            apps.append(
                {
                    "id": app_id,
                    "user_id": uid,
                    "country": "GR",
                    "state": "pending",
                    "submitted_at": base + timedelta(minutes=i // 3),
                    "version": 1,
                }
            )
            expected.append(app_id)
        db.execute(Account.__table__.insert(), accounts)
        db.execute(User.__table__.insert(), users)
        db.execute(Application.__table__.insert(), apps)
    seen = []
    offset = 0
    while offset is not None:
        r = client.get(f"/nso/queues/applications?limit=200&offset={offset}", headers=staff.headers)
        assert r.status_code == 200
        body = r.json()
        assert body["total"] == (n if offset == 0 else None)
        seen.extend(i["id"] for i in body["items"])
        ages = [i["submitted_at"] for i in body["items"]]
        assert ages == sorted(ages)
        offset = body["next_offset"]
    assert len(seen) == n and set(seen) == set(expected)
    summary = client.get("/nso/queues", headers=staff.headers).json()["queues"][0]
    assert summary["count"] == n and summary["oldest_age_days"] == 60


# --- evidence ----------------------------------------------------------------------------


def test_application_evidence(client, app):
    staff = make_staff(app, "GR")
    t = make_application(
        app, first_name="Eleni", last_name="Dimou", age_days=3, org_state="pending"
    )
    dupe = make_teacher(app, first_name="Eléni", last_name="Dimou", state="etwinning_validated")
    with app.state.sessionmaker() as db, db.begin():
        legacy = LegacyAccount(
            email=t.email, platform="etwinning", first_name="Eleni", last_name="Dimou", country="GR"
        )
        db.add(legacy)
        db.flush()
        db.get(User, t.user_id).legacy_account_id = legacy.id
    r = client.get(f"/nso/applications/{t.app_id}", headers=staff.headers)
    assert r.status_code == 200, r.text
    ev = r.json()
    assert ev["days_waiting"] == 3 and ev["state"] == "pending" and ev["version"] == 1
    assert ev["applicant"]["email"] == t.email
    assert ev["roles"][0]["role"] == "teacher"
    assert ev["roles"][0]["organisation"]["state"] == "pending"
    assert ev["roles"][0]["organisation"]["standing"] == "pending"
    assert ev["legacy"]["platform"] == "etwinning"
    assert [d["user_id"] for d in ev["suspected_duplicates"]] == [dupe.user_id]
    assert ev["suspected_duplicates"][0]["email"] == dupe.email
    assert ev["earlier_decisions"] == [] and ev["blockers"] == []


def test_organisation_evidence_near_duplicates(client, app):
    staff = make_staff(app, "GR")
    registrant = make_teacher(app, first_name="Kostas")
    org = make_pending_org(
        app, name="1st Primary School of Kifisia", city="Kifisia", registered_by=registrant.user_id
    )
    twin = make_org(app, name="1st Primary School Kifisia", city="Kifisia")
    make_org(app, name="1st Primary School of Kifisia", city="Patra")  # other city
    make_org(app, name="Music School", city="Kifisia")
    r = client.get(f"/nso/organisations/{org}", headers=staff.headers)
    assert r.status_code == 200, r.text
    ev = r.json()
    assert [d["id"] for d in ev["near_duplicates"]] == [twin]
    assert ev["near_duplicates"][0]["similarity"] >= 0.6
    assert ev["registered_by"]["user_id"] == registrant.user_id
    assert ev["school_number_required"] is True and ev["school_number"] is None


def test_project_evidence_shows_founders_and_other_nso(client, app):
    gr, pl = make_staff(app, "GR"), make_staff(app, "PL")
    pid, creator, partner = make_project(app)
    assert _decide(client, pl, "project", pid).status_code == 201
    ev = client.get(f"/nso/projects/{pid}", headers=gr.headers).json()
    assert ev["countries"] == ["GR", "PL"] and ev["scope"] == "european"
    assert [(f["role"], f["person"]["user_id"], f["validated"]) for f in ev["founders"]] == [
        ("creator", creator.user_id, True),
        ("partner", partner.user_id, True),
    ]
    approvals = {a["country"]: a for a in ev["approvals"]}
    assert approvals["PL"]["state"] == "approved" and approvals["PL"]["decided_by_name"]
    assert approvals["GR"]["state"] == "pending"
    assert ev["other_nso_decided"] is True


def test_another_countrys_items_are_404_everywhere(client, app):
    fr = make_staff(app, "FR")
    t = make_application(app, country="GR")
    org = make_pending_org(app, country="GR")
    pid, *_ = make_project(app)
    for path in (
        f"/nso/applications/{t.app_id}",
        f"/nso/organisations/{org}",
        f"/nso/projects/{pid}",
        "/nso/applications/not-an-id",
    ):
        r = client.get(path, headers=fr.headers)
        assert r.status_code == 404 and r.json()["code"] == "not_found", path
    for kind, item in (("application", t.app_id), ("organisation", org), ("project", pid)):
        r = _decide(client, fr, kind, item)
        assert r.status_code == 404, kind
    r = client.post(f"/nso/users/{t.user_id}/active", json={"active": False}, headers=fr.headers)
    assert r.status_code == 404
    assert _get(app, Application, t.app_id).state == "pending"
    assert _get(app, User, t.user_id).active is True
    assert client.get("/nso/queues/applications", headers=fr.headers).json()["total"] == 0


# --- application decisions ---------------------------------------------------------------


def test_approve_application_validates_the_teacher(client, app):
    staff = make_staff(app, "GR")
    t = make_application(app)
    r = _decide(client, staff, "application", t.app_id)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["state"] == "approved" and out["version"] == 2
    assert r.headers["location"] == f"/nso/decisions/{out['audit_id']}"
    assert _get(app, User, t.user_id).state == "etwinning_validated"
    with app.state.sessionmaker() as db:
        entry = db.get(AuditEntry, out["audit_id"])
        assert (entry.actor_id, entry.action, entry.subject_type, entry.country) == (
            staff.user_id,
            "approve",
            "application",
            "GR",
        )
        note = db.scalar(select(Notification).where(Notification.user_id == t.user_id))
        assert note.kind == "application_approved" and note.subject_id == t.app_id
        audiences = set(
            db.scalars(select(Change.audience).where(Change.entity_id.in_((t.app_id, t.user_id))))
        )
        assert {"nso:GR", f"user:{t.user_id}"} <= audiences
    assert client.get("/nso/queues/applications", headers=staff.headers).json()["total"] == 0


def test_reject_application_needs_a_reason_and_can_use_a_template(client, app):
    staff = make_staff(app, "GR")
    t = make_application(app)
    r = _decide(client, staff, "application", t.app_id, "reject")
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = _decide(client, staff, "application", t.app_id, "reject", template="no_such")
    assert r.status_code == 422 and r.json()["field"] == "template"
    r = _decide(client, staff, "application", t.app_id, "reject", template="not_a_school")
    assert r.status_code == 422  # an organisation template
    templates = client.get("/nso/reason-templates", headers=staff.headers).json()
    tpl = next(t for t in templates if t["code"] == "duplicate_account")
    r = _decide(client, staff, "application", t.app_id, "reject", template="duplicate_account")
    assert r.status_code == 201 and r.json()["state"] == "rejected"
    user = _get(app, User, t.user_id)
    assert user.state == "etwinning_rejected" and user.rejection_reason == tpl["text"]
    assert _get(app, Application, t.app_id).reason == tpl["text"]


def test_request_info_then_approve(client, app):
    staff = make_staff(app, "GR")
    t = make_application(app)
    r = _decide(client, staff, "application", t.app_id, "request_info", reason="Which school?")
    assert r.status_code == 201 and r.json()["state"] == "info_requested"
    assert _get(app, User, t.user_id).state == "etwinning_pending"
    assert _get(app, Application, t.app_id).reason == "Which school?"
    q = client.get("/nso/queues/applications?state=info_requested", headers=staff.headers)
    assert [i["id"] for i in q.json()["items"]] == [t.app_id]
    # still decidable, against the new version
    stale = _decide(client, staff, "application", t.app_id, version=1)
    assert stale.status_code == 409 and stale.json()["code"] == "already_decided"
    r = _decide(client, staff, "application", t.app_id, version=2)
    assert r.status_code == 201 and r.json()["state"] == "approved"


def test_approve_refused_for_company_staff_and_without_school(client, app):
    staff = make_staff(app, "GR")
    company = make_application(app, role="company_staff")
    r = _decide(client, staff, "application", company.app_id)
    assert r.status_code == 409 and r.json()["code"] == "cannot_approve"
    assert [x["code"] for x in r.json()["reasons"]] == ["company_staff"]
    assert "no company-staff member gets eTwinning access" in r.json()["reasons"][0]["message"]
    nobody = make_application(app, with_org=False)
    r = _decide(client, staff, "application", nobody.app_id)
    assert r.status_code == 409 and r.json()["reasons"][0]["code"] == "no_school"
    other = make_application(app, org_type="other")
    r = _decide(client, staff, "application", other.app_id)
    assert r.status_code == 409 and r.json()["reasons"][0]["code"] == "no_school"
    assert _get(app, Application, company.app_id).state == "pending"
    ev = client.get(f"/nso/applications/{company.app_id}", headers=staff.headers).json()
    assert [b["code"] for b in ev["blockers"]] == ["company_staff"]
    # rejecting them is still possible
    r = _decide(client, staff, "application", company.app_id, "reject", reason="Not a teacher")
    assert r.status_code == 201


def test_second_staff_member_gets_already_decided(client, app):
    first, second = make_staff(app, "GR"), make_staff(app, "GR")
    t = make_application(app)
    assert _decide(client, first, "application", t.app_id).status_code == 201
    r = _decide(client, second, "application", t.app_id, "reject", reason="No")
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "already_decided"
    assert "Nso " in body["message"] and "approved" in body["message"] and "UTC" in body["message"]
    assert body["reasons"][0]["action"] == f"decided_by:{first.user_id}"
    assert _get(app, Application, t.app_id).state == "approved"
    assert _get(app, User, t.user_id).state == "etwinning_validated"


def test_concurrent_decisions_one_wins(client, app):
    staffs = [make_staff(app, "GR") for _ in range(3)]
    t = make_application(app)
    results = []

    def go(s, action):
        results.append(_decide(client, s, "application", t.app_id, action, reason="Because"))

    threads = [
        threading.Thread(target=go, args=(s, a))
        for s, a in zip(staffs, ("approve", "reject", "request_info"), strict=True)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 409, 409]
    assert all(r.json()["code"] == "already_decided" for r in results if r.status_code == 409)
    with app.state.sessionmaker() as db:
        entries = db.scalar(select(func.count()).select_from(AuditEntry)) or 0
        assert entries == 1
        assert db.get(Application, t.app_id).version == 2


# --- organisation decisions --------------------------------------------------------------


def test_organisation_approve_reject_and_request_info(client, app):
    staff = make_staff(app, "GR")
    registrant = make_teacher(app)
    a = make_pending_org(app, registered_by=registrant.user_id)
    b = make_pending_org(app, registered_by=registrant.user_id)
    orphan = make_pending_org(app)
    r = _decide(client, staff, "organisation", a)
    assert r.status_code == 201 and r.json()["state"] == "validated"
    assert _get(app, Organisation, a).decided_at is not None
    r = _decide(client, staff, "organisation", b, "reject", reason="Duplicate of another")
    assert (
        r.status_code == 201
        and _get(app, Organisation, b).rejection_reason == "Duplicate of another"
    )
    r = _decide(client, staff, "organisation", orphan, "request_info", reason="Number?")
    assert r.status_code == 409 and r.json()["code"] == "nobody_to_ask"
    c = make_pending_org(app, registered_by=registrant.user_id)
    r = _decide(client, staff, "organisation", c, "request_info", reason="School number?")
    assert r.status_code == 201 and r.json()["state"] == "pending" and r.json()["version"] == 2
    r = _decide(client, staff, "organisation", a, "reject", reason="x", version=2)
    assert r.status_code == 409 and r.json()["code"] == "already_decided"
    with app.state.sessionmaker() as db:
        kinds = set(
            db.scalars(select(Notification.kind).where(Notification.user_id == registrant.user_id))
        )
    assert kinds == {
        "organisation_validated",
        "organisation_rejected",
        "organisation_info_requested",
    }


# --- project decisions -------------------------------------------------------------------


def test_european_project_needs_both_nsos(client, app):
    gr, pl = make_staff(app, "GR"), make_staff(app, "PL")
    pid, _creator, partner = make_project(app)
    r = _decide(client, gr, "project", pid)
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "approved" and r.json()["project_state"] == "awaiting_nso"
    assert _get(app, Project, pid).state == "awaiting_nso"
    flags = client.get("/nso/queues/projects", headers=pl.headers).json()["items"][0]["flags"]
    assert flags == ["other_nso_approved"]
    r = _decide(client, pl, "project", pid)
    assert r.status_code == 201 and r.json()["project_state"] == "approved"
    project = _get(app, Project, pid)
    assert project.state == "approved" and project.decided_at is not None
    with app.state.sessionmaker() as db:
        states = set(db.scalars(select(ProjectMember.state).where(ProjectMember.project_id == pid)))
        assert states == {"active"}
        titles = list(db.scalars(select(Page.title).where(Page.project_id == pid)))
        assert "Getting to know each other" in titles and "Activity plan" in titles
        kinds = list(
            db.scalars(select(Notification.kind).where(Notification.user_id == partner.user_id))
        )
        assert "project_approved" in kinds


def test_national_project_single_approval_is_final(client, app):
    gr = make_staff(app, "GR")
    pid, *_ = make_project(app, countries=("GR", "GR"))
    r = _decide(client, gr, "project", pid)
    assert r.status_code == 201 and r.json()["project_state"] == "approved"


def test_project_waiting_for_partner_cannot_be_decided(client, app):
    gr = make_staff(app, "GR")
    pid, *_ = make_project(app, state="waiting")
    r = _decide(client, gr, "project", pid)
    assert r.status_code == 409 and r.json()["code"] == "partner_not_accepted"
    assert _get(app, Project, pid).state == "awaiting_partner"


def test_project_rejection_by_one_nso_closes_the_other(client, app):
    gr, pl = make_staff(app, "GR"), make_staff(app, "PL")
    pid, *_ = make_project(app)
    r = _decide(client, gr, "project", pid, "reject", reason="Description incomplete")
    assert r.status_code == 201 and r.json()["project_state"] == "rejected"
    project = _get(app, Project, pid)
    assert project.state == "rejected" and project.rejection_reason == "Description incomplete"
    r = _decide(client, pl, "project", pid, version=1)
    assert r.status_code == 409 and r.json()["code"] == "already_decided"
    assert client.get("/nso/queues/projects", headers=pl.headers).json()["total"] == 0


def test_project_request_info(client, app):
    gr = make_staff(app, "GR")
    pid, *_ = make_project(app)
    r = _decide(client, gr, "project", pid, "request_info", reason="Which pupils?")
    assert r.status_code == 201 and r.json()["state"] == "info_requested"
    assert _get(app, Project, pid).state == "awaiting_nso"


# --- undo --------------------------------------------------------------------------------


def test_undo_within_window_restores_the_item(client, app):
    staff = make_staff(app, "GR")
    t = make_application(app)
    audit_id = _decide(client, staff, "application", t.app_id, "reject", reason="No").json()[
        "audit_id"
    ]
    clock.advance(timedelta(seconds=20))
    r = client.post(f"/nso/decisions/{audit_id}/undo", headers=staff.headers)
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "pending" and r.json()["undone"] == audit_id
    user = _get(app, User, t.user_id)
    assert user.state == "etwinning_pending" and user.rejection_reason is None
    assert _get(app, Application, t.app_id).reason is None
    again = client.post(f"/nso/decisions/{audit_id}/undo", headers=staff.headers)
    assert again.status_code == 409 and again.json()["code"] == "already_undone"
    with app.state.sessionmaker() as db:
        actions = list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["reject", "undo"]
    # back in the queue, decidable at its new version
    item = client.get("/nso/queues/applications", headers=staff.headers).json()["items"][0]
    assert item["id"] == t.app_id and item["version"] == 3
    assert _decide(client, staff, "application", t.app_id, version=3).status_code == 201


def test_undo_expires_and_belongs_to_its_author(client, app):
    staff, colleague, foreign = make_staff(app, "GR"), make_staff(app, "GR"), make_staff(app, "PL")
    t = make_application(app)
    audit_id = _decide(client, staff, "application", t.app_id).json()["audit_id"]
    r = client.post(f"/nso/decisions/{audit_id}/undo", headers=colleague.headers)
    assert r.status_code == 403 and r.json()["code"] == "not_your_decision"
    r = client.post(f"/nso/decisions/{audit_id}/undo", headers=foreign.headers)
    assert r.status_code == 404
    clock.advance(timedelta(seconds=31))
    r = client.post(f"/nso/decisions/{audit_id}/undo", headers=staff.headers)
    assert r.status_code == 409 and r.json()["code"] == "undo_expired"
    assert _get(app, User, t.user_id).state == "etwinning_validated"
    assert client.post("/nso/decisions/999999/undo", headers=staff.headers).status_code == 404


def test_undo_final_project_approval(client, app):
    gr = make_staff(app, "GR")
    pid, _creator, partner = make_project(app, countries=("GR", "GR"))
    audit_id = _decide(client, gr, "project", pid).json()["audit_id"]
    r = client.post(f"/nso/decisions/{audit_id}/undo", headers=gr.headers)
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "pending"
    assert _get(app, Project, pid).state == "awaiting_nso"
    with app.state.sessionmaker() as db:
        member = db.scalar(
            select(ProjectMember).where(
                ProjectMember.project_id == pid, ProjectMember.user_id == partner.user_id
            )
        )
        assert member.state == "invited"
        assert db.scalar(select(func.count()).where(Page.project_id == pid)) == 0


def test_undo_project_rejection_reopens_the_other_nso(client, app):
    gr, pl = make_staff(app, "GR"), make_staff(app, "PL")
    pid, *_ = make_project(app)
    audit_id = _decide(client, gr, "project", pid, "reject", reason="No").json()["audit_id"]
    assert client.post(f"/nso/decisions/{audit_id}/undo", headers=gr.headers).status_code == 201
    item = client.get("/nso/queues/projects", headers=pl.headers).json()["items"][0]
    assert item["id"] == pid and item["state"] == "pending"
    assert _decide(client, pl, "project", pid, version=item["version"]).status_code == 201


# --- bulk --------------------------------------------------------------------------------


def test_bulk_partial_failure_keeps_the_successes(client, app):
    staff, colleague = make_staff(app, "GR"), make_staff(app, "GR")
    good1, good2 = make_application(app), make_application(app)
    company = make_application(app, role="company_staff")
    taken = make_application(app)
    foreign = make_application(app, country="PL")
    org = make_pending_org(app)
    assert _decide(client, colleague, "application", taken.app_id).status_code == 201
    items = [
        {"kind": "application", "id": good1.app_id, "version": 1},
        {"kind": "application", "id": company.app_id, "version": 1},
        {"kind": "application", "id": taken.app_id, "version": 1},
        {"kind": "application", "id": foreign.app_id, "version": 1},
        {"kind": "organisation", "id": org, "version": 1},
        {"kind": "application", "id": good2.app_id, "version": 1},
    ]
    r = client.post(
        "/nso/decisions/bulk", json={"items": items, "action": "approve"}, headers=staff.headers
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] == 3 and body["failed"] == 3
    res = {x["id"]: x for x in body["results"]}
    assert res[good1.app_id]["ok"] and res[good1.app_id]["decision"]["state"] == "approved"
    assert res[company.app_id]["code"] == "cannot_approve"
    assert res[taken.app_id]["code"] == "already_decided"
    assert res[foreign.app_id]["code"] == "not_found"
    assert res[org]["ok"] and _get(app, Organisation, org).state == "validated"
    assert _get(app, User, good2.user_id).state == "etwinning_validated"
    assert _get(app, Application, company.app_id).state == "pending"
    with app.state.sessionmaker() as db:
        mine = db.scalar(select(func.count()).where(AuditEntry.actor_id == staff.user_id))
    assert mine == 3
    # a reject without a reason refuses the whole request
    r = client.post(
        "/nso/decisions/bulk",
        json={
            "items": [{"kind": "application", "id": company.app_id, "version": 1}],
            "action": "reject",
        },
        headers=staff.headers,
    )
    assert r.status_code == 422 and r.json()["field"] == "reason"
    dupes = [{"kind": "application", "id": company.app_id, "version": 1}] * 2
    r = client.post(
        "/nso/decisions/bulk", json={"items": dupes, "action": "approve"}, headers=staff.headers
    )
    assert r.status_code == 422


# --- audit and stats ---------------------------------------------------------------------


def test_audit_log_filters(client, app):
    staff, colleague = make_staff(app, "GR"), make_staff(app, "GR")
    pl = make_staff(app, "PL")
    a, b = make_application(app, first_name="Ana"), make_application(app)
    org = make_pending_org(app, name="Kifisia Lyceum")
    _decide(client, staff, "application", a.app_id)
    _decide(client, colleague, "application", b.app_id, "reject", reason="No school")
    _decide(client, staff, "organisation", org)
    r = client.get("/nso/audit", headers=staff.headers)
    assert r.status_code == 200
    page = r.json()
    assert page["total"] == 3
    assert [e["action"] for e in page["items"]] == ["approve", "reject", "approve"]
    assert page["items"][0]["subject_title"] == "Kifisia Lyceum"
    assert page["items"][0]["undoable"] is True
    assert page["items"][1]["undoable"] is False  # a colleague's
    assert page["items"][1]["reason"] == "No school"
    r = client.get(f"/nso/audit?actor={colleague.user_id}", headers=staff.headers).json()
    assert [e["subject_id"] for e in r["items"]] == [b.app_id]
    r = client.get("/nso/audit?subject_type=organisation", headers=staff.headers).json()
    assert [e["subject_id"] for e in r["items"]] == [org]
    r = client.get("/nso/audit?action=reject", headers=staff.headers).json()
    assert r["total"] == 1 and r["items"][0]["actor_name"].startswith("Nso ")
    future = (clock.now() + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    r = client.get("/nso/audit", params={"since": future}, headers=staff.headers).json()
    assert r["total"] == 0
    r = client.get("/nso/audit", params={"until": future}, headers=staff.headers).json()
    assert r["total"] == 3
    assert client.get("/nso/audit", headers=pl.headers).json()["total"] == 0
    one = client.get(f"/nso/decisions/{page['items'][2]['id']}", headers=staff.headers)
    assert one.status_code == 200 and one.json()["subject_title"].startswith("Ana ")
    assert (
        client.get(f"/nso/decisions/{page['items'][2]['id']}", headers=pl.headers).status_code
        == 404
    )


def test_stats_decisions_per_day_and_median_age(client, app):
    staff = make_staff(app, "GR")
    apps = [make_application(app, age_days=d) for d in (1, 3, 5, 10, 20)]
    clock.advance(timedelta(days=-2))  # two decisions two days ago
    _decide(client, staff, "application", apps[4].app_id)
    _decide(client, staff, "application", apps[3].app_id, "reject", reason="No")
    clock.reset()
    _decide(client, staff, "application", apps[2].app_id, "request_info", reason="Which?")
    r = client.get("/nso/stats", headers=staff.headers)
    assert r.status_code == 200
    body = r.json()
    assert len(body["days"]) == 30
    today, two_ago = body["days"][-1], body["days"][-3]
    assert (today["request_info"], today["total"]) == (1, 1)
    assert (two_ago["approve"], two_ago["reject"], two_ago["total"]) == (1, 1, 2)
    assert sum(d["total"] for d in body["days"]) == 3
    q = {x["queue"]: x for x in body["queues"]}
    # pending now: ages 1 and 3 -> median 2 days
    assert q["applications"]["count"] == 2
    assert 1.9 <= q["applications"]["median_age_days"] <= 2.1
    assert q["organisations"]["median_age_days"] is None


# --- switching accounts off --------------------------------------------------------------


def test_switch_account_off_ends_sessions_and_on_again(client, app):
    staff = make_staff(app, "GR")
    t = make_teacher(app)
    r = client.post(
        f"/nso/users/{t.user_id}/active",
        json={"active": False, "reason": "Spam posts"},
        headers=staff.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False and r.json()["sessions_ended"] == 1
    with app.state.sessionmaker() as db:
        assert db.get(User, t.user_id).active is False
        open_sessions = db.scalar(
            select(func.count()).where(
                Session.subject_id == t.account_id, Session.revoked_at.is_(None)
            )
        )
        assert open_sessions == 0
        entry = db.scalar(select(AuditEntry).where(AuditEntry.subject_id == t.user_id))
        assert entry.action == "deactivate" and entry.reason == "Spam posts"
    assert client.get("/nso/queues", headers=t.headers).status_code == 401
    r = client.post(f"/nso/users/{t.user_id}/active", json={"active": True}, headers=staff.headers)
    assert r.status_code == 200 and r.json()["active"] is True
    r = client.post(
        f"/nso/users/{staff.user_id}/active", json={"active": False}, headers=staff.headers
    )
    assert r.status_code == 409 and r.json()["code"] == "cannot_switch_off_self"
    r = client.post(f"/nso/users/{t.user_id}/active", json={"active": "x"}, headers=staff.headers)
    assert r.status_code == 422


# --- change feed -------------------------------------------------------------------------


def test_queue_items_travel_in_the_change_feed(client, app):
    staff, other = make_staff(app, "GR"), make_staff(app, "GR")
    t = make_application(app)
    r = _decide(client, staff, "application", t.app_id, "request_info", reason="Which school?")
    assert r.status_code == 201
    feed = client.get("/sync/changes", headers=other.headers).json()["changes"]
    item = next(c for c in feed if c["entity"] == "nso_application")
    assert item["op"] == "upsert" and item["data"]["state"] == "info_requested"
    _decide(client, staff, "application", t.app_id, version=2)
    feed = client.get("/sync/changes", headers=other.headers).json()["changes"]
    item = next(c for c in feed if c["entity"] == "nso_application")
    assert item["op"] == "delete"  # left the queue
    with app.state.sessionmaker() as db:
        assert db.get(Membership, t.membership_ids[0]) is not None


def test_both_nsos_approving_at_once_make_the_project_final(client, app):
    gr, pl = make_staff(app, "GR"), make_staff(app, "PL")
    pid, *_ = make_project(app)
    results = []
    threads = [
        threading.Thread(target=lambda s=s: results.append(_decide(client, s, "project", pid)))
        for s in (gr, pl)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(r.status_code for r in results) == [201, 201]
    assert sorted(r.json()["project_state"] for r in results) == ["approved", "awaiting_nso"]
    assert _get(app, Project, pid).state == "approved"


def test_undo_refused_after_a_later_decision(client, app):
    staff = make_staff(app, "GR")
    t = make_application(app)
    first = _decide(client, staff, "application", t.app_id, "request_info", reason="Which?")
    assert _decide(client, staff, "application", t.app_id, version=2).status_code == 201
    r = client.post(f"/nso/decisions/{first.json()['audit_id']}/undo", headers=staff.headers)
    assert r.status_code == 409 and r.json()["code"] == "undo_conflict"
    assert _get(app, Application, t.app_id).state == "approved"


def test_hostile_input_is_refused_cleanly(client, app):
    staff = make_staff(app, "GR")
    t = make_application(app)
    url = f"/nso/applications/{t.app_id}/decision"
    for body in (
        {"action": "approve"},  # no version
        {"action": "approve", "version": -1},
        {"action": "merge", "version": 1},
        {"action": "approve", "version": 1, "extra": True},
        {"action": "reject", "version": 1, "reason": "x" * 3000},
    ):
        r = client.post(url, json=body, headers=staff.headers)
        assert r.status_code == 422 and r.json()["code"] == "invalid", body
    too_many = [{"kind": "application", "id": new_id(), "version": 1} for _ in range(201)]
    r = client.post(
        "/nso/decisions/bulk", json={"items": too_many, "action": "approve"}, headers=staff.headers
    )
    assert r.status_code == 422
    assert client.get("/nso/audit?since=yesterday", headers=staff.headers).status_code == 422
    assert client.post("/nso/decisions/abc/undo", headers=staff.headers).status_code == 422
    r = client.get("/nso/applications/" + "x" * 5000, headers=staff.headers)
    assert r.status_code == 404
    r = client.get("/nso/queues/organisations?q=%25%5F%27%22", headers=staff.headers)
    assert r.status_code == 200 and r.json()["total"] == 0
    assert _get(app, Application, t.app_id).state == "pending"
