"""The enterprise credit service (国家企业信用信息公示系统): the registration status of a unit, shown to
auditors. It may be slow or down; then the auditor reads "check manually", never an error. Answers are
cached in Redis for an hour."""
from __future__ import annotations

import json
import logging
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

log = logging.getLogger("wangqian.credit")
CACHE_SECONDS = 3600
NORMAL_STATUSES = ("存续", "在业", "开业")
UNAVAILABLE = {"available": False, "text": "暂时无法获取最新状态，请稍后刷新页面再次尝试，或手动查询该单位状态"}


async def registration_status(redis, url: str, credit_code: str | None, timeout: float = 2.0) -> dict | None:
    if not credit_code:
        return None
    key = f"credit:status:{credit_code}"
    cached = await redis.get(key)
    if cached:
        return json.loads(cached)
    try:
        resp = await AsyncHTTPClient().fetch(f"{url.rstrip('/')}/{quote(credit_code)}", connect_timeout=timeout,
                                             request_timeout=timeout)
        answer = json.loads(resp.body)
        status = str(answer["status"])
    except HTTPClientError as exc:
        if exc.code == 404:
            result = {"available": True, "status": "未查询到", "normal": False,
                      "text": "国家企业信用信息公示系统中未查询到该统一社会信用代码，请核实单位信息"}
            await redis.set(key, json.dumps(result, ensure_ascii=False), ex=CACHE_SECONDS)
            return result
        log.warning("credit service answered %s for a unit", exc.code)
        return UNAVAILABLE
    except (OSError, ValueError, KeyError, TimeoutError) as exc:
        log.warning("credit service unreachable: %s", type(exc).__name__)
        return UNAVAILABLE
    normal = status in NORMAL_STATUSES
    result = {"available": True, "status": status, "normal": normal,
              "text": f"登记状态：{status}" + ("" if normal else "（非存续状态，请谨慎审核）")}
    await redis.set(key, json.dumps(result, ensure_ascii=False), ex=CACHE_SECONDS)
    return result
