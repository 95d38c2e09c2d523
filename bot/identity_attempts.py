"""Registration attempts per person: identity checks started for one ID number in 24 hours.

A limit per chat account is no limit, since a new openid costs nothing: the checks (face
checks, SMS codes to the phone on police record) started to register one ID number are
counted from anyone, ``register.attempts_per_id_per_day`` in a sliding 24 hours. Redis keeps
the start times in a sorted set named by an HMAC of the ID number, so it holds no ID numbers.
The decision and the notice are pure functions.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from bot.config import Settings

DAY = 86400


def attempt_refused_until(started: Sequence[float], limit: int,
                          window: float = DAY) -> float | None:
    """When an attempt would be allowed (epoch seconds), or None when this one may go ahead.

    ``started`` are the start times within the window, oldest first, this attempt included.
    """
    if len(started) <= limit:
        return None
    # Without this attempt n - 1 >= limit are counted: another one is allowed once the
    # oldest n - limit of them have left the window.
    return started[len(started) - limit - 1] + window


def attempts_notice(until: datetime, now: datetime, limit: int) -> str:
    """What someone over the limit reads; pass both times in the user's local time zone."""
    day = "" if until.date() == now.date() else "次日"
    return (f"该身份证号24小时内的身份核验次数已达上限（{limit}次）。"
            f"请于{day}{until:%H:%M}后再试，或携带身份证件到公安交管部门窗口办理实名注册。")


@dataclass(frozen=True)
class AttemptStart:
    """An attempt counted (``token`` to cancel it) or refused (``refused_until``)."""

    token: str = ""
    refused_until: datetime | None = None

    @property
    def allowed(self) -> bool:
        return self.refused_until is None


class IdentityAttempts:
    """The per-ID-number count; ``pepper`` keys the HMAC that names each person's set."""

    def __init__(self, redis: Redis, limit: int, pepper: bytes, *,
                 clock: Callable[[], float] = time.time,
                 prefix: str = "register-attempts:") -> None:
        self._redis = redis
        self.limit = limit
        self._pepper = pepper
        self._clock = clock
        self._prefix = prefix

    @classmethod
    def from_settings(cls, redis: Redis, settings: Settings) -> IdentityAttempts:
        # The SMS code pepper: a secret the production checks already require.
        return cls(redis, settings.register.attempts_per_id_per_day, settings.sms.pepper)

    async def start(self, id_number: str) -> AttemptStart:
        """Count one identity check for the ID number, unless the limit is reached."""
        now, token, key = self._clock(), uuid.uuid4().hex, self._key(id_number)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", now - DAY)
            pipe.zadd(key, {token: now})
            pipe.zrange(key, 0, -1, withscores=True)
            pipe.expire(key, DAY)
            _, _, members, _ = await pipe.execute()
        until = attempt_refused_until([score for _, score in members], self.limit)
        if until is None:
            return AttemptStart(token=token)
        await self._redis.zrem(key, token)  # a refused attempt is not counted
        return AttemptStart(refused_until=datetime.fromtimestamp(until, UTC))

    async def cancel(self, id_number: str, token: str) -> None:
        """Uncount an attempt whose check never started (the provider was unavailable)."""
        await self._redis.zrem(self._key(id_number), token)

    def _key(self, id_number: str) -> str:
        digest = hmac.new(self._pepper, b"register-attempts\n" + id_number.encode(),
                          hashlib.sha256).hexdigest()
        return f"{self._prefix}{digest[:32]}"
