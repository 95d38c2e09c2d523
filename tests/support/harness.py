"""The app served over real HTTP (aiohttp's test server), with WeChat and Alipay users to
drive it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from aiohttp.test_utils import TestClient, TestServer

from bot.app import ALIPAY_SANDBOX, WECHAT_SANDBOX, create_app
from bot.config import Settings
from bot.engine import Flow
from bot.integrations.alipay import (
    public_key_of,
    sandbox_app_key,
    sandbox_appid,
    sandbox_gateway_key,
)
from bot.masking import PathOnlyAccessLogger
from bot.sandbox.alipay import FakeAlipay
from bot.sandbox.alipay_life_client import AlipayLifeUser
from bot.sandbox.wechat_api import FakeWeChatAPI
from bot.sandbox.wechat_client import WeChatUser
from bot.services import SERVICES, Services
from models.outbox import OutboxMessage


@dataclass
class Harness:
    client: TestClient
    settings: Settings

    @property
    def services(self) -> Services:
        return self.client.app[SERVICES]

    @property
    def fake_wechat(self) -> FakeWeChatAPI:
        return self.client.app[WECHAT_SANDBOX]

    @property
    def fake_alipay(self) -> FakeAlipay:
        return self.client.app[ALIPAY_SANDBOX]

    @property
    def wechat_url(self) -> str:
        return str(self.client.make_url("/wechat"))

    def user(self, openid: str = "openid-alice", *, encrypted: bool = False) -> WeChatUser:
        wechat = self.settings.wechat
        return WeChatUser(self.client.session, self.wechat_url, wechat.token, openid,
                          encoding_aes_key=wechat.encoding_aes_key if encrypted else "",
                          appid=wechat.sandbox_appid)

    def alipay_user(self, user_id: str = "2088000000000001", *, charset: str = "GBK",
                    codec: str = "") -> AlipayLifeUser:
        """An Alipay user of the life account, as the simulated platform posts for them."""
        settings = self.settings
        return AlipayLifeUser(self.client.session, str(self.client.make_url("/")),
                              sandbox_appid(settings), user_id, sandbox_gateway_key(settings),
                              public_key_of(sandbox_app_key(settings)), charset=charset,
                              codec=codec)

    async def outbox(self, recipient: str | None = None) -> list[OutboxMessage]:
        query = OutboxMessage.all().order_by("id")
        return await (query.filter(recipient=recipient) if recipient else query)


@contextlib.asynccontextmanager
async def running_harness(settings: Settings,
                          flows: Sequence[Flow] | None = None) -> AsyncIterator[Harness]:
    server = TestServer(create_app(settings, flows), host="127.0.0.1", port=settings.server.port)
    # Started here because TestServer drops runner options given to its constructor.
    await server.start_server(access_log_class=PathOnlyAccessLogger)  # as `serve` runs it
    async with TestClient(server) as client:
        yield Harness(client, settings)
