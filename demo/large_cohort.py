"""A large cohort written straight into the tables (INSERT … SELECT over MariaDB's sequence engine): thousands of
graduates with one record each, in five departments, ten majors, four levels and six kinds of state, for the
list tests and bench/bench_lists.py. Seconds for 100,000, where the roster import and the service would take
minutes. The rows are not real people: the ID numbers behind the masks are not stored (their cipher opens with no
key), so a database shared with other work (the test suite: rotate-data-key) is cleared with `remove_cohort`."""
from __future__ import annotations

DEPARTMENTS = ("文学院", "理学院", "工学院", "医学院", "法学院")
MAJORS = ("汉语言文学", "新闻学", "数学", "物理学", "机械工程", "软件工程", "临床医学", "护理学", "法学", "社会学")

_GRADUATES = """
INSERT INTO graduates (school_id, cohort, id_hash, id_cipher, id_masked, exam_number, name, gender, birth_date,
                       origin, ethnicity, political_status, department, major, level, study_length, enrol_month,
                       graduation_month, training_mode, student_number)
SELECT %(school)s, %(cohort)s, SHA2(CONCAT('large-cohort-', %(school)s, '-', seq), 256), UNHEX('00'),
       CONCAT('110101********', LPAD(seq MOD 10000, 4, '0')), CONCAT('26', LPAD(seq, 12, '0')),
       CONCAT(ELT(1 + seq MOD 7, '张', '李', '王', '赵', '陈', '刘', '杨'),
              ELT(1 + (seq DIV 7) MOD 5, '伟', '芳', '娜', '敏', '静'), seq),
       '男', '2003-01-01', '北京市', '汉族', '共青团员',
       ELT(1 + (seq MOD 10) DIV 2, {departments}), ELT(1 + seq MOD 10, {majors}),
       ELT(1 + seq MOD 4, '专科', '本科', '硕士', '博士'), 4, '202209', CONCAT(%(cohort)s, '06'), '1',
       CONCAT('LC', seq)
FROM seq_1_to_{n}
"""

# one record a graduate: kind, initiator, state and stage by seq mod 6; three records share each update time
_RECORDS = """
INSERT INTO records (kind, graduate_id, graduate_name, school_id, cohort, department, level, initiator, state,
                     audit_stage, in_flow, data, created_at, updated_at)
SELECT ELT(1 + seq MOD 6, 'destination', 'destination', 'online', 'offline', 'paper', 'offline'),
       id, name, school_id, cohort, department, level,
       IF(seq MOD 6 = 2, 'employer', 'graduate'),
       ELT(1 + seq MOD 6, 'destination_audit', 'registered', 'signed', 'agreement_audit', 'registration_audit',
           'signing_audit'),
       ELT(1 + seq MOD 6, 'school', NULL, NULL, 'department', 'school', 'school'),
       seq MOD 6 NOT IN (1, 2),
       JSON_OBJECT('unit_name', CONCAT('示例用人单位', seq MOD 50, '有限公司')),
       TIMESTAMP '2026-06-01 08:00:00' + INTERVAL (seq DIV 3) MINUTE - INTERVAL 1 DAY,
       TIMESTAMP '2026-06-01 08:00:00' + INTERVAL (seq DIV 3) MINUTE
FROM (SELECT g.*, CAST(SUBSTRING(g.student_number, 3) AS UNSIGNED) AS seq FROM graduates g
      WHERE g.school_id=%(school)s AND g.cohort=%(cohort)s AND g.student_number LIKE 'LC%%') g
"""


def seed_cohort(execute, school_id: int, cohort: int, n: int) -> None:
    """`n` graduates of the school's cohort with a record each; `execute(sql, args)` runs one statement."""
    quoted = lambda names: ", ".join(f"'{x}'" for x in names)  # noqa: E731 (constants of this module)
    args = {"school": school_id, "cohort": cohort}
    execute(_GRADUATES.format(n=int(n), departments=quoted(DEPARTMENTS), majors=quoted(MAJORS)), args)
    execute(_RECORDS, args)


def remove_cohort(execute, school_id: int) -> None:
    """The seeded graduates of the school and every record of theirs."""
    execute("DELETE r FROM records r JOIN graduates g ON g.id=r.graduate_id"
            " WHERE g.school_id=%(school)s AND g.student_number LIKE 'LC%%'", {"school": school_id})
    execute("DELETE FROM graduates WHERE school_id=%(school)s AND student_number LIKE 'LC%%'", {"school": school_id})
