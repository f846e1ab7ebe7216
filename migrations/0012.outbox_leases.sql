-- Outbox claims in one statement per batch (server/outbox.claim_due): the batch's rows take the claiming
-- worker's token with their lease, and the worker reads back the rows that carry it.
-- depends: 0010.photo_readings

ALTER TABLE outbox
  ADD COLUMN lease_token CHAR(16) NULL COMMENT 'the worker batch that holds the lease',
  ADD KEY ix_outbox_lease (lease_token);
