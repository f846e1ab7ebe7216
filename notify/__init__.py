"""Notifications to graduates: WeChat template messages and SMS, delivered from the outbox (see README,
"Notifications and delivery")."""
