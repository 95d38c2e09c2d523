"""The local simulators' endpoints and the sandbox outbox (sandbox mode only)."""

from aiohttp import web

from models.outbox import OutboxMessage

routes = web.RouteTableDef()


@routes.get("/sandbox/outbox")
async def outbox(request: web.Request) -> web.Response:
    """Everything the sandboxes sent, newest last; ?recipient=, ?kind=, ?after=<id> filter."""
    query = OutboxMessage.all()
    if recipient := request.query.get("recipient"):
        query = query.filter(recipient=recipient)
    if kind := request.query.get("kind"):
        query = query.filter(kind=kind)
    after = request.query.get("after", "")
    if after.isascii() and after.isdecimal():
        query = query.filter(id__gt=int(after))
    messages = await query.order_by("id").limit(500)
    return web.json_response({"messages": [m.to_json() for m in messages]})
