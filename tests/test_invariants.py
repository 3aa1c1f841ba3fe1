"""Workflow invariants under random sequences, through the real HTTP API (SQLite).

A hypothesis state machine registers users and organisations, joins eTwinning with any role
(company staff included), lets the Greek and Polish NSOs decide on items of their own country
and tries the other country's, adds contacts, creates projects, lets partners accept or
decline, and lets NSOs approve or reject projects. After every step it checks, in the
database:

* no project is approved (or closed) without its partner's acceptance and the approval of the
  NSO of every founder country;
* every active project member is a validated user (no one unvalidated joins a project);
* no one whose every organisation role is company staff has eTwinning access, and no one
  becomes validated while that is so;
* no decision crosses a country: every audit entry's country is its actor's staff country and
  the country of its subject.

Every answer is below 500, and a decision on another country's item is 404.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
import tempfile
from collections import Counter
from contextlib import closing
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select
from starlette.testclient import TestClient

from reference_backend import db as dbmod
from reference_backend import security
from reference_backend.app import create_app
from reference_backend.domain import rules as domain_rules
from reference_backend.tables import (
    Application,
    AuditEntry,
    Membership,
    Organisation,
    Project,
    ProjectApproval,
    ProjectMember,
    User,
)
from tests.factories import make_account, make_org, make_staff
from tests.fuzz_support import PROJECT_FIELDS

COUNTRIES = ("GR", "PL")
ROLES = ("teacher", "head_teacher", "company_staff")
ACTIONS = ("approve", "reject", "request_info")
_template: list[Path] = []
_names = itertools.count(1)
_shared: dict = {}
SEEN: Counter = Counter()  # what the runs reached, so a run that never got anywhere fails


def _template_db() -> Path:
    """One migrated SQLite file, copied for each run (a run starts in milliseconds)."""
    if not _template:
        path = Path(tempfile.mkdtemp(prefix="esep-invariants-")) / "template.sqlite3"
        engine = dbmod.make_engine(f"sqlite:///{path}")
        dbmod.upgrade(engine)
        engine.dispose()
        _template.append(path)
    return _template[0]


class Person:
    def __init__(self, persona, country: str):
        self.persona = persona
        self.country = country
        self.off = False  # switched off by staff: every session ended

    @property
    def headers(self):
        return self.persona.headers

    def __repr__(self) -> str:  # shown in a failing example
        return f"Person({self.country}, {self.persona.user_id[:8]})"


class Refused:
    """What a switched-off user's request gets: nothing happened."""

    status_code = 401
    text = "signed out"


class Workflows(RuleBasedStateMachine):
    people = Bundle("people")
    orgs = Bundle("orgs")
    memberships = Bundle("memberships")
    projects = Bundle("projects")

    def __init__(self):
        super().__init__()
        # one app per process; every run starts from the same saved database (a backup restore)
        if not _shared:
            path = Path(tempfile.mkdtemp(prefix="esep-run-")) / "run.sqlite3"
            shutil.copy(_template_db(), path)
            app = create_app(f"sqlite:///{path}", migrate=False)
            staff = {c: make_staff(app, c) for c in COUNTRIES}
            app.state.engine.dispose()
            snapshot = sqlite3.connect(":memory:")
            with closing(sqlite3.connect(path)) as src:
                src.backup(snapshot)
            _shared.update(app=app, client=TestClient(app), staff=staff, path=path, snap=snapshot)
        self.app, self.client, self.staff = _shared["app"], _shared["client"], _shared["staff"]
        self.app.state.engine.dispose()
        with closing(sqlite3.connect(_shared["path"], timeout=30)) as dest:
            _shared["snap"].backup(dest)
        self.validated_before: set[str] = set()
        self.approved: set[str] = set()

    def teardown(self):
        SEEN["runs"] += 1
        SEEN["projects_approved"] += len(self.approved)
        SEEN["members_joined"] += self._joined()

    def _joined(self) -> int:
        with self.app.state.sessionmaker() as db:
            return len(
                db.scalars(
                    select(ProjectMember.id).where(
                        ProjectMember.state == "active", ProjectMember.founder.is_(False)
                    )
                ).all()
            )

    # --- calls -----------------------------------------------------------------------------

    def call(self, method: str, path: str, who=None, **kwargs):
        headers = who.headers if who is not None else {}
        response = self.client.request(method, path, headers=headers, **kwargs)
        assert response.status_code < 500, (method, path, response.text)
        if response.status_code == 401 and getattr(who, "off", False):
            return Refused()  # a switched-off user's sessions are gone
        assert response.status_code != 401, (method, path, response.text)
        return response

    def version_of(self, staff, kind: str, item_id: str) -> int:
        plural = {"application": "applications", "organisation": "organisations"}.get(
            kind, "projects"
        )
        r = self.call("GET", f"/nso/{plural}/{item_id}", staff)
        return r.json()["version"] if r.status_code == 200 else 1

    def decide(self, kind: str, item_id: str, item_country: str, staff_country: str, action):
        staff = self.staff[staff_country]
        plural = {"application": "applications", "organisation": "organisations"}.get(
            kind, "projects"
        )
        body = {"action": action, "version": self.version_of(staff, kind, item_id)}
        if action != "approve":
            body["reason"] = "Please check the data."
        r = self.call("POST", f"/nso/{plural}/{item_id}/decision", staff, json=body)
        if staff_country != item_country:
            assert r.status_code == 404, r.text  # another country's item does not exist
            SEEN["cross_country_refused"] += 1
        elif r.status_code == 201:
            SEEN[f"{kind}_{action}"] += 1
        return r

    # --- users and organisations ------------------------------------------------------------

    @initialize(target=orgs)
    def validated_schools(self):
        self.schools = {c: make_org(self.app, country=c, state="validated") for c in COUNTRIES}
        return (self.schools["GR"], "GR")

    @initialize(target=people)
    def validated_teachers(self):
        """Two Greek teachers and a Polish one, through the wizard and their NSOs' approval."""
        if not hasattr(self, "schools"):
            self.validated_schools()
        made = [self.register_and_join(c, "teacher") for c in ("GR", "GR", "PL")]
        for country in COUNTRIES:
            self.triage(country, "approve")
        return multiple(*made)

    @rule(target=people, country=st.sampled_from(COUNTRIES), role=st.sampled_from(ROLES))
    def register_and_join(self, country, role):
        """The wizard: platform form, available for projects, a role at a school, Join."""
        persona = make_account(self.app)
        r = self.call(
            "POST",
            "/platform/registration",
            persona,
            json={
                "capacity": "school_staff",
                "country": country,
                "first_name": "Teacher",
                "last_name": f"Number {next(_names)}",
            },
        )
        assert r.status_code == 201, r.text
        persona.user_id = r.json()["user"]["id"]
        self.call("PATCH", "/users/me/profile", persona, json={"available_for_projects": True})
        school = self.schools[country]
        r = self.call(
            "POST", "/users/me/memberships", persona, json={"org_id": school, "role": role}
        )
        assert r.status_code == 201, r.text
        r = self.call("POST", "/users/me/etwinning", persona)
        assert r.status_code == (409 if role == "company_staff" else 201), r.text
        SEEN["company_staff_refused" if role == "company_staff" else "applied"] += 1
        return Person(persona, country)

    @rule(target=orgs, who=people, country=st.sampled_from(COUNTRIES))
    def register_org(self, who, country):
        n = next(_names)
        r = self.call(
            "POST",
            "/organisations",
            who,
            json={
                "legal_name": f"Primary school {n} of the lake",
                "country": country,
                "city": f"Town {n}",
                "type": "primary",
                "school_number": f"SN-{n}",
                "principal_name": "Head Teacher",
                "principal_email": f"head{n}@school.example",
                "confirm_not_duplicate": True,
            },
        )
        assert r.status_code in (201, 401), r.text
        return (r.json()["organisation"]["id"], country) if r.status_code == 201 else None

    @rule(target=memberships, who=people, org=orgs, role=st.sampled_from(ROLES))
    def add_membership(self, who, org, role):
        if org is None:
            return (who, None)
        r = self.call("POST", "/users/me/memberships", who, json={"org_id": org[0], "role": role})
        assert r.status_code in (201, 401, 404, 409), r.text
        return (who, r.json()["id"]) if r.status_code == 201 else (who, None)

    @rule(m=memberships, role=st.sampled_from(ROLES))
    def change_role(self, m, role):
        who, mid = m
        if mid is not None:
            r = self.call("PATCH", f"/users/me/memberships/{mid}", who, json={"role": role})
            assert r.status_code in (200, 401, 403, 409), r.text

    @rule(m=consumes(memberships))
    def leave(self, m):
        who, mid = m
        if mid is not None:
            r = self.call("DELETE", f"/users/me/memberships/{mid}", who)
            assert r.status_code in (204, 401, 403, 409), r.text

    @rule(who=people)
    def join_etwinning(self, who):
        r = self.call("POST", "/users/me/etwinning", who)
        assert r.status_code in (201, 401, 403, 409), r.text

    @rule(
        who=people,
        staff_country=st.sampled_from(COUNTRIES),
        action=st.sampled_from(ACTIONS),
    )
    def decide_application(self, who, staff_country, action):
        with self.app.state.sessionmaker() as db:
            app = db.scalar(
                select(Application)
                .where(Application.user_id == who.persona.user_id)
                .order_by(Application.submitted_at.desc())
                .limit(1)
            )
            target = (app.id, app.country) if app is not None else None
        if target is not None:
            self.decide("application", target[0], target[1], staff_country, action)

    @rule(
        country=st.sampled_from(COUNTRIES),
        action=st.sampled_from(("approve", "approve", "reject", "request_info")),
    )
    def triage(self, country, action):
        """An NSO works through its queues: the same decision on every item, oldest first."""
        staff = self.staff[country]
        for queue in ("applications", "organisations", "projects"):
            r = self.call("GET", f"/nso/queues/{queue}", staff)
            assert r.status_code == 200, r.text
            for item in r.json()["items"]:
                body = {"action": action, "version": item["version"]}
                if action != "approve":
                    body["reason"] = "Please check the data."
                d = self.call("POST", f"/nso/{queue}/{item['id']}/decision", staff, json=body)
                assert d.status_code in (201, 409), d.text
                if d.status_code == 201:
                    SEEN[f"{item['kind']}_{action}"] += 1

    @rule(org=orgs, staff_country=st.sampled_from(COUNTRIES), action=st.sampled_from(ACTIONS))
    def decide_organisation(self, org, staff_country, action):
        if org is not None:
            self.decide("organisation", org[0], org[1], staff_country, action)

    @rule(who=people, country=st.sampled_from(COUNTRIES), active=st.booleans())
    def switch_active(self, who, country, active):
        r = self.call(
            "POST",
            f"/nso/users/{who.persona.user_id}/active",
            self.staff[country],
            json={"active": active, "reason": "Checking."},
        )
        if country != who.country:
            assert r.status_code == 404, r.text
        elif r.status_code == 200:
            who.off = not active
            if active:  # switched on again: the user signs in anew
                with self.app.state.sessionmaker() as db, db.begin():
                    _s, access, _refresh = security.issue_session(
                        db, "account", who.persona.account_id
                    )
                who.persona.token = access

    # --- contacts and projects --------------------------------------------------------------

    @rule(target=projects, creator=people, partner=people)
    def create_project(self, creator, partner):
        """Ask the partner to be a contact (they accept), then create the project."""
        r = self.call("POST", "/contacts", creator, json={"user_id": partner.persona.user_id})
        assert r.status_code in (201, 401, 403, 404, 409, 422), r.text
        if r.status_code == 201:
            self.call("POST", f"/contacts/{r.json()['id']}/accept", partner)
        r = self.call(
            "POST",
            "/projects",
            creator,
            json={**PROJECT_FIELDS, "partner_id": partner.persona.user_id},
        )
        assert r.status_code in (201, 401, 403, 404, 409, 422), r.text
        if r.status_code != 201:
            return None
        SEEN["projects_created"] += 1
        return (r.json()["id"], creator, partner)

    @rule(project=projects, accept=st.booleans())
    def partner_answers(self, project, accept):
        if project is not None:
            pid, _creator, partner = project
            verb = "accept" if accept else "decline"
            r = self.call("POST", f"/projects/{pid}/{verb}", partner, json={})
            assert r.status_code in (200, 401, 403, 409, 422), r.text

    @rule(project=projects)
    def goes_through(self, project):
        """The partner accepts and every NSO works its queue approving everything."""
        if project is not None:
            self.partner_answers(project, True)
            for country in COUNTRIES:
                self.triage(country, "approve")

    @rule(
        project=projects,
        staff_country=st.sampled_from(COUNTRIES),
        action=st.sampled_from(ACTIONS),
    )
    def decide_project(self, project, staff_country, action):
        if project is None:
            return
        with self.app.state.sessionmaker() as db:
            countries = set(
                db.scalars(
                    select(ProjectApproval.country).where(ProjectApproval.project_id == project[0])
                )
            )
        if staff_country in countries:
            self.decide("project", project[0], staff_country, staff_country, action)
        else:
            self.decide("project", project[0], next(iter(countries)), staff_country, action)

    @rule(project=projects, who=people)
    def invite_and_join(self, project, who):
        if project is None:
            return
        pid, creator, _partner = project
        r = self.call(
            "POST", f"/projects/{pid}/members", creator, json={"user_id": who.persona.user_id}
        )
        if r.status_code == 201:
            self.call("POST", f"/projects/{pid}/members/me/accept", who)

    # --- the invariants ---------------------------------------------------------------------

    @invariant()
    def no_project_approved_without_partner_and_every_nso(self):
        with self.app.state.sessionmaker() as db:
            for project in db.scalars(
                select(Project).where(Project.state.in_(("approved", "closed")))
            ):
                self.approved.add(project.id)
                assert project.partner_decided_at is not None, project.id
                partner = db.scalar(
                    select(ProjectMember).where(
                        ProjectMember.project_id == project.id,
                        ProjectMember.user_id == project.partner_id,
                    )
                )
                assert partner is not None and partner.state == "active", project.id
                founders = {
                    db.get(User, project.creator_id).country,
                    db.get(User, project.partner_id).country,
                }
                approvals = {
                    a.country: a.state
                    for a in db.scalars(
                        select(ProjectApproval).where(ProjectApproval.project_id == project.id)
                    )
                }
                assert founders <= set(approvals), (founders, approvals)
                assert all(state == "approved" for state in approvals.values()), approvals

    @invariant()
    def no_unvalidated_project_member(self):
        with self.app.state.sessionmaker() as db:
            rows = db.execute(
                select(ProjectMember, User)
                .join(User, User.id == ProjectMember.user_id)
                .where(ProjectMember.state == "active")
            ).all()
            for member, user in rows:
                assert user.state == "etwinning_validated", (member.project_id, user.state)

    @invariant()
    def no_etwinning_for_company_staff_only(self):
        with self.app.state.sessionmaker() as db:
            for user in db.scalars(select(User).where(User.staff_country.is_(None))):
                roles = {m.role for m, _o in domain_rules.current_memberships(db, user.id)}
                company_only = bool(roles) and roles <= domain_rules.BLOCKING_ROLES
                if company_only:
                    assert domain_rules.etwinning_access(db, user), user.id
                    # nobody becomes validated while company staff is all they are
                    assert not (
                        user.state == "etwinning_validated" and user.id not in self.validated_before
                    ), user.id
                if user.state == "etwinning_validated":
                    self.validated_before.add(user.id)

    @invariant()
    def no_decision_crosses_a_country(self):
        with self.app.state.sessionmaker() as db:
            for entry in db.scalars(select(AuditEntry)):
                actor = db.get(User, entry.actor_id)
                assert entry.country == actor.staff_country, entry.id
                if entry.subject_type == "application":
                    subject = db.get(Application, entry.subject_id)
                    assert subject is not None and subject.country == entry.country
                elif entry.subject_type == "organisation":
                    subject = db.get(Organisation, entry.subject_id)
                    assert subject is not None and subject.country == entry.country
                elif entry.subject_type == "project":
                    approval = db.scalar(
                        select(ProjectApproval).where(
                            ProjectApproval.project_id == entry.subject_id,
                            ProjectApproval.country == entry.country,
                        )
                    )
                    assert approval is not None, entry.id
                elif entry.subject_type == "user":
                    subject = db.get(User, entry.subject_id)
                    assert subject is not None and subject.country == entry.country


RUNS = int(os.environ.get("ESEP_INVARIANT_RUNS", "200"))
STEPS = 10


def test_workflow_invariants_hold_over_200_runs():
    SEEN.clear()
    run_state_machine_as_test(
        Workflows,
        settings=settings(
            max_examples=RUNS,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    print(f"invariants: {dict(SEEN)}")
    # the runs really reached the states the invariants are about
    assert SEEN["runs"] >= RUNS
    assert SEEN["application_approve"] > 0 and SEEN["company_staff_refused"] > 0
    assert SEEN["projects_approved"] > 0
    assert SEEN["cross_country_refused"] > 0


def test_memberships_of_company_staff_block_validation_even_when_approved(tmp_path):
    """A direct check of the third invariant: an NSO approval of a company-staff-only
    applicant's application (if it were ever queued) leaves them without eTwinning access."""
    shutil.copy(_template_db(), tmp_path / "db.sqlite3")
    app = create_app(f"sqlite:///{tmp_path / 'db.sqlite3'}", migrate=False)
    client = TestClient(app)
    org = make_org(app, country="GR")
    persona = make_account(app)
    client.post(
        "/platform/registration",
        json={"capacity": "school_staff", "country": "GR", "first_name": "A", "last_name": "B"},
        headers=persona.headers,
    )
    r = client.post(
        "/users/me/memberships",
        json={"org_id": org, "role": "company_staff"},
        headers=persona.headers,
    )
    assert r.status_code == 201, r.text
    r = client.post("/users/me/etwinning", headers=persona.headers)
    assert r.status_code == 409 and r.json()["code"] == "cannot_apply"
    assert "company_staff" in {reason["code"] for reason in r.json()["reasons"]}
    with app.state.sessionmaker() as db:
        assert db.scalar(select(Membership.role).where(Membership.org_id == org)) == "company_staff"
    app.state.engine.dispose()
