"""Outbound WeChat API on aiohttp: one access_token per appid shared through Redis.

wechatpy's own client is blocking and caches tokens without a lock; several processes
refreshing at once invalidate each other's tokens (40001 loops). Here one holder of a Redis
lock refreshes, ahead of expiry, and everyone else reads the stored token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import aiohttp
from redis.asyncio import Redis

from bot.channels.base import Pushed, PushResult, Unreachable
from bot.channels.wechat import CHANNEL, reply_text
from bot.messages import Reply

log = logging.getLogger(__name__)

TOKEN_INVALID = {40001, 40014, 42001}
RATE_LIMITED = 45009
SYSTEM_BUSY = -1
# Customer-service messages reach a user only within 48 h of their last message (45015) and
# within the count WeChat allows after it (45047): the user is not reachable now.
OUT_OF_WINDOW = {45015, 45047}


class WeChatAPIError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"WeChat API error {code}: {message}")
        self.code = code

    @property
    def transient(self) -> bool:
        """Worth trying again later (busy or rate limited), unlike a refusal such as 45015."""
        return self.code in (SYSTEM_BUSY, RATE_LIMITED)


class WeChatAPI:
    def __init__(self, http: aiohttp.ClientSession, redis: Redis, *, appid: str, secret: str,
                 base_url: str, refresh_margin: int = 300, backoff: float = 1.0,
                 max_backoffs: int = 3) -> None:
        self._http = http
        self._redis = redis
        self._appid = appid
        self._secret = secret
        self._base = base_url.rstrip("/")
        self._margin = refresh_margin
        self._backoff = backoff
        self._max_backoffs = max_backoffs
        self._token_key = f"wechat:token:{appid}"

    async def access_token(self, *, stale: str | None = None) -> str:
        """A valid token; ``stale`` is one WeChat just rejected, to be replaced."""
        token = await self._stored_token(stale)
        if token:
            return token
        async with self._redis.lock(f"{self._token_key}:lock", timeout=15, blocking_timeout=15):
            token = await self._stored_token(stale)  # another holder may have refreshed
            if token:
                return token
            data = await self._get("/cgi-bin/token", grant_type="client_credential",
                                   appid=self._appid, secret=self._secret)
            token, lifetime = data["access_token"], int(data.get("expires_in", 7200))
            record = {"token": token, "refresh_at": time.time() + lifetime - self._margin}
            await self._redis.set(self._token_key, json.dumps(record), ex=lifetime)
            log.info("refreshed the WeChat access_token for %s", self._appid)
            return token

    async def send_text(self, openid: str, text: str) -> None:
        """A customer-service text message (within 48 h of the user's last message)."""
        await self.call("/cgi-bin/message/custom/send",
                        {"touser": openid, "msgtype": "text", "text": {"content": text}})

    async def send_template(self, openid: str, template_id: str, data: dict[str, str],
                            url: str | None = None) -> int:
        """A template message; fields are cut to WeChat's 20 characters without line breaks."""
        payload: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {k: {"value": " ".join(v.split())[:20]} for k, v in data.items()},
        }
        if url:
            payload["url"] = url
        answer = await self.call("/cgi-bin/message/template/send", payload)
        return int(answer.get("msgid", 0))

    async def create_menu(self, menu: dict[str, Any]) -> None:
        await self.call("/cgi-bin/menu/create", menu)

    async def call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST with the token; refresh once on an invalid token, back off when rate limited."""
        token = await self.access_token()
        refreshed, backoffs = False, 0
        while True:
            try:
                return await self._post(path, payload, token)
            except WeChatAPIError as exc:
                if exc.code in TOKEN_INVALID and not refreshed:
                    token, refreshed = await self.access_token(stale=token), True
                elif exc.code == RATE_LIMITED and backoffs < self._max_backoffs:
                    await asyncio.sleep(self._backoff * 2**backoffs)
                    backoffs += 1
                else:
                    raise

    async def _stored_token(self, stale: str | None) -> str | None:
        raw = await self._redis.get(self._token_key)
        if raw is None:
            return None
        record = json.loads(raw)
        if record["token"] == stale or record["refresh_at"] <= time.time():
            return None
        return record["token"]

    async def _get(self, path: str, **params: str) -> dict[str, Any]:
        async with self._http.get(self._base + path, params=params) as response:
            return _checked(await response.json(content_type=None))

    async def _post(self, path: str, payload: dict[str, Any], token: str) -> dict[str, Any]:
        body = json.dumps(payload, ensure_ascii=False).encode()
        async with self._http.post(self._base + path, params={"access_token": token},
                                   data=body,
                                   headers={"Content-Type": "application/json"}) as response:
            return _checked(await response.json(content_type=None))


def _checked(answer: dict[str, Any]) -> dict[str, Any]:
    code = int(answer.get("errcode", 0))
    if code:
        raise WeChatAPIError(code, str(answer.get("errmsg", "")))
    return answer


class WeChat:
    """The official account as a ``Channel``: a passive reply within ``reply_budget``, any
    later message as a customer-service message."""

    name = CHANNEL
    title = "微信"

    def __init__(self, api: WeChatAPI, reply_budget: float) -> None:
        self.api = api
        self.reply_budget = reply_budget

    def render_text(self, reply: Reply) -> str:
        return reply_text(reply)

    async def push(self, user_id: str, reply: Reply) -> PushResult:
        try:
            await self.api.send_text(user_id, reply_text(reply))
        except WeChatAPIError as exc:
            if exc.code not in OUT_OF_WINDOW:
                raise
            log.info("a WeChat user is not reachable now (%d)", exc.code)
            return Unreachable(f"WeChat {exc.code}")
        return Pushed()
