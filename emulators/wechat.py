"""A local WeChat (公众平台) speaking the documented JSON wire protocol, for the demo and the tests:
tokens, template messages, menu, JS-SDK ticket, web authorisation (OAuth2) and temporary media, plus
/_control/* endpoints to steer it and /inbox to see what each emulated user received.

    app = make_emulator_app({"wx_demo_appid": "demo_app_secret"})
    app.listen(8001, "127.0.0.1")
"""
from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from dataclasses import asdict
from urllib.parse import urlencode, urlsplit

import tornado.web

from emulators.wechat_rules import EmulatedError, check_menu, check_template_data
from emulators.wechat_state import USER_STATES, EmulatorState, Failure

OPENID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class EmulatorHandler(tornado.web.RequestHandler):
    @property
    def state(self) -> EmulatorState:
        return self.application.state

    async def prepare(self):
        path = self.request.path
        if not path.startswith(("/cgi-bin/", "/sns/")):
            return
        self.state.stats[f"calls {path}"] += 1
        failure = self.state.take_failure(path)
        if failure is None:
            return
        if failure.mode == "timeout":
            await asyncio.sleep(failure.delay)  # the client gave up meanwhile; nothing was done
            self.answer(EmulatedError(-1).body())
        elif failure.mode == "http500":
            self.set_status(500)
            self.finish("<html><body>500 Internal Server Error</body></html>")
        else:
            self.answer(EmulatedError(failure.errcode).body())

    def answer(self, data: dict) -> None:
        self.set_header("Content-Type", "application/json; encoding=utf-8")
        self.finish(json.dumps(data, ensure_ascii=False))

    def json_body(self):
        if not self.request.body:
            raise EmulatedError(44002)
        try:
            return json.loads(self.request.body)
        except ValueError as exc:
            raise EmulatedError(47001) from exc

    def token_app(self) -> str:
        return self.state.app_of_token(self.get_query_argument("access_token", None))

    def _handle_request_exception(self, e):
        if isinstance(e, EmulatedError) and not self._finished:
            self.answer(e.body())  # WeChat answers errors with HTTP 200 and an errcode
            return
        super()._handle_request_exception(e)


class TokenHandler(EmulatorHandler):
    def get(self):
        if self.get_query_argument("grant_type", "") != "client_credential":
            raise EmulatedError(40002)
        appid = self.get_query_argument("appid", "")
        self.state.check_app(appid, self.get_query_argument("secret", ""))
        self.state.stats["token_requests"] += 1
        token = self.state.basic_token(appid)
        self.answer({"access_token": token.value, "expires_in": self.state.token_ttl})


class StableTokenHandler(EmulatorHandler):
    def get(self):
        raise EmulatedError(43002)

    def post(self):
        body = self.json_body()
        if not isinstance(body, dict):
            raise EmulatedError(47001)
        if body.get("grant_type") != "client_credential":
            raise EmulatedError(40002)
        self.state.check_app(body.get("appid"), body.get("secret"))
        self.state.stats["token_requests"] += 1
        token = self.state.stable_token(body["appid"], force=body.get("force_refresh") is True)
        self.answer({"access_token": token.value, "expires_in": int(token.remaining(time.time()))})


class TemplateSendHandler(EmulatorHandler):
    def post(self):
        appid = self.token_app()
        body = self.json_body()
        if not isinstance(body, dict):
            raise EmulatedError(47001)
        openid = body.get("touser")
        user_state = self.state.users[appid].get(openid) if isinstance(openid, str) else None
        if user_state is None:
            raise EmulatedError(40003)
        if user_state == "unsubscribed":
            raise EmulatedError(43004)
        if user_state == "refused":
            raise EmulatedError(43101)
        template = self.state.templates.get(body.get("template_id"))
        if template is None:
            raise EmulatedError(40037)
        check_template_data(tuple(template["keywords"]), body.get("data"))
        client_msg_id = body.get("client_msg_id")
        if client_msg_id is not None and not (isinstance(client_msg_id, str) and 0 < len(client_msg_id) <= 64):
            raise EmulatedError(47001)
        sent = self.state.sent_with_client_msg_id(appid, openid, client_msg_id)
        if sent is not None:  # 防重入: one message per openid + client_msg_id within 10 minutes
            self.answer({"errcode": 0, "errmsg": "ok", "msgid": sent})
            return
        self.state.count_template_send(appid, body["template_id"])
        msgid = next(self.state.msgids)
        if client_msg_id is not None:
            self.state.client_msg_ids[(appid, openid, client_msg_id)] = (msgid, time.time())
        self.state.messages.append({
            "msgid": msgid, "appid": appid, "touser": openid, "template_id": body["template_id"],
            "title": template["title"], "data": body["data"], "url": body.get("url"), "sent_at": time.time()})
        self.answer({"errcode": 0, "errmsg": "ok", "msgid": msgid})


class MenuCreateHandler(EmulatorHandler):
    def post(self):
        appid = self.token_app()
        menu = self.json_body()
        check_menu(menu)
        self.state.menus[appid] = menu
        self.answer({"errcode": 0, "errmsg": "ok"})


class TicketHandler(EmulatorHandler):
    def get(self):
        appid = self.token_app()
        if self.get_query_argument("type", "") != "jsapi":
            raise EmulatedError(40097)
        ticket = self.state.jsapi_ticket(appid)
        self.answer({"errcode": 0, "errmsg": "ok", "ticket": ticket.value,
                     "expires_in": int(ticket.remaining(time.time()))})


class MediaGetHandler(EmulatorHandler):
    def get(self):
        appid = self.token_app()
        media_id = self.get_query_argument("media_id", "")
        media = self.state.get_media(appid, media_id)
        self.set_header("Content-Type", media["content_type"])
        self.set_header("Content-Disposition", f'attachment; filename="{media_id[:16]}"')
        self.finish(media["content"])


class OAuthTokenHandler(EmulatorHandler):
    def get(self):
        appid = self.get_query_argument("appid", "")
        self.state.check_app(appid, self.get_query_argument("secret", ""))
        if self.get_query_argument("grant_type", "") != "authorization_code":
            raise EmulatedError(40002)
        openid = self.state.redeem_code(appid, self.get_query_argument("code", ""))
        self.answer({"access_token": "sns_" + openid[-8:] + str(int(time.time())), "expires_in": 7200,
                     "refresh_token": "sns_refresh_" + openid[-8:], "openid": openid, "scope": "snsapi_base"})


class AuthorizeHandler(EmulatorHandler):
    """The page WeChat shows (or skips, for snsapi_base) before sending the user back with a code."""

    def get(self):
        args = {k: self.get_query_argument(k, "") for k in ("appid", "redirect_uri", "scope", "state")}
        problem = self._problem(args)
        users = sorted(self.state.users.get(args["appid"], {}).items())
        self.render("emulators/wechat_authorize.html", args=args, problem=problem, users=users)

    def post(self):
        args = {k: self.get_body_argument(k, "") for k in ("appid", "redirect_uri", "scope", "state")}
        openid = self.get_body_argument("openid", "").strip() or "o" + secrets.token_urlsafe(20)[:27]
        problem = self._problem(args) or (None if OPENID_RE.match(openid) else "openid 格式不正确")
        if problem:
            self.set_status(400)
            self.render("emulators/wechat_authorize.html", args=args, problem=problem, users=[])
            return
        self.state.users[args["appid"]].setdefault(openid, "subscribed")
        code = self.state.issue_code(args["appid"], openid)
        sep = "&" if "?" in args["redirect_uri"] else "?"
        self.redirect(args["redirect_uri"] + sep + urlencode({"code": code, "state": args["state"]}))

    def _problem(self, args) -> str | None:
        if args["appid"] not in self.state.apps:
            return "appid 无效（10012）"
        if urlsplit(args["redirect_uri"]).scheme not in ("http", "https"):
            return "redirect_uri 参数错误（10011）"
        if args["scope"] not in ("snsapi_base", "snsapi_userinfo"):
            return "scope 参数错误或没有 scope 权限（10005）"
        return None



class InboxHandler(EmulatorHandler):
    def get(self):
        chosen = self.get_query_argument("openid", "")
        users = [(appid, openid, state) for appid, by_openid in self.state.users.items()
                 for openid, state in sorted(by_openid.items())]
        messages = [m for m in reversed(self.state.messages) if not chosen or m["touser"] == chosen]
        self.render("emulators/wechat_inbox.html", users=users, chosen=chosen, messages=messages,
                    templates=self.state.templates, time=time)


# -- /_control: steering the emulator from tests and the demo ------------------------------------

class ControlHandler(EmulatorHandler):
    def body(self) -> dict:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise tornado.web.HTTPError(400, "JSON object expected")
        return data


class FailControl(ControlHandler):
    def post(self):
        body = self.body()
        failure = Failure(errcode=body.get("errcode"), mode=body.get("mode"), times=int(body.get("times", 1)),
                          delay=float(body.get("delay", 6.0)))
        if failure.mode not in (None, "timeout", "http500") or (failure.mode is None and not failure.errcode):
            raise tornado.web.HTTPError(400, "errcode or mode (timeout, http500) expected")
        self.state.failures[body["path"]] = failure
        self.answer({"ok": True, "failure": asdict(failure)})


class ResetControl(ControlHandler):
    def post(self):
        self.state.reset()
        self.answer({"ok": True})


class UsersControl(ControlHandler):
    def get(self):
        self.answer({"users": self.state.users})

    def post(self):
        """{"openid": "...", "state": "subscribed" | "unsubscribed" | "refused", "appid": optional}"""
        body = self.body()
        openid, state = body.get("openid", ""), body.get("state", "subscribed")
        if not OPENID_RE.match(openid) or state not in USER_STATES:
            raise tornado.web.HTTPError(400, "openid and state expected")
        self.state.set_user(body.get("appid") or self.state.default_app(), openid, state)
        self.answer({"ok": True})


class MediaControl(ControlHandler):
    def post(self):
        """The raw body is the file; its Content-Type is kept. Answers the media_id."""
        appid = self.get_query_argument("appid", "") or self.state.default_app()
        content_type = self.request.headers.get("Content-Type", "image/jpeg")
        media_id = self.state.add_media(appid, self.request.body, content_type)
        self.answer({"type": "image", "media_id": media_id, "created_at": int(time.time())})


class ExpireTokensControl(ControlHandler):
    def post(self):
        """{"as": "invalid"} (default: answers 40001) or {"as": "expired"} (answers 42001)."""
        count = self.state.expire_tokens(self.body().get("as", "invalid"))
        self.answer({"ok": True, "tokens": count})


class MessagesControl(ControlHandler):
    def get(self):
        touser = self.get_query_argument("touser", "")
        self.answer({"messages": [m for m in self.state.messages if not touser or m["touser"] == touser]})


class StatsControl(ControlHandler):
    def get(self):
        stats = self.state.stats
        self.answer({"token_issues": stats["token_issues"], "token_requests": stats["token_requests"],
                     "ticket_issues": stats["ticket_issues"],
                     "calls": {k[6:]: v for k, v in stats.items() if k.startswith("calls ")},
                     "menus": self.state.menus})


def make_emulator_app(apps: dict[str, str], token_ttl: int = 7200, templates: dict | None = None,
                      daily_quota: int = 100_000) -> tornado.web.Application:
    """apps: appid -> secret. templates: template_id -> {"title", "keywords": {name: label}}
    (default: emulators.wechat_state.DEMO_TEMPLATES). daily_quota: sends per template per day."""
    from server.app import ROOT

    app = tornado.web.Application([
        (r"/cgi-bin/token", TokenHandler),
        (r"/cgi-bin/stable_token", StableTokenHandler),
        (r"/cgi-bin/message/template/send", TemplateSendHandler),
        (r"/cgi-bin/menu/create", MenuCreateHandler),
        (r"/cgi-bin/ticket/getticket", TicketHandler),
        (r"/cgi-bin/media/get", MediaGetHandler),
        (r"/sns/oauth2/access_token", OAuthTokenHandler),
        (r"/connect/oauth2/authorize", AuthorizeHandler),
        (r"/inbox", InboxHandler),
        (r"/_control/fail", FailControl),
        (r"/_control/reset", ResetControl),
        (r"/_control/users", UsersControl),
        (r"/_control/media", MediaControl),
        (r"/_control/expire_tokens", ExpireTokensControl),
        (r"/_control/messages", MessagesControl),
        (r"/_control/stats", StatsControl),
    ], template_path=str(ROOT / "templates"), static_path=str(ROOT / "templates" / "static"),
        autoescape="xhtml_escape")
    kwargs = {"templates": dict(templates)} if templates is not None else {}
    app.state = EmulatorState(dict(apps), token_ttl=token_ttl, daily_quota=daily_quota, **kwargs)
    return app

