"""bench/alipay_load.py: its fake of Alipay's push gateway against the real push client
(python-alipay-sdk over HTTP), and a short drive of the Alipay channel against the app."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from alipay import AliPay
from alipay.utils import AliPayConfig

from bench.alipay_load import APPID, CHANNEL, PushGateway, Setup, drive, signed_by
from bench.inbound import GUIDE_JOURNEY, Endpoint, Limits, journey_check
from bot.channels.alipay_life_api import AlipayLifeAPI
from bot.config import Settings
from bot.integrations.alipay import new_private_key
from bot.messages import Reply
from tests.support.harness import Harness
from tests.support.servers import free_port


@pytest.fixture(scope="module")
def setup() -> Setup:
    return Setup.new(free_port())


@pytest.fixture
def settings(settings: Settings, setup: Setup) -> Settings:
    """The app configured for the life account as the benchmark starts it."""
    return settings.with_overrides(**setup.config())


@pytest.fixture
async def gateway(setup: Setup) -> AsyncIterator[PushGateway]:
    gateway = PushGateway(setup.keys)
    server = await gateway.serve(setup.port)
    yield gateway
    server.close()
    await server.wait_closed()


def push_api(setup: Setup, app_private_key: str | None = None) -> AlipayLifeAPI:
    """The service's push client, as bot/integrations/alipay.py builds it."""
    config = setup.config()["alipay"]
    client = AliPay(APPID, app_private_key_string=app_private_key or setup.keys.app_private,
                    alipay_public_key_string=config["alipay_public_key"], sign_type="RSA2",
                    config=AliPayConfig(timeout=5))
    client._gateway = config["gateway"]
    return AlipayLifeAPI(client, tries=1)


async def test_the_push_gateway_times_a_push_the_sdk_accepts(setup: Setup,
                                                             gateway: PushGateway) -> None:
    arrival = gateway.expect("2088000000000042")
    await push_api(setup).send("2088000000000042", Reply("违法记录 𠮷 第1/2页"))  # raises if
    # the SDK refused the precomputed answer's signature
    push = await asyncio.wait_for(arrival, 1)
    assert push.text() == "违法记录 𠮷 第1/2页"
    assert signed_by(push, setup.keys.app_public)
    assert gateway.strays == 0 and gateway.pushes == [push]


async def test_pushes_signed_by_another_key_or_unawaited_are_counted(
        setup: Setup, gateway: PushGateway) -> None:
    await push_api(setup, new_private_key()).send("2088000000000043", Reply("您好"))
    [push] = gateway.pushes
    assert not signed_by(push, setup.keys.app_public)
    assert gateway.strays == 1  # nobody waited for it


async def test_a_short_drive_of_the_life_account_checks_every_pushed_reply(
        setup: Setup, harness: Harness) -> None:
    """Saturated, paced and lockstep phases through the real gateway, inbox and push job;
    then the same with the first step's expected phrase wrong: every reply to it is bad."""
    service = Endpoint(CHANNEL, str(harness.client.make_url("/alipay/gateway")),
                       journey_check(GUIDE_JOURNEY), os.getpid(), channel=CHANNEL)
    limits = Limits(users=3, seconds=0.6, messages=1000, warmup=0.2, pace=0.2,
                    journey=GUIDE_JOURNEY, lockstep=1, channel=CHANNEL)
    wrong = ((GUIDE_JOURNEY[0][0], "不会出现的话"), *GUIDE_JOURNEY[1:])
    for journey in (GUIDE_JOURNEY, wrong):
        measured = await drive(service, replace(limits, journey=journey), setup.keys,
                               setup.port)
        loads = (measured.saturated, measured.paced)
        assert all(load.latencies for load in loads)
        first_steps = sum(load.steps.count(0) for load in loads) + limits.users  # + lockstep
        assert sum(load.failures for load in loads) == (first_steps if journey is wrong else 0)
