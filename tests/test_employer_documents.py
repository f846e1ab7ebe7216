"""Employers' certification documents: uploaded with the photo checks, seen by the administrator only."""
from __future__ import annotations

import pytest

from tests import image_corpus as corpus
from tests.flows import Flow


@pytest.mark.gen_test
async def test_licence_upload_reaches_the_administrator_only(world, client, sql):
    f = await Flow(world, client, sql).setup()
    resp = await f.E.upload("/api/employer/certification-documents?document=licence", "file", "licence.jpg",
                            corpus.sharp_stamped_jpeg(), content_type="image/jpeg")
    assert resp.status == 201, resp
    upload_id = resp.json["upload"]["id"]
    admin = await f.login(await world.user("admin"))
    listed = (await admin.get("/api/admin/employers")).json["items"]
    assert next(e for e in listed if e["id"] == f.employer["id"])["licence_upload_id"] == upload_id
    assert (await admin.get(f"/api/uploads/{upload_id}")).status == 200
    assert (await f.E.get(f"/api/uploads/{upload_id}")).status == 200
    other = await world.employer()
    oc = await f.login(other["username"])
    assert (await oc.get(f"/api/uploads/{upload_id}")).status == 404
    assert (await f.S.get(f"/api/uploads/{upload_id}")).status == 404


@pytest.mark.gen_test
async def test_documents_are_checked_and_only_employers_upload_them(world, client, sql):
    f = await Flow(world, client, sql).setup()
    unsealed = await f.E.upload("/api/employer/certification-documents?document=authorisation", "file", "a.jpg",
                                corpus.jpeg(corpus.stamped_photo(seal=False)),
                                content_type="image/jpeg")
    assert unsealed.status == 422 and unsealed.error == "image_no_seal"
    graduate = await f.G.upload("/api/employer/certification-documents?document=licence", "file", "a.jpg",
                                corpus.sharp_stamped_jpeg(), content_type="image/jpeg")
    assert graduate.status == 403
