"""`python -m bot chat`: a terminal WeChat or Alipay user talking to a running server.

WeChat: the real signed (optionally encrypted) XML protocol, passive replies printed. Alipay
(``--channel alipay``): the life account's signed forms (GBK unless ``--charset UTF-8``),
each acknowledged at once, every reply pushed. While it waits for the next typed line it
follows the sandbox outbox, so what the service pushes (customer-service and life-account
messages such as a face check's result, templates, SMS) shows as it arrives, as text, with
links written as label and URL.
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.config import Settings
from bot.sandbox.alipay_life_client import AckError, AlipayLifeUser, as_text
from bot.sandbox.wechat_client import WeChatUser

HELP = "输入文字发送；/click KEY 点击菜单；/subscribe 关注；/quit 退出"
POLL_INTERVAL = 0.5  # seconds between looks at the outbox
# When piped input ends: keep showing pushes until none came for this long (at most SETTLE_MAX).
SETTLE_QUIET, SETTLE_MAX = 3 * POLL_INTERVAL, 15.0
_ANCHOR = re.compile(r'<a\s+href="([^"]*)"\s*>(.*?)</a>', re.DOTALL)


# Only references closed by ";": a URL's "&timestamp=" is text, not "&times" + "tamp="
# (html.unescape reads it as "×tamp", which HTML does not do inside an attribute).
_REFERENCE = re.compile(r"&(?:[A-Za-z]+|#[0-9]+|#[xX][0-9A-Fa-f]+);")


def _unescape(text: str) -> str:
    return _REFERENCE.sub(lambda m: html.unescape(m[0]), text)


def plain(text: str) -> str:
    """WeChat text as a terminal shows it: each link as "label：URL"."""
    return _ANCHOR.sub(lambda m: f"{_unescape(m[2])}：{_unescape(m[1])}", text)


ALIPAY_LABELS = {"alipay.text": "[生活号消息] ", "alipay.image_text": "[图文消息]\n",
                 "alipay.template": "[模板消息]\n"}


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
    if kind in ALIPAY_LABELS:
        return f"{ALIPAY_LABELS[kind]}{plain(as_text(kind, body))}"
    return f"[{kind} → {message['recipient']}] {body}"


@dataclass
class Speaker:
    """What the typed commands do in one channel; each returns the passive reply, if any."""

    send: Callable[[str], Awaitable[str]]
    click: Callable[[str], Awaitable[str]]
    subscribe: Callable[[], Awaitable[str]]
    passive: bool  # False: replies are only ever pushed, so none is waited for here


def wechat_speaker(settings: Settings, http: aiohttp.ClientSession, base_url: str,
                   openid: str, encrypt: bool) -> Speaker:
    wechat = settings.wechat
    user = WeChatUser(http, base_url + "/wechat", wechat.token, openid,
                      encoding_aes_key=wechat.encoding_aes_key if encrypt else "",
                      appid=wechat.sandbox_appid)
    return Speaker(user.send, user.click, user.subscribe, passive=True)


def alipay_speaker(settings: Settings, http: aiohttp.ClientSession, base_url: str,
                   user_id: str, charset: str) -> Speaker:
    """The simulated life-account platform posting for ``user_id``, with the sandbox keys of
    the server's data dir (the same server.data_dir as the server's)."""
    from bot.integrations.alipay import (
        public_key_of,
        sandbox_app_key,
        sandbox_appid,
        sandbox_gateway_key,
    )

    user = AlipayLifeUser(http, base_url, sandbox_appid(settings), user_id,
                          sandbox_gateway_key(settings), public_key_of(sandbox_app_key(settings)),
                          charset=charset)
    return Speaker(lambda text: user.send(text, replies=0),
                   lambda key: user.click(key, replies=0),
                   lambda: user.follow(replies=0), passive=False)


async def run_chat(settings: Settings, base_url: str, user_id: str, *, encrypt: bool,
                   channel: str = "wechat", charset: str = "GBK") -> int:
    wechat = settings.wechat
    encrypt = encrypt or wechat.message_mode == "safe"  # the service takes AES only then
    if channel == "wechat" and encrypt and wechat.message_mode == "plain":
        print("--encrypt needs wechat.message_mode compatible or safe (with encoding_aes_key)",
              file=sys.stderr)
        return 2
    async with aiohttp.ClientSession() as http:
        if channel == "alipay":
            speaker = alipay_speaker(settings, http, base_url, user_id, charset)
        else:
            speaker = wechat_speaker(settings, http, base_url, user_id, encrypt)
        outbox = Outbox(http, base_url, user_id)
        await outbox.skip_existing()
        print(HELP, flush=True)
        follower = asyncio.create_task(outbox.follow(_show))
        try:
            input_ended = await _converse(speaker, base_url)
        finally:
            follower.cancel()
        if input_ended:  # a pipe ran out before the pushes its last lines caused
            await outbox.settle(_show)
        return 0


def _show(text: str) -> None:
    print(text, flush=True)


# The simulator signs with the sandbox key of the chat's own server.data_dir; a service
# started with another data dir holds another key and refuses every form.
REFUSED_HINT = ("; the service refused the signature: run the chat with the service's "
                "server.data_dir (BOT__SERVER__DATA_DIR), where the sandbox keys are")


async def _converse(speaker: Speaker, base_url: str) -> bool:
    """Send each typed line; True when the input ended, False on /quit."""
    while True:
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line or line.strip() == "/quit":
            return not line
        text = line.strip()
        if not text:
            continue
        try:
            if text.startswith("/click "):
                answer = await speaker.click(text.split(maxsplit=1)[1])
            elif text == "/subscribe":
                answer = await speaker.subscribe()
            else:
                answer = await speaker.send(text)
        except aiohttp.ClientError as exc:
            print(f"[cannot reach {base_url}: {exc}]", flush=True)
            continue
        except AckError as exc:
            hint = REFUSED_HINT if exc.status == 403 else ""
            print(f"[the gateway's answer is not one Alipay accepts: {exc}{hint}]", flush=True)
            continue
        if speaker.passive:
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

    async def settle(self, show: Callable[[str], None]) -> None:
        """Show new entries until none came for SETTLE_QUIET seconds (at most SETTLE_MAX)."""
        loop = asyncio.get_running_loop()
        started = last = loop.time()
        while loop.time() - last < SETTLE_QUIET and loop.time() - started < SETTLE_MAX:
            await asyncio.sleep(POLL_INTERVAL)
            for text in await self.new_messages():
                show(text)
                last = loop.time()

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
