"""Alipay's two ways back to us after a payment: the notify (server to server, the only one
that settles anything) and the buyer's browser at the return URL (display only).

POST /payments/notify: the form goes to bot's Payments.notify, which checks and stores it;
the literal ``success`` is answered only once the result is stored, anything else is
``fail`` (Alipay sends it again later), never a 5xx and never a traceback.
GET /payments/return: shows what we know of the order and asks Alipay soon (a job), since a
browser may come back before the notify.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl

from aiohttp import web
from redis.exceptions import RedisError

from bot.pages import mobile_page
from bot.services import SERVICES
from handlers.bodies import answer_and_close, read_body
from payments.gateway import NOTIFY_PATH, RETURN_PATH
from payments.service import return_page, yuan

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
OUT_TRADE_NO = re.compile("F[0-9]{14}[0-9a-f]{16}")  # Payments._create's
SETTLE_JOB = "settle_payment"


@routes.post(NOTIFY_PATH)
async def notify(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    limit = services.settings.payment.max_body_bytes
    body = await read_body(request, limit, services.settings.server.read_timeout)
    if isinstance(body, web.Response):
        return body
    if len(body) > limit:
        log.warning("refused a payment notify over %d bytes", limit)
        return await answer_and_close(request, web.Response(status=413, text="fail"))
    try:
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return web.Response(status=400, text="fail")
    try:
        stored = await services.payments.notify(form)
    except Exception as exc:  # the database away: Alipay sends it again later
        log.error("payment notify not stored (%s); Alipay will send it again",
                  type(exc).__name__)
        stored = False
    return web.Response(text="success" if stored else "fail")


@routes.get(RETURN_PATH)
async def came_back(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    out_trade_no = request.query.get("out_trade_no", "")
    payment = (await services.payments.by_out_trade_no(out_trade_no)
               if OUT_TRADE_NO.fullmatch(out_trade_no) else None)
    if payment is None:
        return mobile_page("订单不存在", "<p>未找到该订单，请返回对话重新办理。</p>",
                           status=404, private=True)
    channel = payment.conversation.partition(":")[0]
    app = services.channels[channel].title if channel in services.channels else "对话"
    page = return_page(payment, paid_back=bool(request.query.get("trade_no")))
    if page.settling:
        try:
            await services.redis.enqueue_job(SETTLE_JOB, payment.id,
                                             _job_id=f"{SETTLE_JOB}:{payment.id}")
        except RedisError:  # the reconciliation job asks anyway
            log.warning("payment %d: could not queue its settling", payment.id)
    return mobile_page(page.title, f"<p>{page.text.format(app=app)}</p>"
                       f"<p>处罚决定书编号：{payment.decision_number}<br>"
                       f"金额：{yuan(payment.amount)} 元</p>", private=True)
