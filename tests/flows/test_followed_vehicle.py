"""A followed vehicle's violations as its follower sees them, under each follow rule profile:
"chongqing" shows all; "12123" shows violations with points only from the day the follow
started (the binding date), those without points always. Over real HTTP, SQLite and
PostgreSQL, real Redis."""

from __future__ import annotations

import pytest

from bot.config import Settings
from models.follow import Follow
from tests.support.follows import REQUESTER, follow_directly, owners_car, registered, secrets
from tests.support.privacy import ScannedUser
from tests.support.records import local, make_violation, make_violations

FOLLOWER = "openid-follower"


@pytest.fixture(params=["chongqing", "12123"])
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    return settings.with_overrides(follow={"rule_profile": request.param})


async def test_regression_12123_follower_sees_point_violations_only_from_the_binding_date(
        harness, settings: Settings):
    vehicle = await owners_car(plate_number="渝A40001")
    user = await registered(REQUESTER, "wechat", FOLLOWER)
    await follow_directly(harness, user, vehicle)
    bound = local(2026, 5, 20, 9, 0)
    await Follow.filter(vehicle_id=vehicle.id).update(started_at=bound)
    after = await make_violations(vehicle, 9)  # 2026-06-01 back to 2026-05-24, 3 points
    await make_violation(vehicle, occurred_at=local(2026, 5, 1, 8, 0))  # points, before
    await make_violation(vehicle, occurred_at=local(2026, 4, 1, 8, 0), points=0,
                         code="1039", description="机动车违反规定停放的")
    shown = len(after) + 1 if settings.follow.rule_profile == "12123" else len(after) + 2
    follower = ScannedUser(harness.user(FOLLOWER), secrets=secrets(vehicle))

    await follower.click("QUERY_VEHICLE")
    first = await follower.send("A")  # the followed vehicle, picked
    pages = -(-shown // settings.query.page_size)  # 12123: 2 pages of 5, else 3
    listed = [first] + [await follower.send("下一页") for _ in range(pages - 1)]

    assert f"共{shown}条违法记录，第1/{pages}页" in first
    assert f"第{pages}/{pages}页" in listed[-1] and "下一页" not in listed[-1]
    assert "2026-04-01 08:00" in listed[-1]  # without points: shown under either profile
    shown_before = any("2026-05-01 08:00" in page for page in listed)
    assert shown_before is (settings.follow.rule_profile == "chongqing")
    await follower.click("MY_ACCOUNT")  # the same list from 我的账户
    await follower.send("关注的车辆和驾驶证")
    await follower.send("1")
    assert f"共{shown}条违法记录" in await follower.send("查看违法记录")
