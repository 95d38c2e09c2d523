"""查询车辆违法 over the real WeChat endpoint, on SQLite and PostgreSQL with a real Redis."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from bot.accounts import Person, register
from flows.violation_list import FOLLOWED, NO_MATCH, NOT_OWN, OWN
from models.enums import PlateType, Procedure, VehicleKind, ViolationKind, ViolationState
from models.user import VerifiedBy
from models.vehicle import Vehicle
from tests.support.follows import REQUESTER, follow_directly, owners_car, registered
from tests.support.privacy import ScannedUser
from tests.support.records import (
    local,
    make_licence,
    make_vehicle,
    make_violation,
    make_violations,
    vin,
)
from tests.support.sql_log import statements

PLATE_TYPE_PROMPT = "请选择号牌种类"
PLATE_PROMPT = "请输入号牌号码"
VIN_PROMPT = "请输入车架号"
PLATE_PAUSED = "该号牌近期查询未匹配次数过多，已临时保护"
GOOD_VIN = vin(1)
BAD_CHECK_DIGIT = GOOD_VIN[:8] + ("1" if GOOD_VIN[8] != "1" else "2") + GOOD_VIN[9:]


@pytest.fixture
def alice(harness) -> ScannedUser:
    return ScannedUser(harness.user("openid-alice"), secrets=("李四",))


async def ask(user: ScannedUser, plate_type: str, plate: str, vin6: str) -> str:
    assert PLATE_TYPE_PROMPT in await user.click("QUERY_VEHICLE")
    assert PLATE_PROMPT in await user.send(plate_type)
    assert VIN_PROMPT in await user.send(plate)
    return await user.send(vin6)


def item_times(reply: str) -> list[str]:
    return re.findall(r"^\d\. (\d{4}-\d\d-\d\d \d\d:\d\d)", reply, re.MULTILINE)


async def test_lists_violations_newest_first(harness, alice):
    vehicle = await make_vehicle(plate_number="渝A10001")
    await make_violation(vehicle, occurred_at=local(2026, 3, 5, 7, 45), fine=Decimal(100),
                         points=0, code="1039", description="机动车违反规定停放的")
    await make_violation(vehicle, occurred_at=local(2026, 5, 20, 18, 10))

    reply = await ask(alice, "2", "渝A10001", vehicle.vin[-6:])

    assert "渝A10001（小型汽车）" in reply
    assert "共2条违法记录，第1/1页" in reply
    assert item_times(reply) == ["2026-05-20 18:10", "2026-03-05 07:45"]
    assert ("1. 2026-05-20 18:10 重庆市渝中区解放碑步行街… 违反禁令标志指示 罚款200元 记3分 未处理"
            in reply)
    assert "罚款100元 记0分" in reply
    assert "下一页" not in reply


async def test_plate_type_by_code_or_name_and_new_energy_plates(harness, alice):
    vehicle = await make_vehicle(plate_type=PlateType.SMALL_NEW_ENERGY, plate_number="渝AD12345")
    await make_violation(vehicle)

    for plate_type in ("52", "小型新能源汽车", "3"):
        reply = await ask(alice, plate_type, "渝AD12345", vehicle.vin[-6:])
        assert "渝AD12345（小型新能源汽车）" in reply, plate_type
        assert "共1条违法记录" in reply


async def test_lower_case_full_width_and_spaced_plates_are_accepted(harness, alice):
    vehicle = await make_vehicle(plate_number="渝B12345")
    await make_violation(vehicle)

    for plate in ("渝b12345", "渝Ｂ１２３４５", "渝B·123 45"):
        assert "渝B12345（小型汽车）" in await ask(alice, "02", plate, vehicle.vin[-6:])
    # the full 17-character VIN is accepted too, and its last 6 are what matches
    assert "共1条违法记录" in await ask(alice, "2", "渝B12345", vehicle.vin)


async def test_pages_forward_and_back_through_twelve_violations(harness, alice):
    vehicle = await make_vehicle(plate_number="渝C00012")
    await make_violations(vehicle, 12)  # 2026-06-01 back to 2026-05-21, one a day

    first = await ask(alice, "2", "渝C00012", vehicle.vin[-6:])
    assert "共12条违法记录，第1/3页" in first
    assert [t[:10] for t in item_times(first)] == [f"2026-06-0{d}" for d in (1,)] + [
        f"2026-05-{d}" for d in (31, 30, 29, 28)]
    assert "回复“下一页”翻页" in first

    second = await alice.send("下一页")
    assert "第2/3页" in second
    assert [t[:10] for t in item_times(second)] == [f"2026-05-{d}" for d in (27, 26, 25, 24, 23)]
    assert "回复“下一页”或“上一页”翻页" in second

    third = await alice.send("下一页")
    assert "第3/3页" in third
    assert [t[:10] for t in item_times(third)] == ["2026-05-22", "2026-05-21"]
    assert "已经是最后一页了" in await alice.send("下一页")

    assert "第2/3页" in await alice.send("上一页")
    assert item_times(await alice.send("上一页")) == item_times(first)
    reply = await alice.send("上一页")
    assert "已经是第一页了" in reply and "第1/3页" in reply


async def test_detail_of_an_online_processable_violation_and_back(harness, alice):
    vehicle = await make_vehicle(plate_number="渝D20001")
    await make_violations(vehicle, 7)  # 2026-06-01 back to 2026-05-26
    await make_violation(vehicle, occurred_at=local(2026, 5, 24, 14, 5), code="1352",
                         description="驾驶中型以上载客载货汽车、校车、危险物品运输车辆以外的"
                                     "其他机动车行驶超过规定时速10%未达20%的")
    await ask(alice, "2", "渝D20001", vehicle.vin[-6:])
    page_two = await alice.send("下一页")  # 05-27, 05-26, 05-24

    detail = await alice.send("3")
    assert "违法详情" in detail
    assert "时间：2026-05-24 14:05" in detail
    assert "地点：重庆市渝中区解放碑步行街民族路口" in detail
    assert "违法行为：1352 驾驶中型以上载客载货汽车" in detail
    assert "罚款：200元" in detail and "记分：3分" in detail and "状态：未处理" in detail
    assert "处罚决定书编号" not in detail
    assert "能否在线处理：是" in detail
    assert NOT_OWN in detail
    assert "1. 返回列表" in detail

    assert await alice.send("1") == page_two  # 返回列表 by its number
    assert "时间：2026-05-26 08:30" in await alice.send("2")
    assert await alice.send("返回列表") == page_two
    assert "请回复 1-3 之间的序号" in await alice.send("4")
    assert "请回复列表中的序号" in await alice.send("第一条")
    # 返回 from the list goes back to the VIN question, not into the detail again
    assert VIN_PROMPT in await alice.send("返回")


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        ({"kind": ViolationKind.ON_SITE}, ["能否在线处理：否，仅非现场违法可以在线处理",
                                           "办理方式：请到违法发生地或机动车登记地"]),
        ({"procedure": Procedure.GENERAL, "kind": ViolationKind.GENERAL},
         ["仅非现场违法可以在线处理"]),
        ({"procedure": Procedure.GENERAL}, ["一般程序违法不能在线处理"]),
        ({"fine": Decimal(500)}, ["罚款：500元", "罚款超过200元的违法不能在线处理"]),
        ({"state": ViolationState.PROCESSED_UNPAID, "decision_number": "500103200012345"},
         ["状态：已处理未缴款", "处罚决定书编号：500103200012345",
          "能否在线处理：否，该违法已处理，尚未缴款", "办理方式：请在“罚款缴纳”中缴纳罚款"]),
        ({"state": ViolationState.PAID, "decision_number": "500103200012346"},
         ["状态：已缴款", "该违法已处理并已缴款"]),
    ],
)
async def test_detail_says_why_it_cannot_be_processed_online(harness, alice, fields, shown):
    vehicle = await make_vehicle(plate_number="渝E30001")
    await make_violation(vehicle, **fields)
    await ask(alice, "2", "渝E30001", vehicle.vin[-6:])

    detail = await alice.send("1")
    for line in shown:
        assert line in detail
    assert "处理机关：重庆市公安局交巡警总队渝中区支队" in detail
    assert NOT_OWN not in detail


async def test_no_violations(harness, alice):
    vehicle = await make_vehicle(plate_type=PlateType.ORDINARY_MOTORCYCLE, plate_number="渝F12345",
                                 kind=VehicleKind.MOTORCYCLE)
    reply = await ask(alice, "07", "渝F12345", vehicle.vin[-6:])
    assert "渝F12345（普通摩托车）" in reply
    assert "暂无违法记录" in reply
    assert "请回复列表中的序号" not in reply


async def test_a_wrong_vin_and_an_unknown_plate_get_the_same_answer(harness, alice):
    vehicle = await make_vehicle(plate_number="渝G40001")
    await make_violation(vehicle)
    wrong_suffix = "000000" if not vehicle.vin.endswith("000000") else "111111"

    wrong_vin = await ask(alice, "2", "渝G40001", wrong_suffix)
    unknown_plate = await ask(alice, "2", "渝G40002", vehicle.vin[-6:])
    wrong_type = await ask(alice, "1", "渝G40001", vehicle.vin[-6:])

    assert wrong_vin == unknown_plate == wrong_type
    assert wrong_vin.startswith(NO_MATCH)
    assert PLATE_TYPE_PROMPT in wrong_vin  # asked again from the start
    assert "渝G40001" not in wrong_vin
    # and the journey goes on from there
    assert PLATE_PROMPT in await alice.send("2")


@pytest.mark.parametrize(
    ("state", "text", "hint"),
    [
        ("plate_type", "99", "没有这种号牌种类"),
        ("plate_type", "货车", "没有这种号牌种类"),
        ("plate_number", "渝A1234I", "不使用字母 I 和 O"),
        ("plate_number", "渝AO1234", "不使用字母 I 和 O"),
        ("plate_number", "A12345", "请以省份简称开头"),
        ("plate_number", "渝A123", "车牌号码应为7位"),
        ("plate_number", "渝A12#45", "只能包含字母和数字"),
        ("vin6", "12345", "请输入车架号后6位，当前为5位"),
        ("vin6", "12O456", "不使用字母 I、O、Q"),
        ("vin6", BAD_CHECK_DIGIT, "校验位"),
    ],
)
async def test_bad_input_gets_a_hint_and_the_same_question(harness, alice, state, text, hint):
    answers = {"plate_type": "2", "plate_number": "渝A10001"}
    prompts = {"plate_type": PLATE_TYPE_PROMPT, "plate_number": PLATE_PROMPT,
               "vin6": VIN_PROMPT}
    await alice.click("QUERY_VEHICLE")
    for earlier in ("plate_type", "plate_number"):
        if earlier == state:
            break
        await alice.send(answers[earlier])

    reply = await alice.send(text)
    assert hint in reply
    assert prompts[state] in reply
    assert NO_MATCH not in reply
    assert await harness.services.failed_matches.paused_until("wechat:openid-alice") is None


async def test_back_cancel_and_menu_inside_the_journey(harness, alice):
    await alice.click("QUERY_VEHICLE")
    await alice.send("2")
    await alice.send("渝A10001")

    assert PLATE_PROMPT in await alice.send("返回")
    assert PLATE_TYPE_PROMPT in await alice.send("返回")
    assert "请回复数字选择服务" in await alice.send("返回")  # back past the start: the menu

    await alice.send("查询车辆违法")  # started from the text menu by its title
    await alice.send("2")
    cancelled = await alice.send("取消")
    assert "已取消当前操作" in cancelled and "查询车辆违法" in cancelled
    assert "没有理解您的意思" in await alice.send("渝A10001")  # the journey is gone

    await alice.click("QUERY_VEHICLE")
    menu = await alice.send("菜单")
    assert "查询驾驶证违法和记分" in menu
    assert "请回复数字选择服务" in await alice.send("渝A10001")


async def test_no_reply_shows_a_full_vin_phone_or_id(harness, alice):
    vehicle = await make_vehicle(plate_number="渝H50001")
    for day in range(1, 7):
        await make_violation(vehicle, occurred_at=local(2026, 4, day),
                             state=ViolationState.PROCESSED_UNPAID,
                             decision_number=f"50010320000{day:04d}")

    await ask(alice, "2", "渝H50001", vehicle.vin)  # even when the user typed the full VIN
    await alice.send("1")
    await alice.send("返回列表")
    await alice.send("下一页")
    assert "处罚决定书编号：500103200000001" in await alice.send("1")
    assert len(alice.replies) == 8  # every one of them scanned by ScannedUser


async def test_regression_a_circled_digit_on_the_list_gets_the_hint_not_an_error(harness, alice):
    """"①".isdigit() is true but int("①") fails: the list answered 系统繁忙."""
    vehicle = await make_vehicle(plate_number="渝A10009")
    await make_violation(vehicle)
    await ask(alice, "2", "渝A10009", vehicle.vin[-6:])

    reply = await alice.send("①")

    assert "请回复列表中的序号" in reply
    assert "系统繁忙" not in reply
    assert "违法详情" in await alice.send("１")  # full-width digits still pick


# ---- guessing a VIN over many openids ---------------------------------------------------------


def without_time(reply: str) -> str:
    return re.sub(r"(次日)?\d\d:\d\d", "<time>", reply)


async def guess_from_openids(harness, plate: str, openids: int, each: int) -> list[str]:
    """``each`` wrong VIN suffixes for ``plate`` from each of ``openids`` new users."""
    replies = []
    for user in range(openids):
        guesser = ScannedUser(harness.user(f"openid-guesser-{plate}-{user}"))
        for guess in range(each):
            replies.append(await ask(guesser, "2", plate, f"9{user}{guess:04d}"))
    return replies


async def register_owner(openid: str, vehicle: Vehicle) -> None:
    person = Person(vehicle.owner_id_number, vehicle.owner_name, vehicle.owner_phone,
                    VerifiedBy.FACE)
    await register("wechat", openid, person, bindings_per_channel=1)


async def test_regression_vin_guesses_over_five_openids_pause_the_plate(harness):
    """20 wrong VINs for one plate from 5 openids (4 each, under the per-user limit) were all
    answered, and then the right VIN listed the violations."""
    vehicle = await make_vehicle(plate_number="渝K70001")
    await make_violation(vehicle)
    await register_owner("openid-owner", vehicle)

    replies = await guess_from_openids(harness, "渝K70001", openids=5, each=4)

    assert all(reply.startswith(NO_MATCH) for reply in replies[:5])
    assert all(PLATE_PAUSED in reply and NO_MATCH not in reply for reply in replies[5:])
    newcomer = ScannedUser(harness.user("openid-newcomer"))
    refused = await ask(newcomer, "2", "渝K70001", vehicle.vin[-6:])
    assert PLATE_PAUSED in refused and "违法记录" not in refused
    assert "请于" in refused and "后再试" in refused
    # the pause is the plate's, whatever plate type it is asked with
    assert PLATE_PAUSED in await ask(newcomer, "1", "渝K70001", vehicle.vin[-6:])
    # the registered owner still gets through, and other plates are not paused
    owner = ScannedUser(harness.user("openid-owner"), secrets=(vehicle.owner_name,))
    assert "共1条违法记录" in await ask(owner, "2", "渝K70001", vehicle.vin[-6:])
    other = await make_vehicle(plate_number="渝K70002")
    assert "暂无违法记录" in await ask(newcomer, "2", "渝K70002", other.vin[-6:])


async def test_a_paused_unknown_plate_reads_the_same_as_a_paused_known_one(harness):
    """Misses of a plate that does not exist count too, and its pause says the same words,
    so the pause tells nothing about whether a plate exists."""
    await make_vehicle(plate_number="渝K70011")
    await guess_from_openids(harness, "渝K70011", openids=5, each=1)
    await guess_from_openids(harness, "渝K70012", openids=5, each=1)  # no such vehicle

    asker = ScannedUser(harness.user("openid-asker"))
    known = await ask(asker, "2", "渝K70011", "123456")
    unknown = await ask(asker, "2", "渝K70012", "123456")

    assert PLATE_PAUSED in known
    assert without_time(known) == without_time(unknown)
    assert "渝K7001" not in known
    # refusals of a paused plate are not misses of the asker
    assert await harness.services.failed_matches.paused_until("wechat:openid-asker") is None


async def test_an_owners_own_misses_pause_the_plate_for_others_but_not_for_the_owner(harness):
    vehicle = await make_vehicle(plate_number="渝K70021")
    await register_owner("openid-owner", vehicle)
    owner = ScannedUser(harness.user("openid-owner"), secrets=(vehicle.owner_name,))
    for guess in range(4):
        assert (await ask(owner, "2", "渝K70021", f"99{guess:04d}")).startswith(NO_MATCH)
    assert (await ask(harness.user("openid-other"), "2", "渝K70021", "990004")).startswith(
        NO_MATCH)  # the fifth miss of the plate: paused from now on

    assert PLATE_PAUSED in await ask(harness.user("openid-other"), "2", "渝K70021",
                                     vehicle.vin[-6:])
    assert "暂无违法记录" in await ask(owner, "2", "渝K70021", vehicle.vin[-6:])
    # a registered user who owns another vehicle is no owner of this one
    stranger = await make_vehicle(plate_number="渝K70022")
    await register_owner("openid-stranger", stranger)
    assert PLATE_PAUSED in await ask(harness.user("openid-stranger"), "2", "渝K70021",
                                     vehicle.vin[-6:])


# ---- what a driver stumbled on (issue 9, item 7) ---------------------------------------------


async def test_regression_list_lines_name_the_offence(harness, alice):
    """A list line showed time, place, fine and points but not what the offence was."""
    vehicle = await make_vehicle(plate_number="渝A10021")
    await make_violation(vehicle, code="1625", description="驾驶机动车违反道路交通信号灯通行的")
    await make_violation(vehicle, code="1357", occurred_at=local(2026, 5, 1),
                         description="驾驶机动车行经人行横道，不按规定减速、停车、避让行人的")

    reply = await ask(alice, "2", "渝A10021", vehicle.vin[-6:])

    assert "1. 2026-06-01 08:30 重庆市渝中区解放碑步行街… 违反道路交通信号灯通行 罚款200元" in reply
    assert ("2. 2026-05-01 09:00 重庆市渝中区解放碑步行街… 行经人行横道，不按规定减速、停车、避… "
            in reply)


async def test_regression_000005_is_not_item_5(harness, alice):
    """"000005" opened the fifth violation of the list (and the fifth menu entry)."""
    vehicle = await make_vehicle(plate_number="渝A10022")
    await make_violations(vehicle, 5)
    await ask(alice, "2", "渝A10022", vehicle.vin[-6:])

    for typed in ("000005", "05"):
        reply = await alice.send(typed)
        assert "违法详情" not in reply and "请回复列表中的序号" in reply
    assert "违法详情" in await alice.send("5")
    await alice.send("取消")
    assert "没有理解您的意思" in await alice.send("000005")


@pytest.mark.parametrize(
    ("plate_type", "plate", "hint"),
    [
        ("2", "渝AD12345", "渝AD12345是小型新能源汽车号牌（52），与所选号牌种类“小型汽车”不符"),
        ("52", "渝A12345", "渝A12345是7位的普通号牌，与所选号牌种类“小型新能源汽车”不符"),
        ("52", "渝A12345D", "渝A12345D是大型新能源汽车号牌（51），与所选号牌种类“小型新能源"),
        ("2", "渝A1234挂", "渝A1234挂是挂车号牌（15）"),
        ("2", "川A12345", "本服务仅支持查询重庆市登记的机动车"),
        ("52", "京AD12345", "本服务仅支持查询重庆市登记的机动车"),
    ],
)
async def test_regression_a_plate_that_cannot_be_of_the_type_is_told_not_counted(
        harness, alice, plate_type, plate, hint):
    """An 8-character plate asked as 02, or a plate from Sichuan, went on to the VIN and came
    back as a failed match, counting towards the pause."""
    await alice.click("QUERY_VEHICLE")
    await alice.send(plate_type)

    reply = await alice.send(plate)

    assert hint in reply and PLATE_PROMPT in reply
    assert VIN_PROMPT not in reply
    assert await harness.services.failed_matches.paused_until("wechat:openid-alice") is None
    vehicle = await make_vehicle(plate_type=PlateType.SMALL_NEW_ENERGY, plate_number="渝AD12346")
    await alice.send("返回")
    await alice.send("52")
    assert VIN_PROMPT in await alice.send("渝AD12346")  # a plate of the right shape goes on
    assert "渝AD12346（小型新能源汽车）" in await alice.send(vehicle.vin[-6:])


async def test_regression_the_lockout_reply_says_until_when_and_shows_the_menu(harness, alice):
    """The pause ended the journey with its words only: the user was left without a way on."""
    vehicle = await make_vehicle(plate_number="渝A10023")
    replies = [await ask(alice, "2", "渝A10023", f"99000{n}") for n in range(5)]

    paused = replies[-1]
    assert re.search(r"请于(次日)?\d\d:\d\d后再试", paused)
    assert "请回复数字选择服务" in paused and "查询驾驶证违法和记分" in paused
    again = await alice.click("QUERY_VEHICLE")  # the guard's refusal, the same way
    assert re.search(r"请于(次日)?\d\d:\d\d后再试", again)
    assert "请回复数字选择服务" in again and vehicle.plate_number not in again



async def test_regression_the_vin_step_and_a_page_look_the_vehicle_up_once(
        harness, alice, caplog):
    """The match and the list prompt after it each looked the vehicle up: three statements for
    the VIN step where two do (issue 9, the database step). A further page needs no vehicle
    at all: the list is entered only by a match, and the session keeps its proof."""
    vehicle = await make_vehicle(plate_number="渝A10031")
    await make_violations(vehicle, 7)
    await ask(alice, "2", "渝A10031", "000000")  # a miss: one lookup, no list

    with statements(caplog) as vin_step:
        assert "第1/2页" in await ask(alice, "2", "渝A10031", vehicle.vin[-6:])
    with statements(caplog) as page_step:
        assert "第2/2页" in await alice.send("下一页")

    for sent, vehicles in ((vin_step, 1), (page_step, 0)):
        assert sum('FROM "vehicle"' in statement for statement in sent) == vehicles
        assert sum('FROM "violation"' in statement for statement in sent) == 1


async def test_quick_picks_open_own_and_followed_vehicles_without_the_vin(harness):
    """A registered user's own vehicle (as their own) and a followed one (as someone else's)
    are lettered picks above the plate types, which keep their numbers."""
    user = await registered(REQUESTER, "wechat", "openid-picker")
    await make_licence(number=REQUESTER.id_number, holder_name=REQUESTER.real_name)
    own = await make_vehicle(plate_number="渝A30001", owner_id_number=REQUESTER.id_number)
    await make_violations(own, 3)
    friends = await owners_car(plate_number="渝B30002")
    await make_violations(friends, 2)
    await follow_directly(harness, user, friends)
    picker = ScannedUser(harness.user("openid-picker"),
                         secrets=(friends.owner_name, friends.owner_phone, friends.vin))

    start = await picker.click("QUERY_VEHICLE")

    assert "A. 我的车辆 渝A30001（小型汽车）\nB. 关注 渝B30002（小型汽车）" in start
    assert "1. 大型汽车\n2. 小型汽车" in start and PLATE_TYPE_PROMPT in start
    assert "共3条违法记录" in (listed := await picker.send("A")) and "渝A30001" in listed
    assert OWN in await picker.send("1")
    await picker.send("返回列表")
    assert "A. 我的车辆" in await picker.send("返回")  # back to the picks
    assert "共2条违法记录" in await picker.send("ｂ")  # full-width, lower case
    assert FOLLOWED in await picker.send("1")
    await picker.send("返回列表")
    await picker.send("返回")
    assert "请回复A-B 之间的字母选择车辆" in await picker.send("C")
    assert PLATE_PROMPT in await picker.send("2")  # still 小型汽车
    assert VIN_PROMPT in await picker.send("渝A10009")


async def test_a_registered_user_without_vehicles_sees_no_picks(harness):
    await registered(REQUESTER, "wechat", "openid-none")
    user = harness.user("openid-none")

    start = await user.click("QUERY_VEHICLE")

    assert start.startswith(PLATE_TYPE_PROMPT) and "我的车辆" not in start
    assert "没有这种号牌种类" in await user.send("A")
