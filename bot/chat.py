"""`python -m bot chat`: a terminal WeChat user talking to a running server.

Speaks the real signed (optionally encrypted) XML protocol. While it waits for the next
typed line it follows the sandbox outbox, so what the service pushes later (customer-service
messages such as a face check's result, templates, SMS) shows as it arrives, as text, with
links written as label and URL.
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
from collections.abc import Callable
from typing import Any

import aiohttp

from bot.config import Settings
from bot.sandbox.wechat_client import WeChatUser

HELP = "输入文字发送；/click KEY 点击菜单；/subscribe 关注；/quit 退出"
POLL_INTERVAL = 0.5  # seconds between looks at the outbox
_ANCHOR = re.compile(r'<a\s+href="([^"]*)"\s*>(.*?)</a>', re.DOTALL)


# Only references closed by ";": a URL's "&timestamp=" is text, not "&times" + "tamp="
# (html.unescape reads it as "×tamp", which HTML does not do inside an attribute).
_REFERENCE = re.compile(r"&(?:[A-Za-z]+|#[0-9]+|#[xX][0-9A-Fa-f]+);")


def _unescape(text: str) -> str:
    return _REFERENCE.sub(lambda m: html.unescape(m[0]), text)


def plain(text: str) -> str:
    """WeChat text as a terminal shows it: each link as "label：URL"."""
    return _ANCHOR.sub(lambda m: f"{_unescape(m[2])}：{_unescape(m[1])}", text)


def render(message: dict[str, Any]) -> str:
    """One outbox entry as the person it went to would read it."""
    kind, body = message["kind"], message["body"]
    if kind == "wechat.text":
        return f"[客服消息] {plain(body['text'])}"
    if kind == "wechat.template":
        lines = [f"{name}：{field['value']}" for name, field in body["data"].items()]
        if body.get("url"):
            lines.append(f"详情：{body['url']}")
        return "[模板消息]\n" + "\n".join(lines)
    if kind == "sms":
        return f"[短信 → {message['recipient']}] {body['text']}"
    return f"[{kind} → {message['recipient']}] {body}"


async def run_chat(settings: Settings, base_url: str, openid: str, *, encrypt: bool) -> int:
    wechat = settings.wechat
    encrypt = encrypt or wechat.message_mode == "safe"  # the service takes AES only then
    if encrypt and wechat.message_mode == "plain":
        print("--encrypt needs wechat.message_mode compatible or safe (with encoding_aes_key)",
              file=sys.stderr)
        return 2
    async with aiohttp.ClientSession() as http:
        user = WeChatUser(http, base_url + "/wechat", wechat.token, openid,
                          encoding_aes_key=wechat.encoding_aes_key if encrypt else "",
                          appid=wechat.sandbox_appid)
        outbox = Outbox(http, base_url, openid)
        await outbox.skip_existing()
        print(HELP, flush=True)
        follower = asyncio.create_task(outbox.follow(lambda text: print(text, flush=True)))
        try:
            return await _converse(user, base_url)
        finally:
            follower.cancel()


async def _converse(user: WeChatUser, base_url: str) -> int:
    while True:
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line or line.strip() == "/quit":
            return 0
        text = line.strip()
        if not text:
            continue
        try:
            if text.startswith("/click "):
                answer = await user.click(text.split(maxsplit=1)[1])
            elif text == "/subscribe":
                answer = await user.subscribe()
            else:
                answer = await user.send(text)
        except aiohttp.ClientError as exc:
            print(f"[cannot reach {base_url}: {exc}]", flush=True)
            continue
        print(plain(answer) if answer else "[no passive reply]", flush=True)


class Outbox:
    """New sandbox outbox entries for one recipient (and every SMS: the chat does not know
    which phone is this user's)."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, recipient: str) -> None:
        self._http = http
        self._url = base_url + "/sandbox/outbox"
        self._recipient = recipient
        self._after = 0

    async def skip_existing(self) -> None:
        await self.new_messages()

    async def follow(self, show: Callable[[str], None], interval: float = POLL_INTERVAL) -> None:
        """Show new entries as they arrive, until cancelled."""
        while True:
            for text in await self.new_messages():
                show(text)
            await asyncio.sleep(interval)

    async def new_messages(self) -> list[str]:
        try:
            async with self._http.get(self._url, params={"after": str(self._after)}) as response:
                messages = (await response.json())["messages"]
        except (aiohttp.ClientError, ValueError, KeyError):
            return []
        shown = []
        for message in messages:
            self._after = max(self._after, message["id"])
            if message["recipient"] == self._recipient or message["kind"] == "sms":
                shown.append(render(message))
        return shown
