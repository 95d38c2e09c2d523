"""Conversation state: where each user is in which journey, kept small and short-lived in Redis."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis


@dataclass
class Session:
    """One user's position in a journey; serialised compactly (a few hundred bytes)."""

    flow: str
    state: str
    data: dict[str, Any] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)

    def dumps(self) -> str:
        return json.dumps(
            {"f": self.flow, "s": self.state, "d": self.data, "h": self.history},
            ensure_ascii=False, separators=(",", ":"),
        )

    @classmethod
    def loads(cls, raw: str | bytes) -> Session:
        data = json.loads(raw)
        return cls(flow=data["f"], state=data["s"], data=data["d"], history=data["h"])


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
        except (ValueError, KeyError, TypeError):
            return None  # written by an incompatible version: start afresh

    async def load(self, conversation: str) -> Session | None:
        return self.decode(await self.redis.get(self.key(conversation)))

    async def save(self, conversation: str, session: Session) -> None:
        await self.redis.set(self.key(conversation), session.dumps(), ex=self.ttl)

    async def clear(self, conversation: str) -> None:
        await self.redis.delete(self.key(conversation))
