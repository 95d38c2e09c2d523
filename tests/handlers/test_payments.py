"""/payments/notify and /payments/return over real HTTP: every body gets a clear answer and
never a 5xx; the return page is for display, and asks Alipay about an open order (a browser
may come back before the notify)."""

from __future__ import annotations

import pytest

from models.payment import PaymentRecord, PaymentState
from payments.gateway import NOTIFY_PATH, RETURN_PATH
from payments.service import BAD_SIGNATURE
from tests.support.payments import (
    daytime_clock,
    decided,
    make_order,
    open_pay_page,
    paid,
    press,
)


@pytest.fixture
def payments(harness):
    payments = harness.services.payments
    payments.clock = daytime_clock()
    return payments


@pytest.mark.parametrize(
    ("body", "status", "answer"),
    [
        (b"", 200, "fail"),  # no signature
        (b"out_trade_no=F1&sign=AAAA&sign_type=RSA2", 200, "fail"),
        (b"sign_type=RSA&sign=AAAA", 200, "fail"),  # another sign type: refused, not raised
        (b"\xff\xfe\x00garbage", 400, "fail"),
        (b"a=" + b"x" * 20000, 413, "fail"),
    ],
)
async def test_odd_notify_bodies_get_a_clear_answer(harness, body, status, answer):
    async with harness.client.session.post(
            harness.client.make_url(NOTIFY_PATH), data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"}) as response:
        assert (response.status, (await response.text()).strip()) == (status, answer)
    if status == 200:  # read and refused: kept
        record = await PaymentRecord.get()
        assert not record.accepted and record.outcome == BAD_SIGNATURE


async def test_the_return_page_asks_alipay_about_an_open_order(harness, payments):
    violation = await decided(payments)
    payment, url = await make_order(harness, violation, "alipay:2088000000000501")
    http, base = harness.client.session, str(harness.client.make_url(""))
    await open_pay_page(http, url)
    back = await press(http, base, payment.out_trade_no, "silent")  # the notify is lost
    async with http.get(back) as response:
        page = await response.text()
        assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    assert "正在确认支付结果" in page and "支付宝" in page and violation.decision_number in page
    payment = await paid(payment)  # the settle job the page queued asked Alipay
    assert payment.state is PaymentState.PAID
    async with http.get(back) as response:
        assert "缴款成功" in await response.text()


@pytest.mark.parametrize("out_trade_no", ["", "F1", "F20260101000000aaaaaaaaaaaaaaaa",
                                          "x" * 300])
async def test_the_return_page_of_an_unknown_order(harness, out_trade_no):
    async with harness.client.session.get(harness.client.make_url(RETURN_PATH),
                                          params={"out_trade_no": out_trade_no}) as response:
        assert response.status == 404 and "未找到该订单" in await response.text()
