"""The app's long-lived parts, built once per process and closed in reverse order."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from arq.connections import ArqRedis

from bot import db
from bot.channels.wechat import WeChatChannel, reply_text
from bot.channels.wechat_api import WeChatAPI
from bot.config import Settings
from bot.engine import Engine
from bot.inbox import Inbox
from bot.messages import Inbound, Reply
from bot.redis_server import EmbeddedRedis
from bot.session import RedisSessionStore

log = logging.getLogger(__name__)
WECHAT_API = "https://api.weixin.qq.com"


@dataclass
class Services:
    settings: Settings
    redis: ArqRedis
    redis_url: str
    http: aiohttp.ClientSession
    wechat: WeChatChannel = field(init=False)
    wechat_api: WeChatAPI = field(init=False)
    engine: Engine = field(init=False)
    inbox: Inbox = field(init=False)

    def __post_init__(self) -> None:
        from flows import ALL_FLOWS

        settings, wechat = self.settings, self.settings.wechat
        api_base = wechat.api_base or (
            settings.server.base_url + "/sandbox/wechat" if wechat.sandbox else WECHAT_API)
        self.wechat = WeChatChannel(wechat.token, wechat.encoding_aes_key, wechat.sandbox_appid)
        self.wechat_api = WeChatAPI(self.http, self.redis, appid=wechat.sandbox_appid,
                                    secret=wechat.secret or "sandbox-secret", base_url=api_base,
                                    refresh_margin=wechat.token_refresh_margin)
        self.engine = Engine(ALL_FLOWS, RedisSessionStore(self.redis, settings.session.ttl),
                             self)
        self.inbox = Inbox(self.redis, self.engine.handle, self.deliver_later,
                           budget=wechat.reply_budget, dedupe_ttl=wechat.dedupe_ttl,
                           turn_lease=settings.session.turn_lease)

    async def deliver_later(self, inbound: Inbound, reply: Reply) -> None:
        """Queue a reply that missed the budget; a job sends it as a customer-service message."""
        await self.redis.enqueue_job("send_reply", inbound.channel, inbound.user_id,
                                     reply.to_json())

    async def wake(self, channel: str, user_id: str) -> None:
        """Continue a user's journey after an outside event; the reply goes out as a push."""
        async with self.inbox.turns.hold(f"{channel}:{user_id}"):
            reply = await self.engine.wake(channel, user_id)
        if reply is not None:
            await self.send(channel, user_id, reply)

    async def send(self, channel: str, user_id: str, reply: Reply) -> None:
        """Push a reply outside a request (customer-service message)."""
        if channel != "wechat":
            raise ValueError(f"no outbound sender for channel {channel}")
        await self.wechat_api.send_text(user_id, reply_text(reply))


SERVICES = web.AppKey("services", Services)


@contextlib.asynccontextmanager
async def running_services(settings: Settings) -> AsyncIterator[Services]:
    """Start Redis (embedded unless configured), the database and clients; stop them after."""
    async with contextlib.AsyncExitStack() as stack:
        redis_url = settings.redis.url
        if not redis_url:
            embedded = EmbeddedRedis(settings.data_dir)
            stack.callback(embedded.stop)
            redis_url = embedded.url
        redis = ArqRedis.from_url(redis_url)
        stack.push_async_callback(redis.aclose)

        await db.open_database(db.database_url(settings.database.url, settings.data_dir))
        stack.push_async_callback(db.close_database)

        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        stack.push_async_callback(http.close)

        services = Services(settings, redis, redis_url, http)
        stack.push_async_callback(services.inbox.drain)
        yield services
