"""Liveness and readiness, and what WeChat sees while Redis is down."""

import asyncio
from pathlib import Path

import pytest

from bot.config import Settings
from bot.inbox import SORRY
from bot.messages import Inbound, InboundKind, Reply
from bot.redis_server import RedisProcess
from tests.support.harness import Harness


async def test_healthz_and_readyz_answer_ok(harness: Harness):
    response = await harness.client.get("/healthz")
    assert (response.status, await response.json()) == (200, {"status": "ok",
                                                             "mode": "sandbox"})
    response = await harness.client.get("/readyz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "redis": "ok", "database": "ok"}


class TestRedisDown:
    @pytest.fixture
    def late_redis(self, tmp_path: Path) -> RedisProcess:
        """A Redis that is not started (yet)."""
        return RedisProcess(tmp_path / "late-redis")

    @pytest.fixture
    def settings(self, settings: Settings, late_redis: RedisProcess) -> Settings:
        return settings.with_overrides(redis={"url": late_redis.url})

    async def test_readyz_is_503_and_names_redis(self, harness: Harness):
        assert (await harness.client.get("/healthz")).status == 200
        response = await harness.client.get("/readyz")
        assert response.status == 503
        body = await response.json()
        assert body["status"] == "unavailable"
        assert body["redis"].startswith("error")
        assert body["database"] == "ok"

    async def test_wechat_still_gets_a_polite_reply(self, harness: Harness):
        answer = await harness.user().post(harness.user().text_xml("菜单"))
        assert answer.status == 200
        assert answer.text == SORRY.text

    async def test_jobs_run_once_redis_is_back(self, harness: Harness,
                                               late_redis: RedisProcess):
        await late_redis.start()
        try:
            inbound = Inbound("wechat", "openid-late", InboundKind.TEXT, "msg:1", text="你好")
            await harness.services.deliver_later(inbound, Reply("久等了"))
            for _ in range(150):  # the worker retries Redis every second
                if await harness.outbox("openid-late"):
                    break
                await asyncio.sleep(0.02)
            assert [m.body["text"] for m in await harness.outbox("openid-late")] == ["久等了"]
        finally:
            await late_redis.stop()
