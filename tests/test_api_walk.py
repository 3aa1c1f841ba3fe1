"""The walk of docs/api.md: from a new EU Login account to an approved project with a page.

Only HTTP calls, as with curl against `esep-tui serve --seed demo`; on both databases.
"""

from __future__ import annotations

import pytest

from reference_backend.app import create_app

DEMO_PASSWORD = "eTwinning-demo-2026"


@pytest.fixture
def demo_client(database):
    from starlette.testclient import TestClient

    url, schema = database
    app = create_app(url, schema=schema, migrate=schema is None, seed="demo")
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def sign_in(client, email, password=DEMO_PASSWORD) -> dict:
    r = client.post("/eulogin/sessions", json={"email": email, "password": password})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def test_teacher_walk_to_an_approved_project_with_a_page(demo_client):
    c = demo_client
    # 1-4: EU Login account and sign-in
    ok(c.post("/eulogin/accounts", json={
        "email": "eleni.nikolaou@example.gr", "password": "a long secret phrase", "name": "Eleni Nikolaou",
    }), 201)  # fmt: skip
    me = sign_in(c, "eleni.nikolaou@example.gr", "a long secret phrase")
    # 5: the platform form for her capacity
    form = ok(c.get("/platform/form", params={"capacity": "school_staff"}))
    assert {f["name"] for f in form["fields"] if f["required"]} >= {"country", "first_name"}
    ok(c.post("/platform/registration", headers=me, json={
        "capacity": "school_staff", "country": "GR", "first_name": "Eleni", "last_name": "Nikolaou",
    }), 201)  # fmt: skip
    # 7: find her school by country and words of its name, typed without accents
    found = ok(
        c.get("/organisations", headers=me, params={"country": "GR", "q": "1ο δημοτικο αθηνων"})
    )
    school = next(o for o in found["items"] if o["public_name"] == "1ο Δημοτικό Σχολείο Αθηνών")
    ok(
        c.post(
            "/users/me/memberships", headers=me, json={"org_id": school["id"], "role": "teacher"}
        ),
        201,
    )
    # 6: join eTwinning: the application waits for the Greek NSO
    ok(c.post("/users/me/etwinning", headers=me, json={}), 201)
    assert ok(c.get("/users/me", headers=me))["state"] == "etwinning_pending"
    nso_gr = sign_in(c, "nso.greece@demo.esep")
    queue = ok(c.get("/nso/queues/applications", headers=nso_gr, params={"q": "nikolaou"}))
    item = queue["items"][0]
    ok(c.post(f"/nso/applications/{item['id']}/decision", headers=nso_gr,
              json={"action": "approve", "version": item["version"]}), 201)  # fmt: skip
    assert ok(c.get("/eligibility/etwinning", headers=me))["allowed"] is True
    # 8: the profile: available for eTwinning projects
    user = ok(c.get("/users/me", headers=me))
    ok(c.patch("/users/me/profile", headers={**me, "If-Match": f'"{user["version"]}"'},
               json={"available_for_projects": True, "subjects": ["Science"], "languages": ["en", "el"]}))  # fmt: skip
    # partners: find Katarzyna, add her to contacts; she accepts
    people = ok(c.get("/people", headers=me, params={"q": "katarzyna kowalska", "country": "PL"}))
    kasia = next(
        p for p in people["items"] if (p["first_name"], p["last_name"]) == ("Katarzyna", "Kowalska")
    )
    contact = ok(
        c.post("/contacts", headers=me, json={"user_id": kasia["id"], "note": "Water project?"}),
        201,
    )
    partner = sign_in(c, "katarzyna.kowalska@demo.esep")
    ok(c.post(f"/contacts/{contact['id']}/accept", headers=partner))
    # the project: preview, submit; the partner accepts
    project = {
        "title": "Rivers of our towns", "short_description": "Two classes map their rivers.",
        "languages": ["en"], "pupils_count": 24, "age_min": 9, "age_max": 11,
        "subjects": ["Science", "Geography"], "aims": "Observe and compare.",
        "work_process": "One joint activity a month.", "expected_results": "A shared river atlas.",
        "partner_id": kasia["id"],
    }  # fmt: skip
    ok(c.post("/projects/preview", headers=me, json=project))
    created = ok(c.post("/projects", headers=me, json=project), 201)
    ok(c.post(f"/projects/{created['id']}/accept", headers=partner, json={}))
    assert ok(c.get(f"/projects/{created['id']}", headers=me))["state"] == "awaiting_nso"
    # both NSOs approve (a European project)
    nso_pl = sign_in(c, "nso.poland@demo.esep")
    for staff in (nso_gr, nso_pl):
        detail = ok(c.get(f"/nso/projects/{created['id']}", headers=staff))
        ok(c.post(f"/nso/projects/{created['id']}/decision", headers=staff,
                  json={"action": "approve", "version": detail["version"]}), 201)  # fmt: skip
    assert ok(c.get(f"/projects/{created['id']}", headers=me))["state"] == "approved"
    # the TwinSpace: starting pages, and a page of her own
    pages = ok(c.get(f"/projects/{created['id']}/pages", headers=me))
    titles = [p["title"] for p in pages["items"]]
    assert any("know each other" in t for t in titles) and len(titles) >= 3
    page = ok(c.post(f"/projects/{created['id']}/pages", headers=me,
                     json={"title": "Our river", "status": "published", "markdown": "# The Ilisos"}), 201)  # fmt: skip
    assert ok(c.get(f"/pages/{page['id']}", headers=me))["text"] == "# The Ilisos"
