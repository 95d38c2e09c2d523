"""The simulated Alipay's pay side, spoken to by python-alipay-sdk as Alipay is: signed
answers the SDK verifies (query, close, refund with Alipay's codes), the pay page refusing
unsigned, altered and expired orders, and notifies retried on Alipay's schedule until
answered ``success``, the same notify each time."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.config import Settings
from bot.integrations.alipay import alipay_client
from bot.sandbox.alipay_pay import PAY_PATH, RETRY_SCHEDULE, send_notify
from payments.gateway import NOTIFY_PATH, PayGateway, merchant_of
from tests.support.payments import biz_of, open_pay_page, press

FACTOR = 0.002  # Alipay's retry intervals: 4 min -> 0.48 s, 10 min -> 1.2 s


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(payment={"sandbox_notify_factor": FACTOR})


@pytest.fixture
def gateway(harness):
    return harness.services.payments.gateway


def pay_url(gateway, out_trade_no: str, amount: str = "88.50",
            expires_in: timedelta = timedelta(minutes=15)) -> str:
    return gateway.pay_url(out_trade_no, Decimal(amount), datetime.now(UTC) + expires_in)


async def test_query_close_and_refund_answers_are_signed_and_alipays(harness, gateway):
    http, base = harness.client.session, str(harness.client.make_url(""))
    assert (await gateway.query("T1"))["sub_code"] == "ACQ.TRADE_NOT_EXIST"
    assert (await gateway.close("T1"))["sub_code"] == "ACQ.TRADE_NOT_EXIST"

    await open_pay_page(http, pay_url(gateway, "T1"))
    opened = await gateway.query("T1")
    assert (opened["code"], opened["trade_status"], opened["total_amount"]) == (
        "10000", "WAIT_BUYER_PAY", "88.50")
    await press(http, base, "T1", "silent")
    assert (await gateway.query("T1"))["trade_status"] == "TRADE_SUCCESS"
    assert (await gateway.close("T1"))["sub_code"] == "ACQ.TRADE_STATUS_ERROR"

    assert (await gateway.refund("T1", Decimal("100"), "R1"))["code"] == "40004"  # too much
    first = await gateway.refund("T1", Decimal("88.50"), "R1")
    again = await gateway.refund("T1", Decimal("88.50"), "R1")  # the same request: no money
    assert (first["fund_change"], again["fund_change"]) == ("Y", "N")
    assert (await gateway.query("T1"))["trade_status"] == "TRADE_CLOSED"  # refunded in full


async def test_a_closed_trade_takes_no_payment(harness, gateway):
    http, base = harness.client.session, str(harness.client.make_url(""))
    url = pay_url(gateway, "T2")
    await open_pay_page(http, url)
    assert (await gateway.close("T2"))["code"] == "10000"
    async with http.get(url) as response:
        assert "该订单已关闭" in await response.text()
    async with http.post(base + PAY_PATH, data={"out_trade_no": "T2",
                                               "action": "pay"}) as response:
        assert response.status == 409


async def test_an_order_past_its_time_expire_is_closed(harness, gateway):
    url = pay_url(gateway, "T3", expires_in=timedelta(seconds=-1))
    async with harness.client.session.get(url) as response:
        assert "该订单已关闭" in await response.text()
    assert (await gateway.query("T3"))["trade_status"] == "TRADE_CLOSED"


async def test_altered_or_unsigned_pay_links_are_refused(harness, gateway):
    url = pay_url(gateway, "T4")
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    altered = query | {"biz_content": query["biz_content"].replace("88.50", "0.01")}
    unsigned = {k: v for k, v in query.items() if k != "sign"}
    for params in (altered, unsigned):
        target = parts._replace(query=urlencode(params)).geturl()
        async with harness.client.session.get(target) as response:
            assert response.status == 400 and "验签出错" in await response.text()
    assert (await gateway.query("T4"))["sub_code"] == "ACQ.TRADE_NOT_EXIST"
    assert biz_of(url)["total_amount"] == "88.50"


async def test_notifies_are_retried_on_alipays_schedule_until_success(harness, gateway):
    """A merchant answering "fail" twice, then "success": three posts of the same signed
    notify, spaced as Alipay's first intervals times the factor, then no more."""
    posts: list[tuple[float, dict[str, str]]] = []

    async def merchant(request: web.Request) -> web.Response:
        posts.append((time.monotonic(), dict(await request.post())))
        return web.Response(text="success" if len(posts) == 3 else "fail")

    app = web.Application()
    app.router.add_post(NOTIFY_PATH, merchant)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        settings = harness.settings
        merchants = PayGateway(alipay_client(settings, sandbox=True), merchant_of(settings),
                               base_url=str(server.make_url("")).rstrip("/"), subject="罚款")
        http, base = harness.client.session, str(harness.client.make_url(""))
        await open_pay_page(http, pay_url(merchants, "T5"))
        await press(http, base, "T5", "silent")  # no notify queued by the page
        redis = harness.services.redis
        await send_notify(settings, redis, http, "T5", 0)  # what the job runs, then queues
        for _ in range(100):
            if len(posts) == 3:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(RETRY_SCHEDULE[2] * FACTOR + 0.3)  # a fourth would have come
    finally:
        await server.close()
    assert len(posts) == 3
    assert len({form["notify_id"] for _, form in posts}) == 1
    assert all(form["trade_status"] == "TRADE_SUCCESS" and merchants.verified(form)
               for _, form in posts)
    gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(posts)]
    for gap, interval in zip(gaps, RETRY_SCHEDULE, strict=False):
        assert interval * FACTOR * 0.9 <= gap < interval * FACTOR + 1.0
    assert await redis.hget("sandbox:alipay:trade:T5", "notified") == b"T"
