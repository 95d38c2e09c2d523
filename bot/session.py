"""Conversation state: where each user is in which journeys, kept small in Redis.

A session is a stack of frames, one per journey: the bottom one is what the user started, a
frame above it a sub-journey it called (a face check, an SMS code) or a journey begun for
the user from outside; only the top one takes messages. The parent frame remembers where
its sub-journey's result goes.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

FORMAT = 2  # sessions of another format are dropped: the user starts afresh
# Made once: json.dumps with options builds an encoder per call (a session is written per turn).
_compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass
class Frame:
    """One journey on the stack: its state, data (JSON-able), the states it came through,
    the outside event it waits on and, while a sub-journey runs above it, where the result
    goes (a state of its flow or the name of one of its handlers)."""

    flow: str
    state: str
    data: dict[str, Any] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)
    awaiting: str | None = None
    then: str | None = None

    def to_json(self) -> dict[str, Any]:
        raw: dict[str, Any] = {"f": self.flow, "s": self.state}
        for key, value in (("d", self.data), ("h", self.history), ("w", self.awaiting),
                           ("t", self.then)):
            if value:
                raw[key] = value
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Frame:
        return cls(flow=raw["f"], state=raw["s"], data=dict(raw.get("d", {})),
                   history=list(raw.get("h", [])), awaiting=raw.get("w"), then=raw.get("t"))


@dataclass
class Session:
    """One user's journeys, the current one last; serialised compactly (a few hundred bytes)."""

    frames: list[Frame]
    leaving: str | None = None  # asked whether to leave a wait: the menu word or flow to go to

    @property
    def top(self) -> Frame:
        return self.frames[-1]

    # The current journey's position, as most callers want it.
    @property
    def flow(self) -> str:
        return self.top.flow

    @property
    def state(self) -> str:
        return self.top.state

    @property
    def data(self) -> dict[str, Any]:
        return self.top.data

    @property
    def awaiting(self) -> list[str]:
        """The references of every outside event a journey on the stack waits on."""
        return [frame.awaiting for frame in self.frames if frame.awaiting]

    def dumps(self) -> str:
        raw: dict[str, Any] = {"v": FORMAT, "k": [frame.to_json() for frame in self.frames]}
        if self.leaving:
            raw["l"] = self.leaving
        return _compact_json(raw)

    @classmethod
    def loads(cls, raw: str | bytes) -> Session:
        data = json.loads(raw)
        if data.get("v") != FORMAT or not data["k"]:
            raise ValueError("a session of another format")
        return cls([Frame.from_json(frame) for frame in data["k"]], leaving=data.get("l"))


class SessionStore(ABC):
    """Where sessions live; the engine only sees this interface."""

    @abstractmethod
    async def load(self, conversation: str) -> Session | None: ...

    @abstractmethod
    async def save(self, conversation: str, session: Session) -> None: ...

    @abstractmethod
    async def clear(self, conversation: str) -> None: ...

    async def put(self, conversation: str, session: Session | None) -> None:
        """Keep the session, or forget it when the journey is over (None)."""
        if session is None:
            await self.clear(conversation)
        else:
            await self.save(conversation, session)


class RedisSessionStore(SessionStore):
    """One JSON string per conversation with a TTL renewed on every save.

    The inbox reads and writes these keys itself inside its claim and finish scripts (one
    round trip each instead of three), through ``key``, ``ttl`` and ``decode``.
    """

    def __init__(self, redis: Redis, ttl: int, prefix: str = "session:") -> None:
        self.redis = redis
        self.ttl = ttl
        self._prefix = prefix

    def key(self, conversation: str) -> str:
        return self._prefix + conversation

    @staticmethod
    def decode(raw: str | bytes | None) -> Session | None:
        if raw is None:
            return None
        try:
            return Session.loads(raw)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None  # written by an incompatible version: start afresh

    async def load(self, conversation: str) -> Session | None:
        return self.decode(await self.redis.get(self.key(conversation)))

    async def save(self, conversation: str, session: Session) -> None:
        await self.redis.set(self.key(conversation), session.dumps(), ex=self.ttl)

    async def clear(self, conversation: str) -> None:
        await self.redis.delete(self.key(conversation))
