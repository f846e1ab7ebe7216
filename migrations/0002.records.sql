-- Records of the four kinds (online / offline / paper / destination), their timeline and the outbox.
-- depends: 0001.foundation

CREATE TABLE records (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  kind ENUM('online','offline','paper','destination') NOT NULL,
  graduate_id INT NOT NULL,
  school_id INT NOT NULL,
  cohort SMALLINT NOT NULL,
  department VARCHAR(100) NOT NULL,
  level ENUM('专科','本科','硕士','博士') NOT NULL,
  employer_id INT NULL,
  initiator ENUM('employer','graduate') NOT NULL,
  state VARCHAR(40) NOT NULL,
  in_flow TINYINT(1) NOT NULL DEFAULT 0 COMMENT 'between submission and a final audit answer',
  active_graduate_id INT NULL COMMENT '= graduate_id while the record is active (in flow or approved): one per graduate',
  pending_invitation VARCHAR(40) NULL COMMENT 'employer:graduate while an invitation waits for an answer',
  agreement_number VARCHAR(32) NULL,
  deadline DATETIME NULL COMMENT 'invitation response deadline (应约截止时间)',
  data JSON NOT NULL COMMENT 'unit, position, destination fields',
  cancellation JSON NULL COMMENT 'the current cancellation application',
  version INT NOT NULL DEFAULT 1,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  UNIQUE KEY uq_record_active (active_graduate_id),
  UNIQUE KEY uq_record_pending_invitation (pending_invitation),
  UNIQUE KEY uq_record_agreement_number (agreement_number),
  KEY ix_record_school (school_id, cohort, kind, state),
  KEY ix_record_graduate (graduate_id),
  KEY ix_record_employer (employer_id, state),
  KEY ix_record_deadline (state, deadline),
  CONSTRAINT fk_record_graduate FOREIGN KEY (graduate_id) REFERENCES graduates(id),
  CONSTRAINT fk_record_school FOREIGN KEY (school_id) REFERENCES schools(id),
  CONSTRAINT fk_record_employer FOREIGN KEY (employer_id) REFERENCES employers(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE record_events (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  record_id BIGINT NOT NULL,
  action VARCHAR(40) NOT NULL,
  from_state VARCHAR(40) NOT NULL,
  to_state VARCHAR(40) NOT NULL,
  user_id INT NULL,
  role VARCHAR(16) NOT NULL,
  actor_name VARCHAR(100) NOT NULL,
  reason VARCHAR(100) NULL,
  explanation VARCHAR(1000) NULL,
  changes JSON NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY ix_event_record (record_id, id),
  CONSTRAINT fk_event_record FOREIGN KEY (record_id) REFERENCES records(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Everything that must happen outside (notifications, EMS sync), written in the transaction of the change.
CREATE TABLE outbox (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  topic ENUM('notify','ems_sync') NOT NULL,
  idempotency_key VARCHAR(100) NOT NULL,
  graduate_id INT NOT NULL,
  record_id BIGINT NULL,
  event_id BIGINT NULL,
  payload JSON NOT NULL,
  status ENUM('pending','done','failed') NOT NULL DEFAULT 'pending',
  attempts INT NOT NULL DEFAULT 0,
  next_attempt_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  last_error VARCHAR(500) NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  done_at DATETIME(3) NULL,
  UNIQUE KEY uq_outbox_key (idempotency_key),
  KEY ix_outbox_due (topic, status, next_attempt_at),
  KEY ix_outbox_graduate (topic, graduate_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
