"""wx.config data for the H5 pages (JS-SDK: chooseImage, uploadImage...), signed with the jsapi_ticket
that every process shares through Redis."""
from __future__ import annotations

import hashlib
import secrets
import time
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field

import wechat.errors  # noqa: F401  (registers the error codes)
from handlers.base import BaseHandler, api, authorize
from handlers.models import Query
from signing.errors import DomainError
from wechat.client import WeChatError
from wechat.service import wechat_of

JS_API_LIST = ["chooseImage", "previewImage", "uploadImage", "downloadImage", "closeWindow",
               "hideMenuItems", "updateAppMessageShareData"]


def jsapi_signature(ticket: str, noncestr: str, timestamp: int | str, url: str) -> str:
    """WeChat's rule: sha1 of the four fields sorted by name, as key=value joined with &, values raw."""
    raw = f"jsapi_ticket={ticket}&noncestr={noncestr}&timestamp={timestamp}&url={url}"
    return hashlib.sha1(raw.encode()).hexdigest()


def page_url_for_signing(url: str, public_base_url: str) -> str:
    """The page's URL without its #fragment; only pages of our own site (PUBLIC_BASE_URL's origin)."""
    page, ours = urlsplit(url.strip()), urlsplit(public_base_url)
    if page.scheme not in ("http", "https") or (page.scheme, page.netloc.lower()) != (ours.scheme, ours.netloc.lower()):
        raise DomainError("wechat_jssdk_url_foreign")
    return urlunsplit((page.scheme, page.netloc, page.path, page.query, ""))


class JsSdkQuery(Query):
    url: str = Field(min_length=8, max_length=1024, description="当前页面完整URL（#及其后部分不参与签名）")


class JsSdkConfigHandler(BaseHandler):
    @authorize("account.self")
    @api("wx.config data (appId, timestamp, nonceStr, signature, jsApiList) for a page of this site",
         query=JsSdkQuery, tag="wechat", responses={"503": "WeChat unavailable"})
    async def get(self):
        url = page_url_for_signing(self.query_args(JsSdkQuery).url, self.config.public_base_url)
        try:
            ticket = await wechat_of(self.application).api.get_jsapi_ticket()
        except WeChatError as exc:
            raise DomainError("wechat_unavailable") from exc
        nonce, timestamp = secrets.token_urlsafe(12), int(time.time())
        self.write_json({"appId": self.config.wechat_app_id, "timestamp": timestamp, "nonceStr": nonce,
                         "signature": jsapi_signature(ticket, nonce, timestamp, url), "jsApiList": JS_API_LIST})


routes = [(r"/api/wechat/jssdk-config", JsSdkConfigHandler)]
