"""Delivery of inbound messages to the engine: dedupe, per-user order, the reply budget, and
crash safety. Channel-neutral: each channel says how long a request may wait for its reply
(its budget; 0 for a channel that acknowledges at once and pushes every reply), and a reply
to a user with pending items ends with the pending footer.

WeChat retries a message it got no answer to about every 5 s, 3 tries in all. Every delivery
looks up its message id in Redis: the first claims it (a marker "running:<ticket>") and runs
the engine; a retry of a finished message gets the same reply. A user's messages take turns
in arrival order (a Redis list of tickets per user, each alive while its lease key is), so
two processes never run one user's journey at once. If the engine has not answered within
the budget, the delivery answers nothing ("success") and the reply is pushed later through
the channel (for WeChat, a customer-service message).

Crash safety: the marker and the lease are short (``turn_lease``, a few seconds) and renewed
by a heartbeat while the delivery waits and runs, so a process killed in a turn leaves a claim
that lapses before WeChat's next retry. A retry of a message still marked running joins the
user's queue like a new message; once its turn comes, whoever ran the message before has left
the queue, so it either finds the reply (the first finished) or takes the message over (the
first died). The session is written only together with the reply, in one script, so a message
re-run after a crash starts from the session before it, and is acted on once.

Deferral is durable. Once a delivery has answered "success", WeChat never sends the message
again, so the message must not depend on the process that deferred it. The marker then turns
"deferred:<holder ticket>:<the inbound as JSON>" (in the script that decides the deferral, so
"success" is never answered without it) and a recovery job (``recover``, an arq job one per
message, id from the marker) is queued *before* that script: a process killed between the two
leaves a job that finds an undeferred marker, and WeChat's retry runs the message. The job
looks at the marker two leases later, and again every two leases while the holder's lease
lives (its step runs, or it waits its turn); once the lease has lapsed (the holder died), the
job joins the user's queue with a ticket of its own and, in its turn, takes the message over
and runs it as any delivery would: session and reply written together, so the dead holder's
unfinished step left nothing behind. A holder whose lease lapsed while it still lived finds,
when it finishes, a marker that is no longer its own, and writes nothing. A process killed
inside the recovery job is covered by arq: the job stays queued and runs again once its
in-progress key lapses.

A deferred reply (every reply of a channel whose budget is 0) is pushed by the delivering
process itself, at once, in the user's turn. The script that writes the session stores the
reply in the marker ("later:<holder ticket>:<inbound and reply>") and keeps the turn; the
holder pushes (``push_now``) while its heartbeat still runs, then one script sets the marker
"handed" and gives the turn back, so the user's next reply can neither overtake this one nor
be made before it is stored. A push that fails (False, or an exception) is handed to the
``send_reply`` job instead (id from the marker, so arq refuses a second hand-over while the
job or its result exists), which retries in the user's turn; that reply may then reach the
user after later ones. If the process dies after storing the reply, the recovery job finds
"later:" with a lapsed holder lease and hands the reply to ``send_reply``; while the holder's
lease lives (it is pushing) the job only looks again. So a kill at any point leaves a
"deferred:" or "later:" marker the job settles, or a "handed" one; the reply reaches the user
once, except that a push in flight at the kill (sent, "handed" not yet written) is pushed again
by the job: at most twice. The same holds for a holder whose lease lapsed while it pushed (a
heartbeat that could not reach Redis for a whole lease).

WeChat's deferred replies (past its 4 s budget) take the same path: the customer-service
message goes out when the reply is made, not a job poll later, and in the user's turn as
before; the request itself still answers within the budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis import exceptions as redis_errors

from bot.engine import Engine
from bot.messages import Conversation, Inbound, InboundKind, Reply
from bot.pending import PendingItems, with_footer
from bot.pipelined_redis import PipelinedRedis, Script
from bot.session import RedisSessionStore

log = logging.getLogger(__name__)

# A message's marker, inbox:<channel>:<dedupe key>, is one of:
RUNNING_PREFIX = "running:"  # + the ticket of the delivery that runs the message
DEFERRED_PREFIX = "deferred:"  # + holder's ticket + ":" + the inbound: "success" answered
DONE_PREFIX = "done:"  # + the reply: answered in the request
LATER_PREFIX = "later:"  # + holder's ticket + ":" + the inbound and the reply: to be pushed
HANDED = "handed"  # the deferred reply was pushed, or is with the send_reply job
LEASE_PREFIX = "turn:"
SORRY = Reply("系统繁忙，请稍后再试。")

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
# The ticket named by a deferred marker, and the rest of the marker (":" + the inbound).
_HOLDER = """
local function holder(current)
  if not current or string.sub(current, 1, #DEFERRED) ~= DEFERRED then return nil end
  local colon = string.find(current, ':', #DEFERRED + 1, true)
  return string.sub(current, #DEFERRED + 1, colon - 1), string.sub(current, colon)
end
""".replace("DEFERRED", f"'{DEFERRED_PREFIX}'")
# Our turn has come for a message (KEYS: marker, queue, session; ARGV: ticket, lease prefix,
# lease ms; then the turn's reads, TURN_READS keys). Whoever claimed the message before us
# queued ahead of us and has left the queue:
# a marker still (or no longer) running means it died, and the message is ours. A deferred
# message is ours if the marker names us, or names a holder whose lease lapsed (it died; we
# become the holder). Anything else is returned ({-1, marker}) and we leave. Ours: {1, session,
# pending count, the turn's reads} (KEYS[4] is the user's pending-items counter: the footer
# costs no round trip).
_OURS = _HOLDER + """
local function ours(marker, queue, session, ticket, lease_prefix, lease_ms)
  local current = redis.call('GET', marker)
  local held_by, record = holder(current)
  if held_by then
    if held_by ~= ticket and redis.call('EXISTS', lease_prefix .. held_by) == 0 then
      redis.call('SET', marker, DEFERRED .. ticket .. record, 'KEEPTTL')
      held_by = ticket
    end
  elseif not current or string.sub(current, 1, #RUNNING) == RUNNING then
    redis.call('SET', marker, RUNNING .. ticket, 'PX', lease_ms)
    held_by = ticket
  end
  if held_by ~= ticket then
    redis.call('LREM', queue, 1, ticket) redis.call('DEL', lease_prefix .. ticket)
    return {-1, current}
  end
  local answer = {1, redis.call('GET', session), redis.call('GET', KEYS[4])}
  for i = 5, 4 + TURN_READS do answer[#answer + 1] = redis.call('GET', KEYS[i]) end
  return answer
end
""".replace("RUNNING", f"'{RUNNING_PREFIX}'").replace("DEFERRED", f"'{DEFERRED_PREFIX}'")
# A request's seal (KEYS: seal; ARGV: digest, seconds): remembered with the digest of what
# it carried while its signature is fresh. True when first seen, or seen with this very digest
# (the sender's own retry); false when seen with another (a signed request reused).
_SEALED = """
local function first_or_retry(seal, digest, seconds)
  if redis.call('SET', seal, digest, 'NX', 'EX', seconds) then return true end
  return redis.call('GET', seal) == digest
end
"""
_FIRST_OR_RETRY = _SEALED + "return first_or_retry(KEYS[1], ARGV[1], ARGV[2]) and 1 or 0"
# A delivery arrives: {-2} for a sealed request reused with another digest (the last key, after
# the turn's reads, with ARGV[4] and ARGV[5]: its seal, if any); {-1, marker} for a message
# already answered (or deferred); else it joins the user's queue, claiming the message if
# nobody runs it: {0} to wait for the turn, or what ``ours`` says when the turn is ours at once.
_CLAIM = _TAKE_TURN + _OURS + _SEALED + """
local seal = KEYS[5 + TURN_READS]
if seal and not first_or_retry(seal, ARGV[4], ARGV[5]) then return {-2} end
local current = redis.call('GET', KEYS[1])
if current and string.sub(current, 1, #RUNNING) ~= RUNNING then return {-1, current} end
if not current then redis.call('SET', KEYS[1], RUNNING .. ARGV[1], 'PX', ARGV[3]) end
if take_turn(KEYS[2], ARGV[1], true, ARGV[2], ARGV[3]) == 0 then return {0} end
return ours(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3])
""".replace("RUNNING", f"'{RUNNING_PREFIX}'")
# Already in the queue with a message: {0} while it is not our turn, else as ``ours``.
_MESSAGE_TURN = _TAKE_TURN + _OURS + """
if take_turn(KEYS[2], ARGV[1], false, ARGV[2], ARGV[3]) == 0 then return {0} end
return ours(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3])
"""
# The recovery job for a deferred message (KEYS and ARGV as ``_MESSAGE_TURN``): {-1} unless
# the message is still deferred and its holder's lease has lapsed; then it joins the user's
# queue ({0} to wait for the turn, or what ``ours`` says when the turn is ours at once).
_RECOVER = _TAKE_TURN + _OURS + """
local held_by = holder(redis.call('GET', KEYS[1]))
if not held_by or redis.call('EXISTS', ARGV[2] .. held_by) == 1 then return {-1} end
if take_turn(KEYS[2], ARGV[1], true, ARGV[2], ARGV[3]) == 0 then return {0} end
return ours(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3])
"""
# Work that is not a message (an outside event): join the queue, or ask again; {1} when our turn.
_JOIN = _TAKE_TURN + "return {take_turn(KEYS[1], ARGV[1], true, ARGV[2], ARGV[3])}"
_TURN = _TAKE_TURN + "return {take_turn(KEYS[1], ARGV[1], false, ARGV[2], ARGV[3])}"
# The heartbeat (KEYS: lease[, marker]; ARGV: running value, lease ms): renew the lease, and
# the marker while it is ours; 0 when the lease had lapsed (the turn may have been taken).
_KEEP = """
if KEYS[2] and redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""
# Mark our message deferred (KEYS: marker; ARGV: our ticket, the inbound, seconds to keep it),
# recording the inbound, unless the reply arrived meanwhile (then return that reply). The
# holder is whoever the running marker names: us, or the delivery ahead of us in the queue
# (if it died, ``ours`` hands the message to us in our turn); no marker (it lapsed): us.
_DEFER = """
local current = redis.call('GET', KEYS[1])
local held_by = ARGV[1]
if current then
  if string.sub(current, 1, #RUNNING) ~= RUNNING then return current end
  held_by = string.sub(current, #RUNNING + 1)
end
redis.call('SET', KEYS[1], DEFERRED .. held_by .. ':' .. ARGV[2], 'EX', ARGV[3])
return false
""".replace("RUNNING", f"'{RUNNING_PREFIX}'").replace("DEFERRED", f"'{DEFERRED_PREFIX}'")
# The step is done (KEYS: marker, queue, session; ARGV: ticket, lease prefix, 'keep'/'set'/
# 'del', session, session ttl, answered '1'/'0', done marker, later marker, marker ttl). If the
# message is still ours (the marker names us, or lapsed), store the session the step left and
# the reply: in the marker as the answer (1), or, once "success" was answered, as a reply to
# push (0): then the turn is kept for the push, and ``_SETTLE`` gives it back. Otherwise leave
# the queue; a message taken over meanwhile gets nothing from us (-1).
_FINISH = _HOLDER + """
local function leave()
  redis.call('LREM', KEYS[2], 1, ARGV[1]) redis.call('DEL', ARGV[2] .. ARGV[1])
end
local current = redis.call('GET', KEYS[1])
local running = current == RUNNING .. ARGV[1]
if current and not running and holder(current) ~= ARGV[1] then leave() return -1 end
if ARGV[3] == 'set' then redis.call('SET', KEYS[3], ARGV[4], 'EX', ARGV[5])
elseif ARGV[3] == 'del' then redis.call('DEL', KEYS[3]) end
if ARGV[6] == '0' and (running or not current) then
  redis.call('SET', KEYS[1], ARGV[7], 'EX', ARGV[9])
  leave()
  return 1
end
redis.call('SET', KEYS[1], ARGV[8], 'EX', ARGV[9])
return 0
""".replace("RUNNING", f"'{RUNNING_PREFIX}'")
# The deferred reply is pushed, or with the send_reply job (KEYS: marker, queue, lease; ARGV:
# ticket): say so in the marker and give the turn back.
_SETTLE = f"""
redis.call('SET', KEYS[1], '{HANDED}', 'XX', 'KEEPTTL')
redis.call('LREM', KEYS[2], 1, ARGV[1]) redis.call('DEL', KEYS[3])
"""
# The recovery job's look (KEYS: marker; ARGV: lease prefix): {1, marker}, or {0} while the
# marker holds a reply its holder is pushing (its lease lives).
_LOOK = """
local current = redis.call('GET', KEYS[1])
if current and string.sub(current, 1, #LATER) == LATER then
  local colon = string.find(current, ':', #LATER + 1, true)
  if redis.call('EXISTS', ARGV[1] .. string.sub(current, #LATER + 1, colon - 1)) == 1 then
    return {0}
  end
end
return {1, current}
""".replace("LATER", f"'{LATER_PREFIX}'")
# Leave the queue without a message's bookkeeping (an outside event, or a cancelled turn).
_LEAVE = "redis.call('LREM', KEYS[1], 1, ARGV[1]) redis.call('DEL', KEYS[2])"
# Is anyone in the conversation's queue alive (KEYS: queue; ARGV: lease prefix)? 1 or 0.
_BUSY = """
for _, ticket in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  if redis.call('EXISTS', ARGV[1] .. ticket) == 1 then return 1 end
end
return 0
"""

PushNow = Callable[[Conversation, Reply], Awaitable[bool]]  # False: try again later
DeliverLater = Callable[[Inbound, Reply], Awaitable[None]]  # the send_reply job, which retries
RecoverLater = Callable[[str], Awaitable[None]]  # queue the recovery job for a marker
Poll = Callable[[], Awaitable[list[Any]]]
# A Redis key every turn of a conversation reads (by the conversation's key): read with the
# claim, and handed to the step as ``Turn.prefetched`` under that key.
TurnRead = Callable[[str], str]


class Replayed(Exception):
    """A signed request reused with another body: refuse it, nothing of it is processed."""


@dataclass(frozen=True)
class Seal:
    """A signed request's one use: ``key`` names its signed part (for WeChat, the timestamp and
    nonce), ``digest`` what it carried, ``seconds`` how long its signature stays acceptable.
    Where a signature does not cover the body, this is what stops a copied query string from
    carrying another one."""

    key: str
    digest: bytes
    seconds: int


@dataclass(frozen=True)
class Turn:
    """One delivery's place in its conversation's queue (``turns:<conversation>``), and the
    message's marker (``inbox:<channel>:<dedupe key>``; None for an outside event)."""

    queue: str
    ticket: str
    marker: str | None = None

    @property
    def lease(self) -> str:
        return LEASE_PREFIX + self.ticket

    @property
    def running(self) -> str:
        return RUNNING_PREFIX + self.ticket


@dataclass
class _Delivery:
    inbound: Inbound
    turn: Turn
    answered: bool = False  # the request got its answer ("success"): the reply goes out later
    # The request's wait for the reply within the channel's budget: set by the step itself,
    # so the request goes on in the next loop pass (not after the task's done callbacks).
    made: asyncio.Future[Any] | None = None


class Inbox:
    """Each message answered in its request costs two Redis scripts, on a pipelined
    connection: claim (the message id, a place in the user's queue and, when it is our turn,
    the session) and finish (leave the queue, store the session and the reply). A deferred
    one adds the recovery job, the deferral and, after its push, the settling script. The
    engine's step itself does no session I/O. A turn that outlives a third of the lease adds
    a heartbeat every third of it."""

    def __init__(self, engine: Engine, redis: PipelinedRedis, push_now: PushNow,
                 deliver_later: DeliverLater, recover_later: RecoverLater, *,
                 budget: Callable[[str], float], dedupe_ttl: int, turn_lease: float,
                 turn_reads: Sequence[TurnRead] = ()) -> None:
        if not isinstance(engine.store, RedisSessionStore):
            raise TypeError("the inbox keeps sessions in Redis scripts: use RedisSessionStore")
        self._engine = engine
        self._sessions: RedisSessionStore = engine.store
        self._redis = redis
        self._push_now = push_now
        self._deliver_later = deliver_later
        self._recover_later = recover_later
        self._budget = budget
        self._dedupe_ttl = dedupe_ttl
        self._lease_ms = int(turn_lease * 1000)
        self._turn_reads = tuple(turn_reads)

        def with_reads(source: str) -> Script:
            return redis.script(source.replace("TURN_READS", str(len(self._turn_reads))))

        self._claim = with_reads(_CLAIM)
        self._message_turn = with_reads(_MESSAGE_TURN)
        self._join = redis.script(_JOIN)
        self._turn = redis.script(_TURN)
        self._keep = redis.script(_KEEP)
        self._finish = redis.script(_FINISH)
        self._settle = redis.script(_SETTLE)
        self._look = redis.script(_LOOK)
        self._leave_queue = redis.script(_LEAVE)
        self._defer = redis.script(_DEFER)
        self._recover = with_reads(_RECOVER)
        self._busy = redis.script(_BUSY)
        self._first_or_retry = redis.script(_FIRST_OR_RETRY)
        # Tickets unique across processes and restarts without a system call each.
        self._ticket_prefix = os.urandom(8).hex()
        self._tickets = itertools.count()
        self._running: set[asyncio.Task[Reply | None]] = set()
        self._keeper = _Keeper(self._renew, turn_lease)

    async def deliver(self, inbound: Inbound, seal: Seal | None = None) -> Reply | None:
        """The reply to send back now, or None for "success" (nothing now, maybe later).
        ``seal``: checked in the claim's own script (no round trip of its own); Replayed if
        it was used with another digest."""
        marker = f"inbox:{inbound.channel}:{inbound.dedupe_key}"
        turn = Turn(f"turns:{inbound.conversation.key}", self._ticket(), marker)
        keys, args = self._keys(inbound, turn), [turn.ticket, LEASE_PREFIX, self._lease_ms]
        if seal is not None:
            keys.append(seal.key)
            args += [seal.digest, seal.seconds]
        claimed = await self._claim(keys=keys, args=args)
        if claimed[0] == -2:
            raise Replayed(seal.key if seal else "")
        if claimed[0] == -1:
            return _decode(claimed[1])
        delivery = _Delivery(inbound, turn)
        # The channel's budget: 0 for a channel that acknowledges at once and pushes.
        budget = self._budget(inbound.channel)
        if budget > 0:
            delivery.made = made = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._process(delivery, claimed))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        if budget > 0:
            reply = await _within(made, budget)
            if reply is not _LATE:
                return reply
        delivery.answered = True
        await self._recover_later(marker)  # first: a kill between the two leaves a job
        current = await self._defer(keys=[marker], args=[turn.ticket, _inbound_json(inbound),
                                                         self._dedupe_ttl])
        return _decode(current)

    async def first_or_retry(self, seal: Seal) -> bool:
        """Remember a request's seal that does not go on to ``deliver`` (a body that cannot
        be read or is refused, a URL check): False if it was used with another digest."""
        return bool(await self._first_or_retry(keys=[seal.key], args=[seal.digest,
                                                                       seal.seconds]))

    @property
    def recheck_after(self) -> float:
        """Seconds between the recovery job's looks at a deferred message: a live holder
        renews its lease every third of it, so two leases unrenewed mean it died."""
        return 2 * self._lease_ms / 1000

    async def recover(self, marker: str) -> bool:
        """The recovery job's look at a deferred message: False to look again later (it is
        still held, or not deferred yet); True when nothing is left to do, after handing over
        a reply that was made but not pushed by a holder that died, or after taking over and
        running the message of a holder that died (its reply is pushed)."""
        looked = await self._look(keys=[marker], args=[LEASE_PREFIX])
        if looked[0] == 0:
            return False  # its holder is pushing the reply: handed soon
        raw = looked[1]
        current = raw.decode() if isinstance(raw, bytes) else raw or ""
        if current.startswith(LATER_PREFIX):
            made = json.loads(current[len(LATER_PREFIX):].partition(":")[2])
            await self._hand_over(marker, _inbound(made["inbound"]), Reply.from_json(made["reply"]))
            return True
        if current.startswith(RUNNING_PREFIX):
            return False  # in flight: deferred soon (our job), answered, or retried by WeChat
        if not current.startswith(DEFERRED_PREFIX):
            return True  # answered, handed, or forgotten
        inbound = _inbound(json.loads(current[len(DEFERRED_PREFIX):].partition(":")[2]))
        turn = Turn(f"turns:{inbound.conversation.key}", self._ticket(), marker)
        taken = await self._recover(keys=self._keys(inbound, turn),
                                    args=[turn.ticket, LEASE_PREFIX, self._lease_ms])
        if taken[0] == -1:
            return False  # its holder lives (or the marker changed since): look again
        log.warning("taking over a deferred message whose process died")
        await self._process(_Delivery(inbound, turn, answered=True), taken)
        return True

    async def busy(self, conversation: str) -> bool:
        """Whether a message, push or event holds or awaits the conversation's turn (a
        deferred reply keeps the turn until it is pushed): the sandbox's simulated users ask
        it to know when their turn is over."""
        return bool(await self._busy(keys=[f"turns:{conversation}"], args=[LEASE_PREFIX]))

    @contextlib.asynccontextmanager
    async def hold(self, conversation: str) -> AsyncIterator[None]:
        """Take the conversation's turn, in arrival order, for work that is not a message."""
        turn = Turn(f"turns:{conversation}", self._ticket())
        args = [turn.ticket, LEASE_PREFIX, self._lease_ms]
        joined = await self._join(keys=[turn.queue], args=args)
        with self._keeper.holding(turn):
            try:
                async with self._holding(turn, joined,
                                         lambda: self._turn(keys=[turn.queue], args=args)):
                    yield
            finally:
                await self._leave(turn)

    async def drain(self, timeout: float) -> None:
        """Let messages still being processed finish (on shutdown), within ``timeout`` s."""
        if self._running:
            log.info("stopping: %d message(s) still in progress", len(self._running))
            await asyncio.wait(set(self._running), timeout=timeout)

    async def _process(self, delivery: _Delivery, claimed: list[Any]) -> Reply | None:
        """``_take_turn``, its reply (or failure) also handed to the request that waits for it
        (``made``), which then has it to retrieve."""
        made = delivery.made
        try:
            reply = await self._take_turn(delivery, claimed)
        except Exception as exc:
            if made is None or made.done():
                raise
            made.set_exception(exc)
            return None
        if made is not None and not made.done():
            made.set_result(reply)
        return reply

    async def _take_turn(self, delivery: _Delivery, claimed: list[Any]) -> Reply | None:
        """Wait for the turn and run the step in it: the reply to answer with, or None when
        it is pushed instead (the message was deferred: pushed in the same turn) or another
        delivery has the message (then that one's reply, if it answered)."""
        inbound, turn = delivery.inbound, delivery.turn
        assert turn.marker is not None
        keys = self._keys(inbound, turn)
        args = [turn.ticket, LEASE_PREFIX, self._lease_ms]
        session_write = ("keep", "")
        with self._keeper.holding(turn):  # from the wait for the turn to the end of the push
            try:
                async with self._holding(turn, claimed, lambda: self._message_turn(
                        keys=keys, args=args)) as ours:
                    if ours[0] == -1:
                        return _decode(ours[1])
                    session = self._sessions.decode(ours[1])
                    prefetched = dict(zip(keys[4:4 + len(self._turn_reads)], ours[3:],
                                          strict=False))
                    reply, after = await self._engine.step(inbound, session, prefetched)
                    if ours[2] is not None:  # items pending: the step may have opened one
                        reply = with_footer(reply, await self._pending_count(inbound))
                session_write = ("del", "") if after is None else ("set", after.dumps())
            except Exception:
                log.exception("handling a %s message failed", inbound.channel)
                reply = SORRY
            reply_json = _json(reply.to_json())  # once, for both markers
            made = f'{{"inbound": {_inbound_json(inbound)}, "reply": {reply_json}}}'
            outcome = await self._finish(
                keys=keys,
                args=[turn.ticket, LEASE_PREFIX, *session_write, self._sessions.ttl,
                      "1" if delivery.answered else "0",
                      DONE_PREFIX + reply_json, f"{LATER_PREFIX}{turn.ticket}:{made}",
                      self._dedupe_ttl])
            if outcome == 0:
                await self._push(turn, inbound, reply)
        return reply if outcome == 1 else None

    async def _push(self, turn: Turn, inbound: Inbound, reply: Reply) -> None:
        """Push a deferred reply in the turn it was made in, so the user's next reply cannot
        overtake it; a push that fails is handed to the send_reply job. Then the marker says
        "handed" and the turn is given back, in one script."""
        assert turn.marker is not None
        try:
            pushed = await self._push_now(inbound.conversation, reply)
        except asyncio.CancelledError:  # shutting down: "later:" stays for the recovery job
            await self._leave(turn)
            raise
        except Exception:
            log.exception("pushing a %s reply failed; the send_reply job will", inbound.channel)
            pushed = False
        if not pushed:
            try:
                await self._deliver_later(inbound, reply)
            except BaseException:
                await self._leave(turn)  # "later:" stays: the recovery job hands it over
                raise
        await self._settle(keys=[turn.marker, turn.queue, turn.lease], args=[turn.ticket])

    async def _hand_over(self, marker: str, inbound: Inbound, reply: Reply) -> None:
        """Queue the push of a reply left "later:" by a holder that died, then say so in the
        marker (a process killed in between leaves "later:", and the recovery job hands it
        over again: the job's id makes that a no-op if the first got through)."""
        await self._deliver_later(inbound, reply)
        await self._redis.execute("SET", marker, HANDED, "XX", "KEEPTTL")

    @contextlib.asynccontextmanager
    async def _holding(self, turn: Turn, answer: list[Any], poll: Poll
                       ) -> AsyncIterator[list[Any]]:
        """Wait until ``answer`` (of the script that queued us, then of ``poll``) says it is
        our turn, and yield it; the caller's heartbeat keeps the lease (and the marker once
        ours) alive meanwhile. ``_finish``, ``_settle`` or ``_leave`` gives the turn back."""
        try:
            delay = 0.002
            while answer[0] == 0:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.05)
                answer = await poll()
            yield answer
        except asyncio.CancelledError:  # shutting down: not finished, but let others go
            await self._leave(turn)
            raise

    async def _renew(self, turn: Turn) -> None:
        keys = [turn.lease] if turn.marker is None else [turn.lease, turn.marker]
        try:
            if not await self._keep(keys=keys, args=[turn.running, self._lease_ms]):
                log.warning("a turn outlived its lease; another delivery may take it over")
        except redis_errors.RedisError as exc:
            log.warning("cannot renew a turn's lease: %s", exc)

    def _keys(self, inbound: Inbound, turn: Turn) -> list[str]:
        """The scripts' keys for a message: marker, queue, session, pending-items counter,
        the turn's reads."""
        assert turn.marker is not None
        conversation = inbound.conversation
        return [turn.marker, turn.queue, self._sessions.key(conversation.key),
                PendingItems.counter_key(conversation),
                *(read(conversation.key) for read in self._turn_reads)]

    def _ticket(self) -> str:
        return f"{self._ticket_prefix}{next(self._tickets)}"

    async def _pending_count(self, inbound: Inbound) -> int:
        raw = await self._redis.execute("GET", PendingItems.counter_key(inbound.conversation))
        return int(raw) if raw else 0

    async def _leave(self, turn: Turn) -> None:
        await self._leave_queue(keys=[turn.queue, turn.lease], args=[turn.ticket])


class _Keeper:
    """Keeps the leases of held turns alive with one task, not a timer per turn (in uvloop a
    timer is a handle of its own: a few per cent of a message's CPU in bench/inbound.py). It
    looks every sixth of the lease and renews each turn gone a sixth unrenewed, so no lease
    goes more than a third of itself unrenewed; most turns end before it looks at them."""

    def __init__(self, renew: Callable[[Turn], Awaitable[None]], lease: float) -> None:
        self._renew = renew
        self._every = lease / 6
        self._held: dict[Turn, float] = {}  # turn: when its lease was set or last renewed
        self._task: asyncio.Task[None] | None = None

    def holding(self, turn: Turn) -> _Held:
        return _Held(self, turn)

    def add(self, turn: Turn) -> None:
        self._held[turn] = time.monotonic()
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    def remove(self, turn: Turn) -> None:
        del self._held[turn]
        if not self._held and self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            now = time.monotonic()
            due = [turn for turn, renewed in self._held.items() if now - renewed >= self._every]
            for turn in due:
                self._held[turn] = now
            await asyncio.gather(*(self._renew(turn) for turn in due))


class _Held:
    """``with keeper.holding(turn)``: a class, not contextlib's generator, as it is on every
    message's path."""

    def __init__(self, keeper: _Keeper, turn: Turn) -> None:
        self._keeper, self._turn = keeper, turn

    def __enter__(self) -> None:
        self._keeper.add(self._turn)

    def __exit__(self, *_: object) -> None:
        self._keeper.remove(self._turn)


_LATE = object()  # ``_within``'s answer when the budget ran out first


async def _within(made: asyncio.Future[Any], seconds: float) -> Any:
    """``made``'s result within ``seconds``, else ``_LATE`` (and ``made`` is done with it, so
    the step, finishing later, leaves it alone and nothing is left unretrieved)."""
    def late() -> None:
        if not made.done():
            made.set_result(_LATE)

    timer = asyncio.get_running_loop().call_later(seconds, late)
    try:
        return await made
    finally:
        timer.cancel()
        if not made.done():  # the request itself was cancelled
            made.cancel()


# json.dumps with an option builds an encoder per call: one, made once, for every message.
_json = json.JSONEncoder(ensure_ascii=False).encode


def _inbound_fields(inbound: Inbound) -> dict[str, Any]:
    """The message's fields (all flat): dataclasses.asdict deep-copies them, at 10 µs."""
    return dict(vars(inbound))


def _inbound_json(inbound: Inbound) -> str:
    return _json(_inbound_fields(inbound))


def _inbound(data: dict[str, Any]) -> Inbound:
    return Inbound(**{**data, "kind": InboundKind(data["kind"])})


def _decode(raw: bytes | str | None) -> Reply | None:
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else raw
    if text.startswith(DONE_PREFIX):
        return Reply.from_json(json.loads(text[len(DONE_PREFIX):]))
    return None
