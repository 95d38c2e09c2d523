"""Payment reminders over the real app (SQLite and PostgreSQL): before the last day to pay
and when late fees start, to the registered owner and licence holder, once each, in every
channel they are bound in; switched off and on in 罚款缴纳."""

from __future__ import annotations

import asyncio

import pytest

from models.enums import ViolationState
from models.payment import PaymentReminder
from tests.support.follows import OWNER, REQUESTER, REQUESTER_OPENID, owners_car, registered
from tests.support.payments import daytime_clock, decided
from tests.support.registration import pushes

OWNER_OPENID = "openid-owner"


@pytest.fixture
def payments(harness):
    payments = harness.services.payments
    payments.clock = daytime_clock()
    return payments


async def test_due_soon_once_to_the_owner_in_every_channel(harness, payments):
    await registered(OWNER, "wechat", OWNER_OPENID)
    await registered(OWNER, "alipay", "2088000000000601")
    violation = await decided(payments, vehicle=await owners_car(), days_ago=12)
    assert await payments.reminders.send_due() == 1
    assert await payments.reminders.send_due() == 0  # never twice
    [text] = await pushes(harness, OWNER_OPENID, 1)
    assert "缴款提醒" in text and violation.decision_number in text and "前缴纳" in text
    for _ in range(200):
        if sent := await harness.outbox("2088000000000601"):
            break
        await asyncio.sleep(0.05)
    assert [(m.kind, m.body["text"]) for m in sent] == [("alipay.text", text)]


async def test_late_fees_started_to_the_owner_and_the_licence_holder(harness, payments):
    await registered(OWNER, "wechat", OWNER_OPENID)
    await registered(REQUESTER, "wechat", REQUESTER_OPENID)
    violation = await decided(payments, vehicle=await owners_car(), days_ago=16,
                              licence_number=REQUESTER.id_number)
    await decided(payments, vehicle=await owners_car(plate_number="渝A50001"), days_ago=5)
    paid = await decided(payments, vehicle=await owners_car(plate_number="渝A50002"),
                         days_ago=16)
    paid.state = ViolationState.PAID
    await paid.save()
    assert await payments.reminders.send_due() == 2
    for openid in (OWNER_OPENID, REQUESTER_OPENID):
        [text] = await pushes(harness, openid, 1)
        assert "已超过缴款期限" in text and "今日应缴 206 元" in text
    assert {r.violation_id for r in await PaymentReminder.all()} == {violation.id}


async def test_switched_off_and_on_in_the_journey(harness, payments):
    await registered(OWNER, "wechat", OWNER_OPENID)
    await decided(payments, vehicle=await owners_car(), days_ago=13)
    owner = harness.user(OWNER_OPENID)
    assert "关闭缴款提醒" in await owner.click("PAY_FINE")
    assert "已关闭缴款提醒" in await owner.send("关闭缴款提醒")
    assert await payments.reminders.send_due() == 0
    assert "开启缴款提醒" in await owner.click("PAY_FINE")
    assert "已开启缴款提醒" in await owner.send("开启缴款提醒")
    assert await payments.reminders.send_due() == 1
    await pushes(harness, OWNER_OPENID, 1)


async def test_nobody_registered_nobody_reminded(harness, payments):
    await decided(payments, vehicle=await owners_car(), days_ago=12)
    assert await payments.reminders.send_due() == 0
