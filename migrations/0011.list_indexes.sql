-- Lists at any depth and size (signing/records_query.py): keyset pages need an index whose equality prefix is
-- the list's scope and filter and whose next columns are its sort key, so that page N costs what page 1 costs.
-- depends: 0010.photo_readings

-- The graduate's name travels with the record (as department and level already do), so that the 姓名 sort and
-- the name search walk an index of records; signing/roster_service.py keeps it in step with the roster.
ALTER TABLE records
  ADD COLUMN graduate_name VARCHAR(50) NOT NULL DEFAULT '' COMMENT 'graduates.name, for the list sort' AFTER graduate_id;

UPDATE records r JOIN graduates g ON g.id=r.graduate_id SET r.graduate_name=g.name;

-- What staff lists show: every record but a graduate's drafts (set by signing/records_service.py from
-- signing/lists.HIDDEN_FROM_STAFF). A column of its own, in every index below, so that a list's index holds all
-- its conditions and a jump's OFFSET walks the index alone, never the rows.
ALTER TABLE records
  ADD COLUMN listed TINYINT(1) NOT NULL DEFAULT 1 COMMENT '0 for drafts: staff lists leave them out' AFTER state;

UPDATE records SET listed=0 WHERE state IN ('draft','discarded');

-- scope (school, cohort) [+ department], listed [+ state] then the sort: 更新时间 (updated_at, id), 状态 (state,
-- updated_at, id), 姓名 (graduate_name, id). InnoDB appends the primary key (id) to each.
ALTER TABLE records
  ADD KEY ix_list_updated (school_id, cohort, listed, updated_at),
  ADD KEY ix_list_state_updated (school_id, cohort, listed, state, updated_at),
  ADD KEY ix_list_name (school_id, cohort, listed, graduate_name),
  ADD KEY ix_list_state_name (school_id, cohort, listed, state, graduate_name),
  ADD KEY ix_list_dept_updated (school_id, cohort, department, listed, updated_at),
  ADD KEY ix_list_dept_state_updated (school_id, cohort, department, listed, state, updated_at),
  ADD KEY ix_list_dept_name (school_id, cohort, department, listed, graduate_name),
  ADD KEY ix_list_dept_state_name (school_id, cohort, department, listed, state, graduate_name),
  -- lists over several schools (a province, the ministry): the cohort first, the schools read along the way
  ADD KEY ix_list_all_updated (cohort, listed, updated_at),
  ADD KEY ix_list_all_state_updated (cohort, listed, state, updated_at),
  ADD KEY ix_list_all_name (cohort, listed, graduate_name),
  ADD KEY ix_list_all_state_name (cohort, listed, state, graduate_name);

-- The page count of a school's or a department's list is cached in Redis under the generation of its school:
-- every change of a record (signing/records_service.py) and every roster import bumps its school's and
-- cohort's generation in the same transaction, so a cached count is never read after a write it does not
-- include.
CREATE TABLE list_generations (
  school_id INT NOT NULL,
  cohort SMALLINT NOT NULL,
  generation BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (school_id, cohort)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The 专业 select of the list: the distinct majors of a cohort (or of one department), read from the index.
ALTER TABLE graduates
  ADD KEY ix_graduate_major (school_id, cohort, major),
  ADD KEY ix_graduate_department_major (school_id, cohort, department, major);
