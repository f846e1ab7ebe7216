-- Foundation: provinces, schools, employers, accounts, roster, settings, operation log.
-- depends:

CREATE TABLE provinces (
  code CHAR(2) PRIMARY KEY,
  name VARCHAR(32) NOT NULL,
  agreement_type ENUM('two_party','three_party') NULL COMMENT '两方(鉴证) / 三方(审核)',
  module_employment TINYINT(1) NOT NULL DEFAULT 0 COMMENT '毕业去向登记与网签',
  module_archive TINYINT(1) NOT NULL DEFAULT 0 COMMENT '档案信息登记',
  module_hukou TINYINT(1) NOT NULL DEFAULT 0 COMMENT '户口信息登记',
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE schools (
  id INT AUTO_INCREMENT PRIMARY KEY,
  code VARCHAR(10) NOT NULL UNIQUE COMMENT '院校代码',
  name VARCHAR(100) NOT NULL,
  province_code CHAR(2) NOT NULL,
  phone VARCHAR(32) NULL,
  address VARCHAR(200) NULL,
  postcode CHAR(6) NULL,
  CONSTRAINT fk_school_province FOREIGN KEY (province_code) REFERENCES provinces(code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE employers (
  id INT AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(200) NOT NULL,
  credit_code CHAR(18) NOT NULL UNIQUE COMMENT '统一社会信用代码',
  certification ENUM('pending','certified','refused') NOT NULL DEFAULT 'pending',
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE graduates (
  id INT AUTO_INCREMENT PRIMARY KEY,
  school_id INT NOT NULL,
  cohort SMALLINT NOT NULL COMMENT '届',
  id_hash CHAR(64) NOT NULL COMMENT 'HMAC-SHA256 of the ID number (lookup without clear text)',
  id_cipher VARBINARY(255) NOT NULL COMMENT 'Fernet-encrypted ID number',
  id_masked VARCHAR(18) NOT NULL,
  exam_number VARCHAR(20) NOT NULL COMMENT '考生号',
  name VARCHAR(50) NOT NULL,
  gender VARCHAR(4) NOT NULL,
  birth_date DATE NOT NULL,
  origin VARCHAR(100) NOT NULL COMMENT '生源地',
  ethnicity VARCHAR(20) NOT NULL,
  political_status VARCHAR(20) NOT NULL,
  department VARCHAR(100) NOT NULL COMMENT '院系',
  major VARCHAR(100) NOT NULL,
  level ENUM('专科','本科','硕士','博士') NOT NULL,
  study_length TINYINT NOT NULL,
  enrol_month CHAR(6) NOT NULL,
  graduation_month CHAR(6) NOT NULL,
  training_mode VARCHAR(2) NOT NULL COMMENT '培养方式代码',
  student_number VARCHAR(30) NOT NULL,
  phone_cipher VARBINARY(255) NULL,
  phone_masked VARCHAR(11) NULL,
  email VARCHAR(100) NULL,
  status ENUM('valid','invalid') NOT NULL DEFAULT 'valid' COMMENT 'invalid = 失效 (removed from the EMS roster)',
  invalidated_at DATETIME NULL,
  confirmed_at DATETIME NULL COMMENT 'graduate confirmed the roster data',
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  UNIQUE KEY uq_graduate_id_cohort (id_hash, cohort),
  KEY ix_graduate_school (school_id, cohort, department),
  KEY ix_graduate_name (school_id, name),
  CONSTRAINT fk_graduate_school FOREIGN KEY (school_id) REFERENCES schools(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE users (
  id INT AUTO_INCREMENT PRIMARY KEY,
  username VARCHAR(64) NOT NULL UNIQUE,
  password_hash VARCHAR(255) NULL,
  role ENUM('ministry','province','school','department','employer','graduate') NOT NULL,
  display_name VARCHAR(100) NOT NULL,
  province_code CHAR(2) NULL,
  school_id INT NULL,
  department VARCHAR(100) NULL COMMENT 'department accounts: one department name of their school',
  level_scope ENUM('all','undergraduate','postgraduate') NOT NULL DEFAULT 'all' COMMENT 'school accounts: 全部 / 本专科 / 研究生',
  employer_id INT NULL,
  graduate_id INT NULL UNIQUE,
  phone_hash CHAR(64) NULL UNIQUE COMMENT 'graduates log in by phone too',
  phone_cipher VARBINARY(255) NULL,
  phone_masked VARCHAR(11) NULL,
  email VARCHAR(100) NULL,
  is_active TINYINT(1) NOT NULL DEFAULT 1,
  session_version INT NOT NULL DEFAULT 1,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT fk_user_province FOREIGN KEY (province_code) REFERENCES provinces(code),
  CONSTRAINT fk_user_school FOREIGN KEY (school_id) REFERENCES schools(id),
  CONSTRAINT fk_user_employer FOREIGN KEY (employer_id) REFERENCES employers(id),
  CONSTRAINT fk_user_graduate FOREIGN KEY (graduate_id) REFERENCES graduates(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE user_permissions (
  user_id INT NOT NULL,
  module ENUM('employment','archive','hukou') NOT NULL,
  level ENUM('read_write','read_only','none') NOT NULL,
  PRIMARY KEY (user_id, module),
  CONSTRAINT fk_perm_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE school_settings (
  school_id INT NOT NULL,
  cohort SMALLINT NOT NULL,
  online_signing TINYINT(1) NOT NULL DEFAULT 0 COMMENT '在线签约开关 (turns on 补登 and 去向登记 too)',
  audit_mode ENUM('school','department_then_school') NOT NULL DEFAULT 'school',
  max_cancellations TINYINT UNSIGNED NOT NULL DEFAULT 3 COMMENT '学生可提交解约申请次数 0-99',
  handler_mode ENUM('unified','per_level') NULL COMMENT '协议经办人: 全校统一 / 分别设置本专、研究生',
  first_action_at DATETIME NULL COMMENT 'first act by a graduate or employer: online signing can no longer be switched off',
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (school_id, cohort),
  CONSTRAINT fk_settings_school FOREIGN KEY (school_id) REFERENCES schools(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE agreement_handlers (
  school_id INT NOT NULL,
  cohort SMALLINT NOT NULL,
  level_group ENUM('all','undergraduate','postgraduate') NOT NULL COMMENT '全部 / 本专科 / 研究生',
  name VARCHAR(50) NOT NULL,
  phone VARCHAR(20) NOT NULL,
  address VARCHAR(200) NOT NULL,
  postcode CHAR(6) NOT NULL,
  created_by INT NULL COMMENT 'NULL when set by the system (demo, import scripts)',
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (school_id, cohort, level_group),
  CONSTRAINT fk_handler_school FOREIGN KEY (school_id) REFERENCES schools(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE roster_imports (
  id INT AUTO_INCREMENT PRIMARY KEY,
  school_id INT NOT NULL,
  cohort SMALLINT NOT NULL,
  filename VARCHAR(255) NOT NULL,
  row_count INT NOT NULL,
  added INT NOT NULL,
  updated INT NOT NULL,
  invalidated INT NOT NULL,
  restored INT NOT NULL,
  user_id INT NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT fk_import_school FOREIGN KEY (school_id) REFERENCES schools(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE operation_log (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  user_id INT NULL COMMENT 'NULL for the system (imports from the command line, background jobs)',
  role VARCHAR(16) NOT NULL,
  actor_name VARCHAR(100) NOT NULL,
  action VARCHAR(64) NOT NULL,
  target_type VARCHAR(32) NOT NULL,
  target_id VARCHAR(64) NOT NULL,
  province_code CHAR(2) NULL,
  school_id INT NULL,
  summary VARCHAR(500) NOT NULL COMMENT 'personal data masked',
  ip VARCHAR(45) NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY ix_oplog_school (school_id, created_at),
  KEY ix_oplog_province (province_code, created_at),
  KEY ix_oplog_target (target_type, target_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
