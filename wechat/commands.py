"""python -m server wechat-menu: publishes the official account's menu (wechat/menu.py)."""
from __future__ import annotations

import asyncio
import json

import redis.asyncio as aioredis

from server.__main__ import command
from wechat.client import WeChatApi, WeChatError
from wechat.menu import build_menu


async def publish_menu(config) -> dict:
    redis = aioredis.from_url(config.redis_url, decode_responses=True)
    try:
        return await WeChatApi(config, redis).create_menu(build_menu(config.public_base_url))
    finally:
        await redis.aclose()


@command("wechat-menu", "publish the WeChat official-account menu defined in wechat/menu.py (--dry-run prints it)")
def cmd_wechat_menu(config, args) -> int:
    menu = build_menu(config.public_base_url)
    print(json.dumps(menu, ensure_ascii=False, indent=2))
    if "--dry-run" in args.rest:
        return 0
    try:
        result = asyncio.run(publish_menu(config))
    except WeChatError as exc:
        print(f"menu refused by WeChat: errcode {exc.errcode} {exc.errmsg}")
        return 1
    print(f"menu published: {json.dumps(result, ensure_ascii=False)}")
    return 0

