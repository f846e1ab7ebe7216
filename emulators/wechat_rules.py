"""What the WeChat emulator checks, as WeChat documents it: errcodes and messages, template keyword values
(the category-template rules of 2023) and menu buttons."""
from __future__ import annotations

import re
import secrets

ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40007: "invalid media_id",
    40013: "invalid appid",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40023: "invalid sub button size",
    40024: "invalid sub button type",
    40025: "invalid sub button name size",
    40026: "invalid sub button key size",
    40027: "invalid sub button url size",
    40029: "invalid code",
    40037: "invalid template_id",
    40054: "invalid sub button url domain",
    40055: "invalid button url domain",
    40097: "invalid args",
    40125: "invalid appsecret",
    40163: "code been used",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41008: "missing code",
    42001: "access_token expired",
    43002: "require POST method",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    44002: "empty post data",
    45009: "reach max api daily quota limit",
    47001: "data format error",
    47003: "argument invalid!",
}


class EmulatedError(Exception):
    def __init__(self, errcode: int, detail: str = ""):
        super().__init__(errcode)
        self.errcode = errcode
        self.errmsg = ERRMSG.get(errcode, "error") + (f" {detail}" if detail else "")

    def body(self) -> dict:
        rid = "-".join(secrets.token_hex(4) for _ in range(3))  # WeChat appends a request id
        return {"errcode": self.errcode, "errmsg": f"{self.errmsg} rid: {rid}"}


_HAN = r"\u4e00-\u9fff"
# keyword type -> rule for its value (category templates, e.g. thing1, time2; WeChat refuses with 47003)
VALUE_RULES = {
    "thing": lambda v: len(v) <= 20,
    "number": lambda v: len(v) <= 32 and re.fullmatch(r"\d+(\.\d+)?", v),
    "letter": lambda v: re.fullmatch(r"[A-Za-z]{1,32}", v),
    "symbol": lambda v: len(v) <= 5 and not re.search(rf"[0-9A-Za-z{_HAN}]", v),
    "character_string": lambda v: re.fullmatch(r"[\x20-\x7e]{1,32}", v),
    "time": lambda v: len(v) <= 40 and re.fullmatch(r"[0-9年月日时分秒:：\-/ ~.]+", v) and re.search(r"\d", v),
    "date": lambda v: len(v) <= 40 and re.fullmatch(r"[0-9年月日时分秒:：\-/ ~.]+", v) and re.search(r"\d", v),
    "amount": lambda v: re.fullmatch(r"[¥￥$€]?\d{1,10}(\.\d{1,2})?元?", v),
    "phone_number": lambda v: re.fullmatch(r"[0-9+\-() ]{1,17}", v),
    "car_number": lambda v: len(v) <= 8,
    "name": lambda v: re.fullmatch(rf"[{_HAN}·]{{1,10}}", v) or re.fullmatch(r"[A-Za-z .·\-]{1,20}", v),
    "phrase": lambda v: re.fullmatch(rf"[{_HAN}]{{1,5}}", v),
}
IGNORED_KEYS = ("first", "remark")  # no longer shown since the 2023 rules; accepted and dropped


def check_template_data(keywords: tuple[str, ...], data) -> None:
    """Raises EmulatedError(47001/47003) the way WeChat answers message/template/send."""
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise EmulatedError(47001)
    for key in keywords:
        value = data.get(key, {}).get("value")
        if not isinstance(value, str) or not value.strip():
            raise EmulatedError(47003, f"data.{key}.value is empty")
        kind = re.sub(r"\d+$", "", key)
        if kind == "keyword":  # historical templates fold long values instead of refusing them
            continue
        rule = VALUE_RULES.get(kind)
        if rule is None or "\n" in value or "\r" in value or not rule(value):  # const and unknown types too
            raise EmulatedError(47003, f"data.{key}.value invalid")


BUTTON_TYPES = {"click", "view", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album",
                "pic_weixin", "location_select", "media_id", "article_id", "article_view_limited", "miniprogram"}


def _name_bytes(name) -> int:
    # WeChat counts a Chinese character as two bytes here (4 characters on a top button, 8 in submenus).
    return len(name.encode("gbk", errors="replace")) if isinstance(name, str) else 10_000


def _check_action(button: dict, sub: bool) -> None:
    kind = button.get("type")
    if kind not in BUTTON_TYPES:
        raise EmulatedError(40024 if sub else 40017)
    if kind == "click" or kind.startswith(("scancode", "pic_", "location")):
        key = button.get("key")
        if not isinstance(key, str) or not 0 < len(key.encode()) <= 128:
            raise EmulatedError(40026 if sub else 40019)
    if kind in ("view", "miniprogram"):
        url = button.get("url")
        if not isinstance(url, str) or len(url.encode()) > 1024:
            raise EmulatedError(40027 if sub else 40055)
        if not re.match(r"https?://[^/\s]+", url):
            raise EmulatedError(40054 if sub else 40055)


def check_menu(menu) -> None:
    buttons = menu.get("button") if isinstance(menu, dict) else None
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise EmulatedError(40016)
    for button in buttons:
        if not isinstance(button, dict) or not 0 < _name_bytes(button.get("name")) <= 16:
            raise EmulatedError(40018)
        subs = button.get("sub_button")
        if not subs:
            _check_action(button, sub=False)
            continue
        if not isinstance(subs, list) or len(subs) > 5:
            raise EmulatedError(40023)
        for sub in subs:
            if not isinstance(sub, dict) or not 0 < _name_bytes(sub.get("name")) <= 60:
                raise EmulatedError(40025)
            _check_action(sub, sub=True)
