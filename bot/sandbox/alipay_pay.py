"""The pay side of the simulated Alipay gateway (sandbox mode only): what Alipay does with a
wap-pay order, for the same python-alipay-sdk code path as against Alipay itself.

- ``alipay.trade.wap.pay`` (a page, opened by the buyer): the signed request makes the trade
  (WAIT_BUYER_PAY, closed at its ``time_expire``); the page offers 确认付款, 取消 and 付款但不
  发送通知 (the notify lost, for reconciliation to find). Paying goes back to the order's
  return_url with the signed sync parameters.
- ``alipay.trade.query`` / ``.close`` / ``.refund``: signed answers with Alipay's codes
  (ACQ.TRADE_NOT_EXIST, ACQ.TRADE_STATUS_ERROR, ...).
- Notifies: signed forms POSTed to the order's notify_url until it answers ``success``, on
  Alipay's retry schedule (4m, 10m, 10m, 1h, 2h, 6h, 15h: 8 tries) multiplied by
  ``payment.sandbox_notify_factor``, as arq jobs, so they survive a restart of the app as
  Alipay's survive ours; each one is the same notify (same notify_id).

Trades live in Redis (``sandbox:alipay:trade:<out_trade_no>``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import random
import secrets
import time
from datetime import datetime
from decimal import Decimal, InvalidOperation
from html import escape
from typing import Any

import aiohttp
from aiohttp import web
from arq.connections import ArqRedis
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from yarl import URL

from bot.config import Settings
from bot.integrations.alipay import sandbox_gateway_key
from bot.pages import mobile_page
from bot.rules import BEIJING
from bot.sandbox.alipay import FakeAlipay
from bot.services import SERVICES
from payments.gateway import merchant_of

log = logging.getLogger(__name__)
WAP_PAY = "alipay.trade.wap.pay"
QUERY = "alipay.trade.query"
CLOSE = "alipay.trade.close"
REFUND = "alipay.trade.refund"
PAY_PATH = "/sandbox/alipay/pay"
NOTIFY_JOB = "sandbox_pay_notify"
RETRY_SCHEDULE = (240, 600, 600, 3600, 7200, 21600, 54000)  # seconds between Alipay's tries
BUYER_ID = "2088102177000000"
# Paid only from WAIT_BUYER_PAY and before time_expire: a second press pays nothing.
_PAY = """
if redis.call('HGET', KEYS[1], 'status') ~= 'WAIT_BUYER_PAY' then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'expires')) <= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'status', 'TRADE_CLOSED') return 0 end
redis.call('HSET', KEYS[1], 'status', 'TRADE_SUCCESS', 'gmt_payment', ARGV[2])
return 1
"""


def _key(out_trade_no: str) -> str:
    return f"sandbox:alipay:trade:{out_trade_no}"


def _stamp(moment: float | None = None) -> str:
    """Alipay's naive Beijing time."""
    return datetime.fromtimestamp(moment or time.time(), BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _error(code: str, msg: str, sub_code: str, sub_msg: str) -> dict[str, str]:
    return {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}


NOT_EXIST = _error("40004", "Business Failed", "ACQ.TRADE_NOT_EXIST", "交易不存在")
STATUS_ERROR = _error("40004", "Business Failed", "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
BAD_ARGUMENTS = _error("40002", "Invalid Arguments", "isv.invalid-parameter", "参数有误")


class Signer:
    """The simulated Alipay's RSA2 signature over Alipay's signed content: every non-empty
    field but sign and sign_type, sorted, joined k=v by &."""

    def __init__(self, private_key: str) -> None:
        self._key = serialization.load_pem_private_key(private_key.encode(), password=None)

    def signed(self, fields: dict[str, str]) -> dict[str, str]:
        content = "&".join(f"{k}={v}" for k, v in sorted(fields.items())
                           if k not in ("sign", "sign_type") and v != "")
        signature = self._key.sign(content.encode(), padding.PKCS1v15(), hashes.SHA256())
        return fields | {"sign_type": "RSA2", "sign": base64.b64encode(signature).decode()}


class FakeAlipayPay:
    def __init__(self, gateway: FakeAlipay, settings: Settings) -> None:
        self._settings = settings
        self._signer = Signer(sandbox_gateway_key(settings))
        self.seller_id = merchant_of(settings).seller_id
        gateway.pages[WAP_PAY] = self.page
        gateway.server_methods.update({QUERY: self._query, CLOSE: self._close,
                                       REFUND: self._refund})

    def routes(self) -> list[web.RouteDef]:
        return [web.post(PAY_PATH, self.press)]

    # -- the buyer's page -----------------------------------------------------------------------

    async def page(self, request: web.Request, params: dict[str, str],
                   refusal: tuple[str, str] | None) -> web.Response:
        if refusal:
            return mobile_page("支付请求无效", f"<p>{escape(refusal[1])}</p>", status=400)
        trade, problem = self._trade_of(params)
        if trade is None:
            return mobile_page("支付请求无效", f"<p>{escape(problem)}</p>", status=400)
        redis: ArqRedis = request.app[SERVICES].redis
        key = _key(trade["out_trade_no"])
        if await redis.hsetnx(key, "out_trade_no", trade["out_trade_no"]):
            await redis.hset(key, mapping=trade | {"status": "WAIT_BUYER_PAY"})
        stored = {k.decode(): v.decode() for k, v in (await redis.hgetall(key)).items()}
        if stored.get("total_amount") != trade["total_amount"]:
            return mobile_page("支付请求无效", "<p>订单信息与原订单不一致。</p>", status=400)
        if stored["status"] == "WAIT_BUYER_PAY" and float(stored["expires"]) <= time.time():
            await redis.hset(key, "status", "TRADE_CLOSED")
            stored["status"] = "TRADE_CLOSED"
        if stored["status"] != "WAIT_BUYER_PAY":
            words = "该订单已支付" if stored["status"] == "TRADE_SUCCESS" else "该订单已关闭"
            return mobile_page(words, f"<p>{words}，无需再次操作。</p>")
        out_trade_no = escape(trade["out_trade_no"])
        return mobile_page("支付宝收银台（沙箱）", (
            f"<p>{escape(stored['subject'])}</p>"
            f'<p class="amount">￥{escape(stored["total_amount"])}</p>'
            "<p>这是本地沙箱，不会真实扣款。</p>"
            f'<form method="post" action="{PAY_PATH}">'
            f'<input type="hidden" name="out_trade_no" value="{out_trade_no}">'
            '<button name="action" value="pay">确认付款</button>'
            '<button class="secondary" name="action" value="cancel">取消</button>'
            '<button class="secondary" name="action" value="silent">付款但不发送通知</button>'
            "</form>"), style=".amount{font-size:28px;font-weight:bold}")

    def _trade_of(self, params: dict[str, str]) -> tuple[dict[str, str] | None, str]:
        """The trade a wap-pay request makes, or why Alipay would refuse it."""
        try:
            biz = json.loads(params.get("biz_content") or "")
            amount = Decimal(str(biz["total_amount"]))
            expires = datetime.strptime(str(biz["time_expire"]), "%Y-%m-%d %H:%M:%S")
        except (ValueError, KeyError, TypeError, InvalidOperation):
            return None, "订单参数有误"
        out_trade_no, subject = str(biz.get("out_trade_no", "")), str(biz.get("subject", ""))
        if not (0 < len(out_trade_no) <= 64 and subject and biz.get("product_code")
                == "QUICK_WAP_PAY" and 0 < amount <= Decimal("100000000")
                and amount == amount.quantize(Decimal("0.01"))):
            return None, "订单参数有误"
        return {"out_trade_no": out_trade_no, "total_amount": f"{amount:.2f}",
                "subject": subject, "notify_url": params.get("notify_url", ""),
                "return_url": params.get("return_url", ""), "app_id": params["app_id"],
                "expires": str(expires.replace(tzinfo=BEIJING).timestamp()),
                "trade_no": f"{time.strftime('%Y%m%d')}2200{secrets.randbelow(10**14):014d}",
                "gmt_create": _stamp(), "refunded": "0.00"}, ""

    async def press(self, request: web.Request) -> web.Response:
        """The buyer's choice: pay (the notify follows), cancel, or pay and lose the notify."""
        form = await request.post()
        out_trade_no, action = str(form.get("out_trade_no", "")), form.get("action")
        redis: ArqRedis = request.app[SERVICES].redis
        trade = {k.decode(): v.decode() for k, v in (await redis.hgetall(_key(out_trade_no))
                                                      ).items()}
        if not trade or action not in ("pay", "cancel", "silent"):
            return mobile_page("订单不存在", "<p>订单不存在或已过期。</p>", status=404)
        back = URL(trade["return_url"])
        if action == "cancel":
            raise web.HTTPFound(str(back.update_query(out_trade_no=out_trade_no)))
        if not await redis.eval(_PAY, 1, _key(out_trade_no), str(time.time()), _stamp()):
            return mobile_page("支付未完成", "<p>该订单已支付或已关闭。</p>", status=409)
        if action == "pay":
            await redis.enqueue_job(NOTIFY_JOB, out_trade_no, 0,
                                    _job_id=f"{NOTIFY_JOB}:{out_trade_no}:0",
                                    _defer_by=self._settings.payment.sandbox_notify_delay)
        sync = self._signer.signed({
            "app_id": trade["app_id"], "method": f"{WAP_PAY}.return", "charset": "utf-8",
            "version": "1.0", "timestamp": _stamp(), "out_trade_no": out_trade_no,
            "trade_no": trade["trade_no"], "total_amount": trade["total_amount"],
            "seller_id": self.seller_id})
        raise web.HTTPFound(str(back.update_query(sync)))

    # -- server calls ---------------------------------------------------------------------------

    async def _trade(self, request: web.Request, biz: dict[str, Any]) -> dict[str, str]:
        """The trade named by out_trade_no, closed if past its time_expire unpaid."""
        redis: ArqRedis = request.app[SERVICES].redis
        key = _key(str(biz.get("out_trade_no", "")))
        trade = {k.decode(): v.decode() for k, v in (await redis.hgetall(key)).items()}
        if trade.get("status") == "WAIT_BUYER_PAY" and float(trade["expires"]) <= time.time():
            await redis.hset(key, "status", "TRADE_CLOSED")
            trade["status"] = "TRADE_CLOSED"
        return trade

    async def _query(self, request: web.Request, biz: dict[str, Any]) -> dict[str, Any]:
        trade = await self._trade(request, biz)
        if not trade:
            return NOT_EXIST
        answer = {"code": "10000", "msg": "Success", "trade_no": trade["trade_no"],
                  "out_trade_no": trade["out_trade_no"], "trade_status": trade["status"],
                  "total_amount": trade["total_amount"]}
        if "gmt_payment" in trade:
            answer |= {"buyer_user_id": BUYER_ID, "send_pay_date": trade["gmt_payment"],
                       "receipt_amount": trade["total_amount"]}
        return answer

    async def _close(self, request: web.Request, biz: dict[str, Any]) -> dict[str, Any]:
        trade = await self._trade(request, biz)
        if not trade:
            return NOT_EXIST
        if trade["status"] in ("TRADE_SUCCESS", "TRADE_FINISHED"):
            return STATUS_ERROR
        await request.app[SERVICES].redis.hset(_key(trade["out_trade_no"]), "status",
                                               "TRADE_CLOSED")
        return {"code": "10000", "msg": "Success", "trade_no": trade["trade_no"],
                "out_trade_no": trade["out_trade_no"]}

    async def _refund(self, request: web.Request, biz: dict[str, Any]) -> dict[str, Any]:
        """A refund, once per out_request_no; a full one closes the trade, as Alipay does."""
        trade = await self._trade(request, biz)
        if not trade:
            return NOT_EXIST
        try:
            amount = Decimal(str(biz.get("refund_amount")))
        except InvalidOperation:
            return BAD_ARGUMENTS
        redis: ArqRedis = request.app[SERVICES].redis
        key = _key(trade["out_trade_no"])
        request_no = str(biz.get("out_request_no") or trade["trade_no"])
        done = {"code": "10000", "msg": "Success", "trade_no": trade["trade_no"],
                "out_trade_no": trade["out_trade_no"], "buyer_user_id": BUYER_ID}
        if await redis.hexists(key, f"refund:{request_no}"):
            return done | {"fund_change": "N", "refund_fee": trade["refunded"]}
        refunded = Decimal(trade["refunded"]) + amount
        if trade["status"] != "TRADE_SUCCESS":
            return STATUS_ERROR
        if amount <= 0 or refunded > Decimal(trade["total_amount"]):
            return _error("40004", "Business Failed", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
                          "退款金额超限")
        await redis.hset(key, mapping={
            f"refund:{request_no}": f"{amount:.2f}", "refunded": f"{refunded:.2f}",
            **({"status": "TRADE_CLOSED"} if refunded == Decimal(trade["total_amount"])
               else {})})
        return done | {"fund_change": "Y", "refund_fee": f"{refunded:.2f}"}


# -- notifies (an arq job: bot/jobs.py) ----------------------------------------------------------


async def send_notify(settings: Settings, redis: ArqRedis, http: aiohttp.ClientSession,
                      out_trade_no: str, attempt: int) -> bool:
    """POST the trade's notify (the same one every time); until the answer is ``success``,
    the next try is queued on Alipay's schedule. True when answered ``success``."""
    key = _key(out_trade_no)
    trade = {k.decode(): v.decode() for k, v in (await redis.hgetall(key)).items()}
    if trade.get("status") not in ("TRADE_SUCCESS", "TRADE_FINISHED"):
        return False
    signer = Signer(sandbox_gateway_key(settings))
    form = signer.signed({
        "notify_time": _stamp(), "notify_type": "trade_status_sync",
        "notify_id": hashlib.sha256(f"{trade['trade_no']}:{trade['status']}".encode()
                                    ).hexdigest()[:34],
        "app_id": trade["app_id"], "charset": "utf-8", "version": "1.0",
        "trade_no": trade["trade_no"], "out_trade_no": out_trade_no,
        "trade_status": trade["status"], "total_amount": trade["total_amount"],
        "receipt_amount": trade["total_amount"], "buyer_id": BUYER_ID,
        "seller_id": merchant_of(settings).seller_id, "subject": trade["subject"],
        "gmt_create": trade["gmt_create"], "gmt_payment": trade.get("gmt_payment", "")})
    await redis.hincrby(key, "notifies", 1)
    try:
        async with http.post(trade["notify_url"], data=form,
                             timeout=aiohttp.ClientTimeout(total=15)) as response:
            answered = (await response.text()).strip() == "success"
        # The answer lost on the way back, as configured: Alipay would send it again.
        answered = answered and random.random() >= settings.payment.sandbox_answer_loss
    except (aiohttp.ClientError, TimeoutError):
        answered = False
    if answered:
        await redis.hset(key, "notified", "T")
        return True
    if attempt < len(RETRY_SCHEDULE):
        delay = RETRY_SCHEDULE[attempt] * settings.payment.sandbox_notify_factor
        await redis.enqueue_job(NOTIFY_JOB, out_trade_no, attempt + 1,
                                _job_id=f"{NOTIFY_JOB}:{out_trade_no}:{attempt + 1}",
                                _defer_by=delay)
    else:
        log.info("sandbox notify given up after %d tries", attempt + 1)
    return False
