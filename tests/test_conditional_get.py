"""A graduate's lists answer 304 Not Modified when nothing changed (Tornado's ETag of the body), and a new
body with a new ETag after a change: WeChat's webview and the H5 pages revalidate instead of downloading."""
from __future__ import annotations

import pytest

from tests.flows import Flow


@pytest.mark.gen_test(timeout=120)
async def test_my_records_revalidate_with_their_etag(world, client, sql):
    f = await Flow(world, client, sql).setup()
    first = await f.G.get("/api/graduate/records")
    etag = first.headers["Etag"]
    same = await f.G.get("/api/graduate/records", headers={"If-None-Match": etag})
    assert same.status == 304 and not same.body
    assert (await f.invite()).status == 201
    changed = await f.G.get("/api/graduate/records", headers={"If-None-Match": etag})
    assert changed.status == 200 and changed.headers["Etag"] != etag and changed.json["items"]
