"""/wechat/callback: what WeChat's servers push (events and messages), in plaintext, compatible or safe
(AES) mode. Signed by WeChat instead of xsrf; answered at once, slow work done after the answer."""
from __future__ import annotations

import functools
import hashlib
import hmac
import re
import time

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.events import EVENT_TYPES
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import MESSAGE_TYPES, UnknownMessage
from wechatpy.replies import TextReply

import wechat.errors  # noqa: F401  (registers the error codes)
from handlers.base import BaseHandler
from signing.errors import DomainError
from wechat.menu import CLICK_REPLIES, DEFAULT_REPLY, welcome_text
from wechat.service import wechat_of

WINDOW_SECONDS = 300  # timestamps further than this from now are refused
SEEN_TTL = 2 * WINDOW_SECONDS  # a nonce is remembered while a replay of it could still be in the window
MAX_CALLBACK_BYTES = 64 * 1024
# DOCTYPE, ENTITY, ELEMENT...: WeChat never sends them; refused before any parser sees the body.
DECLARATION = re.compile(r"<!(?!\[CDATA\[|--)")


# SET NX of the nonce, then (only if it was new: a replayed nonce must not mark a message it did not carry) of
# the message's delivery key; 1 when both were new.
FIRST_TIME = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return 0 end
return 1
"""


def message_of(fields: dict):
    """wechatpy's message or event object for fields already parsed (wechatpy.parse_message would parse the
    XML a second time); the same choice of class, for the message types an official account receives."""
    message_type = fields["MsgType"].lower()
    if message_type != "event":
        return MESSAGE_TYPES.get(message_type, UnknownMessage)(fields)
    event_type = str(fields.get("Event", "")).lower()
    event_key = fields.get("EventKey") or ""
    if event_type == "subscribe" and isinstance(event_key, str) and event_key.startswith("qrscene_"):
        event_type = "subscribe_scan"  # subscribed by scanning a QR code with a scene
        fields = {**fields, "Event": event_type, "EventKey": event_key[len("qrscene_"):]}
    return EVENT_TYPES.get(event_type, UnknownMessage)(fields)


def signature_of(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def checked_xml(raw: bytes | str) -> str:
    try:
        text = raw if isinstance(raw, str) else raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DomainError("wechat_xml_invalid") from exc
    if DECLARATION.search(text):
        raise DomainError("wechat_xml_forbidden")
    return text


async def set_subscribed(db, openid: str, subscribed: bool) -> None:
    """Only bound accounts are marked; unsubscribed graduates get their notifications by SMS."""
    async with db.transaction() as cur:
        await cur.execute("UPDATE users SET wechat_subscribed=%s WHERE wechat_openid=%s", (int(subscribed), openid))


class WeChatCallbackHandler(BaseHandler):
    async def prepare(self):
        self.current_user = None  # no session here: the caller is WeChat
        self.refuse_oversized_body()

    body_limit = MAX_CALLBACK_BYTES

    def check_xsrf_cookie(self):
        pass  # WeChat cannot send an xsrf token; every request is checked by its signature instead

    async def get(self):
        """Server URL verification: echo echostr when the signature is ours."""
        self.verify_signature()
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.finish(self.get_query_argument("echostr", ""))

    async def post(self):
        timestamp, nonce = self.verify_signature()
        text = checked_xml(self.request.body)
        encrypted = self.get_query_argument("encrypt_type", "raw") == "aes"
        if encrypted:
            text = self.decrypt(text, timestamp, nonce)
        message = self.parse(text)
        if not await self.first_time(f"nonce:{nonce}", self.delivery_key(message)):
            self.finish("success")  # a replay or WeChat's retry: answered, not processed again
            return
        reply, work = self.route(message)
        if reply is None:
            self.finish("success")
        else:
            xml = TextReply(message=message, content=reply).render()
            self.set_header("Content-Type", "application/xml; charset=UTF-8")
            self.finish(self.crypto().encrypt_message(xml, nonce, timestamp) if encrypted else xml)
        if work is not None:
            wechat_of(self.application).spawn(work())

    # -- checks --------------------------------------------------------------------------------------

    def verify_signature(self) -> tuple[str, str]:
        timestamp = self.get_query_argument("timestamp", "")
        nonce = self.get_query_argument("nonce", "")
        expected = signature_of(self.config.wechat_token, timestamp, nonce)
        if not _same(expected, self.get_query_argument("signature", "")):
            raise DomainError("wechat_signature_invalid")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > WINDOW_SECONDS:
            raise DomainError("wechat_timestamp_invalid")
        return timestamp, nonce

    def crypto(self) -> WeChatCrypto:
        c = self.config
        return WeChatCrypto(c.wechat_token, c.wechat_aes_key, c.wechat_app_id)

    def decrypt(self, text: str, timestamp: str, nonce: str) -> str:
        envelope = self.parse_xml(text)
        encrypt = envelope.get("Encrypt")
        if not isinstance(encrypt, str):
            raise DomainError("wechat_xml_invalid")
        msg_signature = self.get_query_argument("msg_signature", "")
        if not _same(signature_of(self.config.wechat_token, timestamp, nonce, encrypt), msg_signature):
            raise DomainError("wechat_signature_invalid")
        try:
            inner = self.crypto().decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce)
        except (InvalidSignatureException, InvalidAppIdException) as exc:
            raise DomainError("wechat_signature_invalid") from exc
        except Exception as exc:  # bad base64, padding or length inside a correctly signed envelope
            raise DomainError("wechat_xml_invalid") from exc
        return checked_xml(inner)

    @staticmethod
    def parse_xml(text: str) -> dict:
        try:
            root = xmltodict.parse(text, disable_entities=True).get("xml")
        except Exception as exc:  # expat errors, entity declarations
            raise DomainError("wechat_xml_invalid") from exc
        if not isinstance(root, dict):
            raise DomainError("wechat_xml_invalid")
        return root

    def parse(self, text: str):
        """One parse (entities disabled), then wechatpy's message class for the fields."""
        try:
            message = message_of(self.parse_xml(text))
            message.source, message.time, message.id  # noqa: B018  (fields convert on access: fail here)
        except DomainError:
            raise
        except Exception as exc:  # missing MsgType, non-numeric CreateTime...
            raise DomainError("wechat_xml_invalid") from exc
        return message

    async def first_time(self, nonce_key: str, delivery_key: str) -> bool:
        """True when both the nonce and the message are new within SEEN_TTL; one round trip to Redis."""
        prefix = f"wechat:{self.config.wechat_app_id}:callback:"
        return bool(await self.redis.eval(FIRST_TIME, 2, prefix + nonce_key, prefix + delivery_key, SEEN_TTL))

    @staticmethod
    def delivery_key(message) -> str:
        # Messages carry MsgId; events do not, and WeChat's advice is FromUserName + CreateTime.
        return f"msg:{message.id}" if message.id else f"event:{message.source}:{message.time}"

    # -- what to answer ------------------------------------------------------------------------------

    def route(self, message):
        """(reply text or None, background work or None)."""
        openid = message.source
        if message.type != "event":
            return DEFAULT_REPLY, None
        event = message.event
        if event in ("subscribe", "subscribe_scan"):
            return (welcome_text(self.config.public_base_url),
                    functools.partial(set_subscribed, self.db, openid, True))
        if event == "unsubscribe":
            return None, functools.partial(set_subscribed, self.db, openid, False)
        if event == "click":
            return CLICK_REPLIES.get(message.key, DEFAULT_REPLY), None
        return None, None


routes = [(r"/wechat/callback", WeChatCallbackHandler)]
