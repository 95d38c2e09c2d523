"""Pausing users who keep failing to match a vehicle or a licence.

A query needs plate + last 6 VIN characters, or name + licence number + file number: repeated
misses look like guessing, so after ``limit`` failed matches within ``window`` seconds a user
may not query for ``pause`` seconds. The decision and the notice are pure functions; Redis
keeps the failure times (a sorted set per user) and the end of a pause (a key with a TTL).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from bot.config import QueryConfig


@dataclass(frozen=True)
class LockoutPolicy:
    limit: int
    window: int  # seconds
    pause: int  # seconds

    @classmethod
    def from_config(cls, query: QueryConfig) -> LockoutPolicy:
        return cls(query.failed_match_limit, query.failed_match_window, query.failed_match_pause)


def pause_end(failures_in_window: int, now: float, policy: LockoutPolicy) -> float | None:
    """When the pause that this failure starts ends (epoch seconds); None below the limit."""
    return now + policy.pause if failures_in_window >= policy.limit else None


def pause_notice(until: datetime, now: datetime) -> str:
    """What a paused user reads; pass both times in the local time zone the user lives in."""
    day = "" if until.date() == now.date() else "次日"
    return (f"查询未匹配次数过多，为保护车主和驾驶人信息，查询功能已暂停，"
            f"请于{day}{until:%H:%M}后再试。")


class FailedMatches:
    """Failed matches per user (``who`` is the conversation key, e.g. "wechat:openid")."""

    def __init__(self, redis: Redis, policy: LockoutPolicy, prefix: str = "query-lockout:") -> None:
        self._redis = redis
        self._policy = policy
        self._prefix = prefix

    async def paused_until(self, who: str) -> datetime | None:
        raw = await self._redis.get(self._prefix + "pause:" + who)
        return None if raw is None else datetime.fromtimestamp(float(raw), UTC)

    async def record(self, who: str) -> datetime | None:
        """Count one failed match; returns the end of the pause it starts, if it starts one."""
        now, policy = time.time(), self._policy
        failures = self._prefix + "failures:" + who
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(failures, {uuid.uuid4().hex: now})
            pipe.zremrangebyscore(failures, "-inf", now - policy.window)
            pipe.zcard(failures)
            pipe.expire(failures, policy.window)
            _, _, count, _ = await pipe.execute()
        until = pause_end(count, now, policy)
        if until is None:
            return None
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._prefix + "pause:" + who, until, ex=policy.pause)
            pipe.delete(failures)  # the pause is the penalty; afterwards the count starts afresh
            await pipe.execute()
        return datetime.fromtimestamp(until, UTC)
