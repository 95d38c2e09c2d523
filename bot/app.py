"""The aiohttp application: services started on start-up, handlers mounted, errors contained."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import TextIO

from aiohttp import web

from bot.config import Settings
from bot.engine import Flow
from bot.jobs import worker_running
from bot.masking import MalformedRequestFilter, PersonalDataFilter, loggable_path
from bot.sandbox.alipay import FakeAlipay
from bot.sandbox.alipay_pay import FakeAlipayPay
from bot.sandbox.aliyun_sms import FakeAliyunSms
from bot.sandbox.wechat_api import FakeWeChatAPI
from bot.services import SERVICES, running_services
from handlers import (
    alipay_life,
    face,
    follow_consent,
    health,
    payments,
    process_owner,
    sandbox,
    wechat,
)

log = logging.getLogger(__name__)
SETTINGS = web.AppKey("settings", Settings)
WECHAT_SANDBOX = web.AppKey("wechat_sandbox", FakeWeChatAPI)
ALIPAY_SANDBOX = web.AppKey("alipay_sandbox", FakeAlipay)


def create_app(settings: Settings, flows: Sequence[Flow] | None = None) -> web.Application:
    """The app; ``flows`` replaces flows.ALL_FLOWS (tests plug in test-only journeys)."""
    # The WeChat handler enforces its own, smaller limit and answers "success" past it.
    app = web.Application(client_max_size=1024 * 1024,
                          middlewares=[guarded])
    app[SETTINGS] = settings
    app.cleanup_ctx.append(functools.partial(_services, flows=flows))
    app.add_routes(health.routes)
    app.add_routes(wechat.routes)
    app.add_routes(alipay_life.routes)
    app.add_routes(face.routes)
    app.add_routes(follow_consent.routes)
    app.add_routes(process_owner.routes)
    app.add_routes(payments.routes)
    if settings.sandbox:
        _mount_simulators(app, settings)
    return app


def _mount_simulators(app: web.Application, settings: Settings) -> None:
    """Sandbox mode only: every /sandbox route (simulated WeChat API, Aliyun SMS and Alipay
    gateway, and the outbox). Production builds none of them: the simulated Alipay's certify
    page passes anyone who presses its button."""
    fake = FakeWeChatAPI(settings.wechat.sandbox_appid, "sandbox-secret")
    app[WECHAT_SANDBOX] = fake
    app.add_routes(fake.routes())
    app.add_routes(FakeAliyunSms.from_config(settings.sms).routes())
    app.add_routes(sandbox.routes)
    app[ALIPAY_SANDBOX] = FakeAlipay.for_settings(settings)
    app.add_routes(app[ALIPAY_SANDBOX].routes())
    app.add_routes(FakeAlipayPay(app[ALIPAY_SANDBOX], settings).routes())


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
async def guarded(request: web.Request, handler) -> web.StreamResponse:
    """Two things every response gets, in one middleware (one more costs ~1% per message):
    - an unexpected error is logged and answered without details (never a traceback), and
      WeChat gets "success" rather than a 500;
    - `Server-Timing: app;dur=<ms>`, the time spent here apart from the network and the
      client, for benchmarks and browser dev tools."""
    started = time.perf_counter()
    try:
        response = await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, loggable_path(request.path))
        if request.path.startswith("/wechat"):
            response = web.Response(body=b"success")
        else:
            response = web.json_response({"error": "internal error"}, status=500)
    if not response.prepared:  # a streamed response has sent its headers already
        elapsed = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"app;dur={elapsed:.2f}"
    return response


_MALFORMED_REQUESTS = MalformedRequestFilter()


def configure_logging(level: str, stream: TextIO | None = None) -> None:
    """One root handler (stderr, or ``stream``) that every logger's records reach, masked by
    PersonalDataFilter; aiohttp's parser errors become one line without the raw request."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(PersonalDataFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.getLogger("aiohttp.server").addFilter(_MALFORMED_REQUESTS)  # added once
