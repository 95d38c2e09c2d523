"""Delivery of inbound messages to the engine: dedupe, per-user order and the reply budget.

WeChat retries a message it got no answer to within 5 s, up to 3 tries. Every delivery
claims its message id in Redis; the first runs the engine, later ones wait for and return
the same reply. A user's messages take turns in arrival order (a Redis list per user), so
two processes never run one user's journey at once. If the engine has not answered within
the budget, the delivery answers nothing ("success") and the reply goes out later as a
customer-service message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from redis.asyncio import Redis

from bot.messages import Inbound, Reply

log = logging.getLogger(__name__)

RUNNING = "running"
DEFERRED = "deferred"
DONE_PREFIX = "done:"
SORRY = Reply("系统繁忙，请稍后再试。")

# Store the reply unless the budget already ran out (then the caller sends it itself).
_COMPLETE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1 end
return 0
"""
# Mark the message deferred unless the reply arrived meanwhile (then return that reply).
_DEFER = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return false end
return current
"""
# Join the user's queue and say whether it is our turn; drop heads whose holder vanished.
_TURN = """
if ARGV[2] == '1' then
  redis.call('RPUSH', KEYS[1], ARGV[1]) redis.call('EXPIRE', KEYS[1], 3600) end
redis.call('SET', ARGV[3] .. ARGV[1], '1', 'PX', ARGV[4])
while true do
  local head = redis.call('LINDEX', KEYS[1], 0)
  if head == ARGV[1] then return 1 end
  if not head then redis.call('RPUSH', KEYS[1], ARGV[1]) return 1 end
  if redis.call('EXISTS', ARGV[3] .. head) == 1 then return 0 end
  redis.call('LPOP', KEYS[1])
end
"""

DeliverLater = Callable[[Inbound, Reply], Awaitable[None]]
Handle = Callable[[Inbound], Awaitable[Reply]]


class Turns:
    """A fair, crash-tolerant per-conversation lock: FIFO tickets with expiring leases."""

    def __init__(self, redis: Redis, lease_seconds: float) -> None:
        self._redis = redis
        self._lease_ms = int(lease_seconds * 1000)
        self._turn = redis.register_script(_TURN)

    @contextlib.asynccontextmanager
    async def hold(self, conversation: str) -> AsyncIterator[None]:
        queue, ticket = f"turns:{conversation}", uuid.uuid4().hex
        lease_prefix = "turn:"
        first, delay = True, 0.002
        while not await self._turn(keys=[queue],
                                   args=[ticket, "1" if first else "0", lease_prefix,
                                         self._lease_ms]):
            first = False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
        keeper = asyncio.create_task(self._keep_lease(lease_prefix + ticket))
        try:
            yield
        finally:
            keeper.cancel()
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.lrem(queue, 1, ticket)
                pipe.delete(lease_prefix + ticket)
                await pipe.execute()

    async def _keep_lease(self, key: str) -> None:
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            await self._redis.pexpire(key, self._lease_ms)


class Inbox:
    def __init__(self, redis: Redis, handle: Handle, deliver_later: DeliverLater, *,
                 budget: float, dedupe_ttl: int, turn_lease: float) -> None:
        self._redis = redis
        self._handle = handle
        self._deliver_later = deliver_later
        self._budget = budget
        self._dedupe_ttl = dedupe_ttl
        self._turn_lease = turn_lease
        self.turns = Turns(redis, turn_lease)
        self._complete = redis.register_script(_COMPLETE)
        self._defer = redis.register_script(_DEFER)
        self._running: set[asyncio.Task[Reply]] = set()

    async def deliver(self, inbound: Inbound) -> Reply | None:
        """The reply to send back now, or None for "success" (nothing now, maybe later)."""
        key = f"inbox:{inbound.channel}:{inbound.dedupe_key}"
        if not await self._redis.set(key, RUNNING, nx=True, ex=int(self._turn_lease)):
            return await self._reply_of_first(key)
        task = asyncio.create_task(self._process(inbound, key))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        try:
            return await asyncio.wait_for(asyncio.shield(task), self._budget)
        except TimeoutError:
            current = await self._defer(keys=[key],
                                        args=[RUNNING, DEFERRED, self._dedupe_ttl])
            return _decode(current)

    async def drain(self, timeout: float = 10) -> None:
        """Let messages still being processed finish (on shutdown)."""
        if self._running:
            await asyncio.wait(set(self._running), timeout=timeout)

    async def _process(self, inbound: Inbound, key: str) -> Reply:
        try:
            async with self.turns.hold(inbound.conversation):
                reply = await self._handle(inbound)
        except Exception:
            log.exception("handling a %s message failed", inbound.channel)
            reply = SORRY
        stored = await self._complete(
            keys=[key],
            args=[RUNNING, DONE_PREFIX + json.dumps(reply.to_json(), ensure_ascii=False),
                  self._dedupe_ttl])
        if not stored:
            await self._deliver_later(inbound, reply)
        return reply

    async def _reply_of_first(self, key: str) -> Reply | None:
        """A retry: wait (within the budget) for the first delivery's reply and repeat it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._budget
        while True:
            current = await self._redis.get(key)
            if current is None or _text(current) != RUNNING:
                return _decode(current)
            if loop.time() >= deadline:
                return None
            await asyncio.sleep(0.02)


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _decode(raw: bytes | str | None) -> Reply | None:
    if raw is None:
        return None
    text = _text(raw)
    if text.startswith(DONE_PREFIX):
        return Reply.from_json(json.loads(text[len(DONE_PREFIX):]))
    return None
