"""The WeChat callback URL: handshake (GET) and messages (POST).

WeChat shows "该公众号暂时无法提供服务" for any error or timeout, so every path here answers
200: a reply, or "success" (no reply). Only a request that fails the signature check gets
403, and nothing of it is processed.
"""

import logging

from aiohttp import web
from redis.exceptions import RedisError

from bot.channels.wechat import NO_REPLY, UNSUPPORTED, Forbidden, Malformed
from bot.inbox import SORRY
from bot.messages import InboundKind
from bot.services import SERVICES

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
XML = "application/xml"


@routes.get("/wechat")
async def handshake(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        return web.Response(text=services.wechat.handshake(request.query))
    except Forbidden:
        return web.Response(status=403, text="forbidden")


@routes.post("/wechat")
async def receive(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    limit = services.settings.wechat.max_body_bytes
    body = await _read_at_most(request, limit + 1)
    if len(body) > limit:
        log.warning("dropped a WeChat body over %d bytes", limit)
        return web.Response(body=NO_REPLY)
    try:
        envelope = services.wechat.parse(request.query, body)
    except Forbidden:
        return web.Response(status=403, text="forbidden")
    except Malformed as exc:
        log.warning("unreadable WeChat message: %s", exc)
        return web.Response(body=NO_REPLY)
    kind = envelope.inbound.kind
    if kind is InboundKind.UNSUBSCRIBE:
        return web.Response(body=NO_REPLY)
    if kind is InboundKind.OTHER:
        return _xml(services.wechat.render(envelope, UNSUPPORTED))
    try:
        reply = await services.inbox.deliver(envelope.inbound)
    except RedisError:
        log.exception("Redis unavailable while handling a WeChat message")
        reply = SORRY
    if reply is None:
        return web.Response(body=NO_REPLY)
    return _xml(services.wechat.render(envelope, reply))


async def _read_at_most(request: web.Request, size: int) -> bytes:
    """The body, or its first ``size`` bytes; one read() returns only what has arrived so far."""
    if request.content_length is not None and request.content_length < size:
        return await request.read()  # the usual case: a declared length within the limit
    body = b""
    while len(body) < size and (chunk := await request.content.read(size - len(body))):
        body += chunk
    return body


def _xml(body: bytes) -> web.Response:
    return web.Response(body=body, content_type=XML)
