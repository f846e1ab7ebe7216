"""The graduate's H5 pages: first entry confirms the roster data, then records, forms and action buttons."""
from __future__ import annotations

import pytest

from tests import test_wechat_support as support
from tests.flows import UNIT
from tests.test_wechat_oauth import bind, page
from tests.test_wechat_support import new_openid, post_form

start_emulator, emulator, wx_config, app = support.start_emulator, support.emulator, support.wx_config, support.app


async def bound_graduate(world, client, emulator, **kw):
    school = await world.school()
    g = (await world.graduates(school, **kw))[0]
    c = client()
    await bind(c, emulator, new_openid(), g["id_number"])
    return g, c


@pytest.mark.gen_test
async def test_first_entry_asks_to_confirm_the_roster_data(world, client, emulator, sql):
    g, c = await bound_graduate(world, client, emulator)
    resp = await c.get("/wx/records")
    assert resp.status == 302 and resp.headers["Location"] == "/wx/profile?first=1"
    profile = await c.get("/wx/profile?first=1")
    assert g["name"] in page(profile) and g["id_number"] not in page(profile) and "信息确认无误" in page(profile)
    done = await post_form(c, "/wx/profile", {})
    assert done.status == 302 and done.headers["Location"] == "/wx/records"
    assert sql("SELECT confirmed_at FROM graduates WHERE id=%s", (g["id"],))[0]["confirmed_at"]
    records = await c.get("/wx/records")
    assert records.status == 200 and "未签就业协议，申请签约" in page(records)


@pytest.mark.gen_test
async def test_apply_for_an_agreement_then_withdraw_through_the_pages(world, client, emulator, sql):
    g, c = await bound_graduate(world, client, emulator)
    await post_form(c, "/wx/profile", {})
    form = await c.get("/wx/records/new?kind=offline")
    assert form.status == 200 and "统一社会信用代码" in page(form)
    fields = {k: ("yes" if v is True else str(v)) for k, v in UNIT.items()}
    resp = await post_form(c, "/wx/records/new", {"form": "record", "kind": "offline", "submit": "1", **fields})
    assert resp.status == 302, resp
    location = resp.headers["Location"]
    detail = await c.get(location)
    assert "就业协议审核中，等待学校审核" in page(detail) and "撤回修改" in page(detail)
    record_id = location.split("/")[3].split("?")[0]
    withdrawn = await post_form(c, f"/wx/records/{record_id}/act/withdraw", {})
    assert withdrawn.status == 302
    assert sql("SELECT state FROM records WHERE id=%s", (record_id,))[0]["state"] == "draft"
    edit = await c.get(f"/wx/records/{record_id}/edit")
    assert edit.status == 200 and UNIT["unit_name"] in page(edit)


@pytest.mark.gen_test
async def test_a_refused_action_shows_a_page_with_the_reason(world, client, emulator, sql):
    g, c = await bound_graduate(world, client, emulator)
    await post_form(c, "/wx/profile", {})
    resp = await post_form(c, "/wx/records/new", {"form": "record", "kind": "offline", "submit": "1", "unit_name": "只填了名字"})
    assert resp.status == 400 and "请填写" in page(resp)
    assert sql("SELECT COUNT(*) n FROM records WHERE graduate_id=%s", (g["id"],))[0]["n"] == 0


@pytest.mark.gen_test
async def test_another_graduates_record_page_is_not_found(world, client, emulator):
    g, c = await bound_graduate(world, client, emulator)
    other, oc = await bound_graduate(world, client, emulator)
    await post_form(oc, "/wx/profile", {})
    resp = await post_form(oc, "/wx/records/new", {"form": "record", "kind": "offline", "save": "1", "unit_name": "某单位"})
    record_path = resp.headers["Location"].split("?")[0]
    assert (await c.get(record_path)).status == 404


@pytest.mark.gen_test
async def test_supplementary_only_graduate_sees_only_that_form(world, client, emulator):
    g, c = await bound_graduate(world, client, emulator, training_mode="41")
    await post_form(c, "/wx/profile", {})
    records = page(await c.get("/wx/records"))
    assert "定向/委培毕业去向补充登记" in records and "未签就业协议" not in records
    form = page(await c.get("/wx/records/new?kind=destination"))
    assert "定向/委培毕业去向补充登记" in form and "升学" not in form


@pytest.mark.gen_test
async def test_messages_page_lists_my_deliveries(world, client, emulator, sql):
    g, c = await bound_graduate(world, client, emulator)
    sql("INSERT INTO deliveries (outbox_id, graduate_id, record_id, event_id, template, channel, idempotency_key,"
        " status, content, message) VALUES (1, %s, NULL, NULL, 'audit_result', 'wechat', %s, 'sent', %s, '{}')",
        (g["id"], f"test:{g['id']}:wechat", "审核结果通知｜审核事项：线上签约"))
    resp = await c.get("/wx/messages")
    assert resp.status == 200 and "审核结果通知" in page(resp) and "已发送" in page(resp)


@pytest.mark.gen_test
async def test_destination_record_page_shows_type_name_and_field_labels(world, client, emulator, sql):
    g, c = await bound_graduate(world, client, emulator)
    await post_form(c, "/wx/profile", {})
    resp = await post_form(c, "/wx/records/new", {"form": "record", "kind": "destination", "save": "1", "type_code": "80",
                                                  "field_school_name": "北京大学", "field_major": "软件工程"})
    detail = page(await c.get(resp.headers["Location"]))
    assert "升学（专升本、考研、第二学士学位）" in detail and "录取学校" in detail and "北京大学" in detail


@pytest.mark.gen_test
async def test_archive_registration_through_the_page(world, client, emulator, sql):
    from signing.actors import SYSTEM
    from signing.settings_service import update_province
    province = await world.province()
    await update_province(world.db, SYSTEM, province, {"module_archive": True})
    school = await world.school(province=province)
    g = (await world.graduates(school))[0]
    c = client()
    await bind(c, emulator, new_openid(), g["id_number"])
    page_html = page(await c.get("/wx/registrations"))
    assert "档案接收方式" in page_html and "本省尚未开启户口信息登记" in page_html
    bad = await post_form(c, "/wx/registrations", {"module": "archive", "submit": "1", "receiver_type": "托管单位接收"})
    assert bad.status == 400
    done = await post_form(c, "/wx/registrations", {
        "module": "archive", "submit": "1", "receiver_type": "托管单位接收", "receiver_name": "北京市人才服务中心",
        "address": "北京市朝阳区某路1号", "postcode": "100020"})
    assert done.status == 200 and "已提交，等待学校审核" in page(done)
    assert sql("SELECT status FROM registrations WHERE graduate_id=%s", (g["id"],))[0]["status"] == "submitted"


@pytest.mark.gen_test
async def test_a_drafts_page_never_posts_an_empty_form_that_wipes_the_data(world, client, emulator, sql):
    g, c = await bound_graduate(world, client, emulator)
    await post_form(c, "/wx/profile", {})
    resp = await post_form(c, "/wx/records/new", {"form": "record", "kind": "destination", "save": "1",
                                                  "type_code": "80", "field_school_name": "北京大学"})
    record_id = resp.headers["Location"].split("/")[3].split("?")[0]
    detail = page(await c.get(f"/wx/records/{record_id}"))
    assert f'href="/wx/records/{record_id}/edit"' in detail and "/act/save" not in detail
    for path in (f"/wx/records/{record_id}/act/save", f"/wx/records/{record_id}/act/submit",
                 f"/wx/records/{record_id}/edit"):
        empty = await post_form(c, path, {"save": "1"})
        assert empty.status == 303, (path, empty)
    data = sql("SELECT data FROM records WHERE id=%s", (record_id,))[0]["data"]
    assert "北京大学" in data and '"80"' in data


@pytest.mark.gen_test
async def test_a_refused_submission_shows_the_form_again_with_every_value_and_photo_kept(world, client, emulator, sql):
    g, c = await bound_graduate(world, client, emulator)
    await post_form(c, "/wx/profile", {})
    fields = {k: ("yes" if v is True else str(v)) for k, v in UNIT.items()}
    fields.update(contact_mobile="1380013", credit_code="")
    resp = await post_form(c, "/wx/records/new", {"form": "record", "kind": "paper", "submit": "1",
                                                  "upload_ids": "", **fields})
    html = page(resp)
    assert resp.status == 400 and 'role="alert"' in html and "请填写：统一社会信用代码" in html
    assert f'value="{UNIT["unit_name"]}"' in html and f'value="{UNIT["position_title"]}"' in html
    assert 'type="text" name="credit_code" id="f_credit_code" value="" maxlength="200" aria-invalid="true"' in html
    assert "请填写此项" in html
    assert '<label for="f_unit_name">单位名称 <span class="required-mark">*</span></label>' in html
    sql("INSERT INTO uploads (kind, storage_name, sha256, width, height, bytes, graduate_id)"
        " VALUES ('paper-agreement', 'ab/x', REPEAT('0', 64), 1200, 1600, 1000, %s)", (g["id"],))
    photo = sql("SELECT MAX(id) AS id FROM uploads")[0]["id"]
    fields.update(credit_code=UNIT["credit_code"])
    again = await post_form(c, "/wx/records/new", {"form": "record", "kind": "paper", "submit": "1",
                                                   "upload_ids": str(photo), **fields})
    html = page(again)
    assert again.status == 400 and "联系人手机应为11位手机号码" in html
    assert f'name="upload_ids" value="{photo}"' in html and "已上传 1 张照片，已保留" in html
    assert sql("SELECT COUNT(*) n FROM records WHERE graduate_id=%s", (g["id"],))[0]["n"] == 0


@pytest.mark.gen_test
async def test_no_new_record_is_offered_while_one_is_active(world, client, emulator, sql):
    g, c = await bound_graduate(world, client, emulator)
    await post_form(c, "/wx/profile", {})
    fields = {k: ("yes" if v is True else str(v)) for k, v in UNIT.items()}
    await post_form(c, "/wx/records/new", {"form": "record", "kind": "offline", "submit": "1", **fields})
    records = page(await c.get("/wx/records"))
    assert "/wx/records/new?kind=" not in records and "办结" in records
    form = await c.get("/wx/records/new?kind=destination")
    assert form.status == 409 and "您已有一条正在办理或已生效的签约/去向记录" in page(form)
