"""我的账户 over the real WeChat endpoint, on SQLite and PostgreSQL with a real Redis."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from tortoise.timezone import localtime

from bot.accounts import Person, register, user_of
from bot.demo_data import (
    CODES,
    LI_NA,
    LIU_YANG,
    LIU_YANG_CAR,
    NEW_ENERGY_CAR,
    TRUCK,
    WANG_QIANG,
    DemoPerson,
    DemoVehicle,
    seed_demo,
)
from flows.account import NOT_REGISTERED
from flows.summaries import offence
from flows.violation_list import NOT_OWN, OWN
from models.enums import LicenceClass, PlateType, ViolationState
from models.follow import EndedBy, Follow
from models.outbox import OutboxMessage
from models.user import User, VerifiedBy
from models.verification import Method, Outcome, Verification
from tests.support import follows as follows_support
from tests.support.privacy import ScannedUser
from tests.support.records import (
    id_number,
    local,
    make_licence,
    make_vehicle,
    make_violation,
    make_violations,
)
from tests.support.registration import register_by_face
from tests.support.sql_log import statements

NAME = "张三丰"
ID = id_number(601)
PHONE = "13700000000"
HOME = "我的账户：张**"


@pytest.fixture
def alice(harness) -> ScannedUser:
    return ScannedUser(harness.user("openid-alice"), secrets=(NAME, ID, PHONE))


@pytest.fixture
async def registered(harness) -> User:
    return (await register("wechat", "openid-alice", Person(ID, NAME, PHONE, VerifiedBy.FACE),
                           bindings_per_channel=1)).user


async def test_someone_not_registered_is_offered_registration(harness, alice):
    reply = await alice.click("MY_ACCOUNT")

    assert NOT_REGISTERED in reply and "1. 实名注册" in reply
    assert "请输入您的姓名" in await alice.send("1")


async def test_my_licence(harness, registered, alice):
    await make_licence(number=ID, holder_name=NAME, licence_class=LicenceClass.C1, points=3)
    assert HOME in await alice.click("MY_ACCOUNT")

    reply = await alice.send("1")

    for line in ("驾驶证号：5001**********", "驾驶人：张**", "准驾车型：C1（小型汽车）",
                 "有效期：2020-05-01 至 2030-05-01", "状态：正常",
                 "本记分周期（2026-05-01 起）累积记分：3分"):
        assert line in reply
    assert HOME in await alice.send("1")  # 返回我的账户


async def test_no_licence_on_record(harness, registered, alice):
    await alice.click("MY_ACCOUNT")
    assert "未查询到您本人的机动车驾驶证信息" in await alice.send("我的驾驶证")


async def test_my_vehicles_and_their_violations(harness, registered, alice):
    await make_licence(number=ID, holder_name=NAME, points=3)  # 3 + 3 points stay below 12
    car = await make_vehicle(owner_id_number=ID, owner_name=NAME, plate_number="渝A10001")
    await make_vehicle(owner_id_number=ID, owner_name=NAME, plate_number="渝AD12345",
                       plate_type=PlateType.SMALL_NEW_ENERGY)
    await make_vehicle(plate_number="渝B20002")  # someone else's
    await make_violations(car, 2)
    await alice.click("MY_ACCOUNT")

    listed = await alice.send("2")

    assert f"1. 渝A10001 小型汽车 车架号***********{car.vin[-6:]}" in listed
    assert "2. 渝AD12345 小型新能源汽车" in listed and "渝B20002" not in listed
    violations = await alice.send("1")
    assert "渝A10001（小型汽车）" in violations and "共2条违法记录" in violations
    detail = await alice.send("1")
    assert "违法详情" in detail
    assert OWN in detail and NOT_OWN not in detail  # the owner is not told to register
    assert "共2条违法记录" in await alice.send("返回")


async def test_regression_my_vehicles_are_looked_up_once_a_turn(harness, registered, alice,
                                                               caplog):
    """The vehicles prompt and its choices each looked the user's vehicles up: two statements
    where one does (issue 9, the database step)."""
    await make_vehicle(owner_id_number=ID, owner_name=NAME, plate_number="渝A10001")
    await alice.click("MY_ACCOUNT")

    with statements(caplog) as sent:
        assert "1. 渝A10001 小型汽车" in await alice.send("2")

    assert sum('FROM "vehicle"' in statement for statement in sent) == 1


async def test_no_vehicles_on_record(harness, registered, alice):
    await alice.click("MY_ACCOUNT")
    reply = await alice.send("我的车辆")
    assert "未查询到登记在您名下的机动车" in reply and "1. 返回我的账户" in reply


async def test_followed_vehicles_and_licences_are_empty_for_now(harness, registered, alice):
    await alice.click("MY_ACCOUNT")
    assert "暂无关注的车辆和驾驶证" in await alice.send("3")


async def test_unregister_keeps_the_verification_records(harness, alice):
    await make_licence(number=ID, holder_name=NAME)
    await register_by_face(harness, alice, NAME, ID, PHONE)
    await alice.click("MY_ACCOUNT")
    assert "确认注销吗" in await alice.send("4")

    reply = await alice.send("确认注销")

    assert "账户已注销" in reply and "身份核验记录将继续保存" in reply
    assert (await User.get(id_number=ID)).unregistered_at is not None
    checks = await Verification.filter(subject_id_number=ID).order_by("id")
    assert [(c.method, c.outcome) for c in checks] == [  # the face check, the phone's code
        (Method.FACE, Outcome.PASSED), (Method.SMS, Outcome.PASSED)]
    assert NOT_REGISTERED in await alice.click("MY_ACCOUNT")


async def test_unregister_can_be_called_off(harness, registered, alice):
    await alice.click("MY_ACCOUNT")
    await alice.send("4")

    assert HOME in await alice.send("暂不注销")
    assert (await User.get(id_number=ID)).unregistered_at is None


# ---- one person, two channels (issue 10, item 3) -----------------------------------------------


async def test_my_account_names_the_channels_the_person_is_bound_on(harness, registered, alice):
    assert "已绑定：微信\n" in await alice.click("MY_ACCOUNT")
    await register("alipay", "2088000000000601", Person(ID, NAME, PHONE, VerifiedBy.FACE),
                   bindings_per_channel=1)

    assert "已绑定：微信、支付宝\n" in await alice.click("MY_ACCOUNT")


async def test_unregistering_one_channel_leaves_the_other_bound(harness, registered, alice):
    await register("alipay", "2088000000000601", Person(ID, NAME, PHONE, VerifiedBy.FACE),
                   bindings_per_channel=1)
    await alice.click("MY_ACCOUNT")
    assert "您在支付宝上的实名绑定不受影响" in await alice.send("4")

    assert "本微信账号已解除与实名信息的绑定" in await alice.send("确认注销")

    user = await User.get(id_number=ID)
    assert user.unregistered_at is None
    assert await user_of("alipay", "2088000000000601") == user
    assert await user_of("wechat", "openid-alice") is None


# ---- online processing judged for the user's own licence (issue 9, item 7) ------------------


def number_of(reply: str, *words: str) -> str:
    """The number of the first listed line that holds all ``words``."""
    return next(line for line in reply.splitlines()
                if all(word in line for word in words)).split(".")[0]


async def open_own_violation(harness, person: DemoPerson, vehicle: DemoVehicle,
                             code: str) -> str:
    """``person``, registered, opens the unprocessed ``code`` record of their own vehicle."""
    await register("wechat", "openid-demo", Person(person.id_number, person.name, person.phone,
                                                    VerifiedBy.FACE), bindings_per_channel=1)
    user = ScannedUser(harness.user("openid-demo"), secrets=(person.name, person.id_number))
    await user.click("MY_ACCOUNT")
    vehicles = await user.send("我的车辆")
    listing = await user.send(number_of(vehicles, vehicle.plate_number))
    return await user.send(number_of(listing, offence(CODES[code].description), "未处理"))


@pytest.mark.parametrize(
    ("person", "vehicle", "code", "reason"),
    [
        (LI_NA, NEW_ENERGY_CAR, "1352", "处理后累积记分将达到12分"),  # 10 + 3
        (LIU_YANG, LIU_YANG_CAR, "1101", "处理后累积记分将达到12分"),  # 11 + 1
        (WANG_QIANG, TRUCK, "1352", "A、B类驾驶证不能在线处理记分违法"),
    ],
    ids=["li-na-10-points", "liu-yang-11-points", "wang-qiang-a2"],
)
async def test_regression_own_records_are_judged_for_the_users_own_licence(
        harness, person, vehicle, code, reason):
    """李娜 (10 points), 刘洋 (11) and 王强 (A2) were all told "符合在线处理条件"."""
    await seed_demo()
    detail = await open_own_violation(harness, person, vehicle, code)

    assert f"能否在线处理：否，{reason}" in detail
    assert OWN not in detail and "符合在线处理条件" not in detail


async def test_an_own_record_within_the_points_is_processable(harness):
    await seed_demo()
    detail = await open_own_violation(harness, LI_NA, NEW_ENERGY_CAR, "1101")  # 10 + 1 < 12
    assert "能否在线处理：是" in detail and OWN in detail


async def test_regression_unpaid_decisions_show_the_late_fee_and_the_last_day(harness,
                                                                             registered, alice):
    """A processed-unpaid record said only 已处理未缴款: not what is owed today nor by when."""
    car = await make_vehicle(owner_id_number=ID, owner_name=NAME, plate_number="渝A10031")
    today = localtime().date()
    await make_violation(car, state=ViolationState.PROCESSED_UNPAID, fine=Decimal(200),
                         decision_number="500103200012399", decided_on=today - timedelta(days=20))
    await make_violation(car, state=ViolationState.PROCESSED_UNPAID, fine=Decimal(150),
                         occurred_at=local(2026, 5, 1), decision_number="500103200012398",
                         decided_on=today - timedelta(days=3))
    await alice.click("MY_ACCOUNT")
    await alice.send("我的车辆")
    await alice.send("1")

    late = await alice.send("1")
    assert f"缴款期限：{today - timedelta(days=5):%Y-%m-%d}" in late
    assert "截至今日滞纳金：30元，应缴合计：230元" in late  # 5 days late x 3% x 200
    await alice.send("返回列表")
    on_time = await alice.send("2")
    assert f"缴款期限：{today + timedelta(days=12):%Y-%m-%d}" in on_time
    assert "截至今日滞纳金：0元，应缴合计：150元" in on_time



# ---- followed vehicles and followers (issue 11) ------------------------------------------------


async def pushed_text(recipient: str, words: str, seconds: float = 10) -> str:
    """The first message pushed to ``recipient`` (either channel) that holds ``words``."""
    for _ in range(int(seconds / 0.05)):
        for message in await OutboxMessage.filter(recipient=recipient).order_by("id"):
            if words in message.body.get("text", ""):
                return message.body["text"]
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing pushed with {words!r}")


async def test_a_followed_vehicle_its_violations_and_unfollow_telling_the_owner(
        harness, registered, alice):
    await follows_support.registered(follows_support.OWNER, "alipay",
                                     follows_support.OWNER_ALIPAY)
    car = await follows_support.owners_car(plate_number="渝A40001")
    await make_violations(car, 2)
    await follows_support.follow_directly(harness, registered, car)
    alice.secrets += follows_support.secrets(car)
    await alice.click("MY_ACCOUNT")

    listed = await alice.send("关注的车辆和驾驶证")
    assert "您关注的车辆" in listed and "1. 渝A40001（小型汽车） " in listed
    shown = await alice.send("1")
    assert "车主：李**" in shown and "关注时间：" in shown
    violations = await alice.send("查看违法记录")
    assert "渝A40001（小型汽车）" in violations and "共2条违法记录" in violations
    detail = await alice.send("1")  # judged as a followed vehicle, for alice's own licence
    assert "能否在线处理：否，记分违法需用本人驾驶证处理，未查到您的驾驶证" in detail
    assert "共2条违法记录" in await alice.send("返回列表")
    assert "1. 查看违法记录" in await alice.send("返回")  # out of the list, to the vehicle
    assert "确认取消关注 渝A40001（小型汽车）吗" in await alice.send("取消关注")
    done = await alice.send("确认取消关注")

    assert "已取消关注 渝A40001" in done and "暂无关注的车辆" in done
    told = await pushed_text(follows_support.OWNER_ALIPAY, "已取消关注")
    assert "张**已取消关注您的车辆渝A***01" in told
    assert (await Follow.get(vehicle_id=car.id)).ended_by is EndedBy.UNFOLLOW


async def test_an_owner_sees_who_follows_and_revokes_telling_the_follower(
        harness, registered, alice):
    car = await make_vehicle(owner_id_number=ID, owner_name=NAME, plate_number="渝A40002")
    follower = await follows_support.registered(follows_support.REQUESTER, "wechat",
                                                "openid-follower")
    await follows_support.follow_directly(harness, follower, car)
    alice.secrets += (follows_support.REQUESTER.real_name, follows_support.REQUESTER.id_number)
    await alice.click("MY_ACCOUNT")
    await alice.send("我的车辆")

    listed = await alice.send("关注我车辆的人")
    assert "1. 渝A40002 王** " in listed and "起" in listed
    assert "确认解除 王** 对 渝A40002 的关注吗" in await alice.send("1")
    done = await alice.send("确认解除")

    assert "已解除 王** 对 渝A40002 的关注" in done and "目前没有人关注您名下的车辆" in done
    told = await pushed_text("openid-follower", "撤销")
    assert "车主已撤销您对车辆渝A***02的关注" in told
    assert (await Follow.get(vehicle_id=car.id)).ended_by is EndedBy.REVOKE
