"""The Alipay life account gateway: POST /alipay/gateway.

Alipay posts signed forms (bot/channels/alipay_life.py) and wants a signed answer at once:
the gateway check gets our public key, every message an acknowledgement. Replies are never
in the answer: the inbox (channel budget 0) queues the step and the send_reply job pushes
its reply, with the same dedupe and per-user order as WeChat, so a message Alipay delivers
twice is acted on once. A form that is not from Alipay as configured gets 403 and nothing is
processed; an unreadable one or a service we do not serve, 400; never a 5xx.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web
from redis.exceptions import RedisError

from bot.channels.alipay_life import (
    CHANNEL,
    UNSUPPORTED,
    Envelope,
    Forbidden,
    Malformed,
    content_type,
)
from bot.inbox import SORRY
from bot.messages import InboundKind
from bot.services import SERVICES, Services
from handlers.bodies import answer_and_close, read_body

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
PATH = "/alipay/gateway"
_SORRY_PUSHES: set[asyncio.Task[None]] = set()  # held until done (the loop keeps weak refs)


@routes.post(PATH)
async def receive(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    limit = services.settings.alipay_life.max_body_bytes
    body = await read_body(request, limit, services.settings.server.read_timeout)
    if isinstance(body, web.Response):
        return body
    if len(body) > limit:
        log.warning("refused an Alipay gateway body over %d bytes", limit)
        return await answer_and_close(request, web.Response(status=413, text="too large"))
    now = time.time()
    try:
        envelope = services.alipay_life.parse(body, now)
    except Forbidden as exc:
        log.info("refused an Alipay gateway request: %s", exc)  # the reason, never the values
        return web.Response(status=403, text="forbidden")
    except Malformed as exc:
        log.warning("unreadable Alipay gateway request: %s", exc)
        return web.Response(status=400, text="bad request")
    if envelope.is_check:
        return _answer(services.alipay_life.check_answer(envelope.charset), envelope)
    await _act(services, envelope)
    return _answer(services.alipay_life.ack(envelope.user_id, envelope.charset, now), envelope)


async def _act(services: Services, envelope: Envelope) -> None:
    """Hand the message to the inbox, which returns at once (budget 0) and has its reply
    pushed; a message type we do not read gets one pushed hint (one job per message)."""
    inbound = envelope.inbound
    if inbound is None:
        return
    try:
        if inbound.kind is InboundKind.OTHER:
            await services.push_later(inbound.conversation, UNSUPPORTED,
                                      job_id=f"send_reply:{CHANNEL}:{inbound.dedupe_key}")
            return
        await services.inbox.deliver(inbound)  # None at budget 0: send_reply pushes the reply
    except RedisError as exc:
        # Nothing was claimed or queued, so nothing runs twice; the user is told straight
        # through Alipay's API (no Redis on that path), off the answer's way.
        log.warning("Redis unavailable while handling an Alipay message: %s",
                    type(exc).__name__)
        task = asyncio.create_task(_push_sorry(services, envelope.user_id))
        _SORRY_PUSHES.add(task)
        task.add_done_callback(_SORRY_PUSHES.discard)


async def _push_sorry(services: Services, user_id: str) -> None:
    try:
        await services.channels[CHANNEL].push(user_id, SORRY)
    except Exception as exc:  # logged in one line: the user simply hears nothing
        log.warning("could not tell an Alipay user the system is busy: %s", exc)


def _answer(body: bytes, envelope: Envelope) -> web.Response:
    return web.Response(body=body, headers={"Content-Type": content_type(envelope.charset)})
