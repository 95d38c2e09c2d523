"""The local simulators' endpoints and the sandbox outbox (sandbox mode only)."""

from aiohttp import web

from bot.sandbox.outbox import sent

routes = web.RouteTableDef()


@routes.get("/sandbox/outbox")
async def outbox(request: web.Request) -> web.Response:
    """Everything the sandboxes sent, newest last; ?recipient=, ?kind=, ?after=<id> filter."""
    after = request.query.get("after", "")
    messages = await sent(request.query.get("recipient", ""), request.query.get("kind", ""),
                          int(after) if after.isascii() and after.isdecimal() else 0)
    return web.json_response({"messages": messages})
