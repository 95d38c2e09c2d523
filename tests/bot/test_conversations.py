"""Acting on a user's conversation from outside, over the real app: outside events (the
face.settled handler on a real Verification row, the worker's handle_event job), pending
items for a user who is busy elsewhere, duplicate and concurrent deliveries on SQLite and
PostgreSQL, and a journey begun for another user in the middle of their own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import timedelta

import pytest
from tortoise import timezone

from bot import events
from bot.engine import Await, Choice, Context, Done, Flow, State, Stay, Transition, exits
from bot.events import Event
from bot.messages import Conversation
from bot.pending import Offer, footer
from models.pending import PendingItem
from models.verification import Method, Verification
from models.verification import Outcome as CheckOutcome
from tests.support.registration import pushes
from tests.support.turns import turn_over

ALICE, BOB = "openid-alice", "openid-bob"
SETTLED = "face.settled"


@exits("waiting")
async def _wait_for_check(ctx: Context, _: object) -> Transition:
    """A journey that waits on a durable record: a face check row made here (no provider)."""
    reference = uuid.uuid4().hex
    await Verification.create(method=Method.FACE, purpose="shown", reference=reference,
                              requester=ctx.conversation, subject_id_number="0" * 18)
    return Await(reference, "waiting")


async def _settled(ctx: Context, event: Event | str | None) -> Transition:
    if isinstance(event, Event):
        return Done(f"结果：{event.data['outcome']}")
    return Stay("请稍候")


async def _shown_prompt(ctx: Context) -> str:
    return f"已打开：{ctx.data['face_reference'][:6]}"


@exits("asked")
async def _asked(ctx: Context, answer: str) -> Transition:
    return Done(f"您选择了{answer}。")


async def _approved(ctx: Context, answer: str) -> Transition:
    return Done(f"已{answer}{ctx.data['requester']}的请求。")


FLOWS = [
    Flow("waiter", "等待结果", "ready", {
        "ready": State("开始等待？", choices=[Choice("开始")], then=_wait_for_check),
        "waiting": State("正在等待结果。", then=_settled),
    }),
    Flow("shown", "查看结果", "show", {
        "show": State(_shown_prompt, choices=[Choice("好的")], then=_asked),
        "asked": State("已完成。"),
    }),
    Flow("form", "填写表单", "colour", {
        "colour": State("请选择颜色：", choices=[Choice("红"), Choice("蓝")], then=_asked),
        "asked": State("已完成。"),
    }),
    Flow("approve", "好友请求", "decide", in_menu=False, states={
        "decide": State("好友请求您同意查看车辆：", choices=[Choice("同意"), Choice("拒绝")],
                        then=_approved),
    }),
]


@pytest.fixture
def flows() -> Sequence[Flow]:
    return FLOWS


async def waiting_user(harness, openid: str) -> tuple[Conversation, Verification]:
    user = harness.user(openid)
    assert "开始等待" in await user.send("1")
    assert "正在等待结果" in await user.send("1")
    check = await Verification.get(requester=f"wechat:{openid}")
    return Conversation("wechat", openid), check


async def settled(check: Verification, seconds: float = 10) -> Verification:
    for _ in range(int(seconds / 0.05)):
        await check.refresh_from_db()
        if check.outcome is not CheckOutcome.PENDING:
            return check
        await asyncio.sleep(0.05)
    raise AssertionError("the event was not handled")


async def test_an_event_resumes_the_journey_waiting_on_it(harness):
    _, check = await waiting_user(harness, ALICE)
    event = Event(SETTLED, check.reference, {"outcome": "passed"})

    assert await harness.services.events.publish(event)

    assert await pushes(harness, ALICE, 1) == ["结果：passed"]
    check = await settled(check)
    assert check.outcome is CheckOutcome.PASSED
    assert not await PendingItem.exists()


async def test_an_event_for_a_user_busy_elsewhere_becomes_a_pending_item(harness):
    alice = harness.user(ALICE)
    _, check = await waiting_user(harness, ALICE)
    assert "请回复数字选择服务" in await alice.send("取消")
    assert "请选择颜色" in await alice.send("3")  # now in another journey

    await harness.services.events.publish(Event(SETTLED, check.reference,
                                                {"outcome": "failed"}))
    assert (await settled(check)).outcome is CheckOutcome.FAILED
    for _ in range(100):  # the item is stored in the same turn, after the record moved
        if await PendingItem.exists():
            break
        await asyncio.sleep(0.05)

    reply = await alice.send("1")  # the journey she is in goes on, told of the item
    assert "您选择了红" in reply and reply.endswith(footer(1))
    assert await pushes(harness, ALICE, 0) == []  # nothing was pushed
    listing = await alice.send("待处理")
    assert "刷脸认证结果：未通过" in listing
    opened = await alice.send("1")
    assert f"已打开：{check.reference[:6]}" in opened and footer(1) not in opened
    item = await PendingItem.get()
    assert (item.conversation, item.flow, item.opened_at is not None) == (
        f"wechat:{ALICE}", "shown", True)
    assert "没有待处理事项" in await alice.send("待处理")


async def test_a_duplicate_event_is_dropped_and_a_second_delivery_does_nothing(harness):
    services = harness.services
    _, check = await waiting_user(harness, ALICE)
    event = Event(SETTLED, check.reference, {"outcome": "passed"})
    assert await services.events.publish(event)
    assert not await services.events.publish(event)  # the same job id: dropped by arq
    await pushes(harness, ALICE, 1)

    await events.handle(event, services.conversations)  # delivered again, after the first
    await events.handle(Event(SETTLED, check.reference, {"outcome": "failed"}),
                        services.conversations)

    await turn_over(harness, Conversation("wechat", ALICE))
    assert await pushes(harness, ALICE, 1) == ["结果：passed"]
    assert (await settled(check)).outcome is CheckOutcome.PASSED
    assert not await PendingItem.exists()


async def test_two_workers_handling_one_event_act_once(harness):
    """Two deliveries at once (as two worker processes would): the user's turn orders them,
    and only the first moves the durable record; on SQLite and on PostgreSQL."""
    services = harness.services
    _, check = await waiting_user(harness, ALICE)
    event = Event(SETTLED, check.reference, {"outcome": "passed"})

    await asyncio.gather(*(events.handle(event, services.conversations) for _ in range(4)))

    await turn_over(harness, Conversation("wechat", ALICE))
    assert await pushes(harness, ALICE, 1) == ["结果：passed"]
    assert await Verification.filter(outcome=CheckOutcome.PASSED).count() == 1
    assert not await PendingItem.exists()


async def test_a_journey_begun_for_another_user_keeps_theirs_beneath(harness):
    bob = harness.user(BOB)
    assert "请选择颜色" in await bob.send("3")
    conversation = Conversation("wechat", BOB)

    await harness.services.conversations.begin(conversation, "approve", {"requester": "小李"})

    [asked] = await pushes(harness, BOB, 1)
    assert "好友请求您同意查看车辆" in asked
    answered = await bob.send("1")
    assert "已同意小李的请求" in answered
    assert "请选择颜色" in answered  # his own journey, where he left it
    assert "您选择了蓝" in await bob.send("2")


async def test_an_offer_is_pushed_and_opened_from_the_list(harness):
    bob = harness.user(BOB)
    conversation = Conversation("wechat", BOB)
    offer = Offer("probe.offered", "req-1", "好友请求查看车辆", "approve",  # done once opened
                  {"requester": "小李"})

    assert await harness.services.conversations.offer(conversation, offer)
    assert not await harness.services.conversations.offer(conversation, offer)

    [pushed] = await pushes(harness, BOB, 1)
    assert "新的待处理事项：好友请求查看车辆" in pushed and pushed.endswith(footer(1))
    assert "好友请求查看车辆" in await bob.send("待处理")
    assert "好友请求您同意查看车辆" in await bob.send("1")
    assert "已拒绝小李的请求" in await bob.send("2")
    assert footer(1) not in await bob.send("菜单")


async def test_regression_an_expired_pending_item_is_not_counted_on_sqlite(harness):
    """SQLite compares the stored text: "…+08:00" against a UTC "…+00:00" kept an item that
    expired up to 8 hours ago on offer."""
    conversation = Conversation("wechat", BOB)
    await PendingItem.create(conversation=conversation.key, kind="k", reference="late",
                             title="过期的事项", flow="approve",
                             expires_at=timezone.now() - timedelta(hours=1))

    assert await harness.services.pending.recount(conversation) == 0
    assert "您目前没有待处理事项" in await harness.user(BOB).send("待处理")
