-- WeChat: the official-account openid bound to a graduate's account, and whether they still follow the account.
-- depends: 0002.records

ALTER TABLE users
  ADD COLUMN wechat_openid VARCHAR(64) NULL COMMENT 'openid in our official account; one per account and one account per openid',
  ADD COLUMN wechat_subscribed TINYINT(1) NOT NULL DEFAULT 0 COMMENT '1 while following the account; 0 after unsubscribe (notifications fall back to SMS)',
  ADD COLUMN wechat_bound_at DATETIME NULL,
  ADD UNIQUE KEY uq_user_wechat_openid (wechat_openid);
