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
from bot.inbox import SORRY, Inbox, Replayed, Seal
from bot.messages import InboundKind
from bot.services import SERVICES
from handlers.bodies import read_body

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
XML = "application/xml"


@routes.get("/wechat")
async def handshake(request: web.Request) -> web.Response:
    """The console's URL check: echo echostr. Its stamp is remembered like a message's, so
    its query string cannot carry a message later (the console's own repeat still passes)."""
    services = request.app[SERVICES]
    echostr = request.query.get("echostr", "")
    try:
        stamp = services.wechat.authenticate(request.query, time.time())
        if not await services.inbox.first_or_retry(
                _seal(stamp, b"GET /wechat\n" + echostr.encode())):
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
    try:
        stamp = services.wechat.authenticate(request.query, time.time())
    except Forbidden as exc:
        return _forbidden(exc)
    # Every signed request's stamp is remembered with its body (in the claim's script when the
    # message goes on to the inbox), so a stamp whose first body was unreadable or refused
    # cannot carry another one either.
    seal = _seal(stamp, body)
    try:
        envelope = services.wechat.open(request.query, body, stamp)
    except (Forbidden, Malformed) as exc:
        return await _refused(services.inbox, seal, exc)
    try:
        kind = envelope.inbound.kind
        if kind in (InboundKind.UNSUBSCRIBE, InboundKind.OTHER):
            if not await services.inbox.first_or_retry(seal):
                raise Replayed(seal.key)
            if kind is InboundKind.UNSUBSCRIBE:
                return web.Response(body=NO_REPLY)
            return _xml(services.wechat.render(envelope, UNSUPPORTED))
        reply = await services.inbox.deliver(envelope.inbound, seal)
    except Replayed:
        return _forbidden(Forbidden("a signed query string reused with another body"))
    except RedisError as exc:
        _redis_down(exc)
        reply = SORRY  # the message is not processed (nor its stamp known): only answered
    if reply is None:
        return web.Response(body=NO_REPLY)
    return _xml(services.wechat.render(envelope, reply))


def _seal(stamp: Stamp, body: bytes) -> Seal:
    """In plain mode the signature covers the timestamp and nonce only, so anyone who saw one
    signed query string could send any body with it while the timestamp stays fresh."""
    return Seal(stamp.key, hashlib.blake2b(body, digest_size=16).digest(), stamp.fresh_for)


async def _refused(inbox: Inbox, seal: Seal, exc: Forbidden | Malformed) -> web.Response:
    """A signed body that is refused (403) or unreadable ("success"); its stamp is remembered
    all the same."""
    try:
        if not await inbox.first_or_retry(seal):
            exc = Forbidden("a signed query string reused with another body")
    except RedisError as error:
        _redis_down(error)
    if isinstance(exc, Forbidden):
        return _forbidden(exc)
    log.warning("unreadable WeChat message: %s", exc)
    return web.Response(body=NO_REPLY)


def _forbidden(exc: Forbidden) -> web.Response:
    log.info("refused a WeChat request: %s", exc)  # the reason only, never the query's values
    return web.Response(status=403, text="forbidden")


def _redis_down(exc: RedisError) -> None:
    """One line per message while Redis is away (a traceback each would flood the log);
    /readyz says the same to the load balancer."""
    log.warning("Redis unavailable while handling a WeChat message: %s", type(exc).__name__)


def _xml(body: bytes) -> web.Response:
    return web.Response(body=body, content_type=XML)
