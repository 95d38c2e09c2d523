"""查询驾驶证违法和记分 over the real WeChat endpoint, on SQLite and PostgreSQL, real Redis."""

from __future__ import annotations

import re
from datetime import date

import pytest
from redis.asyncio import Redis

from bot.accounts import Person, register
from bot.fields import id_check_char
from flows.violation_list import NO_MATCH
from models.enums import LicenceClass, LicenceStatus, ViolationState
from models.user import VerifiedBy
from tests.support.privacy import ScannedUser
from tests.support.records import (
    id_number,
    local,
    make_licence,
    make_vehicle,
    make_violation,
    make_violations,
)

NAME_PROMPT = "请输入驾驶人姓名"
NUMBER_PROMPT = "请输入18位驾驶证号"
FILE_PROMPT = "请输入驾驶证上的12位档案编号"
HOLDER = "欧阳晓明"
LICENCE_PAUSED = "该驾驶证号近期查询未匹配次数过多，已临时保护"


@pytest.fixture
def bob(harness) -> ScannedUser:
    return ScannedUser(harness.user("openid-bob"), secrets=(HOLDER, "李四"))


async def ask(user: ScannedUser, name: str, number: str, file_number: str) -> str:
    assert NAME_PROMPT in await user.click("QUERY_LICENCE")
    assert NUMBER_PROMPT in await user.send(name)
    assert FILE_PROMPT in await user.send(number)
    return await user.send(file_number)


async def test_summary_with_masked_holder_then_the_list(harness, bob):
    licence = await make_licence(holder_name=HOLDER, licence_class=LicenceClass.B2, points=9,
                                 cycle_start=date(2026, 2, 14), valid_to=date(2032, 2, 14))
    other = await make_licence()
    vehicle = await make_vehicle()
    await make_violations(vehicle, 7, licence_number=licence.number,
                          state=ViolationState.PROCESSED_UNPAID)
    await make_violations(vehicle, 2, licence_number=other.number)

    reply = await ask(bob, HOLDER, licence.number, licence.file_number)

    assert "驾驶人：欧***" in reply
    assert f"驾驶证号：{licence.number[:4]}**********{licence.number[-4:]}" in reply
    assert "准驾车型：B2（大型货车）" in reply
    assert "状态：正常" in reply
    assert "有效期：2020-05-01 至 2032-02-14" in reply
    assert "本记分周期（2026-02-14 起）累积记分：9分" in reply
    assert "共7条违法记录，第1/2页" in reply
    assert "已处理未缴款" in reply

    second = await bob.send("下一页")
    assert "第2/2页" in second and "驾驶人：欧***" in second
    detail = await bob.send("2")
    assert "时间：2026-05-26 08:30" in detail
    assert "能否在线处理：否，该违法已处理，尚未缴款" in detail


async def test_a_licence_without_violations(harness, bob):
    licence = await make_licence(holder_name=HOLDER, status=LicenceStatus.SUSPENDED, points=0)
    reply = await ask(bob, HOLDER, licence.number, licence.file_number)
    assert "状态：暂扣" in reply
    assert "累积记分：0分" in reply
    assert "暂无违法记录" in reply


async def test_input_is_normalised_before_matching(harness, bob):
    number = id_number(77, date(1979, 1, 1))
    if not number.endswith("X"):  # find a number with an X check character to type in lower case
        number = next(n for seq in range(1000)
                      if (n := id_number(seq, date(1979, 1, 1))).endswith("X"))
    licence = await make_licence(holder_name=HOLDER, number=number)
    await make_violation(await make_vehicle(), licence_number=number,
                         occurred_at=local(2026, 1, 2))

    reply = await ask(bob, " 欧阳 晓明 ", number.lower(), " ".join(licence.file_number))
    assert "共1条违法记录" in reply


async def test_a_wrong_file_number_name_or_unknown_licence_get_the_same_answer(harness, bob):
    licence = await make_licence(holder_name=HOLDER)
    wrong_file = str(int(licence.file_number) + 1).zfill(12)
    unknown = id_number(999, date(2001, 9, 9))

    answers = [
        await ask(bob, HOLDER, licence.number, wrong_file),
        await ask(bob, "欧阳小明", licence.number, licence.file_number),
        await ask(bob, HOLDER, unknown, licence.file_number),
    ]

    assert answers[0] == answers[1] == answers[2]
    assert answers[0].startswith(NO_MATCH)
    assert NAME_PROMPT in answers[0]  # asked again from the start
    assert NUMBER_PROMPT in await bob.send(HOLDER)


def _bad_check_character(number: str) -> str:
    wrong = next(c for c in "0123456789X" if c != id_check_char(number[:17]))
    return number[:17] + wrong


@pytest.mark.parametrize(
    ("state", "text", "hint"),
    [
        ("name", "Zhang San", "姓名只能包含汉字"),
        ("name", "张", "姓名应为2至20个字"),
        ("number", _bad_check_character(id_number(5)), "最后一位校验码不符"),
        ("number", "50010319900307001", "当前为17位"),
        ("number", "500103199013070019", "出生日期"),
        ("file_number", "50010000001", "当前为11位"),
        ("file_number", "5001000000AB", "档案编号只能包含数字"),
    ],
)
async def test_bad_input_gets_a_hint_and_the_same_question(harness, bob, state, text, hint):
    prompts = {"name": NAME_PROMPT, "number": NUMBER_PROMPT, "file_number": FILE_PROMPT}
    await bob.click("QUERY_LICENCE")
    for earlier, answer in (("name", HOLDER), ("number", id_number(5))):
        if earlier == state:
            break
        await bob.send(answer)

    reply = await bob.send(text)
    assert hint in reply
    assert prompts[state] in reply
    assert NO_MATCH not in reply


async def test_back_cancel_and_menu_inside_the_journey(harness, bob):
    licence = await make_licence(holder_name=HOLDER)
    await ask(bob, HOLDER, licence.number, licence.file_number)
    assert FILE_PROMPT in await bob.send("返回")
    assert NUMBER_PROMPT in await bob.send("返回")
    assert "已取消当前操作" in await bob.send("取消")

    await bob.send("查询驾驶证违法和记分")
    assert "请回复数字选择服务" in await bob.send("菜单")
    assert "没有理解您的意思" in await bob.send(HOLDER)


# ---- guessing over many openids ---------------------------------------------------------------


async def guess_from_openids(harness, number: str, openids: int, each: int,
                             label: str) -> list[str]:
    """``each`` wrong file numbers for licence ``number`` from each of ``openids`` new users."""
    replies = []
    for user in range(openids):
        guesser = ScannedUser(harness.user(f"openid-{label}-{user}"), secrets=(HOLDER,))
        for guess in range(each):
            replies.append(await ask(guesser, HOLDER, number, f"9999{user}{guess:07d}"))
    return replies


async def test_regression_guesses_over_five_openids_pause_the_licence(harness):
    """20 wrong file numbers for one licence from 5 openids (4 each, under the per-user limit)
    were all answered, and then the right one showed the licence and its violations."""
    licence = await make_licence(holder_name=HOLDER)
    await make_violation(await make_vehicle(), licence_number=licence.number)
    await register("wechat", "openid-holder",
                   Person(licence.number, HOLDER, licence.holder_phone, VerifiedBy.FACE),
                   bindings_per_channel=1)

    replies = await guess_from_openids(harness, licence.number, openids=5, each=4,
                                      label="guesser")

    assert all(reply.startswith(NO_MATCH) for reply in replies[:5])
    assert all(LICENCE_PAUSED in reply and NO_MATCH not in reply for reply in replies[5:])
    newcomer = ScannedUser(harness.user("openid-newcomer"), secrets=(HOLDER,))
    refused = await ask(newcomer, HOLDER, licence.number, licence.file_number)
    assert LICENCE_PAUSED in refused and "违法记录" not in refused
    # the registered holder still gets through, and other licences are not paused
    holder = ScannedUser(harness.user("openid-holder"), secrets=(HOLDER,))
    assert "共1条违法记录" in await ask(holder, HOLDER, licence.number, licence.file_number)
    other = await make_licence(holder_name=HOLDER)
    assert "暂无违法记录" in await ask(newcomer, HOLDER, other.number, other.file_number)


async def test_a_paused_unknown_licence_reads_the_same_and_redis_keeps_no_number(
        harness, redis: Redis):
    """Misses of a licence number nobody holds count too and read the same when paused; the
    licence number (an ID number) is in no Redis key or value."""
    licence = await make_licence(holder_name=HOLDER)
    unknown = id_number(998, date(2001, 9, 9))
    await guess_from_openids(harness, licence.number, openids=5, each=1, label="known")
    await guess_from_openids(harness, unknown, openids=5, each=1, label="unknown")

    asker = ScannedUser(harness.user("openid-asker"), secrets=(HOLDER,))
    known = await ask(asker, HOLDER, licence.number, licence.file_number)
    nobody = await ask(asker, HOLDER, unknown, licence.file_number)

    assert LICENCE_PAUSED in known
    assert re.sub(r"(次日)?\d\d:\d\d", "", known) == re.sub(r"(次日)?\d\d:\d\d", "", nobody)
    async for key in redis.scan_iter("query-lockout:*"):
        assert licence.number.encode() not in key and unknown.encode() not in key
        value = (await redis.get(key) if (await redis.type(key)) == b"string"
                 else repr(await redis.zrange(key, 0, -1)).encode())
        assert licence.number.encode() not in value and unknown.encode() not in value
