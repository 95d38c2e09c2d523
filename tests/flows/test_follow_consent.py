"""The owner's side of a follow request in chat (follow_consent), over real HTTP: the owner in
Alipay in the middle of a journey of their own, a request decided meanwhile, and a request
opened by someone who does not own the vehicle. SQLite and PostgreSQL, real Redis."""

from __future__ import annotations

import asyncio

from bot.follows import Evidence
from bot.messages import Conversation
from bot.pending import footer
from models.follow import Follow, FollowRequest, RequestState
from tests.support.follows import (
    OWNER,
    OWNER_ALIPAY,
    REQUESTER,
    owners_car,
    registered,
    request_directly,
)
from tests.support.privacy import ScannedUser
from tests.support.records import make_violations
from tests.support.registration import pushes


async def owner_asked(harness, **car) -> tuple[ScannedUser, FollowRequest]:
    """The owner registered in Alipay, a request from REQUESTER offered to them."""
    vehicle = await owners_car(**car)
    await registered(OWNER, "alipay", OWNER_ALIPAY)
    owner = ScannedUser(harness.alipay_user(OWNER_ALIPAY),
                        secrets=(REQUESTER.real_name, REQUESTER.id_number, REQUESTER.phone))
    requester = await registered(REQUESTER, "wechat", "openid-requester")
    request_id = await request_directly(harness, requester, vehicle)
    return owner, await FollowRequest.get(id=request_id)


async def test_an_owner_mid_journey_answers_and_their_journey_resumes(harness):
    vehicle = await owners_car(plate_number="渝A30002")
    await make_violations(vehicle, 2)
    await registered(OWNER, "alipay", OWNER_ALIPAY)
    owner = ScannedUser(harness.alipay_user(OWNER_ALIPAY), secrets=(REQUESTER.real_name,))
    await owner.click("QUERY_VEHICLE")
    assert "请输入号牌号码" in await owner.send("2")  # the owner is querying a car
    requester = await registered(REQUESTER, "wechat", "openid-requester")
    await request_directly(harness, requester, await owners_car(plate_number="渝A30001"))

    [offered] = await owner.user.pushes(1)
    assert "新的待处理事项：关注请求：王** 请求关注 渝A***01" in offered.text
    listed = await owner.send("待处理")
    assert "已退出" not in listed and "1. 关注请求：王** 请求关注 渝A***01" in listed
    assert "请求关注您名下的车辆 渝A30001" in await owner.send("1")
    assert "确认拒绝 王** 关注 渝A30001（小型汽车）吗" in await owner.send("拒绝")
    refused = await owner.send("确认拒绝")

    assert "已拒绝 王** 关注 渝A30001" in refused
    assert "请输入号牌号码" in refused  # back where the owner was
    await owner.send("渝A30002")
    assert "共2条违法记录" in await owner.send(vehicle.vin[-6:])
    [told] = await pushes(harness, f"openid-direct-{requester.id}", 1)  # request_directly's
    assert "关注结果" in told and "车主已拒绝" in told


async def test_a_request_decided_meanwhile_is_not_decided_twice(harness):
    owner, request = await owner_asked(harness, plate_number="渝A30003")
    await owner.user.pushes(1)
    await owner.send("待处理")
    await owner.send("1")
    assert "确认同意" in await owner.send("同意")
    await harness.services.follows.decide(request.id, False, evidence=Evidence("chat"))

    reply = await owner.send("确认同意")

    assert "该关注请求已处理（已拒绝），无需再处理" in reply
    assert (await FollowRequest.get(id=request.id)).state is RequestState.REFUSED
    assert not await Follow.exists()


async def test_back_from_the_confirmation_asks_again(harness):
    owner, _ = await owner_asked(harness, plate_number="渝A30004")
    await owner.user.pushes(1)
    await owner.send("待处理")
    await owner.send("1")
    await owner.send("同意")

    assert "1. 同意\n2. 拒绝" in await owner.send("返回")
    assert "确认拒绝" in await owner.send("2")


async def test_someone_who_does_not_own_the_vehicle_cannot_answer(harness):
    _, request = await owner_asked(harness, plate_number="渝A30005")
    stranger = harness.user("openid-stranger")
    await stranger.send("你好")

    await harness.services.conversations.begin(Conversation("wechat", "openid-stranger"),
                                               "follow_consent", {"request": request.id})

    [shown] = await pushes(harness, "openid-stranger", 1)
    assert "未找到该关注请求" in shown
    assert (await FollowRequest.get(id=request.id)).state is RequestState.PENDING


async def test_back_from_the_pending_list_returns_to_the_journey_beneath(harness):
    owner, _ = await owner_asked(harness, plate_number="渝A30006")
    await owner.user.pushes(1)
    await owner.click("QUERY_VEHICLE")
    assert "请输入号牌号码" in await owner.send("2")
    assert "1. 关注请求" in await owner.send("待处理")

    assert "请输入号牌号码" in await owner.send("返回")


async def test_regression_an_offer_pushed_before_the_owner_first_looked_was_missed(harness):
    """The simulated user counted only pushes after its first look at the outbox: an offer
    pushed before that (the job was quicker than the test, under load) was skipped, and the
    test waited 15 s for a push that had come."""
    owner, _ = await owner_asked(harness, plate_number="渝A30008")
    async with asyncio.timeout(10):  # the offer lands before the owner's first look
        while not await harness.outbox(OWNER_ALIPAY):
            await asyncio.sleep(0.02)

    [offered] = await owner.user.pushes(1)

    assert "新的待处理事项：关注请求：王** 请求关注 渝A***08" in offered.text


async def test_regression_a_request_left_unanswered_could_not_be_opened_again(harness):
    """An owner who opened a follow request from 待处理 and left it for the menu found it gone,
    though it still waited for their answer: it stays until answered, then leaves the list
    in each of the owner's chats."""
    await registered(OWNER, "wechat", "openid-owner")  # the owner in both channels
    owner, request = await owner_asked(harness, plate_number="渝A30007")
    await owner.user.pushes(1)
    await owner.send("待处理")
    assert "请求关注您名下的车辆 渝A30007" in await owner.send("1")
    assert footer(1) in await owner.send("菜单")
    assert "1. 关注请求：王** 请求关注 渝A***07" in await owner.send("待处理")
    assert "请求关注您名下的车辆 渝A30007" in await owner.send("1")
    in_wechat = ScannedUser(harness.user("openid-owner"), secrets=(REQUESTER.real_name,))
    assert "1. 关注请求：王** 请求关注 渝A***07" in await in_wechat.send("待处理")
    await in_wechat.send("菜单")

    await owner.send("同意")
    agreed = await owner.send("确认同意")
    assert "已同意 王** 关注 渝A30007" in agreed and footer(1) not in agreed
    assert (await FollowRequest.get(id=request.id)).state is RequestState.APPROVED
    assert "您目前没有待处理事项" in await owner.send("待处理")
    assert "您目前没有待处理事项" in await in_wechat.send("待处理")
