"""Everyday phrasings (bot/synonyms.py) over the real WeChat endpoint."""

from __future__ import annotations

import pytest

from bot.synonyms import GREETING, PERSON, SYNONYMS, lookup
from flows import ALL_FLOWS

MENU = "请回复数字选择服务"


def test_every_phrasing_names_a_registered_journey_or_answers():
    names = {flow.name for flow in ALL_FLOWS}
    for phrase, synonym in SYNONYMS.items():
        assert (synonym.flow in names) != (synonym.answer is not None), phrase
    assert lookup(" 你好！") == lookup("你好") and lookup("HELLO").answer == GREETING


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("查违章", "请选择号牌种类"),
        ("违章", "请选择号牌种类"),
        ("查驾照", "请输入驾驶人姓名"),
        ("我的", "您尚未实名注册"),
        ("注册", "请输入您的姓名"),
        ("你好", GREETING),
        ("人工", PERSON),
        ("客服？", PERSON),
    ],
)
async def test_regression_common_phrasings_reach_a_journey_or_an_answer(harness, typed,
                                                                        expected):
    """查违章, 我的, 注册, 你好 and 人工 were all answered 没有理解您的意思."""
    reply = await harness.user("openid-phrasing").send(typed)
    assert expected in reply
    assert "没有理解您的意思" not in reply
    if expected in (GREETING, PERSON):
        assert MENU in reply  # an answer, then what can be done here


async def test_an_answer_inside_a_journey_keeps_the_journey(harness):
    alice = harness.user("openid-journey")
    await alice.click("QUERY_VEHICLE")
    await alice.send("2")

    reply = await alice.send("人工")

    assert PERSON in reply and "请输入号牌号码" in reply
    assert "请输入车架号" in await alice.send("渝A12345")
