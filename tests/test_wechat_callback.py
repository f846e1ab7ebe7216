"""/wechat/callback: signatures, the three message modes, replays, limits, hostile XML, and every event."""
from __future__ import annotations

import time
import uuid

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto

from tests import test_wechat_support as support
from tests.test_wechat_support import event_xml, new_openid, signed_query, text_xml
from wechat.menu import CLICK_REPLIES, DEFAULT_REPLY, HELP_KEY
from wechat.service import wechat_of

start_emulator, emulator, wx_config, app = support.start_emulator, support.emulator, support.wx_config, support.app


async def push(client, config, xml: str, query: str | None = None):
    return await client.request("POST", "/wechat/callback?" + (query or signed_query(config.wechat_token)),
                                body=xml.encode(), headers={"Content-Type": "text/xml"}, xsrf=False)


def reply_of(resp) -> dict:
    return xmltodict.parse(resp.body)["xml"]


async def bind_directly(world, sql, openid: str, subscribed: int = 1) -> dict:
    school = await world.school()
    graduate = (await world.graduates(school))[0]
    sql("UPDATE users SET wechat_openid=%s, wechat_subscribed=%s WHERE graduate_id=%s",
        (openid, subscribed, graduate["id"]))
    return graduate


def subscribed_flag(sql, openid: str) -> int:
    return sql("SELECT wechat_subscribed FROM users WHERE wechat_openid=%s", (openid,))[0]["wechat_subscribed"]


# -- GET: server URL verification ---------------------------------------------------------------------

@pytest.mark.gen_test
async def test_verification_echoes_echostr_when_signed(client, wx_config):
    resp = await client().get("/wechat/callback?" + signed_query(wx_config.wechat_token, echostr="1234567890"))
    assert resp.status == 200 and resp.body == b"1234567890"


@pytest.mark.gen_test
async def test_verification_with_wrong_signature_is_refused(client, wx_config):
    resp = await client().get("/wechat/callback?" + signed_query("not-our-token", echostr="x"))
    assert resp.status == 403 and resp.error == "wechat_signature_invalid"
    assert resp.json is not None  # the JSON error, never the echostr


# -- POST in plaintext mode ---------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_subscribe_replies_welcome_with_binding_link_and_marks_bound_user(client, wx_config, app, world, sql):
    openid = new_openid()
    await bind_directly(world, sql, openid, subscribed=0)
    resp = await push(client(), wx_config, event_xml(openid, "subscribe"))
    assert resp.status == 200
    reply = reply_of(resp)
    assert reply["MsgType"] == "text" and reply["ToUserName"] == openid and reply["FromUserName"] == "gh_demo"
    assert f"{wx_config.public_base_url}/wx/oauth?next=/wx/bind" in reply["Content"]
    await wechat_of(app).drain()
    assert subscribed_flag(sql, openid) == 1


@pytest.mark.gen_test
async def test_unsubscribe_marks_the_bound_graduate_for_sms(client, wx_config, app, world, sql):
    openid = new_openid()
    await bind_directly(world, sql, openid, subscribed=1)
    resp = await push(client(), wx_config, event_xml(openid, "unsubscribe"))
    assert resp.status == 200 and resp.body == b"success"
    await wechat_of(app).drain()
    assert subscribed_flag(sql, openid) == 0


@pytest.mark.gen_test
async def test_subscribe_of_an_unbound_user_changes_no_account(client, wx_config, app, sql):
    openid = new_openid()
    resp = await push(client(), wx_config, event_xml(openid, "subscribe"))
    assert resp.status == 200 and "绑定毕业生账号" in reply_of(resp)["Content"]
    await wechat_of(app).drain()
    assert not sql("SELECT id FROM users WHERE wechat_openid=%s", (openid,))


@pytest.mark.gen_test
async def test_click_events_answer_per_key(client, wx_config):
    resp = await push(client(), wx_config, event_xml(new_openid(), "CLICK", key=HELP_KEY))
    assert reply_of(resp)["Content"] == CLICK_REPLIES[HELP_KEY]
    resp = await push(client(), wx_config, event_xml(new_openid(), "CLICK", key="NO_SUCH_KEY"))
    assert reply_of(resp)["Content"] == DEFAULT_REPLY


@pytest.mark.gen_test
async def test_unknown_text_gets_the_menu_hint(client, wx_config):
    resp = await push(client(), wx_config, text_xml(new_openid(), "你好", msg_id=int(time.time() * 1000)))
    assert reply_of(resp)["Content"] == "请点击菜单“网签/去向登记”进入平台"


@pytest.mark.gen_test
async def test_view_event_needs_no_reply(client, wx_config):
    resp = await push(client(), wx_config, event_xml(new_openid(), "VIEW", key="http://x/wx/home"))
    assert resp.status == 200 and resp.body == b"success"


@pytest.mark.gen_test
async def test_post_with_wrong_signature_is_refused(client, wx_config):
    resp = await push(client(), wx_config, event_xml(new_openid(), "subscribe"), signed_query("wrong"))
    assert resp.status == 403 and resp.error == "wechat_signature_invalid"


@pytest.mark.gen_test
async def test_old_timestamp_is_refused_even_when_signed(client, wx_config):
    query = signed_query(wx_config.wechat_token, timestamp=int(time.time()) - 301)
    resp = await push(client(), wx_config, event_xml(new_openid(), "subscribe"), query)
    assert resp.status == 403 and resp.error == "wechat_timestamp_invalid"
    query = signed_query(wx_config.wechat_token, timestamp=int(time.time()) + 400)
    resp = await push(client(), wx_config, event_xml(new_openid(), "subscribe"), query)
    assert resp.status == 403 and resp.error == "wechat_timestamp_invalid"


# -- replays: answered once -----------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_same_nonce_is_answered_once(client, wx_config, app, world, sql):
    openid = new_openid()
    await bind_directly(world, sql, openid, subscribed=0)
    query = signed_query(wx_config.wechat_token)
    first = await push(client(), wx_config, event_xml(openid, "subscribe"), query)
    assert reply_of(first)["MsgType"] == "text"
    await wechat_of(app).drain()
    sql("UPDATE users SET wechat_subscribed=0 WHERE wechat_openid=%s", (openid,))
    again = await push(client(), wx_config, event_xml(openid, "subscribe", create_time=int(time.time()) + 1), query)
    assert again.status == 200 and again.body == b"success"
    await wechat_of(app).drain()
    assert subscribed_flag(sql, openid) == 0  # not processed a second time


@pytest.mark.gen_test
async def test_same_msgid_is_answered_once(client, wx_config):
    msg_id = int(time.time() * 1000) + 7
    first = await push(client(), wx_config, text_xml(new_openid(), "一", msg_id))
    again = await push(client(), wx_config, text_xml(new_openid(), "一", msg_id))  # a new nonce
    assert reply_of(first)["Content"] == DEFAULT_REPLY
    assert again.status == 200 and again.body == b"success"


@pytest.mark.gen_test
async def test_same_sender_and_create_time_event_is_answered_once(client, wx_config, app, world, sql):
    openid = new_openid()
    await bind_directly(world, sql, openid, subscribed=1)
    created = int(time.time())
    first = await push(client(), wx_config, event_xml(openid, "unsubscribe", create_time=created))
    await wechat_of(app).drain()
    sql("UPDATE users SET wechat_subscribed=1 WHERE wechat_openid=%s", (openid,))
    again = await push(client(), wx_config, event_xml(openid, "unsubscribe", create_time=created))
    await wechat_of(app).drain()
    assert first.body == again.body == b"success"
    assert subscribed_flag(sql, openid) == 1  # the retry changed nothing


@pytest.mark.gen_test
async def test_a_replayed_nonce_does_not_mark_the_message_it_carried(client, wx_config):
    """A captured nonce resent with another message is refused, and that message still counts as new when
    WeChat itself sends it (the replay check and the message check are one Redis script: the second key is set
    only when the nonce was new)."""
    query = signed_query(wx_config.wechat_token)
    await push(client(), wx_config, text_xml(new_openid(), "一", int(time.time() * 1000) + 11), query)
    later = text_xml(new_openid(), "二", int(time.time() * 1000) + 12)
    replayed = await push(client(), wx_config, later, query)
    assert replayed.body == b"success"
    genuine = await push(client(), wx_config, later)  # a fresh nonce
    assert reply_of(genuine)["Content"] == DEFAULT_REPLY


@pytest.mark.gen_test
async def test_a_scene_subscription_is_read_with_its_scene(client, wx_config):
    xml = event_xml(new_openid(), "subscribe", key="qrscene_42")
    resp = await push(client(), wx_config, xml)
    assert reply_of(resp)["MsgType"] == "text"  # welcomed like any subscription


# -- limits and hostile XML -------------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_oversize_body_is_413(client, wx_config):
    xml = text_xml(new_openid(), "长" * 30_000, msg_id=1)
    resp = await push(client(), wx_config, xml)
    assert resp.status == 413 and resp.error == "body_too_large"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol3;</Content><MsgId>1</MsgId></xml>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?><!doctype xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>2</MsgId></xml>"""


@pytest.mark.gen_test
@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL_ENTITY, "<xml><!ENTITY a 'b'></xml>"])
async def test_doctype_and_entities_are_refused_before_parsing(client, wx_config, xml):
    resp = await push(client(), wx_config, xml)
    assert resp.status == 400 and resp.error == "wechat_xml_forbidden"
    assert b"root:" not in resp.body


@pytest.mark.gen_test
async def test_malformed_xml_is_400(client, wx_config):
    resp = await push(client(), wx_config, "<xml><MsgType>text</MsgType")
    assert resp.status == 400 and resp.error == "wechat_xml_invalid"


# -- compatible and safe (AES) modes ------------------------------------------------------------------

def crypto_of(config) -> WeChatCrypto:
    return WeChatCrypto(config.wechat_token, config.wechat_aes_key, config.wechat_app_id)


def encrypted_push(config, plain_xml: str, compatible: bool, msg_token: str | None = None,
                   url_token: str | None = None) -> tuple[str, str, str]:
    """The body and query WeChat sends; wechatpy's crypto encrypts exactly as WeChat does."""
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    signer = WeChatCrypto(msg_token or config.wechat_token, config.wechat_aes_key, config.wechat_app_id)
    envelope = xmltodict.parse(signer.encrypt_message(plain_xml, nonce, timestamp))["xml"]
    if compatible:  # the plaintext fields and the ciphertext side by side
        body = plain_xml.replace("</xml>", f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>")
    else:
        body = f"<xml><ToUserName><![CDATA[gh_demo]]></ToUserName><Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
    query = signed_query(url_token or config.wechat_token, timestamp=int(timestamp), nonce=nonce,
                         encrypt_type="aes", msg_signature=envelope["MsgSignature"])
    return body, query, nonce


@pytest.mark.gen_test
@pytest.mark.parametrize("compatible", [True, False], ids=["compatible", "safe"])
async def test_encrypted_message_is_answered_encrypted(client, wx_config, compatible):
    openid = new_openid()
    body, query, _ = encrypted_push(wx_config, event_xml(openid, "CLICK", key=HELP_KEY), compatible)
    resp = await push(client(), wx_config, body, query)
    assert resp.status == 200
    envelope = reply_of(resp)
    assert "Content" not in envelope  # nothing in clear
    plain = crypto_of(wx_config).decrypt_message(resp.body, envelope["MsgSignature"], envelope["TimeStamp"],
                                                 envelope["Nonce"])
    reply = xmltodict.parse(plain)["xml"]
    assert reply["Content"] == CLICK_REPLIES[HELP_KEY] and reply["ToUserName"] == openid


@pytest.mark.gen_test
@pytest.mark.parametrize("compatible", [True, False], ids=["compatible", "safe"])
async def test_encrypted_message_with_wrong_msg_signature_is_refused(client, wx_config, compatible):
    body, query, _ = encrypted_push(wx_config, text_xml(new_openid(), "hi", 11), compatible, msg_token="forged")
    resp = await push(client(), wx_config, body, query)
    assert resp.status == 403 and resp.error == "wechat_signature_invalid"


@pytest.mark.gen_test
async def test_encrypted_message_with_wrong_url_signature_is_refused(client, wx_config):
    body, query, _ = encrypted_push(wx_config, text_xml(new_openid(), "hi", 12), False, url_token="forged")
    resp = await push(client(), wx_config, body, query)
    assert resp.status == 403 and resp.error == "wechat_signature_invalid"


@pytest.mark.gen_test
async def test_encrypted_payload_with_entities_is_refused(client, wx_config):
    body, query, _ = encrypted_push(wx_config, EXTERNAL_ENTITY, False)
    resp = await push(client(), wx_config, body, query)
    assert resp.status == 400 and resp.error == "wechat_xml_forbidden"


@pytest.mark.gen_test
async def test_encrypted_message_for_another_appid_is_refused(client, wx_config):
    other = WeChatCrypto(wx_config.wechat_token, wx_config.wechat_aes_key, "wx_someone_else")
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    envelope = xmltodict.parse(other.encrypt_message(text_xml(new_openid(), "hi", 13), nonce, timestamp))["xml"]
    body = f"<xml><Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
    query = signed_query(wx_config.wechat_token, timestamp=int(timestamp), nonce=nonce, encrypt_type="aes",
                         msg_signature=envelope["MsgSignature"])
    resp = await push(client(), wx_config, body, query)
    assert resp.status == 403 and resp.error == "wechat_signature_invalid"
