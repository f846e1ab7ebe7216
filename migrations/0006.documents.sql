-- Documents: generated agreement PDFs with their public verification tokens, the employer's SMS links (用人单位协助回传), and the outbox topic that asks for a PDF.
-- depends: 0005.notifications

ALTER TABLE outbox MODIFY topic ENUM('notify','ems_sync','document') NOT NULL;

-- One PDF per approved agreement; the file lives in the file store under `storage_name`.
CREATE TABLE agreement_documents (
  record_id BIGINT PRIMARY KEY,
  agreement_number VARCHAR(32) NOT NULL,
  storage_name VARCHAR(80) NOT NULL,
  sha256 CHAR(64) NOT NULL,
  verify_token VARCHAR(64) NOT NULL COMMENT 'random, in the QR code: /verify/<token>',
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  UNIQUE KEY uq_document_verify_token (verify_token),
  CONSTRAINT fk_document_record FOREIGN KEY (record_id) REFERENCES records(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Links sent by SMS to the unit's contact so the unit can download the agreement and upload the stamped copy.
-- Only a keyed hash of the token is kept; a newer link for the record supersedes the older ones.
CREATE TABLE employer_links (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  record_id BIGINT NOT NULL,
  token_hash CHAR(64) NOT NULL,
  phone_masked VARCHAR(11) NOT NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  expires_at DATETIME NOT NULL,
  superseded_at DATETIME NULL,
  used_at DATETIME NULL COMMENT 'the stamped copy was uploaded through it: single use',
  UNIQUE KEY uq_employer_link_token (token_hash),
  KEY ix_employer_link_record (record_id, id),
  CONSTRAINT fk_employer_link_record FOREIGN KEY (record_id) REFERENCES records(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
