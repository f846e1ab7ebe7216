-- Warning employers (预警单位): marked by schools; shown to the school's graduates and auditors, and to everyone once 5 schools mark a unit.
-- depends: 0006.documents

CREATE TABLE employer_warnings (
  id INT AUTO_INCREMENT PRIMARY KEY,
  school_id INT NOT NULL,
  credit_code CHAR(18) NOT NULL COMMENT '统一社会信用代码 of the marked unit',
  unit_name VARCHAR(200) NOT NULL,
  category ENUM('violation','fake','discrimination','false_advertising') NOT NULL,
  note VARCHAR(500) NULL,
  created_by INT NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  UNIQUE KEY uq_warning_school_unit (school_id, credit_code),
  KEY ix_warning_unit (credit_code),
  CONSTRAINT fk_warning_school FOREIGN KEY (school_id) REFERENCES schools(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
