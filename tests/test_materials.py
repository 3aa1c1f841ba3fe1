"""Materials: small files on TwinSpace pages, their limits and who may touch them."""

from __future__ import annotations

from reference_backend.routes.materials import sanitise_filename
from reference_backend.tables import Project, new_id
from tests.test_twinspace_pages import b64, make_pupil, make_space

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


def _upload(client, page_id, headers, data=b"hello", **body):
    body.setdefault("filename", "notes.txt")
    body.setdefault("content_type", "text/plain")
    body.setdefault("data_base64", b64(data))
    return client.post(f"/pages/{page_id}/materials", json=body, headers=headers)


def test_upload_list_download_delete(client, app):
    s = make_space(app)
    page = s.pages["Getting to know each other"]
    mid = new_id()
    r = _upload(
        client,
        page,
        s.admin.headers,
        data=PNG,
        id=mid,
        filename="Ζωγραφιά μας.png",
        content_type="image/PNG; charset=binary",
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/materials/{mid}"
    meta = r.json()
    assert meta["id"] == mid and meta["size"] == len(PNG)
    assert meta["content_type"] == "image/png" and meta["filename"] == "Ζωγραφιά μας.png"
    assert meta["project_id"] == s.project_id and meta["uploaded_by"] == s.admin.user_id
    listed = client.get(f"/pages/{page}/materials", headers=s.observer.headers).json()["items"]
    assert [m["id"] for m in listed] == [mid]
    assert "data" not in listed[0] and "data_base64" not in listed[0]
    got = client.get(f"/materials/{mid}", headers=s.observer.headers)
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%CE%96" in got.headers["content-disposition"]
    assert got.headers["x-content-type-options"] == "nosniff"
    again = _upload(client, page, s.admin.headers, id=mid)
    assert again.status_code == 409 and again.json()["code"] == "exists"
    assert client.delete(f"/materials/{mid}", headers=s.teacher.headers).status_code == 204
    assert client.get(f"/materials/{mid}", headers=s.admin.headers).status_code == 404
    feed = client.get("/sync/changes", headers=s.partner.headers).json()["changes"]
    assert any(c["entity"] == "material" and c["id"] == mid and c["op"] == "delete" for c in feed)


def test_size_limit(client, app):
    s = make_space(app)
    page = s.pages["Getting to know each other"]
    ok = _upload(client, page, s.admin.headers, data=b"a" * (512 * 1024))
    assert ok.status_code == 201
    big = _upload(client, page, s.admin.headers, data=b"a" * (512 * 1024 + 1))
    assert big.status_code == 413 and big.json()["code"] == "too_large"
    assert big.json()["field"] == "data_base64"
    huge = _upload(client, page, s.admin.headers, data_base64="A" * (4 * 512 * 1024 + 4))
    assert huge.status_code == 422
    # the page is intact after the refusals
    assert len(client.get(f"/pages/{page}/materials", headers=s.admin.headers).json()["items"]) == 1
    assert (
        client.get(f"/pages/{page}", headers=s.admin.headers).json()["text"].startswith("# Getting")
    )


def test_type_and_content_refusals(client, app):
    s = make_space(app)
    page = s.pages["Getting to know each other"]
    h = s.admin.headers
    for ct in ("text/html", "image/svg+xml", "application/x-msdownload", "application/javascript"):
        r = _upload(client, page, h, content_type=ct)
        assert r.status_code == 422 and r.json()["code"] == "unsupported_type", ct
        assert r.json()["field"] == "content_type"
    r = _upload(client, page, h, data=b"MZ\x90\x00 not a png", content_type="image/png")
    assert r.status_code == 422 and r.json()["code"] == "type_mismatch"
    r = _upload(client, page, h, data_base64="!!! not base64")
    assert r.status_code == 422 and r.json()["code"] == "invalid_base64"
    assert _upload(client, page, h, data=b"").json()["code"] == "empty"
    assert _upload(client, page, h, filename="").status_code == 422
    assert _upload(client, page, h, id="1234").status_code == 422
    assert _upload(client, page, h, extra=True).status_code == 422


def test_filenames_are_sanitised(client, app):
    s = make_space(app)
    page = s.pages["Getting to know each other"]
    r = _upload(client, page, s.admin.headers, filename="../../etc/passwd")
    assert r.json()["filename"] == "passwd"
    r = _upload(client, page, s.admin.headers, filename="C:\\Users\\kid\\.hidden\x00.txt")
    assert r.json()["filename"] == "hidden_.txt"
    got = client.get(f"/materials/{r.json()['id']}", headers=s.admin.headers)
    assert "\x00" not in got.headers["content-disposition"]
    assert sanitise_filename("CON.txt") == "_CON.txt"
    assert sanitise_filename("...") == "file"
    assert sanitise_filename('a<b>"c|d?.pdf') == "a_b__c_d_.pdf"
    long = sanitise_filename("ł" * 300 + ".docx")
    assert len(long) == 120 and long.endswith(".docx")


def test_roles(client, app):
    s = make_space(app)
    page = s.pages["Getting to know each other"]
    draft = next(v for k, v in s.pages.items() if k.startswith("2027-01"))
    pupil = make_pupil(client, s)
    padmin = make_pupil(client, s, role="pupil_admin", nickname="Boss")
    assert _upload(client, page, s.observer.headers).status_code == 403
    assert _upload(client, page, pupil["headers"]).status_code == 403
    assert _upload(client, page, s.outsider.headers).status_code == 404
    teachers = _upload(client, page, s.teacher.headers).json()["id"]
    own = _upload(client, page, padmin["headers"])
    assert own.status_code == 201 and own.json()["uploaded_by"] == padmin["id"]
    on_draft = _upload(client, draft, s.admin.headers).json()["id"]
    # pupils read materials of published pages only; outsiders none
    assert client.get(f"/materials/{teachers}", headers=pupil["headers"]).status_code == 200
    assert client.get(f"/materials/{on_draft}", headers=pupil["headers"]).status_code == 404
    assert client.get(f"/pages/{draft}/materials", headers=pupil["headers"]).status_code == 404
    assert client.get(f"/materials/{teachers}", headers=s.outsider.headers).status_code == 404
    # deleting: teachers any, a pupil admin only their own
    assert client.delete(f"/materials/{teachers}", headers=padmin["headers"]).status_code == 403
    assert client.delete(f"/materials/{teachers}", headers=s.observer.headers).status_code == 403
    assert client.delete(f"/materials/{teachers}", headers=pupil["headers"]).status_code == 403
    assert (
        client.delete(f"/materials/{own.json()['id']}", headers=padmin["headers"]).status_code
        == 204
    )
    assert client.delete(f"/materials/{teachers}", headers=s.outsider.headers).status_code == 404
    assert client.delete(f"/materials/{teachers}", headers=s.partner.headers).status_code == 204


def test_closed_project_keeps_materials_readable(client, app):
    s = make_space(app)
    page = s.pages["Getting to know each other"]
    mid = _upload(client, page, s.admin.headers).json()["id"]
    with app.state.sessionmaker() as db, db.begin():
        db.get(Project, s.project_id).state = "closed"
    assert client.get(f"/materials/{mid}", headers=s.admin.headers).content == b"hello"
    r = client.delete(f"/materials/{mid}", headers=s.admin.headers)
    assert r.status_code == 409 and r.json()["code"] == "twinspace_read_only"
    r = _upload(client, page, s.admin.headers)
    assert r.status_code == 409 and r.json()["code"] == "twinspace_read_only"


def test_unknown_and_hostile_ids(client, app):
    s = make_space(app)
    h = s.admin.headers
    assert client.get(f"/materials/{new_id()}", headers=h).status_code == 404
    assert client.get(f"/materials/{'%00' * 40}", headers=h).status_code == 404
    assert client.get(f"/pages/{'z' * 300}/materials", headers=h).status_code == 404
    assert _upload(client, new_id(), h).status_code == 404
