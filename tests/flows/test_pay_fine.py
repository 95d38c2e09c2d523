"""罚款缴纳 over real HTTP in both channels, SQLite and PostgreSQL: the processed-unpaid list
(own vehicle, followed vehicle, own licence), the breakdown, the pay link, paying on the
simulated Alipay's page and being told in the channel paid from; paying by decision number
without registering; the maintenance window; numbers that cannot be paid."""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal

import pytest

from models.enums import ViolationState
from models.payment import Payment, PaymentState
from tests.support.follows import (
    OWNER,
    REQUESTER,
    REQUESTER_OPENID,
    follow_directly,
    owners_car,
    registered,
    secrets,
)
from tests.support.payments import biz_of, daytime_clock, decided, open_pay_page, paid, press
from tests.support.privacy import ScannedUser
from tests.support.records import make_vehicle
from tests.support.registration import link_in, pushes

ALIPAY_USER = "2088000000000901"


@pytest.fixture
def payments(harness):
    payments = harness.services.payments
    payments.clock = daytime_clock()
    return payments


async def pay_on_alipay(harness, link: str) -> Payment:
    """The buyer opens the link and pays; the payment once the notify settled it."""
    http = harness.client.session
    await open_pay_page(http, link)
    out_trade_no = biz_of(link)["out_trade_no"]
    await press(http, str(harness.client.make_url("")), out_trade_no, "pay")
    return await paid(await Payment.get(out_trade_no=out_trade_no))


async def test_registered_user_pays_from_the_list_and_is_told_in_wechat(harness, payments):
    requester = await registered(REQUESTER, "wechat", REQUESTER_OPENID)
    own_car = await make_vehicle(owner_name=REQUESTER.real_name,
                                 owner_id_number=REQUESTER.id_number, plate_number="渝A40001")
    friends_car = await owners_car(plate_number="渝A40002")
    await follow_directly(harness, requester, friends_car)
    strangers_car = await make_vehicle(plate_number="渝A40003")
    own = await decided(payments, vehicle=own_car, days_ago=20)  # 5 days late
    followed = await decided(payments, vehicle=friends_car, days_ago=2, fine=Decimal(100))
    licence = await decided(payments, vehicle=strangers_car, days_ago=1,
                            licence_number=REQUESTER.id_number)
    await decided(payments)  # someone else's
    user = ScannedUser(harness.user(REQUESTER_OPENID), secrets=secrets(friends_car))

    listed = await user.click("PAY_FINE")
    for violation in (own, followed, licence):
        assert violation.decision_number in listed
    assert listed.count("决定书5001") == 3 and "按处罚决定书编号缴纳" in listed
    number = re.search(rf"(\d+)\. [^\n]*{own.decision_number}", listed)[1]
    shown = await user.send(number)
    assert "罚款：200元" in shown and "滞纳金：30元（逾期5天" in shown
    assert "应缴合计：230元" in shown

    reply = await user.send("确认缴纳")
    assert "230 元" in reply
    payment = await pay_on_alipay(harness, link_in(reply))
    assert payment.amount == Decimal(230) and payment.payer_id == requester.id
    [told] = await pushes(harness, REQUESTER_OPENID, 1)
    assert "缴款成功" in told and own.decision_number in told
    await own.refresh_from_db()
    assert own.state is ViolationState.PAID
    assert own.decision_number not in await user.click("PAY_FINE")  # off the list
    assert OWNER.real_name not in "".join(user.replies)


async def test_anyone_pays_by_decision_number_in_alipay_and_is_told_there(harness, payments):
    violation = await decided(payments, days_ago=3, fine=Decimal(150))
    user = harness.alipay_user(ALIPAY_USER)
    asked = await user.click("PAY_FINE")
    assert "请输入处罚决定书编号" in asked
    shown = await user.send(violation.decision_number)
    assert "滞纳金：0元（未逾期）" in shown and "应缴合计：150元" in shown
    link_reply = await user.send("1")  # 确认缴纳: an image-text push with the link
    assert "支付宝缴纳罚款 150 元" in link_reply

    payment = await pay_on_alipay(harness, link_in(link_reply))
    assert payment.payer_id is None and payment.conversation == f"alipay:{ALIPAY_USER}"
    [done] = await user.pushes(1)
    assert "缴款成功" in done.text
    await user.click("PAY_FINE")
    assert "已缴纳，无需重复缴纳" in await user.send(violation.decision_number)


async def test_a_paid_or_unknown_number_cannot_be_paid(harness, payments):
    violation = await decided(payments)
    violation.state = ViolationState.PAID
    await violation.save()
    user = harness.user("openid-payer")
    await user.click("PAY_FINE")
    assert "未找到该处罚决定书编号" in await user.send("5001089999999999")
    assert "请输入15或16位" in await user.send("12345")
    assert "已缴纳，无需重复缴纳" in await user.send(violation.decision_number)
    assert not await Payment.exists()


async def test_in_the_maintenance_window_the_journey_says_when_it_opens(harness, payments):
    payments.clock = daytime_clock(time(23, 15))
    user = harness.user("openid-late")
    reply = await user.click("PAY_FINE")
    assert "暂停缴款" in reply and "00:30 后" in reply


async def test_the_order_is_refused_when_another_conversation_is_paying(harness, payments):
    violation = await decided(payments)
    first, second = harness.user("openid-first"), harness.user("openid-second")
    for user in (first, second):
        await user.click("PAY_FINE")
        await user.send(violation.decision_number)
    assert "<a href=" in await first.send("确认缴纳")
    assert "正在缴纳中" in await second.send("确认缴纳")
    assert [p.state for p in await Payment.all()] == [PaymentState.CREATED]
