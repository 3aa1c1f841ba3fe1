"""The seed world: deterministic, idempotent, every state present, consistent with the rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from starlette.testclient import TestClient

from reference_backend import clock
from reference_backend import db as dbmod
from reference_backend.app import create_app
from reference_backend.domain import rules, search
from reference_backend.domain.countries import COUNTRIES
from reference_backend.seed import (
    DEMO_PASSWORD,
    EXTRA_PEOPLE,
    PERSONA,
    PERSONAS,
    new_trainee_email,
    seed_world,
)
from reference_backend.tables import (
    Account,
    Application,
    Contact,
    LegacyAccount,
    Membership,
    Organisation,
    OrganisationToken,
    Page,
    Project,
    ProjectApproval,
    ProjectMember,
    Pupil,
    User,
)

SMALL = 300  # organisations: small and fast, and still every state


@pytest.fixture
def seeded(database):
    url, schema = database
    app = create_app(url, schema=schema, seed="demo", schools=SMALL, migrate=schema is None)
    yield app
    app.state.engine.dispose()


@pytest.fixture
def client(seeded):
    with TestClient(seeded) as c:
        yield c


def scalar(app, stmt):
    with app.state.sessionmaker() as db:
        return db.scalar(stmt)


def counts_of(app) -> dict[str, int]:
    with app.state.sessionmaker() as db:
        return {
            t.__tablename__: db.scalar(select(func.count()).select_from(t))
            for t in (Account, User, Organisation, OrganisationToken, Project, Pupil, Page)
        }


def test_deterministic_across_databases(seeded, tmp_path):
    other = dbmod.make_engine(f"sqlite:///{tmp_path / 'again.sqlite3'}")
    dbmod.upgrade(other)
    written = seed_world(other, schools=SMALL)
    with other.connect() as conn:
        other_users = sorted(r[0] for r in conn.execute(select(User.id)))
        other_orgs = sorted(r[0] for r in conn.execute(select(Organisation.public_name)))
    other.dispose()
    with seeded.state.sessionmaker() as db:
        users = sorted(db.scalars(select(User.id)))
        orgs = sorted(db.scalars(select(Organisation.public_name)))
    assert users == other_users
    assert orgs == other_orgs
    assert counts_of(seeded)["organisations"] == written["organisations"]
    assert counts_of(seeded)["users"] == written["users"]
    for p in PERSONAS:
        if p["user_id"]:
            assert p["user_id"] in users


def test_idempotent(seeded):
    before = counts_of(seeded)
    assert seed_world(seeded.state.engine, schools=SMALL) == {}
    assert counts_of(seeded) == before


def test_demo_size_default(tmp_path):
    engine = dbmod.make_engine(f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    dbmod.upgrade(engine)
    written = seed_world(engine)
    engine.dispose()
    assert 1900 <= written["organisations"] <= 2100
    assert written["users"] >= 600
    assert written["projects"] >= 100


def test_every_country_and_state_present(seeded):
    with seeded.state.sessionmaker() as db:
        countries = set(db.scalars(select(Organisation.country).distinct()))
        assert countries == set(COUNTRIES)
        org_states = set(db.scalars(select(Organisation.state).distinct()))
        assert org_states == {"validated", "pending", "rejected"}
        assert set(db.scalars(select(Organisation.type).distinct())) == set(rules.ORG_TYPES)
        user_states = set(db.scalars(select(User.state).distinct()))
        assert user_states == {
            "esep_registered",
            "etwinning_pending",
            "etwinning_validated",
            "etwinning_rejected",
        }
        assert db.scalar(select(func.count()).where(User.active.is_(False))) > 0
        assert db.scalar(select(func.count()).where(Membership.role == "company_staff")) > 0
        project_states = set(db.scalars(select(Project.state).distinct()))
        assert project_states == {
            "awaiting_partner",
            "awaiting_nso",
            "approved",
            "rejected",
            "declined",
            "closed",
        }
        assert set(db.scalars(select(Project.scope).distinct())) == {"national", "european"}
        assert set(db.scalars(select(Contact.state).distinct())) == {
            "accepted",
            "pending",
            "declined",
        }
        # legacy accounts waiting to be linked, whose email already has an EU Login account
        linkable = db.scalar(
            select(func.count())
            .select_from(LegacyAccount)
            .join(Account, Account.email == LegacyAccount.email)
            .outerjoin(User, User.account_id == Account.id)
            .where(LegacyAccount.migrated_to.is_(None), User.id.is_(None))
        )
        assert linkable >= 1


def test_local_script_names(seeded):
    with seeded.state.sessionmaker() as db:
        gr = list(db.scalars(select(Organisation.public_name).where(Organisation.country == "GR")))
        pl = list(db.scalars(select(Organisation.public_name).where(Organisation.country == "PL")))
        ua = list(db.scalars(select(Organisation.public_name).where(Organisation.country == "UA")))
    assert "1ο Δημοτικό Σχολείο Αθηνών" in gr
    assert "Szkoła Podstawowa nr 12 im. Marii Skłodowskiej-Curie w Łodzi" in pl
    assert any(any("\u0400" <= ch <= "\u04ff" for ch in name) for name in ua)


def test_queues_have_old_and_new_items(seeded):
    week_ago = clock.now() - timedelta(days=7)
    with seeded.state.sessionmaker() as db:
        for country in ("GR", "PL"):
            apps = list(
                db.scalars(
                    select(Application.submitted_at).where(
                        Application.country == country, Application.state == "pending"
                    )
                )
            )
            assert any(a < week_ago for a in apps) and any(a >= week_ago for a in apps)
            assert (
                db.scalar(
                    select(func.count()).where(
                        Organisation.country == country, Organisation.state == "pending"
                    )
                )
                > 0
            )
            assert (
                db.scalar(
                    select(func.count()).where(
                        ProjectApproval.country == country, ProjectApproval.state == "pending"
                    )
                )
                > 0
            )


def test_consistency_invariants(seeded):
    with seeded.state.sessionmaker() as db:
        for project in db.scalars(select(Project)):
            approvals = list(
                db.scalars(select(ProjectApproval).where(ProjectApproval.project_id == project.id))
            )
            countries = {a.country for a in approvals}
            creator, partner = db.get(User, project.creator_id), db.get(User, project.partner_id)
            assert countries == {creator.country, partner.country}
            assert project.scope == ("national" if len(countries) == 1 else "european")
            members = {
                m.user_id: m
                for m in db.scalars(
                    select(ProjectMember).where(ProjectMember.project_id == project.id)
                )
            }
            assert members[creator.id].founder and members[creator.id].role == "teacher_admin"
            if project.state in ("approved", "closed"):
                assert all(a.state == "approved" and a.decided_by for a in approvals)
                assert members[partner.id].state == "active"
                assert project.partner_school_id is not None
                assert db.scalar(select(func.count()).where(Page.project_id == project.id)) >= 3
            if project.state == "awaiting_partner":
                assert {a.state for a in approvals} == {"waiting"}
                assert members[partner.id].state == "invited"
            if project.state == "awaiting_nso":
                assert "pending" in {a.state for a in approvals} or "info_requested" in {
                    a.state for a in approvals
                }
            if project.state == "rejected":
                assert "rejected" in {a.state for a in approvals}
            # founders were accepted contacts
            assert db.scalar(
                select(func.count()).where(
                    Contact.state == "accepted",
                    ((Contact.requester_id == creator.id) & (Contact.addressee_id == partner.id))
                    | ((Contact.requester_id == partner.id) & (Contact.addressee_id == creator.id)),
                )
            )
        # no company-staff user is validated
        company = db.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.role == "company_staff")
        )
        assert all(u.state != "etwinning_validated" for u in company)
        # NSO staff have a staff country, at least one per country
        staff = list(db.scalars(select(User).where(User.staff_country.is_not(None))))
        assert {u.staff_country for u in staff} == set(COUNTRIES)
        assert all(u.staff_country == u.country for u in staff)
        # a pending user has an open application
        for user in db.scalars(select(User).where(User.state == "etwinning_pending")):
            assert rules.open_application(db, user.id) is not None


def test_tokens_equal_index_organisation(seeded):
    with seeded.state.sessionmaker() as db:
        orgs = list(db.scalars(select(Organisation).order_by(Organisation.id).limit(60)))
        for org in orgs:
            stored = set(
                db.scalars(
                    select(OrganisationToken.token).where(OrganisationToken.org_id == org.id)
                )
            )
            assert stored == set(search.org_tokens(org))
            assert org.city_folded
        rows, _next = search.search_organisations(db, country="PL", q="szkola podstawowa")
        assert rows and all(r.country == "PL" for r in rows)
        rows, _next = search.search_organisations(db, country="GR", q="δημοτικο σχολειο αθηνων")
        assert "1ο Δημοτικό Σχολείο Αθηνών" in [r.public_name for r in rows]


def test_personas_sign_in(client):
    adults = [p for p in PERSONAS + EXTRA_PEOPLE if p["email"]]
    assert {p["key"] for p in adults} >= {
        "greek_teacher",
        "polish_teacher",
        "nso_greece",
        "nso_poland",
    }
    for p in adults:
        r = client.post("/eulogin/sessions", json={"email": p["email"], "password": DEMO_PASSWORD})
        assert r.status_code == 201, (p["key"], r.text)
        assert r.json()["account_id"] == p["account_id"]
    # the legacy teacher's EU Login account has a legacy match waiting to be linked
    legacy = next(p for p in EXTRA_PEOPLE if p["key"] == "legacy_teacher")
    token = client.post(
        "/eulogin/sessions", json={"email": legacy["email"], "password": DEMO_PASSWORD}
    ).json()["access_token"]
    me = client.get("/eulogin/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["user_id"] is None and me["legacy"] is not None


def test_new_trainee_email_is_free(client):
    email = new_trainee_email(7)
    assert email != new_trainee_email(8)
    r = client.post(
        "/eulogin/accounts", json={"email": email, "password": DEMO_PASSWORD, "name": "New Teacher"}
    )
    assert r.status_code == 201, r.text


def test_persona_story(seeded):
    maria, kasia = PERSONA["greek_teacher"], PERSONA["polish_teacher"]
    with seeded.state.sessionmaker() as db:
        m, k = db.get(User, maria["user_id"]), db.get(User, kasia["user_id"])
        assert rules.project_member(db, m) == []
        assert rules.project_member(db, k) == []  # she can accept the invitation
        invitation = db.get(Project, kasia["project_id"])
        assert invitation.state == "awaiting_partner"
        assert (invitation.creator_id, invitation.partner_id) == (m.id, k.id)
        contacts = db.scalar(
            select(func.count()).where(
                Contact.state == "accepted",
                (Contact.requester_id == m.id) | (Contact.addressee_id == m.id),
            )
        )
        assert contacts >= 3
        pupil = db.get(Pupil, PERSONA["pupil"]["pupil_id"])
        running = db.get(Project, PERSONA["pupil"]["project_id"])
        assert pupil.project_id == running.id and running.state == "approved"
        assert {running.creator_id, running.partner_id} >= {m.id}
        assert db.get(User, running.partner_id).country == "PL"
        for key in ("nso_greece", "nso_poland"):
            staff = db.get(User, PERSONA[key]["user_id"])
            assert staff.staff_country == PERSONA[key]["staff_country"]


def test_pupil_persona_signs_in(client):
    p = PERSONA["pupil"]
    r = client.post("/pupil-login", json={"username": p["username"], "code": p["code"]})
    assert r.status_code == 201, r.text
    assert r.json()["pupil_id"] == p["pupil_id"]
    wrong = client.post("/pupil-login", json={"username": p["username"], "code": "nope-nope"})
    assert wrong.status_code == 401


def test_pages_are_crdt_documents(seeded):
    from api_client import crdt

    with seeded.state.sessionmaker() as db:
        page = db.scalar(
            select(Page).where(
                Page.project_id == PERSONA["pupil"]["project_id"],
                Page.title == "Getting to know each other",
            )
        )
        assert "Getting to know each other" in crdt.get_text(crdt.doc_from_update(page.doc))
        assert db.execute(text("SELECT 1")).scalar() == 1


def test_story_walks_through_the_api(client):
    """The seeded data satisfies the routes' rules: the invitation can be accepted, and the
    NSO personas see queues."""

    def sign_in(key):
        body = {"email": PERSONA[key]["email"], "password": DEMO_PASSWORD}
        token = client.post("/eulogin/sessions", json=body).json()["access_token"]
        return {"Authorization": f"Bearer {token}"}

    kasia = sign_in("polish_teacher")
    r = client.post(
        f"/projects/{PERSONA['polish_teacher']['project_id']}/accept", headers=kasia, json={}
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "awaiting_nso"
    for key in ("nso_greece", "nso_poland"):
        queues = client.get("/nso/queues", headers=sign_in(key))
        assert queues.status_code == 200
        counts = {q["queue"]: q["count"] for q in queues.json()["queues"]}
        assert counts["applications"] > 0 and counts["organisations"] > 0
        assert counts["projects"] > 0
    maria = sign_in("greek_teacher")
    assert client.get("/eligibility/project-creation", headers=maria).json()["allowed"] is True
