"""The aiohttp application: services started on start-up, handlers mounted, errors contained."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import AsyncIterator, Sequence

from aiohttp import web

from bot.config import Settings
from bot.engine import Flow
from bot.jobs import worker_running
from bot.masking import PersonalDataFilter
from bot.sandbox.alipay import FakeAlipay
from bot.sandbox.aliyun_sms import FakeAliyunSms
from bot.sandbox.wechat_api import FakeWeChatAPI
from bot.services import SERVICES, running_services
from handlers import face, health, sandbox, wechat

log = logging.getLogger(__name__)
SETTINGS = web.AppKey("settings", Settings)
WECHAT_SANDBOX = web.AppKey("wechat_sandbox", FakeWeChatAPI)
ALIPAY_SANDBOX = web.AppKey("alipay_sandbox", FakeAlipay)


def create_app(settings: Settings, flows: Sequence[Flow] | None = None) -> web.Application:
    """The app; ``flows`` replaces flows.ALL_FLOWS (tests plug in test-only journeys)."""
    # The WeChat handler enforces its own, smaller limit and answers "success" past it.
    app = web.Application(client_max_size=1024 * 1024,
                          middlewares=[_server_timing, _no_stack_traces])
    app[SETTINGS] = settings
    app.cleanup_ctx.append(functools.partial(_services, flows=flows))
    app.add_routes(health.routes)
    app.add_routes(wechat.routes)
    app.add_routes(face.routes)
    if settings.wechat.sandbox:
        fake = FakeWeChatAPI(settings.wechat.sandbox_appid, "sandbox-secret")
        app[WECHAT_SANDBOX] = fake
        app.add_routes(fake.routes())
        app.add_routes(FakeAliyunSms.from_config(settings.sms).routes())
        app.add_routes(sandbox.routes)
    if settings.face.provider == "sandbox":
        app[ALIPAY_SANDBOX] = FakeAlipay.for_settings(settings)
        app.add_routes(app[ALIPAY_SANDBOX].routes())
    return app


async def _services(app: web.Application, flows: Sequence[Flow] | None) -> AsyncIterator[None]:
    settings: Settings = app[SETTINGS]
    async with running_services(settings, flows) as services:
        app[SERVICES] = services
        if settings.jobs.in_process:
            async with worker_running(services):
                yield
        else:
            yield


@web.middleware
async def _server_timing(request: web.Request, handler) -> web.StreamResponse:
    """`Server-Timing: app;dur=<ms>` on every response: the time spent here, apart from the
    network and the client, for benchmarks and browser dev tools."""
    started = time.perf_counter()
    response = await handler(request)
    if not response.prepared:  # a streamed response has sent its headers already
        elapsed = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"app;dur={elapsed:.2f}"
    return response


@web.middleware
async def _no_stack_traces(request: web.Request, handler) -> web.StreamResponse:
    """An unexpected error is logged and answered 500 without details (never a traceback)."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if request.path.startswith("/wechat"):
            return web.Response(body=b"success")  # WeChat must never see an error
        return web.json_response({"error": "internal error"}, status=500)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(PersonalDataFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
