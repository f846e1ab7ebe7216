-- What was read from an agreement photo (QR codes, text) and whether it matched the agreement (documents/recognition.py).
-- depends: 0008.registrations

ALTER TABLE uploads
  ADD COLUMN reading_status ENUM('matched','differences','to_check') NULL
    COMMENT 'NULL: not an agreement photo; matched; differences (paper registrations: shown to the auditor); to_check (not read in time, or no agreement given)' AFTER bytes,
  ADD COLUMN reading JSON NULL COMMENT '{record_id, qr, lines, number, checks, ...} as read when uploaded' AFTER reading_status;
