"""Pausing queries that keep failing to match, per user and per target.

A query needs plate + last 6 VIN characters, or name + licence number + file number: repeated
misses look like guessing. Two counts run side by side over the same ``window``:
- per user (the conversation key, e.g. "wechat:openid"): ``limit`` misses pause that user;
- per target (a plate number, a licence number), from anyone: ``target_limit`` misses pause
  queries of that target for everyone but its registered owner. A new openid resets the
  first count but not the second, so guessing spread over many openids still stops.
A journey whose input names no target (a typed decision number, flows/pay_fine.py) counts a
registered user's misses per person as well (their ID number, ``limit`` misses): the same
person in the other channel, or under a newly registered openid, goes on from the same count.
Misses of plates and licences that do not exist count the same way, and the paused answer
reads the same, so a pause never tells whether a target exists.

The decision and the notices are pure functions; Redis keeps the failure times (a sorted set
per user, person and target) and the end of each pause (a key with a TTL). Targets and
persons appear in key names only as an HMAC with a server key: licence numbers are ID numbers.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import uuid
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis

from bot.config import QueryConfig
from bot.pipelined_redis import PipelinedRedis


@dataclass(frozen=True)
class LockoutPolicy:
    limit: int  # misses per user
    target_limit: int  # misses per target, from anyone
    window: int  # seconds
    pause: int  # seconds

    @classmethod
    def from_config(cls, query: QueryConfig) -> LockoutPolicy:
        return cls(query.failed_match_limit, query.target_failed_match_limit,
                   query.failed_match_window, query.failed_match_pause)


class TargetKind(StrEnum):
    PLATE = "plate"
    LICENCE = "licence"


@dataclass(frozen=True)
class Target:
    """What a query tries to match: a plate number or a licence number, as its field
    normalised it. A plate is counted whatever plate type was chosen with it, so guesses
    cannot be spread over plate types."""

    kind: TargetKind
    value: str


def pause_end(failures_in_window: int, limit: int, now: float, pause: int) -> float | None:
    """When the pause that this failure starts ends (epoch seconds); None below the limit."""
    return now + pause if failures_in_window >= limit else None


def _until(until: datetime, now: datetime) -> str:
    return f"{'' if until.date() == now.date() else '次日'}{until:%H:%M}"


def pause_notice(until: datetime, now: datetime) -> str:
    """What a paused user reads; pass both times in the local time zone the user lives in."""
    return (f"查询未匹配次数过多，为保护车主和驾驶人信息，查询功能已暂停，"
            f"请于{_until(until, now)}后再试。")


_TARGET_WORDS = {TargetKind.PLATE: ("该号牌", "车主"), TargetKind.LICENCE: ("该驾驶证号", "驾驶人")}


def target_pause_notice(kind: TargetKind, until: datetime, now: datetime) -> str:
    """What anyone but the owner reads while a target is paused. It names neither the target
    nor anything about it, so it reads the same whether the target exists or not."""
    target, owner = _TARGET_WORDS[kind]
    return (f"{target}近期查询未匹配次数过多，已临时保护，请于{_until(until, now)}后再试。"
            f"{owner}本人实名注册后可直接查询。")


class FailedMatches:
    """Failed matches per user (``who``) and per target, and the pauses they start.

    The pause checks run on every query turn (the flow guard), so they read through the
    pipelined connection (``reads``, a few µs); the rarer failure counts use redis-py's
    transactions."""

    def __init__(self, redis: Redis, policy: LockoutPolicy, *, key: bytes,
                 reads: PipelinedRedis, prefix: str = "query-lockout:") -> None:
        self._redis = redis
        self._reads = reads
        self._policy = policy
        self._key = key  # HMAC key for target names
        self._prefix = prefix

    def pause_key(self, who: str) -> str:
        """The key of the user's pause: the inbox reads it with each turn's claim."""
        return self._prefix + "pause:" + who

    async def paused_until(self, who: str, *, person: str | None = None,
                           prefetched: Mapping[str, Any] | None = None) -> datetime | None:
        """The end of the user's pause, or of the person's (their ID number) if later; the
        user's from ``prefetched`` (the turn's reads) when it is there."""
        if person is None:
            key = self.pause_key(who)
            if prefetched is not None and key in prefetched:
                return _end(prefetched[key])
            return _end(await self._reads.execute("GET", key))
        raws = await self._reads.execute("MGET", self._prefix + "pause:" + who,
                                         self._prefix + "pause:" + self._person_name(person))
        ends = [float(raw) for raw in raws if raw is not None]
        return datetime.fromtimestamp(max(ends), UTC) if ends else None

    def target_paused_until(self, target: Target) -> PendingPause:
        """Asked at once: the caller looks the target up while Redis answers (one wait for
        both, without a task each)."""
        return PendingPause(self._reads.send("GET", self._prefix + "pause:"
                                             + self._target_name(target)))

    async def record(self, who: str, target: Target | None, *,
                     person: str | None = None) -> datetime | None:
        """Count one failed match for the user, the target and the person (a registered
        user's ID number), those given; returns the end of the pause this failure starts for
        the user or the person, if it starts one (a target's pause shows on its next query)."""
        now, policy, member = time.time(), self._policy, uuid.uuid4().hex
        own = [who] if person is None else [who, self._person_name(person)]
        limits = dict.fromkeys(own, policy.limit)
        if target is not None:
            limits[self._target_name(target)] = policy.target_limit
        async with self._redis.pipeline(transaction=True) as pipe:
            for name in limits:
                failures = self._prefix + "failures:" + name
                pipe.zadd(failures, {member: now})
                pipe.zremrangebyscore(failures, "-inf", now - policy.window)
                pipe.zcard(failures)
                pipe.expire(failures, policy.window)
            counts = (await pipe.execute())[2::4]
        ends = {name: pause_end(count, limit, now, policy.pause)
                for (name, limit), count in zip(limits.items(), counts, strict=True)}
        pausing = {name: until for name, until in ends.items() if until is not None}
        if pausing:
            async with self._redis.pipeline(transaction=True) as pipe:
                for name, until in pausing.items():
                    pipe.set(self._prefix + "pause:" + name, until, ex=policy.pause)
                    pipe.delete(self._prefix + "failures:" + name)  # afterwards counts start afresh
                await pipe.execute()
        ends_own = [pausing[name] for name in own if name in pausing]
        return datetime.fromtimestamp(max(ends_own), UTC) if ends_own else None

    def _target_name(self, target: Target) -> str:
        """"target:<digest>": no user key starts so (they start with the channel)."""
        return "target:" + self._digest(f"{target.kind}\n{target.value}")

    def _person_name(self, id_number: str) -> str:
        """"person:<digest>", apart from a licence target of the same number."""
        return "person:" + self._digest(f"person\n{id_number}")

    def _digest(self, what: str) -> str:
        message = f"query-lockout\n{what}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]


class PendingPause:
    """A pause's end on its way from Redis: await it for the time (None: not paused); cancel
    it when its answer is no longer wanted."""

    def __init__(self, reply: asyncio.Future[Any]) -> None:
        self._reply = reply

    def __await__(self) -> Generator[Any, None, datetime | None]:
        return _end((yield from self._reply.__await__()))

    def cancel(self) -> None:
        self._reply.cancel()


def _end(raw: bytes | None) -> datetime | None:
    return None if raw is None else datetime.fromtimestamp(float(raw), UTC)
