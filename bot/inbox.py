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
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from bot.engine import Engine
from bot.messages import Inbound, Reply
from bot.pipelined_redis import PipelinedRedis
from bot.session import RedisSessionStore

log = logging.getLogger(__name__)

RUNNING = "running"
DEFERRED = "deferred"
DONE_PREFIX = "done:"
SORRY = Reply("系统繁忙，请稍后再试。")

# Mark the message deferred unless the reply arrived meanwhile (then return that reply).
_DEFER = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return false end
return current
"""
# A user's messages take turns: FIFO tickets in a list, each alive while its lease key is.
# take_turn joins the queue if asked, renews the lease and says whether it is our turn,
# dropping heads whose holder vanished (a process that died in its turn).
_TAKE_TURN = """
local function take_turn(queue, ticket, join, lease_prefix, lease_ms)
  if join then redis.call('RPUSH', queue, ticket) redis.call('EXPIRE', queue, 3600) end
  redis.call('SET', lease_prefix .. ticket, '1', 'PX', lease_ms)
  while true do
    local head = redis.call('LINDEX', queue, 0)
    if head == ticket then return 1 end
    if not head then redis.call('RPUSH', queue, ticket) return 1 end
    if redis.call('EXISTS', lease_prefix .. head) == 1 then return 0 end
    redis.call('LPOP', queue)
  end
end
"""
# Claim the message id and, if it is new, join its user's queue: {-1} when seen before,
# {0} when another message of the user goes first, {1, session} when it is our turn.
_CLAIM = _TAKE_TURN + """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {-1} end
if take_turn(KEYS[2], ARGV[3], true, ARGV[4], ARGV[5]) == 0 then return {0} end
return {1, redis.call('GET', KEYS[3])}
"""
# Already in the queue: is it our turn now?
_TURN = _TAKE_TURN + "return take_turn(KEYS[1], ARGV[1], false, ARGV[2], ARGV[3])"
# Join the queue for work that is not a message (a wake-up): is it our turn already?
_JOIN = _TAKE_TURN + "return take_turn(KEYS[1], ARGV[1], true, ARGV[2], ARGV[3])"
# Leave the queue, store the session the step left (or forget it), and store the reply
# unless the budget already ran out (then the caller sends it itself).
_FINISH = """
redis.call('LREM', KEYS[2], 1, ARGV[1])
redis.call('DEL', ARGV[2] .. ARGV[1])
if ARGV[6] == 'set' then redis.call('SET', KEYS[3], ARGV[7], 'EX', ARGV[8])
elseif ARGV[6] == 'del' then redis.call('DEL', KEYS[3]) end
if redis.call('GET', KEYS[1]) == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[4], 'EX', ARGV[5]) return 1 end
return 0
"""
# Leave the queue without a message's bookkeeping (a wake-up, or a cancelled turn).
_LEAVE = "redis.call('LREM', KEYS[1], 1, ARGV[1]) redis.call('DEL', KEYS[2])"
LEASE_PREFIX = "turn:"

DeliverLater = Callable[[Inbound, Reply], Awaitable[None]]


@dataclass(frozen=True)
class Preloaded:
    """The raw session read together with the claim (None: the user has no session)."""

    raw: bytes | None


@dataclass(frozen=True)
class Turn:
    """One message's place in its conversation's queue (``turns:<conversation>``)."""

    queue: str
    ticket: str

    @property
    def lease(self) -> str:
        return LEASE_PREFIX + self.ticket


class Inbox:
    """Each message costs two Redis scripts, on a pipelined connection: claim (the message
    id, a place in the user's queue and, when it is our turn, the session) and finish (leave
    the queue, store the session and the reply). The engine's step itself does no session
    I/O."""

    def __init__(self, engine: Engine, redis: PipelinedRedis, deliver_later: DeliverLater, *,
                 budget: float, dedupe_ttl: int, turn_lease: float) -> None:
        if not isinstance(engine.store, RedisSessionStore):
            raise TypeError("the inbox keeps sessions in Redis scripts: use RedisSessionStore")
        self._engine = engine
        self._sessions: RedisSessionStore = engine.store
        self._redis = redis
        self._deliver_later = deliver_later
        self._budget = budget
        self._dedupe_ttl = dedupe_ttl
        self._lease_ms = int(turn_lease * 1000)
        self._claim = redis.script(_CLAIM)
        self._turn = redis.script(_TURN)
        self._join = redis.script(_JOIN)
        self._finish = redis.script(_FINISH)
        self._leave_queue = redis.script(_LEAVE)
        self._defer = redis.script(_DEFER)
        self._running: set[asyncio.Task[Reply]] = set()

    async def deliver(self, inbound: Inbound) -> Reply | None:
        """The reply to send back now, or None for "success" (nothing now, maybe later)."""
        key = f"inbox:{inbound.channel}:{inbound.dedupe_key}"
        turn = Turn(f"turns:{inbound.conversation}", os.urandom(16).hex())
        claimed = await self._claim(
            keys=[key, turn.queue, self._sessions.key(inbound.conversation)],
            args=[RUNNING, self._lease_ms, turn.ticket, LEASE_PREFIX, self._lease_ms])
        if claimed[0] == -1:
            return await self._reply_of_first(key)
        preloaded = Preloaded(claimed[1] if len(claimed) > 1 else None) if claimed[0] else None
        task = asyncio.create_task(self._process(inbound, key, turn, preloaded))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        done, _ = await asyncio.wait((task,), timeout=self._budget)  # never cancels the task
        if done:
            return task.result()
        current = await self._defer(keys=[key], args=[RUNNING, DEFERRED, self._dedupe_ttl])
        return _decode(current)

    @contextlib.asynccontextmanager
    async def hold(self, conversation: str) -> AsyncIterator[None]:
        """Take the conversation's turn, in arrival order, for work that is not a message."""
        turn = Turn(f"turns:{conversation}", os.urandom(16).hex())
        at_head = await self._join(keys=[turn.queue],
                                   args=[turn.ticket, LEASE_PREFIX, self._lease_ms])
        try:
            async with self._holding(turn, at_head=bool(at_head)):
                yield
        finally:
            await self._leave(turn)

    async def drain(self, timeout: float = 10) -> None:
        """Let messages still being processed finish (on shutdown)."""
        if self._running:
            await asyncio.wait(set(self._running), timeout=timeout)

    async def _process(self, inbound: Inbound, key: str, turn: Turn,
                       preloaded: Preloaded | None) -> Reply:
        """Run the step in the user's turn; ``preloaded`` is the session read with the claim
        when the turn was ours at once (else it is read once the turn comes)."""
        session_write = ("keep", "")
        try:
            async with self._holding(turn, at_head=preloaded is not None):
                session = (self._sessions.decode(preloaded.raw) if preloaded
                           else await self._sessions.load(inbound.conversation))
                reply, after = await self._engine.step(inbound, session)
            session_write = ("del", "") if after is None else ("set", after.dumps())
        except Exception:
            log.exception("handling a %s message failed", inbound.channel)
            reply = SORRY
        stored = await self._finish(
            keys=[key, turn.queue, self._sessions.key(inbound.conversation)],
            args=[turn.ticket, LEASE_PREFIX, RUNNING,
                  DONE_PREFIX + json.dumps(reply.to_json(), ensure_ascii=False),
                  self._dedupe_ttl, *session_write, self._sessions.ttl])
        if not stored:
            await self._deliver_later(inbound, reply)
        return reply

    @contextlib.asynccontextmanager
    async def _holding(self, turn: Turn, at_head: bool) -> AsyncIterator[None]:
        """Wait for the turn and keep its lease alive; ``_finish`` gives the turn back."""
        delay = 0.002
        while not at_head:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
            at_head = bool(await self._turn(keys=[turn.queue],
                                            args=[turn.ticket, LEASE_PREFIX, self._lease_ms]))
        # Most turns end long before a third of the lease: renew only if this one does not.
        keeper: list[asyncio.Task[None]] = []
        timer = asyncio.get_running_loop().call_later(
            self._lease_ms / 3000,
            lambda: keeper.append(asyncio.create_task(self._keep_lease(turn.lease))))
        try:
            yield
        except asyncio.CancelledError:  # shutting down: not finished, but let the next go
            await self._leave(turn)
            raise
        finally:
            timer.cancel()
            for task in keeper:
                task.cancel()

    async def _leave(self, turn: Turn) -> None:
        await self._leave_queue(keys=[turn.queue, turn.lease], args=[turn.ticket])

    async def _keep_lease(self, key: str) -> None:
        while True:
            await self._redis.execute("PEXPIRE", key, self._lease_ms)
            await asyncio.sleep(self._lease_ms / 3000)

    async def _reply_of_first(self, key: str) -> Reply | None:
        """A retry: wait (within the budget) for the first delivery's reply and repeat it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._budget
        while True:
            current = await self._redis.execute("GET", key)
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
