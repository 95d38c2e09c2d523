"""Journeys in progress when Redis dies: users are told the service is busy, `/readyz` says
Redis is down, and once Redis is back (from its append-only file) every journey carries on
where it was, without anyone restarting the app."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.inbox import SORRY
from bot.messages import Inbound, InboundKind, Reply
from bot.redis_server import PIDFILE, RedisProcess
from models.vehicle import Vehicle
from tests.support.harness import Harness
from tests.support.privacy import ScannedUser
from tests.support.records import make_vehicle, make_violations

PLATE_TYPE_PROMPT = "请选择号牌种类"
PLATE_PROMPT = "请输入号牌号码"
VIN_PROMPT = "请输入车架号"


async def vehicles() -> list[Vehicle]:
    """Three vehicles with violations, one per user."""
    made = []
    for plate in ("渝A20001", "渝A20002", "渝A20003"):
        vehicle = await make_vehicle(plate_number=plate)
        await make_violations(vehicle, 2)
        made.append(vehicle)
    return made


async def start_journeys(harness: Harness, cars: list[Vehicle]) -> list[ScannedUser]:
    """Three users at three different steps of the vehicle query (菜单 → 1 → 2 → plate)."""
    users = [ScannedUser(harness.user(f"openid-{name}")) for name in ("alice", "bob", "carol")]
    for user in users:
        await user.send("菜单")
        assert PLATE_TYPE_PROMPT in await user.send("1")
    alice, bob, _ = users
    assert PLATE_PROMPT in await alice.send("2")
    assert VIN_PROMPT in await alice.send(cars[0].plate_number)
    assert PLATE_PROMPT in await bob.send("2")
    return users


async def finish_journeys(users: list[ScannedUser], cars: list[Vehicle]) -> None:
    """Each user carries on from the step they were at and gets their violation list."""
    alice, bob, carol = users
    replies = [await alice.send(cars[0].vin[-6:])]
    assert VIN_PROMPT in await bob.send(cars[1].plate_number)
    replies.append(await bob.send(cars[1].vin[-6:]))
    assert PLATE_PROMPT in await carol.send("2")
    assert VIN_PROMPT in await carol.send(cars[2].plate_number)
    replies.append(await carol.send(cars[2].vin[-6:]))
    for car, reply in zip(cars, replies, strict=True):
        assert f"{car.plate_number}（小型汽车）" in reply and "共2条违法记录" in reply


async def readiness(harness: Harness) -> tuple[int, str]:
    response = await harness.client.get("/readyz")
    return response.status, (await response.json())["redis"]


class TestExternalRedis:
    """`redis.url` points at a Redis of its own, which the test kills and restarts."""

    @pytest.fixture
    async def own_redis(self, tmp_path: Path) -> AsyncIterator[RedisProcess]:
        server = RedisProcess(tmp_path / "redis")
        await server.start()
        yield server
        await server.stop()

    @pytest.fixture
    def settings(self, settings: Settings, own_redis: RedisProcess) -> Settings:
        return settings.with_overrides(redis={"url": own_redis.url})

    async def test_regression_journey_survives_redis_restart(
            self, harness: Harness, own_redis: RedisProcess, caplog: pytest.LogCaptureFixture):
        cars = await vehicles()
        users = await start_journeys(harness, cars)

        os.kill(own_redis.pid, signal.SIGKILL)
        await own_redis.stop()  # reaps it
        with caplog.at_level(logging.INFO, logger="handlers.wechat"):
            assert await users[0].send(cars[0].vin[-6:]) == SORRY.text
        said = [r for r in caplog.records if r.name == "handlers.wechat"]
        assert [(r.levelname, r.exc_info) for r in said] == [("WARNING", None)]  # no traceback
        status, redis = await readiness(harness)
        assert (status, redis.startswith("error")) == (503, True)

        await own_redis.start()  # from its append-only file
        assert await readiness(harness) == (200, "ok")
        await finish_journeys(users, cars)

        # the in-process job worker lived through the outage too
        inbound = Inbound("wechat", "openid-alice", InboundKind.TEXT, "msg:late", text="你好")
        await harness.services.deliver_later(inbound, Reply("久等了"))
        deadline = time.monotonic() + 10
        while not await harness.outbox("openid-alice"):
            assert time.monotonic() < deadline, "the job worker did not come back"
            await asyncio.sleep(0.05)


class TestEmbeddedRedis:
    """No `redis.url`: the app runs and supervises the embedded Redis in its data dir."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.with_overrides(redis={"url": ""})

    async def test_journeys_carry_on_after_kill_9_of_the_embedded_redis(
            self, harness: Harness, settings: Settings):
        cars = await vehicles()
        users = await start_journeys(harness, cars)
        # appendfsync everysec: Redis write()s its AOF buffer at once, except while an fsync
        # is still running, when it postpones the write for up to 2 s; a kill -9 then loses
        # those writes (seen under a loaded CI disk). The promise is sessions older than that.
        await asyncio.sleep(2.5)

        os.kill(int((settings.data_dir / PIDFILE).read_text()), signal.SIGKILL)
        killed = time.monotonic()
        while (reply := await users[0].send("下一页")) == SORRY.text:
            assert time.monotonic() - killed < 5, "not answered again within 5 s"
            await asyncio.sleep(0.1)
        assert VIN_PROMPT in reply  # still asked for the VIN: the session survived
        assert await readiness(harness) == (200, "ok")
        await finish_journeys(users, cars)
