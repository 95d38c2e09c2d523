"""The app's long-lived parts, built once per process and closed in reverse order."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from arq.connections import ArqRedis

from bot import db
from bot.channels.alipay_life import AlipayLifeGateway
from bot.channels.alipay_life_api import AlipayLife, AlipayLifeAPI
from bot.channels.alipay_life_menu import menu_definition as alipay_menu_definition
from bot.channels.base import Channels, PushError, PushResult, Unreachable
from bot.channels.wechat import WeChatChannel
from bot.channels.wechat_api import WeChat, WeChatAPI, WeChatAPIError
from bot.channels.wechat_menu import menu_definition
from bot.config import ConfigError, Settings
from bot.conversations import Conversations
from bot.demo_data import seed_demo_if_empty
from bot.deps import Deps, JourneyLimits
from bot.engine import Engine, Flow
from bot.events import EventBus
from bot.face_checks import FaceChecks
from bot.follows import REQUESTED as FOLLOW_REQUESTED
from bot.follows import Follows
from bot.identity_attempts import IdentityAttempts
from bot.inbox import Inbox
from bot.integrations.alipay import alipay_client, alipay_keys, sandbox_appid
from bot.integrations.face import face_verifier
from bot.integrations.sms import SmsCodes, SmsSender, build_sender
from bot.integrations.traffic import EmbeddedTrafficPlatform, TrafficPlatform
from bot.lockout import FailedMatches, LockoutPolicy
from bot.messages import Conversation, Inbound, Reply
from bot.pending import PendingItems, pending_flow
from bot.pipelined_redis import PipelinedRedis
from bot.processing import REQUESTED as PROCESSING_REQUESTED
from bot.processing import Processing
from bot.redis_server import EmbeddedRedis
from bot.session import RedisSessionStore
from payments.gateway import PayGateway
from payments.service import Payments

log = logging.getLogger(__name__)
WECHAT_API = "https://api.weixin.qq.com"


@dataclass
class Services:
    settings: Settings
    redis: ArqRedis
    redis_url: str
    http: aiohttp.ClientSession
    flows: Sequence[Flow] | None = None  # None: flows.ALL_FLOWS; tests plug in their own
    wechat: WeChatChannel = field(init=False)
    wechat_api: WeChatAPI = field(init=False)
    alipay_life: AlipayLifeGateway = field(init=False)
    alipay_life_api: AlipayLifeAPI = field(init=False)
    channels: Channels = field(init=False)
    events: EventBus = field(init=False)
    pending: PendingItems = field(init=False)
    engine: Engine = field(init=False)
    pipelined_redis: PipelinedRedis = field(init=False)  # the inbox's per-message scripts
    inbox: Inbox = field(init=False)
    conversations: Conversations = field(init=False)
    failed_matches: FailedMatches = field(init=False)
    traffic: TrafficPlatform = field(init=False)
    sms_sender: SmsSender = field(init=False)
    sms_codes: SmsCodes = field(init=False)
    face: FaceChecks = field(init=False)
    follows: Follows = field(init=False)
    processing: Processing = field(init=False)
    payments: Payments = field(init=False)

    def __post_init__(self) -> None:
        from flows import ALL_FLOWS

        settings, wechat = self.settings, self.settings.wechat
        simulated = settings.sandbox and wechat.sandbox  # never the simulator in production
        api_base = wechat.api_base or (
            settings.server.base_url + "/sandbox/wechat" if simulated else WECHAT_API)
        self.wechat = WeChatChannel(wechat.token, wechat.encoding_aes_key, wechat.sandbox_appid,
                                    mode=wechat.message_mode, window=wechat.timestamp_window)
        self.wechat_api = WeChatAPI(self.http, self.redis, appid=wechat.sandbox_appid,
                                    secret=wechat.secret or "sandbox-secret", base_url=api_base,
                                    refresh_margin=wechat.token_refresh_margin)
        self.alipay_life, self.alipay_life_api = _alipay_life(settings)
        self.channels = Channels([WeChat(self.wechat_api, wechat.reply_budget),
                                  AlipayLife(self.alipay_life_api)])
        self.events = EventBus(self.redis)
        self.pending = PendingItems(self.redis, settings.session.pending_lifetime,
                                    asking=(FOLLOW_REQUESTED, PROCESSING_REQUESTED))
        journeys = ALL_FLOWS if self.flows is None else self.flows
        self.engine = Engine([*journeys, pending_flow(self.pending)],
                             RedisSessionStore(self.redis, settings.session.ttl))
        self.pipelined_redis = PipelinedRedis(self.redis_url, timeout=settings.redis.timeout)
        self.failed_matches = FailedMatches(self.redis, LockoutPolicy.from_config(settings.query),
                                            key=settings.sms.pepper,
                                            reads=self.pipelined_redis)
        self.inbox = Inbox(self.engine, self.pipelined_redis, self.push_now, self.deliver_later,
                           self.recover_later, budget=self.channels.budget,
                           dedupe_ttl=wechat.dedupe_ttl, turn_lease=settings.session.turn_lease,
                           turn_reads=[self.failed_matches.pause_key])
        self.conversations = Conversations(self.engine, self.inbox, self.pending,
                                           self.push_later)
        self.traffic = EmbeddedTrafficPlatform()
        self.sms_sender = build_sender(settings, self.http)
        self.sms_codes = SmsCodes(self.redis, settings.sms)
        self.face = FaceChecks(face_verifier(settings), self.redis, settings.face,
                               settings.server.base_url, self.events)
        self.follows = Follows(settings.follow, redis=self.redis, events=self.events,
                               conversations=self.conversations, push=self.push_later,
                               base_url=settings.server.base_url, pepper=settings.sms.pepper)
        self.processing = Processing(settings.processing, redis=self.redis, events=self.events,
                                     face=self.face, pending=self.pending,
                                     push=self.push_later, base_url=settings.server.base_url,
                                     sandbox=settings.sandbox,
                                     points_from_binding=self.follows.policy.points_from_binding)
        self.payments = Payments(settings.payment, _pay_gateway(settings), push=self.push_later)
        self.engine.deps = Deps(  # what journeys may use, typed
            self.traffic, self.failed_matches, self.face, self.sms_codes,
            IdentityAttempts.from_settings(self.redis, settings),
            JourneyLimits.from_settings(settings), self.channels, messages=self,
            follows=self.follows, processing=self.processing, payments=self.payments)

    async def deliver_later(self, inbound: Inbound, reply: Reply) -> None:
        """Queue a deferred reply whose push in its turn failed, or that a dead process left:
        a job pushes it. One job per message (its id): arq refuses a second hand-over."""
        await self.push_later(Conversation(inbound.channel, inbound.user_id), reply,
                              job_id=f"send_reply:{inbound.channel}:{inbound.dedupe_key}")

    async def recover_later(self, marker: str) -> None:
        """A message is being deferred: a job looks after it if this process dies first."""
        await self.redis.enqueue_job("recover_deferred", marker, _job_id=f"recover:{marker}",
                                     _defer_by=self.inbox.recheck_after)

    async def push_later(self, conversation: Conversation, reply: Reply,
                         job_id: str | None = None) -> None:
        """Queue a message outside a request: the send_reply job pushes it, retrying (once
        per ``job_id``, if given)."""
        await self.redis.enqueue_job("send_reply", conversation.channel, conversation.user_id,
                                     reply.to_json(), _job_id=job_id)

    async def send(self, channel: str, user_id: str, reply: Reply) -> PushResult:
        """Push a message now, through the user's channel."""
        return await self.channels.push(Conversation(channel, user_id), reply)

    async def push_now(self, conversation: Conversation, reply: Reply) -> bool:
        """Push a message now (the inbox, in the user's turn; the send_reply job). False when
        it failed but may get through later (busy, network): the caller retries through the
        job. True when nothing is left to try: pushed, or the user unreachable or the message
        refused (logged, not retried)."""
        try:
            result = await self.send(conversation.channel, conversation.user_id, reply)
        except (WeChatAPIError, PushError, aiohttp.ClientError, TimeoutError) as exc:
            if not isinstance(exc, (WeChatAPIError, PushError)) or exc.transient:
                log.info("a push failed, to be tried again: %s", exc)
                return False
            log.warning("a pushed message could not be delivered: %s", exc)
            return True
        if isinstance(result, Unreachable):
            log.info("a pushed message was not delivered: %s", result.reason)
        return True


SERVICES = web.AppKey("services", Services)


def _alipay_life(settings: Settings) -> tuple[AlipayLifeGateway, AlipayLifeAPI]:
    """The life account's gateway (checks Alipay's forms, signs our answers) and push
    client, with the [alipay] application: the local simulated Alipay's keys and gateway in
    sandbox mode only (a simulator's forms in production would let anyone speak as anyone)."""
    life = settings.alipay_life
    sandbox = life.provider == "sandbox"
    if sandbox and not settings.sandbox:
        raise ConfigError("alipay_life.provider: must not be sandbox in production mode")
    private_key, alipay_public_key = alipay_keys(settings, sandbox=sandbox)
    appid = sandbox_appid(settings) if sandbox else settings.alipay.appid
    gateway = AlipayLifeGateway(appid, private_key, alipay_public_key,
                                window=life.freshness_window)
    client = alipay_client(settings, sandbox=sandbox, timeout=life.push_timeout)
    return gateway, AlipayLifeAPI(client, tries=life.push_tries)


def _pay_gateway(settings: Settings) -> PayGateway:
    """Payments through the local simulated Alipay in sandbox mode only."""
    if settings.payment.provider == "sandbox" and not settings.sandbox:
        raise ConfigError("payment.provider: must not be sandbox in production mode")
    return PayGateway.for_settings(settings)


def _menu_buttons() -> tuple[dict[str, str], list[tuple[str, list[str]]]]:
    """Click keys to titles of the registered journeys, and the buttons' layout."""
    from flows import ALL_FLOWS, MENU_LAYOUT

    return {f.click_key: f.title for f in ALL_FLOWS if f.click_key}, MENU_LAYOUT


def wechat_menu() -> dict:
    """The WeChat custom menu of the journeys (flows.MENU_LAYOUT)."""
    return menu_definition(*_menu_buttons())


# Alipay's text menu buttons take at most 9 characters: shorter names for longer titles.
ALIPAY_BUTTON_NAMES = {"QUERY_LICENCE": "驾驶证违法和记分"}


def alipay_menu() -> dict:
    """The Alipay life account menu of the same journeys and layout."""
    titles, layout = _menu_buttons()
    return alipay_menu_definition(titles | ALIPAY_BUTTON_NAMES, layout)


async def install_wechat_menu(settings: Settings) -> None:
    async with running_services(settings) as services:
        await services.wechat_api.create_menu(wechat_menu())


async def install_alipay_menu(settings: Settings) -> None:
    async with running_services(settings) as services:
        await services.alipay_life_api.create_menu(alipay_menu())


@contextlib.asynccontextmanager
async def running_services(settings: Settings,
                           flows: Sequence[Flow] | None = None) -> AsyncIterator[Services]:
    """Start Redis (embedded unless configured), the database and clients; stop them after."""
    async with contextlib.AsyncExitStack() as stack:
        redis_url = settings.redis.url
        if not redis_url:
            # Supervised: restarted from its append-only file if it dies while we run.
            embedded = await stack.enter_async_context(EmbeddedRedis(settings.data_dir))
            redis_url = embedded.url
        redis = ArqRedis.from_url(redis_url)
        stack.push_async_callback(redis.aclose)

        await db.open_database(db.database_url(settings.database.url, settings.data_dir),
                               settings.database.pool_size)
        stack.push_async_callback(db.close_database)
        if (settings.sandbox and not settings.database.url
                and settings.database.seed_demo_when_empty):
            await seed_demo_if_empty()  # the embedded default: something to try at once

        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        stack.push_async_callback(http.close)

        services = Services(settings, redis, redis_url, http, flows)
        stack.push_async_callback(services.pipelined_redis.aclose)
        stack.push_async_callback(services.inbox.drain, settings.server.drain_timeout)
        yield services
