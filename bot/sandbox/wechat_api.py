"""A fake of the WeChat API (api.weixin.qq.com) for the endpoints we call.

Issues access tokens, checks them on every call and records customer-service and template
messages in the outbox. ``revoke_tokens`` and ``rate_limit`` let tests and operators
rehearse WeChat's 40001, 45009 and 45015 answers.
"""

from __future__ import annotations

import json
import secrets
import time

from aiohttp import web

from models.outbox import OutboxMessage

TOKEN_LIFETIME = 7200


class FakeWeChatAPI:
    def __init__(self, appid: str, secret: str) -> None:
        self.appid = appid
        self.secret = secret
        self.tokens: dict[str, float] = {}
        self.tokens_issued = 0
        self.menu: dict | None = None
        self._scripted_errors: list[tuple[int, str]] = []

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/sandbox/wechat/cgi-bin/token", self.token),
            web.post("/sandbox/wechat/cgi-bin/message/custom/send", self.custom_send),
            web.post("/sandbox/wechat/cgi-bin/message/template/send", self.template_send),
            web.post("/sandbox/wechat/cgi-bin/menu/create", self.menu_create),
        ]

    def revoke_tokens(self) -> None:
        """As when another client fetched a new token: every issued token gets 40001."""
        self.tokens.clear()

    def rate_limit(self, calls: int) -> None:
        """Answer the next ``calls`` calls with 45009."""
        self._scripted_errors = [(45009, "reach max api daily quota limit")] * calls

    def out_of_window(self, calls: int) -> None:
        """Answer the next ``calls`` calls with 45015: the user last wrote over 48 h ago."""
        self._scripted_errors = [(45015, "response out of time limit")] * calls

    def busy(self, calls: int) -> None:
        """Answer the next ``calls`` calls with -1, WeChat's "system busy, try later"."""
        self._scripted_errors = [(-1, "system error")] * calls

    async def token(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("appid") != self.appid or query.get("secret") != self.secret:
            return _error(40013, "invalid appid or secret")
        token = secrets.token_urlsafe(24)
        self.tokens[token] = time.time() + TOKEN_LIFETIME
        self.tokens_issued += 1
        return web.json_response({"access_token": token, "expires_in": TOKEN_LIFETIME})

    async def custom_send(self, request: web.Request) -> web.Response:
        return await self._record(request, "wechat.text",
                                  lambda body: {"text": body["text"]["content"]})

    async def template_send(self, request: web.Request) -> web.Response:
        return await self._record(
            request, "wechat.template",
            lambda body: {"template_id": body["template_id"], "data": body["data"],
                          "url": body.get("url")})

    async def menu_create(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused:
            return refused
        self.menu = json.loads(await request.read())
        return _error(0, "ok")

    async def _record(self, request: web.Request, kind: str, extract) -> web.Response:
        refused = self._refusal(request)
        if refused:
            return refused
        try:
            body = json.loads(await request.read())
            recipient, content = body["touser"], extract(body)
        except (ValueError, KeyError, TypeError):
            return _error(44002, "invalid post data")
        message = await OutboxMessage.create(kind=kind, recipient=recipient, body=content)
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": message.id})

    def _refusal(self, request: web.Request) -> web.Response | None:
        if self._scripted_errors:
            return _error(*self._scripted_errors.pop())
        expires = self.tokens.get(request.query.get("access_token", ""))
        if expires is None:
            return _error(40001, "invalid credential, access_token is invalid or not latest")
        if expires < time.time():
            return _error(42001, "access_token expired")
        return None


def _error(code: int, message: str) -> web.Response:
    return web.json_response({"errcode": code, "errmsg": message})
