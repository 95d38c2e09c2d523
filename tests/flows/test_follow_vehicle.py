"""关注好友车辆 over real HTTP: the requester in WeChat, the owner in Alipay (asked in chat)
or not a user (asked by SMS, the code relayed), every quota refused before anything is sent,
and nothing of the owner unmasked to the requester. SQLite and PostgreSQL, real Redis."""

from __future__ import annotations

import pytest

from bot.accounts import Person
from bot.follows import Evidence
from bot.messages import Conversation
from bot.pending import footer
from models.follow import Follow, FollowRequest, RequestState
from models.outbox import OutboxMessage
from models.pending import PendingItem
from models.user import VerifiedBy
from tests.support.follows import (
    OWNER,
    OWNER_ALIPAY,
    REQUESTER,
    REQUESTER_OPENID,
    SENT,
    follow_directly,
    owner_code,
    owners_car,
    registered,
    request_directly,
    requests,
    scene,
    secrets,
    send_request,
    to_vehicle,
)
from tests.support.privacy import ScannedUser, assert_masked
from tests.support.queries import query_vehicle
from tests.support.records import id_number, make_vehicle, make_violations
from tests.support.registration import pushes
from tests.support.turns import turn_over

APPROVED = "车主已同意，您已关注"


async def sms_count() -> int:
    return await OutboxMessage.filter(kind="sms").count()


async def test_an_owner_in_alipay_approves_in_chat_and_the_waiting_requester_is_told(harness):
    vehicle = await owners_car(plate_number="渝A20001")
    await make_violations(vehicle, 3)
    await registered(OWNER, "alipay", OWNER_ALIPAY)
    owner = ScannedUser(harness.alipay_user(OWNER_ALIPAY), secrets=(REQUESTER.real_name,
                                                                    REQUESTER.id_number))
    _, requester = await scene(harness, vehicle)

    shown = await to_vehicle(requester, vehicle)
    assert "车辆：渝A20001（小型汽车）" in shown and "违法记录：3条" in shown
    assert f"车架号：***********{vehicle.vin[-6:]}" in shown and "车主：李**" in shown
    assert "138****0802" in await requester.send("关注该车辆")  # where an SMS would go
    sent = await requester.send("确认发送")
    assert SENT in sent and "将在对话中收到您的请求" in sent and "有效期至" in sent

    [offered] = await owner.user.pushes(1)
    assert "新的待处理事项：关注请求：王** 请求关注 渝A***01" in offered.text
    assert "关注请求：王** 请求关注" in await owner.send("待处理")
    asked = await owner.send("1")
    assert "王** 请求关注您名下的车辆 渝A20001（小型汽车）" in asked and "1. 同意" in asked
    assert "确认同意 王** 关注 渝A20001（小型汽车）吗" in await owner.send("同意")
    assert "已同意 王** 关注 渝A20001" in await owner.send("确认同意")

    [told] = await pushes(harness, REQUESTER_OPENID, 1)
    assert APPROVED in told and "渝A20001" in told
    assert not any(secret in told for secret in secrets(vehicle))  # the push is scanned too
    follow = await Follow.get(vehicle_id=vehicle.id)
    assert follow.ended_at is None and follow.valid_until is None  # a chat consent lasts
    assert not await PendingItem.filter(conversation=f"wechat:{REQUESTER_OPENID}").exists()
    await requester.click("MY_ACCOUNT")
    listed = await requester.send("关注的车辆和驾驶证")
    assert "1. 渝A20001（小型汽车）" in listed


async def test_a_requester_who_left_finds_the_outcome_under_pending_items(harness):
    vehicle = await owners_car(plate_number="渝A20002")
    await registered(OWNER, "alipay", OWNER_ALIPAY)
    _, requester = await scene(harness, vehicle)
    await send_request(requester, vehicle)
    assert "确定离开吗" in await requester.send("菜单")
    assert "请回复数字选择服务" in await requester.send("离开")
    request = await FollowRequest.get(vehicle_id=vehicle.id)

    decided = await harness.services.follows.decide(request.id, False,
                                                    evidence=Evidence("chat"))

    assert decided.done
    [told] = await pushes(harness, REQUESTER_OPENID, 1)
    assert "新的待处理事项：关注结果：渝A***02 车主已拒绝" in told and told.endswith(footer(1))
    assert "关注结果" in await requester.send("待处理")
    assert "车主拒绝了您对 渝A20002 的关注请求" in await requester.send("1")


async def test_an_owner_who_is_not_a_user_is_texted_and_the_relayed_code_follows(harness):
    vehicle = await owners_car(plate_number="渝A20003")
    _, requester = await scene(harness, vehicle)

    sent = await send_request(requester, vehicle)

    assert "已通过短信向车主登记的手机号 138****0802 发送验证码" in sent
    code = await owner_code(OWNER.phone)
    wrong = "000000" if code != "000000" else "111111"
    assert "请输入短信中的6位验证码" in await requester.send("12345")
    assert "验证码错误，还可尝试 4 次" in await requester.send(wrong)
    done = await requester.send(code)
    assert "验证通过，车主已同意关注" in done
    assert "关注的车辆和驾驶证" in done  # where to see the vehicle now
    follow = await Follow.get(vehicle_id=vehicle.id)
    assert follow.valid_until is not None  # an SMS consent lapses after a year
    assert await requests() == 1
    assert not await PendingItem.filter(conversation=f"wechat:{REQUESTER_OPENID}").exists()


async def test_the_fifth_wrong_relayed_code_ends_the_request(harness):
    vehicle = await owners_car(plate_number="渝A20004")
    _, requester = await scene(harness, vehicle)
    await send_request(requester, vehicle)
    code = await owner_code(OWNER.phone)
    wrong = "000000" if code != "000000" else "111111"

    for left in (4, 3, 2, 1):
        assert f"还可尝试 {left} 次" in await requester.send(wrong)
    locked = await requester.send(wrong)

    assert "验证码错误次数过多，该关注请求已失效" in locked
    assert "请回复数字选择服务" in locked  # the journey is over
    assert (await FollowRequest.get(vehicle_id=vehicle.id)).state is RequestState.FAILED
    assert "请回复数字选择服务" in await requester.send(code)  # no longer taken as a code
    assert not await Follow.exists()
    # An outcome event, had one been published, is handled by the time the turn is over.
    await turn_over(harness, Conversation("wechat", REQUESTER_OPENID))
    assert not await PendingItem.exists(kind="follow.decided")  # told once, in the reply


async def test_ones_own_vehicle_is_not_followed(harness):
    _, requester = await scene(harness)
    own = await make_vehicle(owner_id_number=REQUESTER.id_number, owner_name=REQUESTER.real_name,
                             owner_phone=REQUESTER.phone)
    requester.secrets = ()

    await to_vehicle(requester, own)
    reply = await requester.send("关注该车辆")

    assert "这是您本人名下的车辆，已在“我的车辆”中" in reply
    assert await requests() == 0 and await sms_count() == 0


async def test_a_third_vehicle_is_refused_before_anything_is_sent(harness):
    first, second = await make_vehicle(), await make_vehicle()
    scene_, requester = await scene(harness)
    await follow_directly(harness, scene_.requester, first)
    await follow_directly(harness, scene_.requester, second)
    sent_before, texts_before = await requests(), await sms_count()

    await to_vehicle(requester, scene_.vehicle)
    reply = await requester.send("关注该车辆")

    assert "您已关注 2/2 辆" in reply
    assert (await requests(), await sms_count()) == (sent_before, texts_before)


async def test_the_fourth_attempt_of_the_year_is_refused_before_anything_is_sent(harness):
    scene_, requester = await scene(harness)
    follows = harness.services.follows
    for _ in range(3):  # three requests sent this year, each refused by its owner
        request_id = await request_directly(harness, scene_.requester, await make_vehicle())
        await follows.decide(request_id, False, evidence=Evidence("chat"))
    texts_before = await sms_count()

    await to_vehicle(requester, scene_.vehicle)
    reply = await requester.send("关注该车辆")

    assert "今年的 3 次关注机会已用完，明年 1 月 1 日恢复" in reply
    assert await requests() == 3 and await sms_count() == texts_before


async def test_a_vehicle_with_three_followers_is_refused_before_anything_is_sent(harness):
    vehicle = await owners_car(plate_number="渝A20005")
    for n in range(3):
        friend = await registered(_friend(n), "wechat", f"openid-friend-{n}")
        await follow_directly(harness, friend, vehicle)
    _, requester = await scene(harness, vehicle)
    texts_before = await sms_count()

    await to_vehicle(requester, vehicle)
    reply = await requester.send("关注该车辆")

    assert "该车辆已有 3 位关注人" in reply
    assert await requests() == 3 and await sms_count() == texts_before


async def test_a_second_request_for_the_same_vehicle_is_refused_while_one_waits(harness):
    vehicle = await owners_car(plate_number="渝A20006")
    _, requester = await scene(harness, vehicle)
    await send_request(requester, vehicle)
    await requester.send("菜单")
    await requester.send("离开")

    await to_vehicle(requester, vehicle)

    assert "正在等待车主同意" in await requester.send("关注该车辆")
    assert await requests() == 1


async def test_someone_not_registered_is_sent_to_registration(harness):
    stranger = harness.user("openid-stranger")

    reply = await stranger.click("FOLLOW_VEHICLE")

    assert "关注好友车辆需先完成实名注册" in reply and "请回复数字选择服务" in reply


@pytest.mark.parametrize("text", ["关注", "关注车辆"])
async def test_everyday_words_start_the_journey(harness, text):
    _, requester = await scene(harness)
    assert "请选择号牌种类" in await requester.send(text)


def _friend(n: int) -> Person:
    return Person(id_number(810 + n), f"赵{n}", f"1350000081{n}", VerifiedBy.FACE)


async def test_the_vehicle_just_queried_is_followed_without_typing_it_again(harness):
    vehicle = await owners_car(plate_number="渝A20007")
    await make_violations(vehicle, 1)
    _, requester = await scene(harness, vehicle)

    listed = await query_vehicle(requester, vehicle.plate_number, vehicle.vin[-6:])
    assert "共1条违法记录" in listed and "回复“关注该车辆”可请求关注此车" in listed
    shown = await requester.send("关注该车辆")

    assert "车辆：渝A20007（小型汽车）" in shown and "违法记录：1条" in shown
    assert "确认发送吗" in await requester.send("关注该车辆")
    assert SENT in await requester.send("确认发送")


async def test_a_lapsed_follow_offers_to_ask_again(harness):
    vehicle = await owners_car(plate_number="渝A20008")
    _, requester = await scene(harness, vehicle)
    await send_request(requester, vehicle)
    assert "验证通过" in await requester.send(await owner_code(OWNER.phone))
    follow = await Follow.get(vehicle_id=vehicle.id)
    await Follow.filter(id=follow.id).update(valid_until=follow.started_at)  # a year on

    assert await harness.services.follows.lapse_consents() == 1

    [told] = await pushes(harness, REQUESTER_OPENID, 1)
    assert "新的待处理事项：关注已到期：渝A***08" in told
    await requester.send("待处理")
    shown = await requester.send("1")
    assert "车辆：渝A20008（小型汽车）" in shown and "1. 关注该车辆" in shown
    assert "确认发送吗" in await requester.send("1")
    assert SENT in await requester.send("确认发送")
    assert await requests() == 2


async def test_a_requester_in_alipay_is_told_there_when_an_owner_in_wechat_approves(harness):
    vehicle = await owners_car(plate_number="渝A20009")
    await make_violations(vehicle, 2)
    await registered(OWNER, "wechat", "openid-owner")
    owner = ScannedUser(harness.user("openid-owner"), secrets=(REQUESTER.real_name,
                                                               REQUESTER.id_number))
    await registered(REQUESTER, "alipay", "2088000000000801")
    alipay = harness.alipay_user("2088000000000801")
    requester = ScannedUser(alipay, secrets=secrets(vehicle))  # every reply, pushed or not

    shown = await to_vehicle(requester, vehicle)
    assert "车辆：渝A20009（小型汽车）" in shown and "违法记录：2条" in shown
    await requester.send("关注该车辆")
    sent = await requester.send("确认发送")
    assert SENT in sent and "将在对话中收到您的请求" in sent

    [offered] = await pushes(harness, "openid-owner", 1)
    assert "新的待处理事项：关注请求：王** 请求关注 渝A***09" in offered
    await owner.send("待处理")
    assert "王** 请求关注您名下的车辆 渝A20009（小型汽车）" in await owner.send("1")
    await owner.send("同意")
    assert "已同意 王** 关注 渝A20009" in await owner.send("确认同意")

    told = [pushed.text for pushed in await alipay.pushes(1)]  # pushed in the journey
    for text in told:
        assert_masked(text, secrets(vehicle))
    assert any(APPROVED in text and "渝A20009" in text for text in told)
    assert await Follow.filter(vehicle_id=vehicle.id, ended_at=None).count() == 1
    picks = await requester.click("QUERY_VEHICLE")  # the followed car is a quick pick now
    assert "A. 关注 渝A20009（小型汽车）" in picks
    assert "共2条违法记录" in await requester.send("A")
