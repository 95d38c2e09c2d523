"""Liveness and readiness probes for the load balancer."""

import asyncio

from aiohttp import web

from bot import db
from bot.services import SERVICES

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """Alive, and in which mode: an operator sees at once a production host left in sandbox."""
    return web.json_response({"status": "ok",
                              "mode": request.app[SERVICES].settings.server.mode})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """Ready only when both Redis and the database answer, each within redis.timeout (a hung
    Redis must not hang the probe)."""
    services = request.app[SERVICES]
    checks = {}
    for name, probe in (("redis", services.redis.ping), ("database", db.ping)):
        try:
            async with asyncio.timeout(services.settings.redis.timeout):
                await probe()
            checks[name] = "ok"
        except Exception as exc:  # any failure means not ready; say which part
            checks[name] = f"error: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return web.json_response({"status": "ok" if ready else "unavailable", **checks},
                             status=200 if ready else 503)
