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


class RedisSessionStore(SessionStore):
    """One JSON string per conversation with a TTL renewed on every save."""

    def __init__(self, redis: Redis, ttl: int, prefix: str = "session:") -> None:
        self._redis = redis
        self._ttl = ttl
        self._prefix = prefix

    async def load(self, conversation: str) -> Session | None:
        raw = await self._redis.get(self._prefix + conversation)
        if raw is None:
            return None
        try:
            return Session.loads(raw)
        except (ValueError, KeyError, TypeError):
            return None  # written by an incompatible version: start afresh

    async def save(self, conversation: str, session: Session) -> None:
        await self._redis.set(self._prefix + conversation, session.dumps(), ex=self._ttl)

    async def clear(self, conversation: str) -> None:
        await self._redis.delete(self._prefix + conversation)
