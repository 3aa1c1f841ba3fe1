"""Organisations: folded, ranked, paged search; near-duplicates; registration."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from reference_backend.domain.search import search_organisations
from reference_backend.tables import Change, Membership, Organisation
from tests.factories import make_account, make_org, make_staff, make_teacher

SCHOOL = {
    "legal_name": "Szkoła Podstawowa nr 12 im. Marii Curie",
    "public_name": "SP 12 Kraków",
    "country": "PL",
    "region": "Małopolskie",
    "city": "Kraków",
    "type": "primary",
    "school_number": "PL-123456",
    "principal_name": "Anna Nowak",
    "principal_email": "dyrektor@sp12.example.pl",
    "website": "sp12.example.pl",
}


def _search(client, headers, country, q, **params):
    return client.get(
        "/organisations", params={"country": country, "q": q, **params}, headers=headers
    )


def _names(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [o["public_name"] for o in response.json()["items"]]


@pytest.mark.parametrize(
    ("country", "name", "typed"),
    [
        ("PL", "Szkoła Podstawowa w Łodzi", "szkola"),
        ("PL", "Szkoła Podstawowa w Łodzi", "SZKOŁA lodzi"),
        ("DE", "Grundschule an der Straße", "strasse"),
        ("DE", "Grundschule an der Strasse", "straße"),
        ("GR", "Δημοτικό Σχολείο Αθηνών", "δημοτικο"),
        ("GR", "Δημοτικό Σχολείο Αθηνών", "ΔΗΜΟΤΙΚΌ σχολειο"),
        ("GR", "Γυμνάσιο Ψυχικού", "ψυχικου"),
        ("GR", "Λύκειο Κηφισιάς", "κηφισιας"),
        ("NO", "Bjørnholt skole", "bjorn"),
        ("DK", "Ærøskøbing Skole", "aeroskobing"),
        ("PL", "Liceum Ogólnokształcące", "ogolnoks"),
        ("FR", "École élémentaire Jean Jaurès", "ecole jaures"),
    ],
)
def test_search_folds_what_people_type(client, app, country, name, typed):
    make_org(app, country=country, name=name, city="Zzz")
    t = make_account(app)
    assert _names(_search(client, t.headers, country, typed)) == [name]


def test_every_word_must_prefix_match_and_country_scopes(client, app):
    make_org(app, country="PL", name="Szkoła Podstawowa nr 1", city="Gdańsk")
    make_org(app, country="PL", name="Szkoła Muzyczna", city="Gdańsk")
    make_org(app, country="CZ", name="Szkoła Podstawowa", city="Praha")
    t = make_account(app)
    assert _names(_search(client, t.headers, "PL", "szk pod")) == ["Szkoła Podstawowa nr 1"]
    # the city is searchable too
    assert len(_names(_search(client, t.headers, "PL", "szkola gdansk"))) == 2
    assert _names(_search(client, t.headers, "PL", "szkola praha")) == []
    assert _names(_search(client, t.headers, "PL", "nothinglikethis")) == []


def test_exact_word_matches_rank_first_then_name(client, app):
    make_org(app, country="GR", name="Zeta Lyceum", city="Patra")
    make_org(app, country="GR", name="Alpha Lyceumplus", city="Patra")
    make_org(app, country="GR", name="Beta Lyceum", city="Patra")
    t = make_account(app)
    assert _names(_search(client, t.headers, "GR", "lyceum")) == [
        "Beta Lyceum",
        "Zeta Lyceum",
        "Alpha Lyceumplus",
    ]


def test_paging(client, app):
    for i in range(7):
        make_org(app, country="IT", name=f"Scuola Primaria {chr(ord('A') + i)}", city="Roma")
    t = make_account(app)
    first = _search(client, t.headers, "IT", "scuola", limit=3).json()
    assert [o["public_name"][-1] for o in first["items"]] == ["A", "B", "C"]
    assert first["next_offset"] == 3
    last = _search(client, t.headers, "IT", "scuola", limit=3, offset=6).json()
    assert [o["public_name"][-1] for o in last["items"]] == ["G"]
    assert last["next_offset"] is None
    assert _search(client, t.headers, "IT", "scuola", limit=51).status_code == 422


def test_search_refusals(client, app):
    t = make_account(app)
    r = _search(client, t.headers, "US", "school")
    assert r.status_code == 422
    assert r.json()["field"] == "country"
    r = client.get("/organisations", params={"q": "school"}, headers=t.headers)
    assert r.status_code == 422
    assert r.json()["field"] == "country"
    r = _search(client, t.headers, "GR", "  ¿?  ")
    assert r.status_code == 422
    assert r.json()["field"] == "q"
    assert client.get("/organisations", params={"country": "GR", "q": "x"}).status_code == 401


def test_rejected_organisations_are_hidden(client, app):
    make_org(app, country="GR", name="Hidden School", state="rejected")
    shown = make_org(app, country="GR", name="Hidden Valley School", state="pending")
    t = make_account(app)
    assert _names(_search(client, t.headers, "GR", "hidden")) == ["Hidden Valley School"]
    r = client.get(f"/organisations/{shown}", headers=t.headers)
    assert r.status_code == 200
    assert r.json()["standing"] == "pending"


def test_search_function_at_the_cap(app):
    """More matches than one search looks at: a page still comes back, exact matches first."""
    from reference_backend.domain import search as search_mod

    for i in range(12):
        make_org(app, country="SE", name=f"Skola {i:02d}", city="Malmö")
    make_org(app, country="SE", name="Skolan Centrum", city="Malmö")
    old = search_mod.CANDIDATE_CAP
    search_mod.CANDIDATE_CAP = 5
    try:
        with app.state.sessionmaker() as db:
            rows, next_offset = search_organisations(db, country="SE", q="skola", limit=3)
            assert len(rows) == 3
            assert all(o.public_name.startswith("Skola ") for o in rows)
            assert next_offset == 3
            rows, next_offset = search_organisations(db, country="SE", q="skola", offset=3)
            assert len(rows) == 2 and next_offset is None
    finally:
        search_mod.CANDIDATE_CAP = old


def test_get_organisation_and_foreign_rejected_is_404(client, app):
    t = make_teacher(app)
    org_id = t.org_ids[0]
    r = client.get(f"/organisations/{org_id}", headers=t.headers)
    assert r.status_code == 200
    assert r.json()["standing"] == "etwinning"
    assert r.json()["principal_email"] is None  # only the registrant and staff see it
    rejected = make_org(app, state="rejected")
    assert client.get(f"/organisations/{rejected}", headers=t.headers).status_code == 404
    staff = make_staff(app, "GR")
    assert client.get(f"/organisations/{rejected}", headers=staff.headers).status_code == 200
    assert client.get(f"/organisations/{uuid.uuid4()}", headers=t.headers).status_code == 404
    assert client.get("/organisations/" + "x" * 300, headers=t.headers).status_code == 404


# --- registration ----------------------------------------------------------------------------


def test_register_organisation_is_pending_and_not_linked(client, app):
    t = make_teacher(app, country="PL", with_org=False)
    r = client.post("/organisations", json=SCHOOL, headers=t.headers)
    assert r.status_code == 201, r.text
    body = r.json()
    org = body["organisation"]
    assert r.headers["location"] == f"/organisations/{org['id']}"
    assert org["state"] == "pending"
    assert org["registered_by_me"] is True
    assert org["principal_email"] == "dyrektor@sp12.example.pl"
    assert org["website"] == "https://sp12.example.pl"
    assert body["linked"] is False
    assert body["hint"]["action"] == f"add_membership:{org['id']}"
    with app.state.sessionmaker() as db:
        assert db.scalar(select(Membership.id).where(Membership.user_id == t.user_id)) is None
        assert db.get(Organisation, org["id"]).registered_by == t.user_id
        nso = list(db.scalars(select(Change.entity_id).where(Change.audience == "nso:PL")))
    assert nso == [org["id"]]
    # the user finds it by words of its name and adds it (PL)
    assert org["id"] in [
        o["id"] for o in _search(client, t.headers, "PL", "podstawowa krakow").json()["items"]
    ]
    add = client.post(
        "/users/me/memberships", json={"org_id": org["id"], "role": "teacher"}, headers=t.headers
    )
    assert add.status_code == 201


def test_register_with_client_id_and_exists(client, app):
    t = make_teacher(app, with_org=False)
    oid = str(uuid.uuid4())
    body = {**SCHOOL, "id": oid}
    assert (
        client.post("/organisations", json=body, headers=t.headers).json()["organisation"]["id"]
        == oid
    )
    again = client.post(
        "/organisations", json={**body, "confirm_not_duplicate": True}, headers=t.headers
    )
    assert again.status_code == 409
    assert again.json()["code"] == "exists"
    bad = client.post("/organisations", json={**SCHOOL, "id": "1234"}, headers=t.headers)
    assert bad.status_code == 422
    assert bad.json()["field"] == "id"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"school_number": None}, "school_number"),
        ({"principal_name": ""}, "principal_name"),
        ({"principal_email": None}, "principal_email"),
        ({"principal_email": "not an email"}, "principal_email"),
        ({"type": "university"}, "type"),
        ({"country": "US"}, "country"),
        ({"legal_name": ""}, "legal_name"),
        ({"city": "x" * 121}, "city"),
        ({"website": "not a site"}, "website"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_register_refusals_name_the_field(client, app, change, field):
    t = make_teacher(app, with_org=False)
    r = client.post("/organisations", json={**SCHOOL, **change}, headers=t.headers)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field


def test_school_number_optional_where_not_required_and_for_non_schools(client, app):
    t = make_teacher(app, with_org=False)
    se = {**SCHOOL, "country": "SE", "city": "Lund", "school_number": None}
    assert client.post("/organisations", json=se, headers=t.headers).status_code == 201
    company = {
        "legal_name": "Edu Tech Sp. z o.o.",
        "country": "PL",
        "city": "Kraków",
        "type": "other",
    }
    r = client.post("/organisations", json=company, headers=t.headers)
    assert r.status_code == 201
    assert r.json()["organisation"]["standing"] == "non_etwinning"


def test_near_duplicate_is_warned_before_creation(client, app):
    existing = make_org(app, country="PL", name="Szkoła Podstawowa nr 12 Kraków", city="Krakow")
    t = make_teacher(app, with_org=False)
    body = {**SCHOOL, "public_name": "Szkoła Podstawowa nr 12"}
    r = client.post("/organisations", json=body, headers=t.headers)
    assert r.status_code == 409
    assert r.json()["code"] == "near_duplicate"
    reasons = r.json()["reasons"]
    assert [x["action"] for x in reasons] == [f"use_existing:{existing}"]
    with app.state.sessionmaker() as db:
        assert (
            db.scalar(select(Organisation.id).where(Organisation.registered_by == t.user_id))
            is None
        )
    ok = client.post(
        "/organisations", json={**body, "confirm_not_duplicate": True}, headers=t.headers
    )
    assert ok.status_code == 201


def test_same_school_number_is_a_near_duplicate(client, app):
    t = make_teacher(app, with_org=False)
    assert client.post("/organisations", json=SCHOOL, headers=t.headers).status_code == 201
    other = {**SCHOOL, "legal_name": "Zupełnie Inna Nazwa", "public_name": None, "city": "Tarnów"}
    r = client.post("/organisations", json=other, headers=t.headers)
    assert r.status_code == 409
    assert "PL-123456" in r.json()["reasons"][0]["message"]


def test_similar_endpoint(client, app):
    a = make_org(app, country="GR", name="1ο Δημοτικό Σχολείο Αθηνών", city="Αθήνα")
    make_org(app, country="GR", name="Γυμνάσιο Αθηνών", city="Αθήνα")
    make_org(app, country="GR", name="1ο Δημοτικό Σχολείο Αθηνών", city="Πάτρα")
    t = make_account(app)
    r = client.get(
        "/organisations/similar",
        params={"country": "GR", "city": "ΑΘΗΝΑ", "name": "1ο δημοτικο σχολειο"},
        headers=t.headers,
    )
    assert r.status_code == 200
    assert [o["id"] for o in r.json()] == [a]
    assert r.json()[0]["similarity"] >= 0.5
    none = client.get(
        "/organisations/similar",
        params={"country": "GR", "city": "Αθήνα", "name": "Μουσικό Λύκειο"},
        headers=t.headers,
    )
    assert none.json() == []
    bad = client.get(
        "/organisations/similar",
        params={"country": "ZZ", "city": "a", "name": "b"},
        headers=t.headers,
    )
    assert bad.status_code == 422


def test_pupils_and_unregistered_accounts_cannot_register(client, app):
    p = make_account(app)
    r = client.post("/organisations", json=SCHOOL, headers=p.headers)
    assert r.status_code == 403
    assert r.json()["code"] == "registration_incomplete"
    assert client.post("/organisations", json=SCHOOL).status_code == 401


def test_hostile_input_never_500s(client, app):
    t = make_teacher(app)
    for q in ["%", "_", "' OR 1=1 --", "\x00", "𝔰𝔷𝔨𝔬𝔩𝔞", "a" * 200, "\uffff"]:
        r = _search(client, t.headers, "PL", q)
        assert r.status_code in (200, 422), (q, r.status_code)
    r = client.post(
        "/organisations",
        content=b"{not json",
        headers={**t.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    r = client.post("/organisations", json={**SCHOOL, "city": "Kra\x00ków"}, headers=t.headers)
    assert r.status_code == 422
    assert r.json()["field"] == "city"
    r = client.get(
        "/organisations/similar",
        params={"country": "PL", "city": "a\x00", "name": "b"},
        headers=t.headers,
    )
    assert r.status_code == 422
    assert client.get("/organisations/a%00b", headers=t.headers).status_code == 404
    r = client.post(
        "/users/me/memberships", json={"org_id": "a\x00", "role": "teacher"}, headers=t.headers
    )
    assert r.status_code == 422
    assert client.delete("/users/me/memberships/a%00b", headers=t.headers).status_code == 404
    r = client.patch("/users/me/profile", json={"subjects": ["Art\x00"]}, headers=t.headers)
    assert r.status_code == 422
