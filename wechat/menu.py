"""The official account's menu and the texts it answers with, defined in one place.

View buttons open our own /wx/oauth, which sets the CSRF state cookie before sending the user to WeChat's
authorisation page; a menu URL pointing straight at open.weixin.qq.com could not carry a per-user state."""
from __future__ import annotations

ENTRY_NAME = "网签/去向登记"
HELP_KEY = "HELP"
CONTACT_KEY = "CONTACT"


def entry_url(public_base_url: str, next_path: str = "/wx/home") -> str:
    return f"{public_base_url.rstrip('/')}/wx/oauth?next={next_path}"


def build_menu(public_base_url: str) -> dict:
    return {"button": [
        {"type": "view", "name": ENTRY_NAME, "url": entry_url(public_base_url)},
        {"type": "view", "name": "账号绑定", "url": entry_url(public_base_url, "/wx/bind")},
        {"name": "帮助", "sub_button": [
            {"type": "click", "name": "使用说明", "key": HELP_KEY},
            {"type": "click", "name": "联系学校", "key": CONTACT_KEY},
        ]},
    ]}


CLICK_REPLIES = {
    HELP_KEY: (f"点击菜单“{ENTRY_NAME}”进入平台：首次使用需用身份证号或手机号及密码绑定毕业生账号，"
               "之后可查看生源信息、处理签约邀请、办理毕业去向登记与解约。签约、审核等结果会通过本公众号通知您。"),
    CONTACT_KEY: "如对生源信息、协议审核有疑问，请联系本校就业指导部门；学校的联系方式可在平台首页查看。",
}
DEFAULT_REPLY = f"请点击菜单“{ENTRY_NAME}”进入平台"


def welcome_text(public_base_url: str) -> str:
    bind = entry_url(public_base_url, "/wx/bind")
    return (f"欢迎关注毕业去向登记与网上签约平台！首次使用请先<a href=\"{bind}\">绑定毕业生账号</a>，"
            f"之后点击菜单“{ENTRY_NAME}”即可进入。")


async def publish_menu(config) -> dict:
    """Sends the menu to WeChat (the command `wechat-menu`); WeChatError when WeChat refuses it."""
    import redis.asyncio as aioredis

    from wechat.client import WeChatApi
    redis = aioredis.from_url(config.redis_url, decode_responses=True)
    try:
        return await WeChatApi(config, redis).create_menu(build_menu(config.public_base_url))
    finally:
        await redis.aclose()
