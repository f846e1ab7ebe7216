-- Notifications: each 'notify' outbox entry expanded into one delivery per channel, with its outcome (the delivery log).
-- depends: 0004.wechat

CREATE TABLE deliveries (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  outbox_id BIGINT NOT NULL,
  graduate_id INT NOT NULL,
  record_id BIGINT NULL,
  event_id BIGINT NULL,
  template VARCHAR(32) NOT NULL COMMENT 'the outbox notification: invitation, audit_result, record_edited...',
  channel ENUM('wechat','sms') NOT NULL,
  idempotency_key VARCHAR(100) NOT NULL COMMENT 'record_id:event_id:channel',
  status ENUM('pending','sent','failed','skipped') NOT NULL DEFAULT 'pending',
  attempts INT NOT NULL DEFAULT 0 COMMENT 'provider calls started',
  next_attempt_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) COMMENT 'due time, or the end of a worker lease',
  lease_token CHAR(16) NULL COMMENT 'the worker batch that holds the lease',
  sending_since DATETIME(3) NULL COMMENT 'attempt started: set just before the provider call, cleared with its outcome',
  provider_id VARCHAR(64) NULL COMMENT 'WeChat msgid or Aliyun BizId',
  last_error VARCHAR(500) NULL COMMENT 'phones and openids masked',
  recipient_masked VARCHAR(40) NULL,
  content VARCHAR(1000) NOT NULL COMMENT 'the Chinese text as the graduate reads it',
  message JSON NOT NULL COMMENT 'what is sent: WeChat template id, data and link, or SMS template code and params',
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  sent_at DATETIME(3) NULL,
  UNIQUE KEY uq_delivery_key (idempotency_key),
  KEY ix_delivery_due (status, next_attempt_at),
  KEY ix_delivery_lease (lease_token),
  KEY ix_delivery_graduate (graduate_id, id),
  KEY ix_delivery_outbox (outbox_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
