"""`python -m bot chat`: a terminal WeChat user talking to a running server.

Speaks the real signed (optionally encrypted) XML protocol and also prints what the
sandbox outbox received for this user (customer-service messages, SMS, templates).
"""

from __future__ import annotations

import asyncio
import sys

import aiohttp

from bot.config import Settings
from bot.sandbox.wechat_client import WeChatUser

HELP = "输入文字发送；/click KEY 点击菜单；/subscribe 关注；/quit 退出"


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
        print(HELP)
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
                print(f"[cannot reach {base_url}: {exc}]")
                continue
            print(answer or "[no passive reply]")
            await asyncio.sleep(0.3)  # let quick jobs (SMS, customer-service) land
            for line_out in await outbox.new_messages():
                print(line_out)


class Outbox:
    """New sandbox outbox entries for one recipient."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, recipient: str) -> None:
        self._http = http
        self._url = base_url + "/sandbox/outbox"
        self._recipient = recipient
        self._after = 0

    async def skip_existing(self) -> None:
        await self.new_messages()

    async def new_messages(self) -> list[str]:
        try:
            async with self._http.get(self._url, params={"after": str(self._after)}) as response:
                messages = (await response.json())["messages"]
        except (aiohttp.ClientError, ValueError, KeyError):
            return []
        lines = []
        for message in messages:
            self._after = max(self._after, message["id"])
            if message["recipient"] == self._recipient or message["kind"] == "sms":
                lines.append(f"[{message['kind']} → {message['recipient']}] {message['body']}")
        return lines
