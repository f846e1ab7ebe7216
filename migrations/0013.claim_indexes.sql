-- Claims that cost the same with any backlog (server/outbox.claim_due, notify/delivery.send_due). Both take the
-- oldest due rows: with (status, next_attempt_at) MariaDB sorted every pending row at every claim, and the
-- outbox's "earliest pending entry of the graduate" subquery walked the graduate's done entries. A notify
-- backlog of 4,000 took 4 times as long as one of 2,000; a claim among 4,000 pending entries took 34 ms, 7 ms
-- with these indexes (read in id order, the scan stops at the batch). Nothing else needed the old ones: the
-- metrics read all pending rows either way.
-- depends: 0011.list_indexes 0012.outbox_leases

ALTER TABLE outbox
  DROP KEY ix_outbox_due,
  ADD KEY ix_outbox_pending (topic, status, id, next_attempt_at),
  ADD KEY ix_outbox_graduate_pending (topic, graduate_id, status, id);

ALTER TABLE deliveries
  DROP KEY ix_delivery_due,
  ADD KEY ix_delivery_pending (status, id);
