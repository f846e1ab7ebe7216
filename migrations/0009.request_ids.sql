-- The request that caused an outbox entry, and through it each delivery (the X-Request-ID of its log lines).
-- depends: 0008.registrations

ALTER TABLE outbox ADD COLUMN request_id VARCHAR(64) NULL COMMENT 'X-Request-ID of the request that wrote it';
ALTER TABLE deliveries ADD COLUMN request_id VARCHAR(64) NULL COMMENT 'copied from its outbox entry';
