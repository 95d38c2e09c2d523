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
    OWNER_ALIPAY,
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


# ---- typed decision numbers are guesses (found walking the product) --------------------------

PAUSED = re.compile(r"查询功能已暂停，请于(次日)?\d\d:\d\d后再试")
WRONG = [f"500199{n:010d}" for n in range(900, 910)]  # no such decisions


async def by_number(user) -> str:
    """A registered user's way to the number: the list's 按处罚决定书编号缴纳."""
    assert "按处罚决定书编号缴纳" in await user.click("PAY_FINE")
    return await user.send("按处罚决定书编号缴纳")


async def test_regression_wrong_decision_numbers_were_answered_without_limit(harness, payments):
    """An unregistered user could type decision numbers (sequential) for ever, each miss just
    未找到; now they count as failed matches of the conversation, shared with the queries."""
    violation = await decided(payments)
    user = harness.user("openid-guesser")
    assert "请输入处罚决定书编号" in await user.click("PAY_FINE")
    for number in WRONG[:4]:
        assert "未找到该处罚决定书编号" in await user.send(number)
    paused = await user.send(WRONG[4])
    assert PAUSED.search(paused) and "请回复数字选择服务" in paused  # ended, with the menu

    again = await user.click("PAY_FINE")  # refused before the number is asked
    assert PAUSED.search(again) and "请输入处罚决定书编号" not in again
    assert PAUSED.search(await user.click("QUERY_VEHICLE"))  # one count, one pause
    assert not await Payment.exists()
    # another conversation is not paused, and finds the real number
    other = harness.alipay_user(ALIPAY_USER)
    await other.click("PAY_FINE")
    assert "应缴合计：200元" in await other.send(violation.decision_number)


async def test_regression_a_persons_misses_went_on_in_another_channel_or_a_new_openid(
        harness, payments):
    """A registered person's misses count per person too: 3 in WeChat and 2 in Alipay pause
    them in both, and in a WeChat account registered afresh; their own list stays payable."""
    await registered(REQUESTER, "wechat", REQUESTER_OPENID)
    await registered(REQUESTER, "alipay", ALIPAY_USER)
    own_car = await make_vehicle(owner_name=REQUESTER.real_name,
                                 owner_id_number=REQUESTER.id_number, plate_number="渝A40011")
    own = await decided(payments, vehicle=own_car)
    wechat, alipay = harness.user(REQUESTER_OPENID), harness.alipay_user(ALIPAY_USER)

    assert "请输入处罚决定书编号" in await by_number(wechat)
    for number in WRONG[:3]:
        assert "未找到该处罚决定书编号" in await wechat.send(number)
    assert "请输入处罚决定书编号" in await by_number(alipay)
    assert "未找到该处罚决定书编号" in await alipay.send(WRONG[3])
    assert PAUSED.search(await alipay.send(WRONG[4]))  # the person's fifth miss
    keys = b" ".join(await harness.services.redis.keys("query-lockout:*"))
    assert b"person:" in keys and REQUESTER.id_number.encode() not in keys  # HMAC-keyed

    refused = await by_number(wechat)  # the WeChat conversation had only 3
    assert PAUSED.search(refused) and own.decision_number in refused  # the list again
    await registered(REQUESTER, "wechat", "openid-requester-new")  # the old binding ends
    renewed = harness.user("openid-requester-new")
    assert PAUSED.search(await by_number(renewed))
    listed = await renewed.click("PAY_FINE")
    number = re.search(rf"(\d+)\. [^\n]*{own.decision_number}", listed)[1]
    assert "应缴合计：200元" in await renewed.send(number)


async def test_paid_and_not_payable_numbers_are_answered_not_counted(harness, payments):
    paid_one, elsewhere = await decided(payments), await decided(payments)
    for violation, state in ((paid_one, ViolationState.PAID),
                             (elsewhere, ViolationState.HANDLED_ELSEWHERE)):
        violation.state = state
        await violation.save()
    user = harness.user("openid-holder")
    for _ in range(3):
        await user.click("PAY_FINE")
        assert "已缴纳，无需重复缴纳" in await user.send(paid_one.decision_number)
        await user.click("PAY_FINE")
        assert "不能缴款" in await user.send(elsewhere.decision_number)
    assert await harness.services.failed_matches.paused_until("wechat:openid-holder") is None


async def test_regression_a_typed_number_showed_anyones_plate(harness, payments):
    """Anyone who typed (or guessed) a decision number read the plate whole; now the plate is
    masked and no time or place shown unless the fine is in the user's own list (own or
    followed vehicle, own licence)."""
    await registered(OWNER, "wechat", "openid-owner")
    follower = await registered(REQUESTER, "wechat", REQUESTER_OPENID)
    car = await owners_car(plate_number="渝A40021")
    await follow_directly(harness, follower, car)
    violation = await decided(payments, vehicle=car, place="重庆市渝北区金开大道星光天地路口")
    strangers_car = await make_vehicle(plate_number="渝A40022")
    holders = await decided(payments, vehicle=strangers_car, licence_number=OWNER.id_number)

    stranger = harness.alipay_user("2088000000000999")
    await stranger.click("PAY_FINE")
    shown = await stranger.send(violation.decision_number)
    assert "车辆：渝A***21（小型汽车）" in shown and "渝A40021" not in shown
    assert "金开大道" not in shown and "违法地点" not in shown and "违法时间" not in shown
    for wanted in (violation.decision_number, violation.description, "违法日期：2026-06-01",
                   "决定日期：", "缴款期限：", "罚款：200元", "应缴合计：200元"):
        assert wanted in shown

    await registered(OWNER, "alipay", OWNER_ALIPAY)
    for user, number in ((harness.user("openid-owner"), violation.decision_number),
                         (harness.user(REQUESTER_OPENID), violation.decision_number),
                         (harness.alipay_user(OWNER_ALIPAY), holders.decision_number)):
        await by_number(user)
        mine = await user.send(number)
        plate = car.plate_number if number == violation.decision_number else "渝A40022"
        assert f"车辆：{plate}（" in mine and "违法时间：2026-06-01 08:30" in mine
        assert "违法地点：" in mine


async def test_regression_back_on_the_breakdown_showed_an_unregistered_user_an_empty_list(
        harness, payments):
    violation = await decided(payments)
    user = harness.user("openid-back")
    await user.click("PAY_FINE")
    shown = await user.send(violation.decision_number)
    assert "2. 返回" in shown
    back = await user.send("2")
    assert "请输入处罚决定书编号" in back and "请选择要缴纳的罚款" not in back
    assert "应缴合计" in await user.send(violation.decision_number)
    assert "请输入处罚决定书编号" in await user.send("返回")  # typed, the same
