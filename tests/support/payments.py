"""Paying fines in tests: a clock outside the maintenance window, decided fines, the
simulated Alipay's pay page as a buyer's browser uses it, and notifies signed as Alipay's."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp

from bot.config import Settings
from bot.integrations.alipay import sandbox_appid, sandbox_gateway_key
from bot.rules import BEIJING
from bot.sandbox.alipay_pay import PAY_PATH, Signer
from models.enums import ViolationKind, ViolationState
from models.payment import Payment
from models.vehicle import Vehicle
from models.violation import Violation
from payments.gateway import SANDBOX_SELLER_ID
from tests.support.records import make_vehicle, make_violation

_decisions = iter(range(1, 10**9))


def daytime_clock(at: time = time(10, 0)) -> Callable[[], datetime]:
    """A running clock whose Beijing time started at the next ``at``: ahead of the real one
    (whatever hour the tests run at, payments are open), so the simulated Alipay, which
    keeps real time, sees our orders' time_expire in the future."""
    now = datetime.now(UTC)
    start = datetime.combine(now.astimezone(BEIJING).date(), at, tzinfo=BEIJING)
    if start <= now:
        start += timedelta(days=1)
    offset = start - now
    return lambda: datetime.now(UTC) + offset


def clock_date(payments: Any) -> date:
    return payments.clock().astimezone(BEIJING).date()


async def decided(payments: Any, *, days_ago: int = 3, fine: Decimal = Decimal(200),
                  vehicle: Vehicle | None = None, **fields: Any) -> Violation:
    """A processed-unpaid on-site decision made ``days_ago`` days before the clock's today."""
    return await make_violation(
        vehicle or await make_vehicle(), kind=ViolationKind.ON_SITE, fine=fine,
        state=ViolationState.PROCESSED_UNPAID,
        decision_number=f"5001080{next(_decisions):09d}",
        decided_on=clock_date(payments) - timedelta(days=days_ago), **fields)


def biz_of(url: str) -> dict[str, Any]:
    """The biz_content of a signed gateway link."""
    return json.loads(parse_qs(urlsplit(url).query)["biz_content"][0])


async def open_pay_page(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url) as response:
        assert response.status == 200, await response.text()
        return await response.text()


async def press(http: aiohttp.ClientSession, base_url: str, out_trade_no: str,
                action: str) -> str:
    """The buyer's button on the pay page; returns where the browser is sent (the return
    URL with Alipay's sync parameters)."""
    async with http.post(base_url + PAY_PATH, data={"out_trade_no": out_trade_no,
                                                     "action": action},
                         allow_redirects=False) as response:
        assert response.status == 302, await response.text()
        return response.headers["Location"]


async def paid(payment: Payment, seconds: float = 10) -> Payment:
    """The payment once something settled it as paid."""
    for _ in range(int(seconds / 0.05)):
        await payment.refresh_from_db()
        if payment.paid_at is not None:
            return payment
        await asyncio.sleep(0.05)
    raise AssertionError(f"payment {payment.id} not paid: {payment.state}")


def notify_form(settings: Settings, payment: Payment, *, key: str | None = None,
                **fields: str) -> dict[str, str]:
    """A notify of this payment as the simulated Alipay signs it (``key``: another private
    key, an impostor's); ``fields`` replace Alipay's values before signing."""
    form = {
        "notify_time": "2026-12-02 10:00:00", "notify_type": "trade_status_sync",
        "notify_id": f"n{payment.out_trade_no}", "app_id": sandbox_appid(settings),
        "charset": "utf-8", "version": "1.0", "trade_no": f"2026{payment.id:020d}",
        "out_trade_no": payment.out_trade_no, "trade_status": "TRADE_SUCCESS",
        "total_amount": f"{payment.amount:.2f}", "seller_id": SANDBOX_SELLER_ID,
        "buyer_id": "2088102177000000",
    } | fields
    return Signer(key or sandbox_gateway_key(settings)).signed(form)


async def post_notify(http: aiohttp.ClientSession, url: str, form: dict[str, str]) -> str:
    async with http.post(url, data=form) as response:
        assert response.status == 200
        return await response.text()


async def make_order(harness, violation: Violation, conversation: str = "wechat:openid-alice"
                     ) -> tuple[Payment, str]:
    from bot.messages import Conversation

    order = await harness.services.payments.order(
        violation.decision_number, None, Conversation.parse(conversation))
    return order.payment, order.url


async def flagged_payment(harness, payments: Any) -> Payment:
    """Money taken for a decision already paid (at a window, while the buyer was on the pay
    page): the payment an operator must refund."""
    from models.enums import ViolationState

    violation = await decided(payments)
    payment, url = await make_order(harness, violation)
    http = harness.client.session
    await open_pay_page(http, url)
    violation.state = ViolationState.PAID  # paid at a window meanwhile
    await violation.save()
    await press(http, str(harness.client.make_url("")), payment.out_trade_no, "pay")
    return await paid(payment)


def daytime(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=BEIJING)
