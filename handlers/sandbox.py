"""The local simulators' endpoints and the sandbox outbox (sandbox mode only)."""

from aiohttp import web

from bot.messages import Conversation
from bot.sandbox.outbox import sent
from bot.sandbox.turns import busy
from bot.services import SERVICES

routes = web.RouteTableDef()


@routes.get("/sandbox/outbox")
async def outbox(request: web.Request) -> web.Response:
    """Everything the sandboxes sent, newest last; ?recipient=, ?kind=, ?after=<id> filter."""
    after = request.query.get("after", "")
    messages = await sent(request.query.get("recipient", ""), request.query.get("kind", ""),
                          int(after) if after.isascii() and after.isdecimal() else 0)
    return web.json_response({"messages": messages})


@routes.get("/sandbox/turns")
async def turns(request: web.Request) -> web.Response:
    """?conversation=<channel>:<user id>: {"idle": true} once nothing of that user's turn is
    in flight (bot/sandbox/turns.py), for simulated users that see replies as pushes."""
    try:
        conversation = Conversation.parse(request.query.get("conversation", ""))
    except ValueError:
        raise web.HTTPBadRequest(text="conversation: <channel>:<user id>") from None
    services = request.app[SERVICES]
    return web.json_response(
        {"idle": not await busy(services.inbox, services.redis, conversation)})
