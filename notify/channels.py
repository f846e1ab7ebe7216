"""The outside services notifications go through, one per application: WeChat (wechat.service) and Aliyun SMS."""
from __future__ import annotations

from sms.client import AliyunSmsClient
from wechat.service import wechat_of


def sms_of(app) -> AliyunSmsClient:
    client = getattr(app, "sms", None)
    if client is None:
        client = app.sms = AliyunSmsClient.from_settings(app.config)
    return client


def wechat_api_of(app):
    return wechat_of(app).api
