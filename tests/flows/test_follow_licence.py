"""关注好友驾驶证 over real HTTP: the requester in WeChat, the holder in Alipay (asked in
chat) or not a user (asked by SMS at the licence's phone on record, the code relayed); then
the followed licence as a quick pick of 查询驾驶证违法和记分 and in 我的账户, unfollowed there.
Every reply to the requester is scanned for the holder's unmasked data. SQLite and
PostgreSQL, real Redis."""

from __future__ import annotations

from models.follow import Follow
from models.licence import DriverLicence
from models.pending import PendingItem
from tests.support.follows import (
    OWNER,
    OWNER_ALIPAY,
    REQUESTER,
    REQUESTER_OPENID,
    SENT,
    owner_code,
    registered,
)
from tests.support.privacy import ScannedUser
from tests.support.records import make_licence, make_vehicle, make_violations
from tests.support.registration import pushes

MASKED = f"{OWNER.id_number[:4]}{'*' * 10}{OWNER.id_number[-4:]}"


async def holders_licence() -> DriverLicence:
    """OWNER's licence (name, number and phone on record), with two violations."""
    licence = await make_licence(number=OWNER.id_number, holder_name=OWNER.real_name,
                                 holder_phone=OWNER.phone, file_number="500100000802",
                                 points=6)
    car = await make_vehicle(owner_id_number=OWNER.id_number)
    await make_violations(car, 2, licence_number=OWNER.id_number)
    return licence


async def requester_of(harness) -> ScannedUser:
    """The requester registered in WeChat, every reply scanned for the holder's data."""
    await registered(REQUESTER, "wechat", REQUESTER_OPENID)
    return ScannedUser(harness.user(REQUESTER_OPENID),
                       secrets=(OWNER.real_name, OWNER.id_number, OWNER.phone))


async def send_request(requester: ScannedUser, licence: DriverLicence) -> str:
    """From the menu button to the request sent; returns the reply that says so."""
    assert "请输入驾驶人姓名" in await requester.click("FOLLOW_LICENCE")
    await requester.send(licence.holder_name)
    await requester.send(licence.number)
    shown = await requester.send(licence.file_number)
    assert f"驾驶证号：{MASKED}" in shown and "驾驶人：李**" in shown
    assert "累积记分：6分" in shown and "违法记录：2条" in shown and "关注该驾驶证" in shown
    confirm = await requester.send("关注该驾驶证")
    assert "持证人" in confirm and "138****0802" in confirm and "确认发送吗" in confirm
    sent = await requester.send("确认发送")
    assert SENT in sent
    return sent


async def test_a_holder_who_is_not_a_user_is_texted_and_the_relayed_code_follows(harness):
    licence = await holders_licence()
    requester = await requester_of(harness)

    sent = await send_request(requester, licence)

    assert "已通过短信向持证人登记的手机号 138****0802 发送验证码" in sent
    done = await requester.send(await owner_code(OWNER.phone))
    assert "验证通过，持证人已同意关注" in done and "关注的车辆和驾驶证" in done
    follow = await Follow.get(licence_id=licence.id)
    assert follow.valid_until is not None and follow.vehicle_id is None

    # Item 6: the licence query offers it (and nothing else) as a quick pick ...
    picks = await requester.click("QUERY_LICENCE")
    assert f"A. 关注 驾驶证{MASKED}（李**）" in picks and "B." not in picks
    listed = await requester.send("A")
    assert "共2条违法记录" in listed and "累积记分：6分" in listed
    assert "请输入驾驶人姓名" in await requester.send("返回")  # back to the picks
    # ... and My account lists it, with its violations, and unfollows it.
    await requester.click("MY_ACCOUNT")
    follows = await requester.send("关注的车辆和驾驶证")
    assert f"1. 驾驶证{MASKED}（李**）" in follows
    shown = await requester.send("1")
    assert "持证人授权有效期至" in shown
    assert "共2条违法记录" in await requester.send("查看违法记录")
    assert f"驾驶证{MASKED}" in await requester.send("返回")
    assert "确认取消关注" in await requester.send("取消关注")
    assert f"已取消关注 驾驶证{MASKED}" in await requester.send("确认取消关注")
    await follow.refresh_from_db()
    assert follow.ended_at is not None
    assert "A. 关注" not in await requester.click("QUERY_LICENCE")


async def test_a_holder_in_alipay_approves_in_chat_and_revokes_from_my_licence(harness):
    licence = await holders_licence()
    await registered(OWNER, "alipay", OWNER_ALIPAY)
    holder = ScannedUser(harness.alipay_user(OWNER_ALIPAY),
                         secrets=(REQUESTER.real_name, REQUESTER.id_number))
    requester = await requester_of(harness)

    sent = await send_request(requester, licence)

    assert "持证人是本平台实名用户，将在对话中收到您的请求" in sent
    [offered] = await holder.user.pushes(1)
    assert f"新的待处理事项：关注请求：王** 请求关注 驾驶证{MASKED}" in offered.text
    await holder.send("待处理")
    asked = await holder.send("1")
    assert f"王** 请求关注您的驾驶证{MASKED}（李**）" in asked and "我的驾驶证" in asked
    await holder.send("同意")
    assert "已同意 王** 关注" in await holder.send("确认同意")
    [told] = await pushes(harness, REQUESTER_OPENID, 1)
    assert f"持证人已同意，您已关注 驾驶证{MASKED}" in told
    assert not await PendingItem.filter(conversation=f"wechat:{REQUESTER_OPENID}").exists()

    await holder.click("MY_ACCOUNT")
    await holder.send("我的驾驶证")
    followers = await holder.send("关注我驾驶证的人")
    assert "1. 我的驾驶证 王** " in followers
    assert "确认解除 王** 对 我的驾驶证 的关注吗" in await holder.send("1")
    assert "已解除 王** 对 我的驾驶证 的关注" in await holder.send("确认解除")
    told = await pushes(harness, REQUESTER_OPENID, 2)
    assert f"持证人已撤销您对驾驶证{MASKED}的关注。" in told[1]


async def test_own_licence_is_a_quick_pick_and_cannot_be_followed(harness):
    licence = await holders_licence()
    await registered(OWNER, "wechat", "openid-holder")
    holder = harness.user("openid-holder")

    picks = await holder.click("QUERY_LICENCE")
    assert f"A. 我的驾驶证 驾驶证{MASKED}（李**）" in picks
    assert "共2条违法记录" in await holder.send("a")  # either case
    assert "请输入驾驶人姓名" in await holder.click("FOLLOW_LICENCE")
    await holder.send(licence.holder_name)
    await holder.send(licence.number)
    await holder.send(licence.file_number)
    assert "这是您本人的驾驶证，已在“我的驾驶证”中" in await holder.send("关注该驾驶证")


async def test_the_licence_query_list_takes_it_into_the_follow_journey(harness):
    licence = await holders_licence()
    requester = await requester_of(harness)
    assert "请输入驾驶人姓名" in await requester.click("QUERY_LICENCE")
    await requester.send(licence.holder_name)
    await requester.send(licence.number)

    listed = await requester.send(licence.file_number)

    assert "共2条违法记录" in listed and "回复“关注该驾驶证”可请求关注此驾驶证" in listed
    shown = await requester.send("关注该驾驶证")
    assert "违法记录：2条" in shown and "1. 关注该驾驶证" in shown
    assert "确认发送吗" in await requester.send("1")


async def test_a_lapsed_licence_follow_offers_to_ask_again(harness):
    licence = await holders_licence()
    requester = await requester_of(harness)
    await send_request(requester, licence)
    assert "验证通过" in await requester.send(await owner_code(OWNER.phone))
    follow = await Follow.get(licence_id=licence.id)
    await Follow.filter(id=follow.id).update(valid_until=follow.started_at)  # a year on

    assert await harness.services.follows.lapse_consents() == 1

    [told] = await pushes(harness, REQUESTER_OPENID, 1)
    assert f"新的待处理事项：关注已到期：驾驶证{MASKED}" in told
    await requester.send("待处理")
    shown = await requester.send("1")
    assert f"驾驶证号：{MASKED}" in shown and "1. 关注该驾驶证" in shown
    assert "确认发送吗" in await requester.send("1")
    assert SENT in await requester.send("确认发送")
