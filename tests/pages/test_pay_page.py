"""Paying a fine as a phone does it: headless chromium opens the pay link the chat sent,
reads the simulated Alipay's cashier page, presses a button and follows the redirect to our
return page, against the app on a real port (SQLite and PostgreSQL, a real Redis)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from models.enums import ViolationState
from models.payment import Payment, PaymentState
from tests.support.payments import daytime_clock, decided, paid
from tests.support.registration import link_in

if TYPE_CHECKING:
    from playwright.async_api import Page


@pytest.fixture
def payments(harness):
    payments = harness.services.payments
    payments.clock = daytime_clock()
    return payments


async def pay_link(harness, payments, user_id: str = "openid-phone") -> tuple[str, str]:
    """(decision number, the link the chat gives after 确认缴纳)."""
    violation = await decided(payments, days_ago=18)  # 3 days late: 18 yuan
    user = harness.user(user_id)
    await user.click("PAY_FINE")
    await user.send(violation.decision_number)
    return violation.decision_number, link_in(await user.send("确认缴纳"))


async def test_paid_on_the_cashier_page_and_back_on_ours(harness, payments, page: Page):
    number, link = await pay_link(harness, payments)
    await page.goto(link)
    text = await page.inner_text("body")
    assert "支付宝收银台" in text and "￥218.00" in text and "交通违法罚款" in text
    await page.get_by_role("button", name="确认付款").click()
    await page.wait_for_url("**/payments/return?**")
    shown = await page.inner_text("body")
    assert ("缴款成功" in shown or "正在确认支付结果" in shown) and number in shown
    payment = await paid(await Payment.get(decision_number=number))
    assert payment.state is PaymentState.PAID
    await (await payment.violation).refresh_from_db()
    assert (await payment.violation).state is ViolationState.PAID
    await page.reload()
    assert "缴款成功" in await page.inner_text("body")
    await page.goto(link)  # the link again: nothing more to pay
    assert "该订单已支付" in await page.inner_text("body")


async def test_cancelled_on_the_cashier_page(harness, payments, page: Page):
    number, link = await pay_link(harness, payments)
    await page.goto(link)
    await page.get_by_role("button", name="取消").click()
    await page.wait_for_url("**/payments/return?**")
    assert "本次未付款" in await page.inner_text("body")
    payment = await Payment.get(decision_number=number)
    assert payment.state is PaymentState.CREATED and payment.paid_at is None
