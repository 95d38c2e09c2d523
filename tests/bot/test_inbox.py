"""Delivery on a real Redis: retries deduped, one user's messages in order, users in parallel,
the reply budget (answer nothing now, push later), what a killed process leaves, and the
recovery job's looks at a deferred message."""

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest
from redis.asyncio import Redis

from bot.config import Settings
from bot.engine import UNIVERSAL_HINT, Engine, Flow
from bot.inbox import (
    DEFERRED_PREFIX,
    HANDED,
    LATER_PREFIX,
    LEASE_PREFIX,
    RUNNING_PREFIX,
    SORRY,
    DeliverLater,
    Inbox,
    Replayed,
    Seal,
    TurnRead,
)
from bot.messages import Conversation, Inbound, InboundKind, Reply
from bot.pipelined_redis import PipelinedRedis
from bot.session import RedisSessionStore
from tests.support.harness import Harness
from tests.support.probe import PROBE_KEY, Probe


@dataclass
class Later:
    """Replies that missed the budget: pushed by the inbox in the user's turn (``pushed``),
    or handed to the send_reply job (``queued``), as the app would. ``busy`` pushes fail."""

    pushed: list[tuple[str, Reply]] = field(default_factory=list)
    queued: list[tuple[str, Reply]] = field(default_factory=list)
    busy: int = 0  # pushes to fail (False) before one goes through
    push_delay: float = 0.0

    @property
    def texts(self) -> list[tuple[str, str]]:
        """Every reply sent after "success", whichever way (user, text)."""
        return [(user, reply.text) for user, reply in self.pushed + self.queued]

    async def push_now(self, conversation: Conversation, reply: Reply) -> bool:
        await asyncio.sleep(self.push_delay)
        if self.busy:
            self.busy -= 1
            return False
        self.pushed.append((conversation.user_id, reply))
        return True

    def collecting(self) -> DeliverLater:
        async def deliver_later(inbound: Inbound, reply: Reply) -> None:
            self.queued.append((inbound.user_id, reply))

        return deliver_later


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
def later() -> Later:
    return Later()


def build_inbox(redis: Redis, pipelined_redis: PipelinedRedis, probe: Probe, later: Later, *,
                budget: float = 2.0, turn_lease: float = 30,
                watched: list[str] | None = None, turn_reads: Sequence[TurnRead] = ()) -> Inbox:
    """``watched``: the markers the app would queue a recovery job for."""
    async def recover_later(marker: str) -> None:
        if watched is not None:
            watched.append(marker)

    engine = Engine([probe.flow], RedisSessionStore(redis, 1800))
    return Inbox(engine, pipelined_redis, later.push_now, later.collecting(), recover_later,
                 budget=lambda _channel: budget,
                 dedupe_ttl=600, turn_lease=turn_lease, turn_reads=turn_reads)


@pytest.fixture
def inbox(redis: Redis, pipelined_redis: PipelinedRedis, probe: Probe, later: Later) -> Inbox:
    return build_inbox(redis, pipelined_redis, probe, later)


def text(user: str, body: str, msg_id: int) -> Inbound:
    return Inbound("wechat", user, InboundKind.TEXT, f"msg:{msg_id}", text=body)


async def start_probe(inbox: Inbox, user: str) -> None:
    click = Inbound("wechat", user, InboundKind.CLICK, f"{user}:0", event_key=PROBE_KEY)
    assert (await inbox.deliver(click)).text == "请说话"


async def arriving(inbounds: list[Inbound], inbox: Inbox) -> list[Reply | None]:
    """Deliver all at once, each a moment after the previous, so arrival order is defined."""
    tasks = []
    for inbound in inbounds:
        tasks.append(asyncio.create_task(inbox.deliver(inbound)))
        await asyncio.sleep(0.005)
    return await asyncio.gather(*tasks)


async def test_a_retry_is_not_processed_again_and_gets_the_same_reply(inbox: Inbox,
                                                                      probe: Probe):
    await start_probe(inbox, "u1")
    first = await inbox.deliver(text("u1", "早上好", 1))
    again = await inbox.deliver(text("u1", "早上好", 1))
    assert first == again
    assert first is not None and first.text == "收到：早上好"
    assert probe.heard == ["早上好"]


async def test_a_seal_reused_with_another_digest_is_refused_before_anything_is_claimed(
        inbox: Inbox, probe: Probe, redis: Redis):
    """The seal is checked in the claim's own script: a signed query string reused with
    another body claims nothing, queues nothing and runs nothing; the sender's own retry
    (same seal, same digest) gets the first reply."""
    await start_probe(inbox, "u1")
    seal = Seal("wechat:stamp:1700000000:n1", b"body-1", 300)
    first = await inbox.deliver(text("u1", "早上好", 1), seal)
    assert first is not None and first.text == "收到：早上好"
    with pytest.raises(Replayed):
        await inbox.deliver(text("u1", "转账", 2), Seal(seal.key, b"body-2", 300))
    assert not await redis.exists("inbox:wechat:msg:2")
    assert await redis.llen("turns:wechat:u1") == 0
    assert await inbox.deliver(text("u1", "早上好", 1), seal) == first
    assert probe.heard == ["早上好"]
    assert 0 < await redis.ttl(seal.key) <= 300
    # The check alone, for requests that never reach deliver (refused or unreadable bodies).
    assert await inbox.first_or_retry(seal)
    assert not await inbox.first_or_retry(Seal(seal.key, b"body-3", 300))
    assert await inbox.first_or_retry(Seal("wechat:stamp:1700000000:n2", b"body-3", 300))


async def test_a_turns_reads_come_with_its_claim(redis: Redis, pipelined_redis: PipelinedRedis,
                                                probe: Probe, later: Later):
    """Keys every turn of a conversation reads (the query pause) are read by the claim's
    script and reach the step as ``Turn.prefetched``, also for a message that waited for its
    turn and beside a seal; a key that does not exist is there as None."""
    inbox = build_inbox(redis, pipelined_redis, probe, later,
                        turn_reads=[lambda conversation: f"pause:{conversation}"])
    await redis.set("pause:wechat:u1", "1700000000")
    for user in ("u1", "u2"):
        await start_probe(inbox, user)
    probe.delay = 0.05  # the second message of u1 waits for the first one's turn
    await arriving([text("u1", "一", 1), text("u1", "二", 2), text("u2", "三", 3)], inbox)
    seal = Seal("wechat:stamp:1700000000:n1", b"body-4", 300)
    assert (await inbox.deliver(text("u2", "四", 4), seal)).text == "收到：四"
    with pytest.raises(Replayed):
        await inbox.deliver(text("u2", "五", 5), Seal(seal.key, b"body-5", 300))
    assert probe.heard == ["一", "三", "二", "四"]
    assert probe.prefetched == [{"pause:wechat:u1": b"1700000000"}, {"pause:wechat:u2": None},
                                {"pause:wechat:u1": b"1700000000"}, {"pause:wechat:u2": None}]


async def test_concurrent_duplicates_are_processed_once(inbox: Inbox, probe: Probe):
    await start_probe(inbox, "u1")
    probe.delay = 0.1
    replies = await asyncio.gather(*(inbox.deliver(text("u1", "早上好", 1)) for _ in range(3)))
    assert [reply.text for reply in replies] == ["收到：早上好"] * 3
    assert replies[0] == replies[1] == replies[2]
    assert probe.heard == ["早上好"]


async def test_one_users_messages_are_handled_one_at_a_time_in_arrival_order(
        inbox: Inbox, probe: Probe, redis: Redis):
    await start_probe(inbox, "u1")
    probe.delay = 0.03
    words = ["一", "二", "三", "四", "五", "六"]
    replies = await arriving([text("u1", w, n) for n, w in enumerate(words)], inbox)
    assert probe.heard == words
    assert [reply.text for reply in replies] == [f"收到：{w}" for w in words]
    session = await RedisSessionStore(redis, 1800).load("wechat:u1")
    assert session is not None and session.data["seen"] == words


async def test_different_users_run_in_parallel(inbox: Inbox, probe: Probe):
    users = ["u1", "u2", "u3"]
    for user in users:
        await start_probe(inbox, user)
    probe.delay = 0.1
    messages = [text(u, f"{u}-{n}", 10 * n + i) for n in range(2) for i, u in enumerate(users)]
    started = time.monotonic()
    await arriving(messages, inbox)
    elapsed = time.monotonic() - started
    assert elapsed < 0.45, f"{elapsed:.2f} s: users waited for each other (serial: 0.6 s)"
    for user in users:
        assert [w for w in probe.heard if w.startswith(user)] == [f"{user}-0", f"{user}-1"]


@pytest.fixture
async def other_process(redis_url: str, probe: Probe, later: Later) -> AsyncIterator[Inbox]:
    """A second inbox with its own Redis connections: another process, as Redis sees it."""
    redis, pipelined = Redis.from_url(redis_url), PipelinedRedis(redis_url, timeout=3)
    yield build_inbox(redis, pipelined, probe, later)
    await pipelined.aclose()
    await redis.aclose()


async def test_one_users_messages_take_turns_across_processes(
        inbox: Inbox, other_process: Inbox, probe: Probe):
    await start_probe(inbox, "u1")
    probe.delay = 0.03
    words = ["一", "二", "三", "四", "五", "六"]
    tasks = []
    for n, word in enumerate(words):  # alternately to each process, a moment apart
        tasks.append(asyncio.create_task(
            (inbox, other_process)[n % 2].deliver(text("u1", word, n))))
        await asyncio.sleep(0.005)
    replies = await asyncio.gather(*tasks)
    assert probe.heard == words
    assert probe.most_at_once == 1
    assert [reply.text for reply in replies] == [f"收到：{w}" for w in words]


async def test_a_retry_reaching_another_process_gets_the_first_reply(
        inbox: Inbox, other_process: Inbox, probe: Probe):
    await start_probe(inbox, "u1")
    probe.delay = 0.2
    first = asyncio.create_task(inbox.deliver(text("u1", "早上好", 1)))
    await asyncio.sleep(0.05)  # still running when WeChat's retry lands elsewhere
    retry = await other_process.deliver(text("u1", "早上好", 1))
    assert retry == await first
    assert retry is not None and retry.text == "收到：早上好"
    assert probe.heard == ["早上好"]


async def test_a_turn_whose_holder_vanished_is_skipped(inbox: Inbox, redis: Redis):
    """A process that died in its turn leaves a ticket without a lease: nobody waits for it."""
    await redis.rpush("turns:wechat:u1", "ticket-of-a-dead-process")
    started = time.monotonic()
    await start_probe(inbox, "u1")
    assert time.monotonic() - started < 0.5


async def test_a_turn_held_elsewhere_is_waited_for(inbox: Inbox, redis: Redis):
    """Another process in its turn (a live lease): this one waits until it is over."""
    await redis.rpush("turns:wechat:u1", "ticket-elsewhere")
    await redis.set("turn:ticket-elsewhere", "1", px=300)
    started = time.monotonic()
    await start_probe(inbox, "u1")
    assert time.monotonic() - started >= 0.25


async def test_past_the_budget_the_reply_is_delivered_later(
        redis: Redis, pipelined_redis: PipelinedRedis, probe: Probe, later: Later):
    inbox = build_inbox(redis, pipelined_redis, probe, later, budget=0.05)
    await start_probe(inbox, "u1")
    probe.delay = 0.2
    assert await inbox.deliver(text("u1", "慢", 1)) is None  # "success" now
    assert await inbox.deliver(text("u1", "慢", 1)) is None  # a retry while it runs
    await inbox.drain(5)
    assert later.texts == [("u1", "收到：慢")] and later.queued == []  # pushed in its turn
    assert await inbox.deliver(text("u1", "慢", 1)) is None  # a retry after it finished
    assert probe.heard == ["慢"]
    assert len(later.texts) == 1


async def test_a_failing_step_answers_sorry_once(inbox: Inbox, probe: Probe, later: Later):
    await start_probe(inbox, "u1")
    probe.broken = True
    assert await inbox.deliver(text("u1", "早上好", 1)) == SORRY
    assert await inbox.deliver(text("u1", "早上好", 1)) == SORRY
    assert probe.heard == ["早上好"]
    assert later.texts == []


async def test_a_failing_step_keeps_the_journey_where_it_was(inbox: Inbox, probe: Probe):
    await start_probe(inbox, "u1")
    assert (await inbox.deliver(text("u1", "一", 1))).text == "收到：一"
    probe.broken = True
    assert await inbox.deliver(text("u1", "二", 2)) == SORRY
    probe.broken = False
    assert (await inbox.deliver(text("u1", "三", 3))).text == "收到：三"


async def test_a_turn_longer_than_its_lease_keeps_it(redis: Redis, pipelined_redis: PipelinedRedis,
                                                    probe: Probe, later: Later):
    """The lease is renewed while a slow step runs, so the user's next message waits for it
    instead of taking the turn as if its holder had died."""
    inbox = build_inbox(redis, pipelined_redis, probe, later, turn_lease=0.3)
    await start_probe(inbox, "u1")
    probe.delay = 0.5

    replies = await arriving([text("u1", "一", 1), text("u1", "二", 2)], inbox)

    assert [reply.text for reply in replies] == ["收到：一", "收到：二"]
    assert probe.most_at_once == 1


# ---- crash safety: short claims, renewed while they run, taken over once their holder died --

LEASE = 0.3  # seconds; the app's default is 4 (below WeChat's 5 s between tries)


@pytest.fixture
def short_lease(redis: Redis, pipelined_redis: PipelinedRedis, probe: Probe,
                later: Later) -> Inbox:
    return build_inbox(redis, pipelined_redis, probe, later, turn_lease=LEASE)


async def left_by_a_killed_process(redis: Redis, user: str, msg_ids: list[int]) -> None:
    """What a process killed while it ran (and queued) these messages of ``user`` leaves in
    Redis: running markers and tickets whose leases its heartbeat renewed just before."""
    for msg_id in msg_ids:
        ticket = f"ticket-of-a-dead-process-{msg_id}"
        await redis.rpush(f"turns:wechat:{user}", ticket)
        await redis.set(f"turn:{ticket}", "1", px=int(LEASE * 1000))
        await redis.set(f"inbox:wechat:msg:{msg_id}", RUNNING_PREFIX + ticket,
                        px=int(LEASE * 1000))


async def test_regression_dead_process_ticket_does_not_block_the_user(
        short_lease: Inbox, probe: Probe, redis: Redis):
    await start_probe(short_lease, "u1")
    await left_by_a_killed_process(redis, "u1", [1])
    started = time.monotonic()

    reply = await short_lease.deliver(text("u1", "二", 2))

    assert reply is not None and reply.text == "收到：二"
    assert time.monotonic() - started < LEASE + 0.3
    assert probe.heard == ["二"]


async def test_a_retry_of_a_message_whose_process_died_runs_it(
        short_lease: Inbox, probe: Probe, redis: Redis, later: Later):
    """The retry finds the dead process's marker still alive: it waits its turn, then takes
    the message over instead of waiting for a reply that never comes."""
    await start_probe(short_lease, "u1")
    await left_by_a_killed_process(redis, "u1", [1])

    reply = await short_lease.deliver(text("u1", "一", 1))

    assert reply is not None and reply.text == "收到：一"
    assert probe.heard == ["一"]
    assert await short_lease.deliver(text("u1", "一", 1)) == reply  # a third try: same reply
    assert probe.heard == ["一"] and later.texts == []


async def test_a_retry_after_the_dead_claim_lapsed_runs_the_message(
        short_lease: Inbox, probe: Probe, redis: Redis):
    await start_probe(short_lease, "u1")
    await left_by_a_killed_process(redis, "u1", [1])
    await asyncio.sleep(LEASE + 0.05)  # WeChat's next try comes after the claim lapsed
    assert await redis.get("inbox:wechat:msg:1") is None

    reply = await short_lease.deliver(text("u1", "一", 1))

    assert reply is not None and reply.text == "收到：一"
    assert probe.heard == ["一"]


async def test_retries_after_a_crash_keep_the_users_order(short_lease: Inbox, probe: Probe,
                                                          redis: Redis):
    await start_probe(short_lease, "u1")
    words = ["一", "二", "三", "四"]
    await left_by_a_killed_process(redis, "u1", [1, 2, 3, 4])

    replies = await arriving([text("u1", w, n) for n, w in enumerate(words, 1)], short_lease)

    assert [reply.text for reply in replies] == [f"收到：{w}" for w in words]
    assert probe.heard == words


async def test_a_taken_over_message_past_the_budget_is_delivered_later(
        redis: Redis, pipelined_redis: PipelinedRedis, probe: Probe, later: Later):
    """The retry answers "success" while it still waits for the dead claim to lapse, so the
    reply it then makes goes out as a push, once, and later tries are not run again."""
    inbox = build_inbox(redis, pipelined_redis, probe, later, budget=LEASE / 3,
                        turn_lease=LEASE)
    await start_probe(inbox, "u1")
    await left_by_a_killed_process(redis, "u1", [1])

    assert await inbox.deliver(text("u1", "一", 1)) is None
    await inbox.drain(5)

    assert later.texts == [("u1", "收到：一")]
    assert await inbox.deliver(text("u1", "一", 1)) is None
    await inbox.drain(5)
    assert probe.heard == ["一"] and len(later.texts) == 1


async def test_a_message_running_past_its_lease_is_not_run_again_by_a_retry(
        short_lease: Inbox, probe: Probe, redis_url: str, later: Later):
    """The heartbeat renews the marker with the lease, while the message waits for its turn
    and while it runs: a retry elsewhere after the lease waits for the reply."""
    elsewhere_redis = Redis.from_url(redis_url)
    elsewhere_pipe = PipelinedRedis(redis_url, timeout=3)
    elsewhere = build_inbox(elsewhere_redis, elsewhere_pipe, probe, later, turn_lease=LEASE)
    try:
        await start_probe(short_lease, "u1")
        probe.delay = 2 * LEASE
        first = asyncio.create_task(short_lease.deliver(text("u1", "一", 1)))
        await asyncio.sleep(0.01)
        queued = asyncio.create_task(short_lease.deliver(text("u1", "二", 2)))
        await asyncio.sleep(1.5 * LEASE)  # both claims have outlived one lease

        retries = await asyncio.gather(elsewhere.deliver(text("u1", "一", 1)),
                                       elsewhere.deliver(text("u1", "二", 2)))

        assert retries == [await first, await queued]
        assert [reply.text for reply in retries] == ["收到：一", "收到：二"]
        assert probe.heard == ["一", "二"]
    finally:
        await elsewhere_pipe.aclose()
        await elsewhere_redis.aclose()


async def test_a_wake_up_holding_the_turn_past_its_lease_keeps_it(short_lease: Inbox,
                                                                  probe: Probe):
    await start_probe(short_lease, "u1")
    async with short_lease.hold("wechat:u1"):
        message = asyncio.create_task(short_lease.deliver(text("u1", "一", 1)))
        await asyncio.sleep(2 * LEASE)
        assert not message.done() and probe.heard == []
    assert (await message).text == "收到：一"


# ---- deferral that survives the process: the recovery job's looks ---------------------------

MARKER = "inbox:wechat:msg:1"


async def seen(redis: Redis, user: str) -> list[str]:
    """The texts the user's session says were acted on."""
    session = await RedisSessionStore(redis, 1800).load(f"wechat:{user}")
    return session.data.get("seen", []) if session else []


async def test_regression_a_message_deferred_while_waiting_for_its_turn_is_run(
        redis: Redis, pipelined_redis: PipelinedRedis, probe: Probe, later: Later):
    """The second message passes the budget still queued behind the first: it was marked
    deferred, and when its turn came it took the mark for someone else's and never ran."""
    inbox = build_inbox(redis, pipelined_redis, probe, later, budget=0.2)
    await start_probe(inbox, "u1")
    probe.delay = 0.3

    assert await arriving([text("u1", "一", 1), text("u1", "二", 2)], inbox) == [None, None]
    await inbox.drain(5)

    assert probe.heard == ["一", "二"]
    assert later.texts == [("u1", "收到：一"), ("u1", "收到：二")]
    assert await seen(redis, "u1") == ["一", "二"]


async def test_a_deferred_message_is_recorded_and_watched_before_success_is_answered(
        redis: Redis, pipelined_redis: PipelinedRedis, probe: Probe, later: Later):
    watched: list[str] = []
    inbox = build_inbox(redis, pipelined_redis, probe, later, budget=0.05, watched=watched)
    await start_probe(inbox, "u1")
    probe.delay = 0.3

    assert await inbox.deliver(text("u1", "慢", 1)) is None

    assert watched == [MARKER]
    marker = (await redis.get(MARKER)).decode()
    assert marker.startswith(DEFERRED_PREFIX)
    holder, _, record = marker.removeprefix(DEFERRED_PREFIX).partition(":")
    assert json.loads(record) == dataclasses.asdict(text("u1", "慢", 1))
    assert await redis.exists(LEASE_PREFIX + holder)
    await inbox.drain(5)
    assert watched == [MARKER]  # an answer within the budget watches nothing


async def test_recovery_looks_again_while_the_holder_lives(
        redis: Redis, pipelined_redis: PipelinedRedis, probe: Probe, later: Later):
    """Job case 1: the step still runs (or waits its turn), so the job only comes back."""
    inbox = build_inbox(redis, pipelined_redis, probe, later, budget=0.05, turn_lease=LEASE)
    await start_probe(inbox, "u1")
    probe.delay = 2 * LEASE  # past the lease: the heartbeat keeps it alive
    assert await arriving([text("u1", "一", 1), text("u1", "二", 2)], inbox) == [None, None]
    await asyncio.sleep(1.5 * LEASE)

    assert await inbox.recover(MARKER) is False  # running
    assert await inbox.recover("inbox:wechat:msg:2") is False  # waiting for its turn

    await inbox.drain(5)
    assert probe.heard == ["一", "二"]
    assert later.texts == [("u1", "收到：一"), ("u1", "收到：二")]


async def test_recovery_leaves_a_handed_reply_alone(
        redis: Redis, pipelined_redis: PipelinedRedis, probe: Probe, later: Later):
    """Job case 2: the reply was pushed (or went to the send_reply job); the marker says so."""
    inbox = build_inbox(redis, pipelined_redis, probe, later, budget=0.05)
    await start_probe(inbox, "u1")
    probe.delay = 0.2
    assert await inbox.deliver(text("u1", "慢", 1)) is None
    await inbox.drain(5)
    assert await redis.get(MARKER) == HANDED.encode()

    assert await inbox.recover(MARKER) is True

    assert probe.heard == ["慢"] and len(later.texts) == 1


async def test_recovery_hands_over_a_reply_made_but_not_handed(inbox: Inbox, probe: Probe,
                                                               redis: Redis, later: Later):
    """A process killed between storing the reply (with the session) and pushing it leaves
    "later:" and a lapsed lease: the job queues the push (its job id keeps that to one) and
    runs nothing."""
    made = {"inbound": dataclasses.asdict(text("u1", "一", 1)), "reply": {"text": "收到：一"}}
    await redis.set(MARKER, f"{LATER_PREFIX}ticket-of-a-dead-process:{json.dumps(made)}",
                    ex=600)

    assert await inbox.recover(MARKER) is True

    assert later.queued and later.texts == [("u1", "收到：一")]
    assert await redis.get(MARKER) == HANDED.encode()
    assert await inbox.recover(MARKER) is True
    assert len(later.texts) == 1 and probe.heard == []


async def deferred_by_a_killed_process(redis: Redis, inbound: Inbound) -> None:
    """What a process killed after answering "success" and before the step finished leaves:
    the deferred marker with the inbound, and its ticket in the queue with a lapsed lease."""
    ticket = "ticket-of-a-dead-process"
    await redis.rpush(f"turns:{inbound.conversation.key}", ticket)
    await redis.set(f"inbox:wechat:{inbound.dedupe_key}",
                    f"{DEFERRED_PREFIX}{ticket}:{json.dumps(dataclasses.asdict(inbound))}",
                    ex=600)


async def test_regression_a_deferred_message_whose_process_died_is_run_by_the_recovery_job(
        inbox: Inbox, probe: Probe, redis: Redis, later: Later):
    """Job case 3: the holder's lease lapsed. The job takes the user's turn, runs the step
    from the session as it was, and pushes the reply; once."""
    await start_probe(inbox, "u1")
    await deferred_by_a_killed_process(redis, text("u1", "一", 1))

    assert await inbox.recover(MARKER) is True

    assert probe.heard == ["一"]
    assert later.texts == [("u1", "收到：一")]
    assert await seen(redis, "u1") == ["一"]
    assert await redis.get(MARKER) == HANDED.encode()
    assert await inbox.recover(MARKER) is True
    assert await inbox.deliver(text("u1", "一", 1)) is None  # a stray retry: nothing more
    assert probe.heard == ["一"] and len(later.texts) == 1
    assert (await inbox.deliver(text("u1", "二", 2))).text == "收到：二"  # the turn is free


async def test_a_holder_outliving_its_lease_leaves_the_message_to_the_recovery_job(
        redis: Redis, pipelined_redis: PipelinedRedis, probe: Probe, later: Later,
        other_process: Inbox):
    """A holder stalled past its lease (the job takes over) finishes later: its outcome is
    dropped, so the session and the push come from one step only."""
    stalled = build_inbox(redis, pipelined_redis, probe, later, budget=0.05)
    await start_probe(stalled, "u1")
    probe.delay = 0.3
    assert await stalled.deliver(text("u1", "一", 1)) is None
    holder = (await redis.get(MARKER)).decode().removeprefix(DEFERRED_PREFIX).partition(":")[0]
    await redis.delete(LEASE_PREFIX + holder)  # as if its heartbeat had stopped

    assert await other_process.recover(MARKER) is True
    await stalled.drain(5)

    assert probe.heard == ["一", "一"]  # the step ran twice ...
    assert await seen(redis, "u1") == ["一"]  # ... and was acted on once
    assert later.texts == [("u1", "收到：一")]


# ---- a deferred reply is pushed in its own turn; the job only when that push fails ----------


async def pushing(redis: Redis, pipelined_redis: PipelinedRedis, probe: Probe, later: Later,
                  **options: float) -> Inbox:
    """An inbox for a channel that acknowledges at once (budget 0): every reply is pushed.
    The probe journey is started for u1 (its pushed prompt is not kept)."""
    inbox = build_inbox(redis, pipelined_redis, probe, later, budget=0, **options)
    click = Inbound("wechat", "u1", InboundKind.CLICK, "u1:0", event_key=PROBE_KEY)
    assert await inbox.deliver(click) is None
    await inbox.drain(5)
    assert [reply.text for _, reply in later.pushed] == ["请说话"]
    later.pushed.clear()
    return inbox


async def test_regression_a_quick_second_reply_never_overtakes_the_first(
        redis: Redis, pipelined_redis: PipelinedRedis, probe: Probe, later: Later):
    """The first reply's push is slow, the second step quick: the second reply is made (and
    pushed) only once the first has been pushed and its turn given back."""
    inbox = await pushing(redis, pipelined_redis, probe, later)
    later.push_delay = 0.2
    first = await inbox.deliver(text("u1", "一", 1))
    await asyncio.sleep(0.05)  # the first is being pushed
    later.push_delay = 0
    assert [first, await inbox.deliver(text("u1", "二", 2))] == [None, None]
    await inbox.drain(5)

    assert later.texts == [("u1", "收到：一"), ("u1", "收到：二")] and later.queued == []
    assert await redis.get(MARKER) == HANDED.encode()


async def test_a_deferred_reply_is_pushed_once_in_its_turn_and_the_turn_given_back(
        redis: Redis, pipelined_redis: PipelinedRedis, probe: Probe, later: Later):
    inbox = await pushing(redis, pipelined_redis, probe, later)
    words = ["一", "二", "三", "四", "五", "六"]

    assert await arriving([text("u1", w, n) for n, w in enumerate(words, 1)], inbox) \
        == [None] * len(words)
    await inbox.drain(5)

    assert later.texts == [("u1", f"收到：{w}") for w in words] and later.queued == []
    assert probe.heard == words
    assert await redis.llen("turns:wechat:u1") == 0
    assert not [key async for key in redis.scan_iter(LEASE_PREFIX + "*")]
    assert (await inbox.deliver(text("u1", "七", 7))) is None  # the turn is free at once
    await inbox.drain(5)
    assert later.texts[-1] == ("u1", "收到：七")


@pytest.mark.parametrize("failure", ["busy", "raises"])
async def test_a_push_that_fails_is_handed_to_the_send_reply_job_once(
        redis: Redis, pipelined_redis: PipelinedRedis, probe: Probe, later: Later,
        failure: str, caplog: pytest.LogCaptureFixture):
    async def raising(_conversation: Conversation, _reply: Reply) -> bool:
        raise ConnectionResetError("the channel hung up")

    inbox = await pushing(redis, pipelined_redis, probe, later)
    if failure == "raises":
        inbox._push_now = raising
    later.busy = 1

    with caplog.at_level(logging.ERROR, logger="bot.inbox"):
        assert await inbox.deliver(text("u1", "一", 1)) is None
        await inbox.drain(5)

    assert later.pushed == [] and [(u, r.text) for u, r in later.queued] == [("u1", "收到：一")]
    assert await redis.get(MARKER) == HANDED.encode()
    assert await inbox.recover(MARKER) is True  # the recovery job: nothing left to do
    assert len(later.queued) == 1 and probe.heard == ["一"]
    assert await redis.llen("turns:wechat:u1") == 0
    assert bool(caplog.records) == (failure == "raises")  # a False is no error


async def test_recovery_looks_again_while_the_holder_pushes(
        redis: Redis, pipelined_redis: PipelinedRedis, probe: Probe, later: Later):
    """The reply is stored ("later:") and its push is slow: the holder lives, so the job must
    not hand the reply over a second time; once pushed, the marker is "handed"."""
    inbox = await pushing(redis, pipelined_redis, probe, later, turn_lease=LEASE)
    later.push_delay = 2 * LEASE  # the heartbeat keeps the lease while it pushes
    assert await inbox.deliver(text("u1", "一", 1)) is None
    while not (await redis.get(MARKER) or b"").startswith(LATER_PREFIX.encode()):
        await asyncio.sleep(0.01)
    await asyncio.sleep(1.5 * LEASE)

    assert await inbox.recover(MARKER) is False
    await inbox.drain(5)

    assert await redis.get(MARKER) == HANDED.encode()
    assert await inbox.recover(MARKER) is True
    assert later.texts == [("u1", "收到：一")] and later.queued == []


class TestRecoveryJob:
    """The app's worker runs the job (arq, in process) while a slow deferred step runs."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.with_overrides(wechat={"reply_budget": 0.1},
                                       session={"turn_lease": 0.3})

    @pytest.fixture
    def flows(self, probe: Probe) -> Sequence[Flow]:
        return [probe.flow]

    async def test_the_job_looks_on_until_the_reply_is_pushed_once(
            self, harness: Harness, probe: Probe, redis: Redis, caplog: pytest.LogCaptureFixture):
        alice = harness.user()
        assert (await alice.click(PROBE_KEY)).startswith("请说话")
        probe.delay = 1.5  # the job (after 0.6 s) finds the step running, and looks again
        job = "arq:job:recover:inbox:wechat:msg:4711"

        with caplog.at_level(logging.INFO, logger="arq.worker"):
            assert (await alice.post(alice.text_xml("慢", msg_id=4711))).body == b"success"
            assert await redis.exists(job)
            deadline = time.monotonic() + 10
            while await redis.exists(job) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)

        looks = [r.getMessage() for r in caplog.records if "recover_deferred" in r.getMessage()]
        assert any("retrying" in look for look in looks), looks
        assert any("●" in look for look in looks), looks  # finished
        texts = [m.body["text"].removesuffix("\n" + UNIVERSAL_HINT)
                 for m in await harness.outbox(alice.openid)]
        assert texts == ["收到：慢"] and probe.heard == ["慢"]


class TestAlipayPushedInTurn:
    """The life account over real HTTP (signed forms to the app's gateway, pushes through the
    real client to the simulated platform): every reply pushed by the delivering process."""

    @pytest.fixture
    def flows(self, probe: Probe) -> Sequence[Flow]:
        return [probe.flow]

    async def test_regression_a_quick_second_reply_never_overtakes_the_first(
            self, harness: Harness):
        user = harness.alipay_user()
        assert (await user.click(PROBE_KEY)).startswith("请说话")
        harness.fake_alipay.slow(1, 0.3)  # the first reply's push is slow, the rest quick
        words = [f"第{n}句" for n in range(12)]

        for word in words:
            await user.notify(user.text_xml(word))  # no waiting for pushes in between

        pushed = [p.text.removesuffix("\n" + UNIVERSAL_HINT)
                  for p in await user.pushes(len(words))]
        assert pushed == [f"收到：{w}" for w in words]

    async def test_regression_a_reply_pushed_later_than_a_guessed_pause_is_waited_for(
            self, harness: Harness):
        """The simulated user took what arrived within 0.15 s of the awaited push as the
        whole answer, and missed a second push that came later on a busy machine: it now
        waits until the sandbox says the user's turn is over (GET /sandbox/turns)."""
        user = harness.alipay_user()
        assert (await user.click(PROBE_KEY)).startswith("请说话")
        harness.fake_alipay.slow(2, 0.5)  # each push takes longer than the old pause

        for word in ("一", "二"):
            await user.notify(user.text_xml(word))
        turns = f"/sandbox/turns?conversation=alipay:{user.user_id}"
        assert (await (await harness.client.get(turns)).json()) == {"idle": False}

        pushed = [p.text.removesuffix("\n" + UNIVERSAL_HINT) for p in await user.pushes(1)]
        assert pushed == ["收到：一", "收到：二"]
        assert (await (await harness.client.get(turns)).json()) == {"idle": True}
        assert (await harness.client.get("/sandbox/turns?conversation=alipay")).status == 400

    async def test_a_push_that_fails_in_its_turn_lands_once_through_the_job(
            self, harness: Harness, redis: Redis):
        """Alipay busy for every try the delivering process makes: the send_reply job takes
        the reply over and pushes it, once; the user's next message is answered as usual."""
        user = harness.alipay_user()
        assert (await user.click(PROBE_KEY)).startswith("请说话")
        harness.fake_alipay.busy(harness.settings.alipay_life.push_tries)

        await user.notify(user.text_xml("一", msg_id="busy-1"))

        pushed = await user.pushes(1)
        assert [p.text.removesuffix("\n" + UNIVERSAL_HINT) for p in pushed] == ["收到：一"]
        assert await redis.get("inbox:alipay:msg:busy-1") == HANDED.encode()
        assert await redis.exists("arq:result:send_reply:alipay:msg:busy-1")  # the job's
        assert (await user.send("二")).startswith("收到：二")
