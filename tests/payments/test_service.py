"""Payments through the simulated Alipay, over real HTTP, on SQLite and PostgreSQL: orders
priced by the server, notifies checked and acted on once, reconciliation of lost notifies
and expired orders, unknown outcomes, double payments flagged and refunded by an operator,
and concurrent pay attempts for one decision."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from bot.integrations.alipay import alipay_client, new_private_key
from bot.messages import Conversation
from models.enums import ViolationState
from models.outbox import OutboxMessage
from models.payment import Payment, PaymentRecord, PaymentState, RecordSource
from payments.gateway import NOTIFY_PATH, PayGateway, merchant_of
from payments.service import PaymentRefused
from tests.support.payments import (
    biz_of,
    daytime_clock,
    decided,
    flagged_payment,
    make_order,
    notify_form,
    open_pay_page,
    paid,
    post_notify,
    press,
)
from tests.support.turns import turn_over

ALICE = "wechat:openid-alice"


@pytest.fixture
async def payments(harness):
    payments = harness.services.payments
    payments.clock = daytime_clock()
    return payments


def later(payments, **delta: float) -> None:
    """Move the payments' clock forward."""
    clock = payments.clock
    payments.clock = lambda: clock() + timedelta(**delta)


async def told(harness, openid: str = "openid-alice", count: int = 1) -> list[str]:
    for _ in range(200):
        sent = await OutboxMessage.filter(kind="wechat.text", recipient=openid).order_by("id")
        if len(sent) >= count:
            return [message.body["text"] for message in sent]
        await asyncio.sleep(0.05)
    raise AssertionError(f"the payer was not told {count} times")


async def notify(harness, form: dict[str, str]) -> str:
    return await post_notify(harness.client.session, str(harness.client.make_url(NOTIFY_PATH)),
                             form)


async def test_paid_through_the_pay_page_clears_the_decision_and_tells_the_payer(
        harness, payments):
    violation = await decided(payments, days_ago=20)  # 5 days late: 5 x 6 yuan
    payment, url = await make_order(harness, violation)
    assert (payment.principal, payment.late_fee, payment.amount) == (
        Decimal(200), Decimal(30), Decimal(230))
    assert payment.days_overdue == 5 and payment.state is PaymentState.CREATED
    biz = biz_of(url)
    assert (biz["out_trade_no"], biz["total_amount"]) == (payment.out_trade_no, "230.00")

    http = harness.client.session
    assert "￥230.00" in await open_pay_page(http, url)
    back = await press(http, str(harness.client.make_url("")), payment.out_trade_no, "pay")
    assert back.startswith(str(harness.client.make_url("/payments/return")))

    payment = await paid(payment)
    await violation.refresh_from_db()
    assert payment.state is PaymentState.PAID and payment.live_key == violation.id
    assert violation.state is ViolationState.PAID and violation.paid_at is not None
    [text] = await told(harness)
    assert "缴款成功" in text and "230" in text and violation.decision_number in text
    record = await PaymentRecord.get(payment_id=payment.id, source=RecordSource.NOTIFY)
    assert record.accepted and record.notify_id and record.body["trade_status"] == "TRADE_SUCCESS"
    async with http.get(back) as response:  # the return page shows what we know
        assert "缴款成功" in await response.text()


async def test_the_amount_is_the_servers_on_the_day_of_the_order(harness, payments):
    on_time = await decided(payments, days_ago=15, fine=Decimal(50))
    capped = await decided(payments, days_ago=100, fine=Decimal(50))
    assert (await make_order(harness, on_time))[0].amount == Decimal(50)
    late, _ = await make_order(harness, capped)
    assert (late.late_fee, late.amount, late.days_overdue) == (Decimal(50), Decimal(100), 85)


@pytest.mark.parametrize(
    ("forgery", "why"),
    [
        ({"key": "impostor"}, "signature"),
        ({"total_amount": "0.01"}, "total_amount"),
        ({"app_id": "2021009999999999"}, "app_id"),
        ({"seller_id": "2088999999999999"}, "seller_id"),
        ({"out_trade_no": "F20260101000000aaaaaaaaaaaaaaaa"}, "out_trade_no"),
    ],
)
async def test_forged_notifies_are_refused_and_kept(harness, payments, forgery, why):
    violation = await decided(payments)
    payment, _ = await make_order(harness, violation)
    if forgery.get("key") == "impostor":
        forgery = {"key": new_private_key()}
    assert await notify(harness, notify_form(harness.settings, payment, **forgery)) == "fail"

    await payment.refresh_from_db()
    await violation.refresh_from_db()
    assert payment.state is PaymentState.CREATED and payment.paid_at is None
    assert violation.state is ViolationState.PROCESSED_UNPAID
    record = await PaymentRecord.get(source=RecordSource.NOTIFY)
    assert not record.accepted and why in record.outcome and record.notify_id is None


async def test_wait_buyer_pay_is_not_paid(harness, payments):
    violation = await decided(payments)
    payment, _ = await make_order(harness, violation)
    form = notify_form(harness.settings, payment, trade_status="WAIT_BUYER_PAY")
    assert await notify(harness, form) == "success"
    await payment.refresh_from_db()
    await violation.refresh_from_db()
    assert payment.state is PaymentState.PAYING and payment.paid_at is None
    assert violation.state is ViolationState.PROCESSED_UNPAID


async def test_duplicate_notifies_act_once(harness, payments):
    violation = await decided(payments)
    payment, _ = await make_order(harness, violation)
    form = notify_form(harness.settings, payment)
    answers = await asyncio.gather(*(notify(harness, form) for _ in range(5)))
    assert answers == ["success"] * 5
    assert await notify(harness, form) == "success"  # a late repeat too
    await paid(payment)
    assert await PaymentRecord.filter(payment_id=payment.id, accepted=True).count() == 1
    await turn_over(harness, Conversation.parse(ALICE))  # a second message would be here
    assert len(await told(harness)) == 1


async def test_out_of_order_notifies_never_unpay(harness, payments):
    violation = await decided(payments)
    payment, _ = await make_order(harness, violation)
    settings = harness.settings
    assert await notify(harness, notify_form(settings, payment)) == "success"
    for status in ("WAIT_BUYER_PAY", "TRADE_CLOSED", "TRADE_FINISHED"):
        form = notify_form(settings, payment, trade_status=status, notify_id=f"n-{status}")
        assert await notify(harness, form) == "success"
    await payment.refresh_from_db()
    assert payment.state is PaymentState.PAID and payment.live_key == violation.id
    assert await PaymentRecord.filter(payment_id=payment.id, accepted=True).count() == 4


async def test_a_lost_notify_is_settled_by_reconciliation(harness, payments):
    violation = await decided(payments)
    payment, url = await make_order(harness, violation)
    http = harness.client.session
    await open_pay_page(http, url)
    await press(http, str(harness.client.make_url("")), payment.out_trade_no, "silent")
    assert await payments.reconcile() == 0  # too young to ask about
    await payment.refresh_from_db()
    assert payment.state is PaymentState.CREATED

    later(payments, seconds=harness.settings.payment.reconcile_after)
    assert await payments.reconcile() == 1
    payment = await paid(payment)
    await violation.refresh_from_db()
    assert violation.state is ViolationState.PAID
    assert (await PaymentRecord.get(payment_id=payment.id, source=RecordSource.QUERY)).accepted
    assert "缴款成功" in (await told(harness))[0]


@pytest.mark.parametrize("opened", [True, False])
async def test_an_expired_order_is_closed_and_the_decision_may_be_paid_again(
        harness, payments, opened):
    violation = await decided(payments)
    payment, url = await make_order(harness, violation)
    if opened:  # Alipay has the trade: trade.close closes it; else it never existed
        await open_pay_page(harness.client.session, url)
    later(payments, minutes=20)
    await payments.reconcile()
    await payment.refresh_from_db()
    assert payment.state is PaymentState.CLOSED and payment.live_key is None
    closing = await PaymentRecord.get(payment_id=payment.id, source=RecordSource.CLOSE)
    assert closing.outcome == "交易已关闭"
    again, _ = await make_order(harness, violation)
    assert again.id != payment.id and again.state is PaymentState.CREATED
    if opened:  # the closed trade takes no money
        async with harness.client.session.get(url) as response:
            assert "该订单已关闭" in await response.text()


async def test_the_same_conversation_gets_its_open_order_again_others_wait(harness, payments):
    violation = await decided(payments)
    first, _ = await make_order(harness, violation)
    again, url = await make_order(harness, violation)
    assert again.id == first.id and biz_of(url)["out_trade_no"] == first.out_trade_no
    with pytest.raises(PaymentRefused, match="正在缴纳中"):
        await make_order(harness, violation, "alipay:2088000000000042")


async def test_a_paid_decision_is_not_ordered_again(harness, payments):
    violation = await decided(payments)
    payment, _ = await make_order(harness, violation)
    await notify(harness, notify_form(harness.settings, payment))
    await paid(payment)
    with pytest.raises(PaymentRefused, match="已缴纳"):
        await make_order(harness, violation)


@pytest.mark.parametrize(("hour", "minute", "refused"),
                         [(21, 59, False), (22, 0, True), (0, 29, True), (0, 30, False)])
async def test_no_orders_in_the_maintenance_window(harness, payments, hour, minute, refused):
    from datetime import time

    violation = await decided(payments)
    payments.clock = daytime_clock(time(hour, minute))
    if refused:
        with pytest.raises(PaymentRefused, match="00:30 后再试"):
            await make_order(harness, violation)
        assert not await Payment.exists()
    else:
        assert (await make_order(harness, violation))[0].state is PaymentState.CREATED


async def test_an_unknown_outcome_is_asked_of_alipay_before_another_order(harness, payments):
    violation = await decided(payments)
    payment, url = await make_order(harness, violation)
    http = harness.client.session
    await open_pay_page(http, url)
    await press(http, str(harness.client.make_url("")), payment.out_trade_no, "silent")
    reachable = payments.gateway
    dead = alipay_client(harness.settings, sandbox=True, timeout=1)
    dead._gateway = "http://127.0.0.1:9/gateway.do"  # nothing listens: no answer
    payments.gateway = PayGateway(dead, merchant_of(harness.settings),
                                  base_url=harness.settings.server.base_url, subject="罚款")
    later(payments, minutes=20)
    await payments.reconcile()
    await payment.refresh_from_db()
    assert payment.state is PaymentState.UNKNOWN and payment.live_key == violation.id
    with pytest.raises(PaymentRefused, match="尚在确认中"):
        await make_order(harness, violation)
    assert await Payment.all().count() == 1

    payments.gateway = reachable  # Alipay answers again: the money was taken
    with pytest.raises(PaymentRefused, match="已缴纳"):
        await make_order(harness, violation)
    await payment.refresh_from_db()
    assert payment.state is PaymentState.PAID and await Payment.all().count() == 1


async def test_regression_money_after_an_order_was_closed_is_flagged_and_refunded(
        harness, payments):
    """Alipay took money for an order we had closed while a second order paid the decision:
    the first is flagged, its payer told not to pay again, and an operator refunds it."""
    violation = await decided(payments)
    first, _ = await make_order(harness, violation)
    later(payments, minutes=20)
    await payments.reconcile()
    second, _ = await make_order(harness, violation)
    settings = harness.settings
    assert await notify(harness, notify_form(settings, second)) == "success"
    assert await notify(harness, notify_form(settings, first)) == "success"

    first, second = await paid(first), await paid(second)
    assert second.flagged == "" and second.live_key == violation.id
    assert "另有支付" in first.flagged and first.live_key is None
    assert [p.id for p in await payments.flagged()] == [first.id]
    texts = await told(harness, count=2)
    assert any("请勿再次缴纳" in text for text in texts)

    with pytest.raises(PaymentRefused, match="only flagged"):
        await payments.refund(second.out_trade_no, operator="op1", reason="test")
    # The simulated Alipay has no trade for a notify we forged: it says so.
    with pytest.raises(PaymentRefused, match="交易不存在"):
        await payments.refund(first.out_trade_no, operator="op1", reason="duplicate")
    refusal = await PaymentRecord.get(payment_id=first.id, source=RecordSource.REFUND)
    assert not refusal.accepted and refusal.operator == "op1"


async def test_a_flagged_payment_is_refunded_once_through_alipay(harness, payments):
    payment = await flagged_payment(harness, payments)
    assert "重复付款" in payment.flagged

    done = await payments.refund(payment.out_trade_no, operator="op2", reason="paid at window")
    assert done.startswith("refunded 200.00 yuan")
    await payment.refresh_from_db()
    assert payment.state is PaymentState.REFUNDED and payment.refunded_at is not None
    record = await PaymentRecord.get(payment_id=payment.id, source=RecordSource.REFUND,
                                     accepted=True)
    assert record.operator == "op2" and record.body["reason"] == "paid at window"
    with pytest.raises(PaymentRefused, match="only flagged"):
        await payments.refund(payment.out_trade_no, operator="op2", reason="again")


async def test_concurrent_pay_attempts_make_one_order(harness, payments):
    violation = await decided(payments)
    same = await asyncio.gather(*(make_order(harness, violation) for _ in range(8)))
    assert len({payment.id for payment, _ in same}) == 1

    other = await decided(payments)
    tries = await asyncio.gather(
        *(payments.order(other.decision_number, None, Conversation("wechat", f"o{n}"))
          for n in range(8)), return_exceptions=True)
    orders = [outcome for outcome in tries if not isinstance(outcome, BaseException)]
    assert len(orders) == 1
    assert all(isinstance(outcome, PaymentRefused) for outcome in tries
               if isinstance(outcome, BaseException))
    assert await Payment.filter(violation_id=other.id).count() == 1
