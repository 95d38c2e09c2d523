"""The WeChat callback URL: handshake (GET) and messages (POST).

WeChat shows "该公众号暂时无法提供服务" for any error or timeout, so every path here answers
200: a reply, or "success" (no reply). A request that is not from WeChat as configured gets
403 (bad signature, stale timestamp, wrong message mode, a signed query string replayed with
another body), and nothing of it is processed. A body that does not arrive within
server.read_timeout gets 408; a client gone mid-body, 499 in the access log.
"""

import hashlib
import logging
import time

from aiohttp import web
from redis.exceptions import RedisError

from bot.channels.wechat import NO_REPLY, UNSUPPORTED, Forbidden, Malformed, Stamp
from bot.inbox import SORRY
from bot.messages import InboundKind
from bot.pipelined_redis import PipelinedRedis
from bot.services import SERVICES
from handlers.bodies import read_body

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
XML = "application/xml"
# Remember a signed request's (timestamp, nonce) with a digest of its body while the timestamp
# is acceptable: 1 when first seen, or seen with this very body (WeChat's own retry repeats
# query and body), 0 when seen with another body (a query string copied and reused).
_FIRST_OR_RETRY = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0
"""


@routes.get("/wechat")
async def handshake(request: web.Request) -> web.Response:
    """The console's URL check: echo echostr. Its stamp is remembered like a message's, so
    its query string cannot carry a message later (the console's own repeat still passes)."""
    services = request.app[SERVICES]
    echostr = request.query.get("echostr", "")
    try:
        stamp = services.wechat.authenticate(request.query, time.time())
        if not await _first_or_retry(services.pipelined_redis, stamp,
                                     b"GET /wechat\n" + echostr.encode()):
            raise Forbidden("a signed query string reused with another request")
    except Forbidden as exc:
        return _forbidden(exc)
    except RedisError:
        log.warning("Redis unavailable during the WeChat URL check")
        return web.Response(status=503, text="service unavailable")
    return web.Response(text=echostr)


@routes.post("/wechat")
async def receive(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    limit = services.settings.wechat.max_body_bytes
    body = await read_body(request, limit, services.settings.server.read_timeout)
    if isinstance(body, web.Response):
        return body
    if len(body) > limit:
        log.warning("dropped a WeChat body over %d bytes", limit)
        return web.Response(body=NO_REPLY)
    now = time.time()
    try:
        # Remembered before the body is parsed: a stamp whose first body was unreadable or
        # refused must not carry another one.
        stamp = services.wechat.authenticate(request.query, now)
        first = await _first_or_retry(services.pipelined_redis, stamp, body)
    except Forbidden as exc:
        return _forbidden(exc)
    except RedisError as exc:
        _redis_down(exc)
        first = None  # unknown: the message is not processed, only answered SORRY below
    if first is False:
        return _forbidden(Forbidden("a signed query string reused with another body"))
    try:
        envelope = services.wechat.parse(request.query, body, now)
    except Forbidden as exc:
        return _forbidden(exc)
    except Malformed as exc:
        log.warning("unreadable WeChat message: %s", exc)
        return web.Response(body=NO_REPLY)
    if first is None:
        return _xml(services.wechat.render(envelope, SORRY))
    try:
        kind = envelope.inbound.kind
        if kind is InboundKind.UNSUBSCRIBE:
            return web.Response(body=NO_REPLY)
        if kind is InboundKind.OTHER:
            return _xml(services.wechat.render(envelope, UNSUPPORTED))
        reply = await services.inbox.deliver(envelope.inbound)
    except RedisError as exc:
        _redis_down(exc)
        reply = SORRY
    if reply is None:
        return web.Response(body=NO_REPLY)
    return _xml(services.wechat.render(envelope, reply))


async def _first_or_retry(redis: PipelinedRedis, stamp: Stamp, body: bytes) -> bool:
    """False for a (timestamp, nonce) already seen with another body: one Redis round trip.

    In plain mode the signature covers the timestamp and nonce only, so anyone who saw one
    signed query string could send any body with it while the timestamp stays fresh.
    """
    digest = hashlib.blake2b(body, digest_size=16).digest()
    return bool(await redis.script(_FIRST_OR_RETRY)(keys=[stamp.key],
                                                   args=[digest, stamp.fresh_for]))


def _forbidden(exc: Forbidden) -> web.Response:
    log.info("refused a WeChat request: %s", exc)  # the reason only, never the query's values
    return web.Response(status=403, text="forbidden")


def _redis_down(exc: RedisError) -> None:
    """One line per message while Redis is away (a traceback each would flood the log);
    /readyz says the same to the load balancer."""
    log.warning("Redis unavailable while handling a WeChat message: %s", type(exc).__name__)


def _xml(body: bytes) -> web.Response:
    return web.Response(body=body, content_type=XML)
