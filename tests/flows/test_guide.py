"""The welcome and the guide promise only journeys that are registered."""

from __future__ import annotations

import pytest

from bot.engine import WELCOME
from flows import ALL_FLOWS, JOURNEYS, followed_vehicle, guide, query_licence, query_vehicle
from tests.support.harness import running_harness

UNBUILT = ("缴纳罚款", "处理违法", "缴款")  # journeys still to come


def test_every_journey_in_the_menu_has_a_guide_text():
    assert [flow.name for flow in JOURNEYS if flow.in_menu] == list(guide.JOURNEYS)


async def test_regression_the_welcome_and_the_guide_promise_only_registered_journeys(harness):
    """The welcome promised following friends' vehicles, processing and paying, and the guide
    explained them, though none of those journeys existed."""
    alice = harness.user("openid-welcome")
    welcome = await alice.subscribe()
    topics = await alice.click(guide.CLICK_KEY)

    assert welcome.startswith(WELCOME)
    for flow in ALL_FLOWS:
        assert (flow.title in welcome) == flow.in_menu
    for promise in UNBUILT:
        assert promise not in welcome and promise not in topics
    assert "查询车辆违法" in topics and "联系人工" in topics
    assert guide.JOURNEYS["query_vehicle"] in await alice.send("查询车辆违法")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_with_fewer_journeys_the_welcome_and_the_guide_say_less(settings):
    journeys = [query_vehicle.FLOW]
    sub_journeys = [followed_vehicle.FLOW, followed_vehicle.OWN_FLOW]  # its quick picks
    async with running_harness(settings, [*journeys, guide.build(journeys), *sub_journeys]) \
            as harness:
        alice = harness.user("openid-few")
        welcome = await alice.subscribe()
        topics = await alice.click(guide.CLICK_KEY)
    assert "查询车辆违法" in welcome and query_licence.FLOW.title not in welcome
    assert "查询车辆违法" in topics and query_licence.FLOW.title not in topics
