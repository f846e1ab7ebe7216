"""Demo data: a province, a school with departments, graduates of each training mode and level, an
employer, one account per role. Idempotent: running it again changes nothing."""
from __future__ import annotations

from demo.sample_data import make_credit_code, make_phone, roster_csv, roster_row
from server.app import Application
from server.config import Settings
from signing import clock
from signing.accounts import hash_password
from signing.actors import SYSTEM
from signing.eligibility import current_cohort
from signing.roster_service import import_roster
from signing.settings_service import add_agreement_handlers, update_province, update_school_settings

DEMO_PASSWORD = "demo2026pass"
PROVINCE = ("11", "北京市")
SCHOOL = ("10001", "北京示范大学")
DEPARTMENTS = ("计算机学院", "经济管理学院", "外国语学院")


def demo_roster(cohort: int) -> list[dict]:
    rows, seq = [], 1
    plan = [("本科", "1"), ("本科", "22"), ("专科", "1"), ("硕士", "42"), ("博士", "5"), ("本科", "21"),
            ("硕士", "41"), ("本科", "3")]
    for department in DEPARTMENTS:
        for level, mode in plan:
            rows.append(roster_row(seq, SCHOOL[0], cohort, department=department, level=level, training_mode=mode))
            seq += 1
    return rows


async def load_demo(config: Settings) -> None:
    app = Application(config)
    await app.start()
    try:
        lines = await _load(app)
    finally:
        await app.stop()
    print("\n".join(lines))


async def _load(app: Application) -> list[str]:
    db, cohort = app.db, current_cohort(clock.today())
    async with db.transaction() as cur:
        await cur.execute("INSERT INTO provinces (code, name) VALUES (%s,%s) ON DUPLICATE KEY UPDATE code=code", PROVINCE)
        await cur.execute(
            "INSERT INTO schools (code, name, province_code, phone, address, postcode)"
            " VALUES (%s,%s,%s,%s,%s,%s) ON DUPLICATE KEY UPDATE code=code", (*SCHOOL, PROVINCE[0], "010-62750000", "北京市海淀区示范路1号", "100871"))
        await cur.execute(
            "INSERT INTO employers (name, credit_code, certification) VALUES (%s,%s,'certified')"
            " ON DUPLICATE KEY UPDATE credit_code=credit_code",
            ("北京示范科技有限公司", make_credit_code(1)))
        await cur.execute("SELECT id FROM schools WHERE code=%s", (SCHOOL[0],))
        school_id = (await cur.fetchone())["id"]
        await cur.execute("SELECT id FROM employers WHERE credit_code=%s", (make_credit_code(1),))
        employer_id = (await cur.fetchone())["id"]

    province = await db.fetchone("SELECT * FROM provinces WHERE code=%s", (PROVINCE[0],))
    if not province["module_employment"]:
        await update_province(db, SYSTEM, PROVINCE[0], {"agreement_type": "three_party", "module_employment": True,
                                                         "module_archive": True, "module_hukou": True})
    rows = demo_roster(cohort)
    await import_roster(db, app.vault, SYSTEM, "demo-roster.csv", roster_csv(rows))

    password_hash = await hash_password(DEMO_PASSWORD)
    rw = {"employment": "read_write", "archive": "read_write", "hukou": "read_write"}
    accounts = [
        ("ministry", "ministry", "教育部学生服务与素质发展中心", {}, {}),
        ("province_bj", "province", "北京市教委就业处", {"province_code": PROVINCE[0]}, {}),
        ("school_admin", "school", "北京示范大学就业指导中心", {"school_id": school_id}, rw),
        ("school_viewer", "school", "北京示范大学（只读）", {"school_id": school_id},
         {"employment": "read_only", "archive": "none", "hukou": "none"}),
        ("employer_demo", "employer", "北京示范科技有限公司", {"employer_id": employer_id}, {}),
        ("platform_admin", "admin", "平台管理员（单位认证）", {}, {}),
    ]
    for i, dept in enumerate(DEPARTMENTS, start=1):
        accounts.append((f"dept{i}", "department", f"{dept}（院系）", {"school_id": school_id, "department": dept}, rw))
    for username, role, name, extra, perms in accounts:
        await _ensure_user(db, username, role, name, password_hash, extra, perms)

    graduates = await db.fetchall(
        "SELECT id, name, level, training_mode, department, id_masked FROM graduates"
        " WHERE school_id=%s AND cohort=%s ORDER BY id", (school_id, cohort))
    graduate_logins = []
    for index, g in enumerate(graduates, start=1):
        phone = make_phone(index)
        await _ensure_user(db, f"grad{index}", "graduate", g["name"], password_hash,
                           {"graduate_id": g["id"], "phone_hash": app.vault.blind_index(phone),
                            "phone_cipher": app.vault.encrypt(phone), "phone_masked": phone[:3] + "****" + phone[-4:]}, {})
        if index <= 8:
            graduate_logins.append(f"  grad{index:<3} {g['name']:<4} {g['level']} 培养方式{g['training_mode']:<3}"
                                   f" {g['department']} (or log in with phone {phone})")

    actor = await _actor(db, "school_admin")
    settings = await db.fetchone("SELECT * FROM school_settings WHERE school_id=%s AND cohort=%s", (school_id, cohort))
    if not settings or not settings["online_signing"]:
        await update_school_settings(db, actor, school_id, cohort, {"online_signing": True, "max_cancellations": 3})
    if not settings or settings["handler_mode"] is None:
        await add_agreement_handlers(db, actor, school_id, cohort, "unified", {"all": {
            "name": "张老师", "phone": "010-62751234", "address": "北京市海淀区示范路1号就业指导中心", "postcode": "100871"}})

    await _demo_records(db, graduates)

    base = app.config.public_base_url.rstrip("/")
    return [
        "",
        f"Demo data loaded: province {PROVINCE[1]}, school {SCHOOL[1]} ({SCHOOL[0]}), cohort {cohort},"
        f" {len(graduates)} graduates in {len(DEPARTMENTS)} departments.",
        f"Every demo password is: {DEMO_PASSWORD}",
        "Staff and employer logins (POST /api/login):",
        *[f"  {u:<14} {role:<10} {name}" for u, role, name, _, _ in accounts],
        "Graduate logins (username, or the phone shown):",
        *graduate_logins,
        f"  ... grad1 to grad{len(graduates)} in all",
        "Try:",
        f"  {base}/                     the entry page",
        f"  {base}/wx/oauth?next=/wx/records   graduate H5 pages through the emulated WeChat authorisation:"
        " type any openid, then bind with a graduate's phone (or ID number) and the demo password",
        f"  {base}/demo/phones          what each graduate's emulated phone and WeChat received",
        f"  {base}/admin                staff pages (log in as school_admin, dept1, province_bj or ministry)",
        f"  {base}/api/openapi.json     every JSON endpoint (log in with POST /api/login as staff or employer)",
        f"  {base}/healthz",
    ]


async def _actor(db, username: str):
    from signing.accounts import load_actor
    user = await db.fetchone("SELECT id, session_version FROM users WHERE username=%s", (username,))
    return await load_actor(db, user["id"], user["session_version"])


async def _demo_records(db, graduates: list[dict]) -> None:
    """A few records in flow so every role has something to look at (only on the first run)."""
    from datetime import timedelta

    from signing.records_service import ActionInput, start
    if await db.fetchone("SELECT 1 FROM records WHERE graduate_id=%s", (graduates[0]["id"],)):
        return
    unit = {"unit_name": "北京示范科技有限公司", "credit_code": make_credit_code(1), "unit_nature": "39",
            "unit_industry": "I", "unit_location": "北京市海淀区", "unit_address": "北京市海淀区中关村大街1号",
            "job_category": "13", "position_title": "软件工程师", "work_location": "北京市", "contact_name": "王经理",
            "contact_mobile": "13800138000", "takes_hukou_archive": True, "supplementary_terms": "试用期三个月。"}
    deadline = clock.now().replace(second=0, microsecond=0) + timedelta(days=7)
    await start(db, await _actor(db, "employer_demo"), "online", "invite", graduates[0]["id"],
                ActionInput(data=unit, deadline=deadline))
    await start(db, await _actor(db, "grad2"), "offline", "submit", graduates[1]["id"], ActionInput(data=unit))
    await start(db, await _actor(db, "grad6"), "destination", "save", graduates[5]["id"], ActionInput(
        data={"type_code": "90", "fields": {"unit_name": "北京市某定向单位", "location": "北京市"}}))
    await start(db, await _actor(db, "grad5"), "destination", "submit", graduates[4]["id"], ActionInput(
        data={"type_code": "71", "fields": {"plan": "报考北京示范大学硕士研究生"}}))


async def _ensure_user(db, username, role, name, password_hash, extra: dict, permissions: dict) -> None:
    async with db.transaction() as cur:
        await cur.execute("SELECT id FROM users WHERE username=%s", (username,))
        if await cur.fetchone():
            return
        columns = ["username", "password_hash", "role", "display_name", *extra]
        await cur.execute(
            f"INSERT INTO users ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
            (username, password_hash, role, name, *extra.values()))
        user_id = cur.lastrowid
        for module, level in permissions.items():
            await cur.execute("INSERT INTO user_permissions (user_id, module, level) VALUES (%s,%s,%s)",
                              (user_id, module, level))
