"""Roster import into the database: idempotent per ID number and cohort, all or nothing."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from signing.actors import Actor
from signing.errors import DomainError
from signing.lists import bump_generation
from signing.oplog import record_operation
from signing.personal import mask_id_number, mask_phone
from signing.roster import RosterRow, parse_roster
from signing.sql import in_list

_UPSERT = (
    "INSERT INTO graduates (school_id, cohort, id_hash, id_cipher, id_masked, exam_number, name, gender,"
    " birth_date, origin, ethnicity, political_status, department, major, level, study_length,"
    " enrol_month, graduation_month, training_mode, student_number, phone_cipher, phone_masked, email)"
    " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
    " ON DUPLICATE KEY UPDATE school_id=VALUES(school_id), id_cipher=VALUES(id_cipher),"
    " exam_number=VALUES(exam_number), name=VALUES(name), gender=VALUES(gender),"
    " birth_date=VALUES(birth_date), origin=VALUES(origin), ethnicity=VALUES(ethnicity),"
    " political_status=VALUES(political_status), department=VALUES(department), major=VALUES(major),"
    " level=VALUES(level), study_length=VALUES(study_length), enrol_month=VALUES(enrol_month),"
    " graduation_month=VALUES(graduation_month), training_mode=VALUES(training_mode),"
    " student_number=VALUES(student_number), phone_cipher=VALUES(phone_cipher),"
    " phone_masked=VALUES(phone_masked), email=VALUES(email), status='valid', invalidated_at=NULL"
)
_BATCH = 1000


@dataclass
class ImportResult:
    import_id: int
    school_code: str
    cohort: int
    rows: int
    added: int
    updated: int
    restored: int
    invalidated: int

    def as_dict(self) -> dict:
        return asdict(self)


async def import_roster(db, vault, actor: Actor, filename: str, content: bytes) -> ImportResult:
    rows = parse_roster(filename, content)
    school_code, cohort = rows[0].school_code, rows[0].cohort
    async with db.transaction() as cur:
        await cur.execute("SELECT id, province_code FROM schools WHERE code=%s FOR UPDATE", (school_code,))
        school = await cur.fetchone()
        if school is None:
            raise DomainError("roster_file_invalid", f"院校代码{school_code}不存在")
        if actor.role == "school" and actor.school_id != school["id"]:
            raise DomainError("roster_school_mismatch")
        await cur.execute("SELECT id_hash, status, school_id FROM graduates WHERE cohort=%s AND school_id=%s",
                          (cohort, school["id"]))
        before = {g["id_hash"]: g for g in await cur.fetchall()}
        file_hashes = [vault.blind_index(r.id_number) for r in rows]
        for i in range(0, len(file_hashes), _BATCH):  # the same people listed by another school until now
            in_sql, in_args = in_list(file_hashes[i:i + _BATCH])
            await cur.execute(f"SELECT id_hash, status, school_id FROM graduates WHERE cohort=%s AND id_hash IN {in_sql}",
                              [cohort, *in_args])
            before.update({g["id_hash"]: g for g in await cur.fetchall()})
        hashes = set(file_hashes)
        values = [_row_values(school["id"], h, r, vault) for h, r in zip(file_hashes, rows, strict=True)]
        for i in range(0, len(values), _BATCH):
            await cur.executemany(_UPSERT, values[i:i + _BATCH])
        added = sum(1 for h in hashes if h not in before)
        restored = sum(1 for h in hashes if h in before and before[h]["status"] == "invalid")
        missing = [h for h, g in before.items()
                   if h not in hashes and g["school_id"] == school["id"] and g["status"] == "valid"]
        for i in range(0, len(missing), _BATCH):
            in_sql, in_args = in_list(missing[i:i + _BATCH])
            await cur.execute(
                "UPDATE graduates SET status='invalid', invalidated_at=NOW()"
                f" WHERE cohort=%s AND school_id=%s AND id_hash IN {in_sql}", [cohort, school["id"], *in_args])
        await _sync_record_names(cur, school["id"], cohort)
        await bump_generation(cur, school["id"], cohort)  # the lists' cached counts may have changed
        result = ImportResult(0, school_code, cohort, len(rows), added,
                              len(rows) - added - restored, restored, len(missing))
        await cur.execute(
            "INSERT INTO roster_imports (school_id, cohort, filename, row_count, added, updated, invalidated,"
            " restored, user_id) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)",
            (school["id"], cohort, filename[:255], result.rows, added, result.updated, len(missing),
             restored, actor.user_id),
        )
        result.import_id = cur.lastrowid
        await record_operation(
            cur, actor, "roster.import", "roster_import", result.import_id,
            f"导入{cohort}届名单{result.rows}人：新增{added}，更新{result.updated}，恢复{restored}，失效{len(missing)}",
            school_id=school["id"], province_code=school["province_code"],
        )
    return result


async def _sync_record_names(cur, school_id: int, cohort: int) -> None:
    """The lists sort and search by the name a record carries: the records of renamed graduates take the new
    name. Found by a plain read, then updated by id, so that only those rows are locked (not every record of
    the cohort, which record actions running meanwhile need); their update time stays (no change to them)."""
    await cur.execute("SELECT r.id, g.name FROM records r JOIN graduates g ON g.id=r.graduate_id"
                      " WHERE r.school_id=%s AND r.cohort=%s AND r.graduate_name<>g.name", (school_id, cohort))
    renamed = await cur.fetchall()
    if renamed:
        await cur.executemany("UPDATE records SET graduate_name=%s, updated_at=updated_at WHERE id=%s",
                              [(r["name"], r["id"]) for r in renamed])


def _row_values(school_id: int, id_hash: str, r: RosterRow, vault) -> tuple:
    return (
        school_id, r.cohort, id_hash, vault.encrypt(r.id_number), mask_id_number(r.id_number),
        r.exam_number, r.name, r.gender, r.birth_date, r.origin, r.ethnicity, r.political_status,
        r.department, r.major, r.level, r.study_length, r.enrol_month, r.graduation_month,
        r.training_mode, r.student_number, vault.encrypt(r.phone) if r.phone else None,
        mask_phone(r.phone) if r.phone else None, r.email,
    )


async def confirm_roster_data(db, actor: Actor, repeat_is_error: bool = True) -> None:
    """The graduate confirms their roster data (信息确认无误); wrong data is corrected by the school in EMS."""
    async with db.transaction() as cur:
        await cur.execute("SELECT status, confirmed_at, school_id FROM graduates WHERE id=%s FOR UPDATE",
                          (actor.graduate_id,))
        g = await cur.fetchone()
        if g["status"] != "valid":
            raise DomainError("graduate_invalid")
        if g["confirmed_at"] is not None:
            if repeat_is_error:
                raise DomainError("already_confirmed")
            return
        await cur.execute("UPDATE graduates SET confirmed_at=NOW() WHERE id=%s", (actor.graduate_id,))
        await record_operation(cur, actor, "graduate.confirm", "graduate", actor.graduate_id, "确认生源信息",
                               school_id=g["school_id"])
