"""The processing journey's tests' people and steps: REQUESTER (tests.support.follows) as the
processor with a licence, the journey opened and a violation picked, the owner's SMS."""

from __future__ import annotations

import asyncio
import re

from models.user import User
from models.violation import Violation
from tests.support.follows import (
    OWNER,
    REQUESTER,
    REQUESTER_OPENID,
    follow_directly,
    owners_car,
    registered,
    secrets,
)
from tests.support.privacy import ScannedUser
from tests.support.records import make_licence, make_violation


async def processor(harness, vehicle=None, *, points: int = 3,
                    channel: str = "wechat") -> ScannedUser:
    """REQUESTER registered with a C1 licence holding ``points``, scanned for the owner's data
    of ``vehicle``."""
    await make_licence(number=REQUESTER.id_number, holder_name=REQUESTER.real_name,
                       points=points)
    if channel == "wechat":
        await registered(REQUESTER, "wechat", REQUESTER_OPENID)
        user = harness.user(REQUESTER_OPENID)
    else:
        await registered(REQUESTER, "alipay", "2088000000000801")
        user = harness.alipay_user("2088000000000801")
    return ScannedUser(user, secrets=secrets(vehicle) if vehicle else ())


async def texted(harness, phone: str, count: int) -> str:
    """The text of the ``count``-th SMS to ``phone``, once the send_sms job sent it."""
    for _ in range(200):
        texts = await harness.outbox(phone)
        if len(texts) >= count:
            return texts[count - 1].body["text"]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no SMS number {count} to the phone")


async def open_pending(user: ScannedUser, title: str) -> str:
    """Open the 待处理 item whose title contains ``title``."""
    listed = await user.send("待处理")
    number = re.search(rf"(\d+)\. [^\n]*{title}", listed)
    assert number, listed
    return await user.send(number[1])


async def choose(user: ScannedUser, line: str) -> str:
    """Open the journey and pick the violation whose list line matches ``line`` (a
    pattern)."""
    listed = await user.click("PROCESS_VIOLATION")
    number = re.search(rf"(\d+)\. [^\n]*{line}", listed)
    assert number, listed
    return await user.send(number[1])


async def requester() -> User:
    """REQUESTER as a user (registered by ``processor``)."""
    return await User.get(id_number=REQUESTER.id_number)


async def sms_owner_asked(harness, plate: str) -> tuple[ScannedUser, Violation, str]:
    """A point violation of OWNER's car (OWNER not a user) followed by REQUESTER, processing
    confirmed: returns the link of the SMS to the owner's phone on record."""
    car = await owners_car(plate_number=plate)
    violation = await make_violation(car, points=3)
    user = await processor(harness, car)
    await follow_directly(harness, await requester(), car)
    await choose(user, plate)
    assert "已通过短信向车主登记的手机号发送刷脸认证链接" in await user.send("确认处理")
    text = await texted(harness, OWNER.phone, 2)  # the follow request's, then this one
    assert f"王**申请在线处理您的车辆{plate[:2]}***{plate[-2:]}的一条记分违法" in text
    return user, violation, re.search(r"https?://\S+/process/owner/[A-Za-z0-9_-]+", text)[0]


