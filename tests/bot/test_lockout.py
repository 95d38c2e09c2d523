"""The pause after repeated failed matches: the pure decision, then the journeys against a real
Redis over the WeChat endpoint."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from tortoise.timezone import localtime

from bot.config import Settings
from bot.lockout import LockoutPolicy, TargetKind, pause_end, pause_notice, target_pause_notice
from flows.violation_list import NO_MATCH
from tests.support.privacy import ScannedUser
from tests.support.queries import query_licence, query_vehicle
from tests.support.records import BEIJING, make_licence, make_vehicle, make_violation

POLICY = LockoutPolicy(limit=5, target_limit=5, window=3600, pause=3600)


def test_the_fifth_failure_in_the_window_starts_the_pause():
    assert pause_end(4, POLICY.limit, 1000.0, POLICY.pause) is None
    assert pause_end(5, POLICY.limit, 1000.0, POLICY.pause) == 4600.0
    assert pause_end(6, POLICY.limit, 1000.0, POLICY.pause) == 4600.0


def test_the_notice_says_until_when_and_whether_tomorrow():
    now = datetime(2026, 6, 1, 14, 20, tzinfo=BEIJING)
    assert "请于15:20后再试" in pause_notice(now + timedelta(hours=1), now)
    late = datetime(2026, 6, 1, 23, 40, tzinfo=BEIJING)
    assert "请于次日00:40后再试" in pause_notice(late + timedelta(hours=1), late)


def test_the_target_limit_comes_from_its_own_key(settings: Settings):
    query = settings.with_overrides(query={"failed_match_limit": 7,
                                           "target_failed_match_limit": 3}).query
    policy = LockoutPolicy.from_config(query)
    assert (policy.limit, policy.target_limit) == (7, 3)
    assert pause_end(2, policy.target_limit, 1000.0, policy.pause) is None
    assert pause_end(3, policy.target_limit, 1000.0, policy.pause) == 1000.0 + policy.pause


def test_the_target_notice_says_protected_until_when_and_nothing_about_the_target():
    now = datetime(2026, 6, 1, 23, 40, tzinfo=BEIJING)
    plate = target_pause_notice(TargetKind.PLATE, now + timedelta(hours=1), now)
    licence = target_pause_notice(TargetKind.LICENCE, now + timedelta(minutes=10), now)
    assert plate == ("该号牌近期查询未匹配次数过多，已临时保护，请于次日00:40后再试。"
                     "车主本人实名注册后可直接查询。")
    assert licence == ("该驾驶证号近期查询未匹配次数过多，已临时保护，请于23:50后再试。"
                       "驾驶人本人实名注册后可直接查询。")


# ---- over the endpoint ----------------------------------------------------------------------


@pytest.fixture
def query_overrides() -> dict:
    """[query] settings for one test; parametrize this name to change them."""
    return {}


@pytest.fixture
def settings(settings: Settings, query_overrides: dict) -> Settings:
    return settings.with_overrides(query=query_overrides)


@pytest.fixture
def carol(harness) -> ScannedUser:
    return ScannedUser(harness.user("openid-carol"))


async def test_five_failed_matches_pause_every_query_journey(harness, carol):
    vehicle = await make_vehicle(plate_number="渝K60001")
    await make_violation(vehicle)
    licence = await make_licence()

    for attempt in range(4):  # vehicle and licence failures count together
        if attempt % 2:
            reply = await query_licence(carol, licence.holder_name, licence.number, "000000000000")
        else:
            reply = await query_vehicle(carol, "渝K60001", "999999")
        assert reply.startswith(NO_MATCH)
    fifth = await query_vehicle(carol, "渝K69999", vehicle.vin[-6:])

    until = await harness.services.failed_matches.paused_until("wechat:openid-carol")
    assert until is not None
    assert 3590 < (until - datetime.now(UTC)).total_seconds() <= 3600
    assert "查询功能已暂停" in fifth
    assert f"{localtime(until):%H:%M}后再试" in fifth
    assert NO_MATCH not in fifth

    # a correct query is refused while paused, from the menu button and from the text menu
    refused = await carol.click("QUERY_VEHICLE")
    assert "查询功能已暂停" in refused and "请选择号牌种类" not in refused
    assert "查询功能已暂停" in await carol.send("查询车辆违法")
    assert "查询功能已暂停" in await carol.click("QUERY_LICENCE")
    assert "查询功能已暂停" in await carol.send("2")  # no journey was started: the menu's 2

    # other users and other journeys are not affected
    dave = harness.user("openid-dave")
    assert "共1条违法记录" in await query_vehicle(dave, "渝K60001", vehicle.vin[-6:])
    assert "您想了解哪方面的内容" in await carol.click("GUIDE")


async def test_successful_queries_do_not_count(harness, carol):
    vehicle = await make_vehicle(plate_number="渝K60003")
    for _ in range(4):
        assert (await query_vehicle(carol, "渝K60003", "999999")).startswith(NO_MATCH)
    for _ in range(3):
        assert "暂无违法记录" in await query_vehicle(carol, "渝K60003", vehicle.vin[-6:])
    assert "查询功能已暂停" in await query_vehicle(carol, "渝K60003", "999999")


@pytest.mark.parametrize("query_overrides", [{"failed_match_window": 1}])
async def test_failures_older_than_the_window_are_forgotten(harness, carol):
    for _ in range(4):
        await query_vehicle(carol, "渝K60004", "999999")
    await asyncio.sleep(1.1)
    assert (await query_vehicle(carol, "渝K60004", "999999")).startswith(NO_MATCH)


@pytest.mark.parametrize("query_overrides", [{"failed_match_pause": 1}])
async def test_queries_open_again_after_the_pause(harness, carol):
    vehicle = await make_vehicle(plate_number="渝K60005")
    for _ in range(5):
        await query_vehicle(carol, "渝K60005", "999999")
    assert "查询功能已暂停" in await carol.click("QUERY_VEHICLE")
    await asyncio.sleep(1.1)
    assert "暂无违法记录" in await query_vehicle(carol, "渝K60005", vehicle.vin[-6:])
    # and the count started afresh: one more failure is only a failure
    assert (await query_vehicle(carol, "渝K60005", "999999")).startswith(NO_MATCH)
