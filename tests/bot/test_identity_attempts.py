"""Identity checks per ID number: the pure rule and notice, and the count in a real Redis."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.identity_attempts import (
    DAY,
    IdentityAttempts,
    attempt_refused_until,
    attempts_notice,
)
from tests.support.records import id_number

ID = id_number(701)


@pytest.mark.parametrize(("started", "limit", "until"), [
    ([], 1, None),
    ([10.0], 1, None),
    ([10.0, 20.0, 30.0], 3, None),
    ([10.0, 20.0, 30.0, 40.0], 3, 10.0 + DAY),  # the oldest must leave the window
    ([10.0, 20.0, 30.0, 40.0, 50.0], 3, 20.0 + DAY),  # a refusal not yet uncounted
    ([10.0, 20.0], 1, 10.0 + DAY),
])
def test_attempt_refused_until(started, limit, until):
    assert attempt_refused_until(started, limit) == until


def test_the_notice_says_when_and_where_else():
    now = datetime(2026, 3, 1, 21, 0)
    tomorrow = attempts_notice(datetime(2026, 3, 2, 8, 5), now, 5)
    today = attempts_notice(datetime(2026, 3, 1, 23, 30), now, 5)

    assert "24小时内的身份核验次数已达上限（5次）" in tomorrow
    assert "请于次日08:05后再试" in tomorrow and "窗口办理实名注册" in tomorrow
    assert "请于23:30后再试" in today


@pytest.fixture
def clock() -> list[float]:
    return [1_800_000_000.0]


@pytest.fixture
def attempts(redis, clock) -> IdentityAttempts:
    return IdentityAttempts(redis, 3, b"pepper", clock=lambda: clock[0])


async def test_the_limit_counts_per_id_number_over_a_sliding_day(attempts, clock):
    first = await attempts.start(ID)
    clock[0] += 3600
    for _ in range(2):
        assert (await attempts.start(ID)).allowed

    refused = await attempts.start(ID)

    assert refused.refused_until == datetime.fromtimestamp(clock[0] - 3600 + DAY, UTC)
    assert first.allowed and (await attempts.start(id_number(702))).allowed
    clock[0] += DAY - 3600  # the first attempt leaves the window; the refusals never counted
    assert (await attempts.start(ID)).allowed
    assert not (await attempts.start(ID)).allowed


async def test_a_cancelled_attempt_is_not_counted(attempts):
    started = [await attempts.start(ID) for _ in range(3)]

    await attempts.cancel(ID, started[-1].token)

    assert (await attempts.start(ID)).allowed
    assert not (await attempts.start(ID)).allowed


async def test_concurrent_starts_never_pass_the_limit(attempts, redis):
    results = await asyncio.gather(*(attempts.start(ID) for _ in range(20)))

    assert sum(result.allowed for result in results) == 3
    [key] = await redis.keys("register-attempts:*")
    assert ID.encode() not in key and await redis.zcard(key) == 3


async def test_the_key_depends_on_the_pepper(redis, clock):
    ours = IdentityAttempts(redis, 1, b"pepper", clock=lambda: clock[0])
    theirs = IdentityAttempts(redis, 1, b"another pepper", clock=lambda: clock[0])

    assert (await ours.start(ID)).allowed and (await theirs.start(ID)).allowed
    assert len(await redis.keys("register-attempts:*")) == 2
