"""Console pages beyond the records: 预警单位 (mark, unmark, nationwide list) and 操作日志, each for its roles."""
from __future__ import annotations

import re

import pytest

from demo.sample_data import make_credit_code
from tests.support import PASSWORD
from tests.test_admin_pages import form_post, staff


@pytest.mark.gen_test(timeout=60)
async def test_warning_units_marked_by_five_schools_show_nationally(world, client, sql):
    code = make_credit_code(4242)
    schools = [await world.school() for _ in range(5)]
    first = await staff(world, client, school_id=schools[0]["id"])
    # a refused mark comes back with the reason and the values kept; nothing is written
    bad = await form_post(first, "/admin/warnings", {"credit_code": code[:-1], "unit_name": "南山预警有限公司",
                                                      "category": "fake"})
    page = bad.body.decode()
    assert bad.status == 400 and 'value="南山预警有限公司"' in page and 'notice error' in page
    assert sql("SELECT COUNT(*) n FROM employer_warnings WHERE credit_code LIKE %s", (code[:-1] + "%",))[0]["n"] == 0
    no_category = await form_post(first, "/admin/warnings", {"credit_code": code, "unit_name": "南山预警有限公司"})
    assert no_category.status == 400 and "预警类型应为" in no_category.body.decode()

    for school in schools[:4]:
        c = first if school is schools[0] else await staff(world, client, school_id=school["id"])
        done = await form_post(c, "/admin/warnings", {"credit_code": code, "unit_name": "南山预警有限公司",
                                                       "category": "fake", "note": "招聘信息与实际不符"})
        assert done.status == 302 and done.headers["Location"] == "/admin/warnings?done=marked", done
    province = await staff(world, client, role="province", province_code=schools[0]["province"])
    assert code not in (await province.get("/admin/warnings")).body.decode()  # 4 schools: not yet nationwide
    fifth = await staff(world, client, school_id=schools[4]["id"])
    assert (await form_post(fifth, "/admin/warnings", {"credit_code": code, "unit_name": "南山预警有限公司",
                                                        "category": "violation"})).status == 302
    nationwide = (await province.get("/admin/warnings")).body.decode().split("全国预警单位")[1]
    assert code in nationwide and "<td>5</td>" in nationwide
    assert "标记预警单位" not in (await province.get("/admin/warnings")).body.decode()  # provinces only read

    own = (await first.get("/admin/warnings?done=marked")).body.decode()
    assert "已标记为预警单位" in own and "5（全国预警）" in own
    warning_id = re.search(r'name="id" value="(\d+)"', own).group(1)
    removed = await form_post(first, "/admin/warnings", {"form": "remove", "id": warning_id})
    assert removed.status == 302 and removed.headers["Location"] == "/admin/warnings?done=removed"
    assert code not in (await province.get("/admin/warnings")).body.decode()  # 4 again
    # another school cannot remove a mark that is not its own
    other_id = sql("SELECT id FROM employer_warnings WHERE school_id=%s", (schools[1]["id"],))[0]["id"]
    assert (await form_post(fifth, "/admin/warnings", {"form": "remove", "id": other_id})).status == 404

    log = (await first.get("/admin/operations")).body.decode()
    assert "取消预警单位：南山预警有限公司" in log and "标记预警单位：南山预警有限公司" in log and "学校用户" in log
    assert "南山预警" in (await province.get("/admin/operations")).body.decode()
    fifth_log = (await fifth.get("/admin/operations")).body.decode()  # only its own school's entries
    assert "标记预警单位：南山预警有限公司" in fifth_log and "取消预警单位" not in fifth_log


@pytest.mark.gen_test(timeout=60)
async def test_console_pages_only_for_their_roles(world, client):
    school = await world.school()
    department = await staff(world, client, role="department", school_id=school["id"], department="计算机学院")
    assert (await department.get("/admin/operations")).status == 403
    assert (await department.get("/admin/warnings")).status == 200
    assert 'href="/admin/operations"' not in (await department.get("/admin")).body.decode()
    no_module = await staff(world, client, school_id=school["id"], permissions={"employment": "none"})
    assert (await no_module.get("/admin/warnings")).status == 403
    read_only = await staff(world, client, school_id=school["id"], permissions={"employment": "read_only"})
    assert (await form_post(read_only, "/admin/warnings", {"credit_code": make_credit_code(4243),
                                                            "unit_name": "只读单位", "category": "fake"})).status == 403
    anonymous = client()
    assert (await anonymous.get("/admin/warnings")).headers["Location"].startswith("/admin/login?next=")


@pytest.mark.gen_test(timeout=60)
async def test_an_irreversible_action_without_javascript_is_asked_on_a_page_first(world, client, sql):
    from tests.flows import REJECT, Flow
    f = await Flow(world, client, sql).setup()
    rid = (await f.new("destination", uploads=[f.upload("destination-proof")])).json["record"]["id"]
    c = await staff(world, client, school_id=f.school["id"])
    version = re.search(r'name="version" value="(\d+)"', (await c.get(f"/admin/records/{rid}")).body.decode()).group(1)
    form = {"version": version, **REJECT}
    asked = await form_post(c, f"/admin/records/{rid}/act/reject", form)
    page = asked.body.decode()
    assert asked.status == 200 and "确定审核不通过？此操作提交后不可撤回。" in page
    assert f'value="{REJECT["explanation"]}"' in page and 'name="confirmed" value="1"' in page  # the form, kept
    assert sql("SELECT version FROM records WHERE id=%s", (rid,))[0]["version"] == int(version)  # nothing yet
    done = await form_post(c, f"/admin/records/{rid}/act/reject", {**form, "confirmed": "1"})
    assert done.status == 302 and done.headers["Location"] == f"/admin/records/{rid}?done=reject"
    assert sql("SELECT version FROM records WHERE id=%s", (rid,))[0]["version"] > int(version)


@pytest.mark.gen_test(timeout=60)
async def test_a_refused_audit_action_comes_back_beside_its_form_with_the_values_kept(world, client, sql):
    from tests.flows import DESTINATION, Flow
    f = await Flow(world, client, sql).setup()
    rid = (await f.new("destination", uploads=[f.upload("destination-proof")])).json["record"]["id"]
    c = await staff(world, client, school_id=f.school["id"])
    page = (await c.get(f"/admin/records/{rid}")).body.decode()
    assert "去向证明材料" in page and "type_code" not in page and "destination-proof" not in page
    assert all(v in page for v in DESTINATION["fields"].values())
    assert '<option value="">请选择原因</option>' in page and 'data-confirm="确定审核不通过' in page
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    refused = await form_post(c, f"/admin/records/{rid}/act/return", {"version": version, "reason": "协议信息有误"})
    page = refused.body.decode()
    assert refused.status == 400 and "退回修改未完成" in page
    returned_form = page[page.index('/act/return"'):page.index("</form>", page.index('/act/return"'))]
    assert "请填写具体说明" in returned_form and "<option selected>协议信息有误</option>" in returned_form
    no_reason = await form_post(c, f"/admin/records/{rid}/act/return", {"version": version, "explanation": "材料模糊"})
    assert no_reason.status == 400 and 'value="材料模糊"' in no_reason.body.decode()
    assert sql("SELECT version FROM records WHERE id=%s", (rid,))[0]["version"] == int(version)  # nothing written


@pytest.mark.gen_test(timeout=60)
async def test_delivery_log_shows_each_message_with_its_result_and_failures(world, client, sql):
    school = await world.school()
    [g, other] = await world.graduates(school, 2, department="计算机学院")
    for n, (who, channel, status, error) in enumerate([(g, "wechat", "failed", "用户未关注公众号"),
                                                       (g, "sms", "sent", None), (other, "wechat", "sent", None)]):
        sql("INSERT INTO deliveries (outbox_id, graduate_id, record_id, event_id, template, channel, idempotency_key,"
            " status, content, message, recipient_masked, last_error, attempts)"
            " VALUES (1, %s, NULL, NULL, 'audit_result', %s, %s, %s, '审核结果通知', '{}', '139****0000', %s, 1)",
            (who["id"], channel, f"console:{who['id']}:{n}", status, error))
    c = await staff(world, client, school_id=school["id"])
    failures = (await c.get("/admin/deliveries?status=failed")).body.decode()
    assert "共 1 条" in failures and "用户未关注公众号" in failures and "发送失败" in failures
    assert "微信模板消息" in failures and "139****0000" in failures and g["name"] in failures
    sms = (await c.get("/admin/deliveries?channel=sms")).body.decode()
    assert "共 1 条" in sms and "短信" in sms and "已发送" in sms
    assert "共 3 条" in (await c.get("/admin/deliveries")).body.decode()
    physics = await staff(world, client, role="department", school_id=school["id"], department="物理学院")
    assert "共 0 条" in (await physics.get("/admin/deliveries")).body.decode()  # not its graduates
    stranger = await staff(world, client, school_id=(await world.school())["id"])
    assert g["name"] not in (await stranger.get("/admin/deliveries")).body.decode()


@pytest.mark.gen_test(timeout=60)
async def test_roster_list_is_paged_masked_and_scoped(world, client):
    school = await world.school()
    graduates = await world.graduates(school, 52, department="计算机学院")
    c = await staff(world, client, school_id=school["id"])
    first = (await c.get("/admin/graduates")).body.decode()
    assert "共 52 人" in first and "下一页" in first and "非定向" in first
    assert not any(g["id_number"] in first for g in graduates)
    assert graduates[0]["id_number"][:3] in first  # the masked form is there
    second = (await c.get("/admin/graduates?page=2")).body.decode()
    assert "上一页" in second and second.count("<tr>") == 2 + 1  # header row, 2 graduates
    found = (await c.get("/admin/graduates?id_number=" + graduates[5]["id_number"])).body.decode()
    assert "共 1 人" in found and graduates[5]["name"] in found and graduates[5]["id_number"] not in found
    assert (await c.get("/admin/graduates?id_number=123")).status == 400
    physics = await staff(world, client, role="department", school_id=school["id"], department="物理学院")
    assert "共 0 人" in (await physics.get("/admin/graduates")).body.decode()


@pytest.mark.gen_test(timeout=60)
async def test_platform_administrator_certifies_and_refuses_with_a_reason(world, client, sql):
    first, second = await world.employer(certification="pending"), await world.employer(certification="pending")
    c = client()
    login = await form_post(c, "/admin/login", {"username": await world.user("admin"), "password": PASSWORD,
                                                "next": "/admin"})
    assert login.status == 302 and login.headers["Location"] == "/admin/employers"
    queue = (await c.get("/admin/employers")).body.decode()
    assert first["credit_code"] in queue and "待认证" in queue and "/admin/records" not in queue
    refused = await form_post(c, "/admin/employers", {"id": second["id"], "decision": "refused"})
    assert refused.status == 400 and "拒绝认证时请填写原因" in refused.body.decode()
    assert sql("SELECT certification FROM employers WHERE id=%s", (second["id"],))[0]["certification"] == "pending"
    done = await form_post(c, "/admin/employers", {"id": second["id"], "decision": "refused", "note": "营业执照不清晰"})
    assert done.status == 302 and done.headers["Location"] == "/admin/employers?done=refused"
    assert (await form_post(c, "/admin/employers", {"id": first["id"], "decision": "certified"})).status == 302
    rows = sql("SELECT id, certification, certification_note FROM employers WHERE id IN (%s,%s) ORDER BY id",
               (first["id"], second["id"]))
    assert [(r["certification"], r["certification_note"]) for r in rows] == [("certified", None),
                                                                              ("refused", "营业执照不清晰")]
    assert "已通过认证" in (await c.get("/admin/employers?state=certified&done=certified")).body.decode()
    school_staff = await staff(world, client, school_id=(await world.school())["id"])
    assert (await school_staff.get("/admin/employers")).headers["Location"].startswith("/admin/login")
    assert sql("SELECT summary FROM operation_log WHERE target_type='employer' AND target_id=%s",
               (str(second["id"]),))[0]["summary"].endswith("待认证 → 认证未通过")


@pytest.mark.gen_test(timeout=60)
async def test_province_sets_its_modules_and_the_ministry_reads_every_province(world, client, sql):
    code = await world.province(employment=False)
    c = await staff(world, client, role="province", province_code=code)
    page = (await c.get("/admin/province")).body.decode()
    assert "功能设置" in page and "开启档案信息登记" in page
    missing = await form_post(c, "/admin/province", {"module_employment": "1"})
    assert missing.status in (400, 409) and 'notice error' in missing.body.decode()
    assert sql("SELECT module_employment FROM provinces WHERE code=%s", (code,))[0]["module_employment"] == 0
    saved = await form_post(c, "/admin/province", {"agreement_type": "two_party", "module_employment": "1",
                                                   "module_archive": "1"})
    assert saved.status == 302 and saved.headers["Location"] == "/admin/province?done=saved"
    row = sql("SELECT agreement_type, module_employment, module_archive, module_hukou FROM provinces WHERE code=%s",
              (code,))[0]
    assert row == {"agreement_type": "two_party", "module_employment": 1, "module_archive": 1, "module_hukou": 0}
    page = (await c.get("/admin/province?done=saved")).body.decode()
    assert "已保存" in page and "（已开启，不可关闭）" in page
    assert "开启档案信息登记" in (await c.get("/admin/operations")).body.decode()
    ministry = await staff(world, client, role="ministry")
    overview = (await ministry.get("/admin/province")).body.decode()
    assert "各省功能设置" in overview and f"测试省{code}" in overview and "<form" not in overview.split("各省功能设置")[-1]
    assert (await form_post(ministry, "/admin/province", {"module_hukou": "1"})).status == 403
    school = await staff(world, client, school_id=(await world.school())["id"])
    assert (await school.get("/admin/province")).status == 403
    # the national overview's own parameters are checked as the API checks them
    assert f"测试省{code}" in (await ministry.get(f"/admin?group=school&province={code}")).body.decode()
    for bad in ("province=1%27", "province=123", "group=everything"):
        refused = await ministry.get(f"/admin?{bad}")
        assert refused.status == 400 and "提交的信息有误" in refused.body.decode(), bad
    assert (await ministry.get("/admin?province=00")).status == 404  # no such province


@pytest.mark.gen_test(timeout=60)
async def test_dashboard_shows_the_registration_rate_and_a_progress_bar_per_department(world, client, sql):
    from tests.flows import Flow
    f = await Flow(world, client, sql).setup(graduates=4)
    rid = (await f.new("offline")).json["record"]["id"]
    assert (await f.act(f.S, rid, "pass")).status == 200
    page = (await (await staff(world, client, school_id=f.school["id"])).get("/admin")).body.decode()
    row = page[page.index('<td class="name">计算机学院'):]
    # passed but waiting for the stamped agreement: still under audit, not yet registered
    assert "<td>4</td><td>0</td><td>1</td><td>3</td>" in row and "0.0%" in row
    assert 'aria-label="已登记0人，审核中1人，未登记3人"' in row and 'x="0" y="0" width="60" height="14" fill="#d98c00"' in row
