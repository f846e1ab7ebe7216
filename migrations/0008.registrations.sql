-- Archive and hukou registration (档案 / 户口信息登记, SPEC 6): one registration per graduate and module.
-- depends: 0007.warnings

CREATE TABLE registrations (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  module ENUM('archive','hukou') NOT NULL,
  graduate_id INT NOT NULL,
  school_id INT NOT NULL,
  cohort SMALLINT NOT NULL,
  department VARCHAR(100) NOT NULL,
  level ENUM('专科','本科','硕士','博士') NOT NULL,
  status ENUM('draft','submitted','approved','returned') NOT NULL,
  data JSON NOT NULL,
  reason VARCHAR(500) NULL COMMENT 'why it was returned',
  reviewed_by INT NULL,
  reviewed_at DATETIME NULL,
  version INT NOT NULL DEFAULT 1,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  UNIQUE KEY uq_registration (graduate_id, module),
  KEY ix_registration_school (school_id, module, status),
  CONSTRAINT fk_registration_graduate FOREIGN KEY (graduate_id) REFERENCES graduates(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
