"""The engine's stack on a real Redis session store: call and return, cancel and back across
journeys, outside events (deliver), journeys begun from outside (begin), declared exits,
guards, typed data, and leaving a journey that waits."""

import json
import logging
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis

from bot.engine import (
    CANCELLED,
    KEEP_WAITING,
    LEAVE,
    SORRY,
    Await,
    Call,
    Choice,
    Context,
    Done,
    Engine,
    Flow,
    Return,
    State,
    Stay,
    Transition,
    exits,
)
from bot.events import Event
from bot.messages import Conversation, Inbound, InboundKind, Link, Reply
from bot.session import RedisSessionStore

USER = "openid-stack"
ME = Conversation("wechat", USER)
SESSION_KEY = f"session:wechat:{USER}"


# ---- a parent journey calling a confirmation sub-journey -----------------------------------


@dataclass
class OrderData:
    item: str = ""
    confirmations: int = 0


@exits("confirmed", calls=("confirm",))
async def _ask_confirm(ctx: Context, item: str) -> Transition:
    return Call("confirm", then="confirmed", data={"question": f"确认购买{item}？"})


@exits("item")
async def _confirmed(ctx: Context, result: object) -> Transition:
    ctx.data.confirmations += 1
    if result is CANCELLED:
        return Done(f"未购买{ctx.data.item}。")
    if result:
        return Done(f"已购买{ctx.data.item}。")
    ctx.say("好的，请重新选择。")
    return "item"


ORDER = Flow(
    name="order", title="下单", click_key="ORDER", start="item", data=OrderData,
    states={
        "item": State(prompt="买什么？", choices=(Choice("苹果"), Choice("梨")), save="item",
                      then=_ask_confirm),
        "confirmed": State(prompt="", then=_confirmed),
    },
)


async def _question(ctx: Context) -> str:
    return ctx.data["question"]


async def _answer(ctx: Context, yes: bool) -> Transition:
    return Return(yes)


CONFIRM = Flow(
    name="confirm", title="确认", start="ask", in_menu=False,
    states={"ask": State(prompt=_question,
                         choices=(Choice("是", value=True), Choice("否", value=False)),
                         then=_answer)},
)


# ---- a journey waiting on an outside event --------------------------------------------------


@exits("waiting")
async def _start_wait(ctx: Context, _: object) -> Transition:
    return Await("ref-1", "waiting")


async def _waited(ctx: Context, event: Event | str | None) -> Transition:
    if isinstance(event, Event):
        return Done(f"结果：{event.data['outcome']}")
    return "waiting"  # typed text while waiting: not declared, refused


@exits("waiting")
async def _still_waiting(ctx: Context, event: Event | str | None) -> Transition:
    if isinstance(event, Event):
        return Done(f"结果：{event.data['outcome']}")
    return Await("ref-1", "waiting")


WAIT = Flow(
    name="wait", title="等结果", click_key="WAIT", start="ready",
    states={
        "ready": State(prompt="开始吗？", choices=(Choice("开始"),), then=_start_wait),
        "waiting": State(prompt="请稍候，结果出来会通知您。", then=_still_waiting),
    },
)


# ---- a journey begun for the user by someone else -------------------------------------------


async def _approve(ctx: Context, yes: bool) -> Transition:
    return Done(f"已{'同意' if yes else '拒绝'}{ctx.data['who']}的请求。")


APPROVE = Flow(
    name="approve", title="审批", start="ask", in_menu=False,
    states={"ask": State(prompt="有人请求关注您的车辆，是否同意？",
                         choices=(Choice("同意", value=True), Choice("拒绝", value=False)),
                         then=_approve)},
)


async def _linked(ctx: Context, _: str) -> Transition:
    return Done(Reply("请点击下方链接完成认证。", link=Link("点击认证", "https://face.example/1"),
                      extra=("认证结果将通知对方。",)))


LINKED = Flow(
    name="linked", title="认证", start="ask", in_menu=False,
    states={"ask": State(prompt="同意吗？", choices=(Choice("同意"),), then=_linked)},
)


async def _closed(ctx: Context) -> str | None:
    return "暂停服务。"


CLOSED = Flow(name="closed", title="暂停", start="s", in_menu=False, guard=_closed,
              states={"s": State(prompt="不会出现")})


@exits("confirmed", calls=("closed",))
async def _ask_closed(ctx: Context, _: object) -> Transition:
    return Call("closed", then="confirmed")


GUARDED = Flow(
    name="guarded", title="受限下单", click_key="GUARDED", start="item", data=OrderData,
    states={"item": State(prompt="买什么？", choices=(Choice("苹果"),), save="item",
                          then=_ask_closed),
            "confirmed": State(prompt="", then=_confirmed)},
)


# ---- journeys whose start handler decides their first step ----------------------------------


@exits("ask")
async def _confirm_at_once(ctx: Context, _: None) -> Transition:
    """A sub-journey that may answer without asking (here: when the seed says it knows)."""
    if ctx.data.get("known") is not None:
        return Return(ctx.data["known"])
    return "ask"


QUICK = Flow(name="quick", title="快速确认", start="hidden", in_menu=False,
             on_start=_confirm_at_once,
             states={"hidden": State(prompt="不会出现"),
                     "ask": State(prompt="确认吗？",
                                  choices=(Choice("是", value=True), Choice("否", value=False)),
                                  then=_answer)})


@exits("confirmed", calls=("quick",))
async def _ask_quick(ctx: Context, item: str) -> Transition:
    return Call("quick", then="confirmed", data={"known": True} if item == "苹果" else {})


QUICK_ORDER = Flow(
    name="quick_order", title="快速下单", click_key="QUICK", start="item", data=OrderData,
    states={"item": State(prompt="买什么？", choices=(Choice("苹果"), Choice("梨")), save="item",
                          then=_ask_quick),
            "confirmed": State(prompt="", then=_confirmed)},
)

ALL = [ORDER, CONFIRM, WAIT, APPROVE, LINKED, CLOSED, GUARDED, QUICK, QUICK_ORDER]


@pytest.fixture
def engine(redis: Redis) -> Engine:
    return Engine(ALL, RedisSessionStore(redis, 1800))


def text(body: str) -> Inbound:
    return Inbound("wechat", USER, InboundKind.TEXT, f"msg:{body}", text=body)


def click(key: str) -> Inbound:
    return Inbound("wechat", USER, InboundKind.CLICK, f"{USER}:{key}", event_key=key)


async def stored(redis: Redis) -> dict:
    raw = await redis.get(SESSION_KEY)
    return json.loads(raw) if raw else {}


# ---- call and return ------------------------------------------------------------------------


async def test_a_sub_journey_returns_its_result_to_the_callers_declared_state(engine: Engine,
                                                                              redis: Redis):
    await engine.handle(click("ORDER"))
    reply = await engine.handle(text("苹果"))
    assert reply.text == "确认购买苹果？" and reply.choices == ("是", "否")
    assert [frame["f"] for frame in (await stored(redis))["k"]] == ["order", "confirm"]
    assert (await engine.handle(text("是"))).text == "已购买苹果。"
    assert await redis.exists(SESSION_KEY) == 0


async def test_the_caller_decides_what_a_result_leads_to(engine: Engine, redis: Redis):
    await engine.handle(click("ORDER"))
    await engine.handle(text("梨"))
    reply = await engine.handle(text("否"))
    assert reply.text == "好的，请重新选择。\n\n买什么？"
    assert [frame["f"] for frame in (await stored(redis))["k"]] == ["order"]
    await engine.handle(text("梨"))
    assert (await engine.handle(text("是"))).text == "已购买梨。"


async def test_cancel_inside_a_sub_journey_hands_the_caller_a_cancelled_result(
        engine: Engine, redis: Redis):
    await engine.handle(click("ORDER"))
    await engine.handle(text("苹果"))
    assert (await engine.handle(text("取消"))).text == "未购买苹果。"
    assert await redis.exists(SESSION_KEY) == 0


async def test_back_at_a_sub_journeys_first_step_returns_to_the_step_that_called_it(
        engine: Engine, redis: Redis):
    await engine.handle(click("ORDER"))
    await engine.handle(text("苹果"))
    reply = await engine.handle(text("返回"))
    assert reply.text == "买什么？"
    assert [frame["f"] for frame in (await stored(redis))["k"]] == ["order"]
    assert "t" not in (await stored(redis))["k"][0]  # no result is owed any more
    await engine.handle(text("梨"))
    assert (await engine.handle(text("是"))).text == "已购买梨。"


async def test_a_guard_refusing_a_sub_journey_tells_the_user_and_the_caller(engine: Engine):
    await engine.handle(click("GUARDED"))
    reply = await engine.handle(text("苹果"))
    assert reply.text == "暂停服务。\n未购买苹果。"


async def test_the_data_of_a_journey_is_typed_and_kept_small(engine: Engine, redis: Redis):
    await engine.handle(click("ORDER"))
    await engine.handle(text("梨"))
    await engine.handle(text("否"))
    order = (await stored(redis))["k"][0]
    assert order["d"] == {"item": "梨", "confirmations": 1}
    await engine.handle(text("苹果"))
    assert await redis.strlen(SESSION_KEY) < 300


# ---- declared exits -------------------------------------------------------------------------


async def test_a_start_handler_may_return_at_once_or_pick_the_first_step(engine: Engine,
                                                                         redis: Redis):
    await engine.handle(click("QUICK"))
    assert (await engine.handle(text("苹果"))).text.startswith("已购买苹果。")
    await engine.handle(click("QUICK"))

    asked = await engine.handle(text("梨"))

    assert asked.text == "确认吗？" and "不会出现" not in asked.text
    top = (await stored(redis))["k"][-1]
    assert (top["f"], top["s"], top.get("h")) == ("quick", "ask", None)  # nothing behind it
    assert (await engine.handle(text("返回"))).text == "买什么？"


def test_a_flow_refuses_a_start_handler_exit_to_no_state():
    @exits("nowhere")
    async def lost(ctx: Context, _: None) -> Transition:
        return "nowhere"

    with pytest.raises(ValueError, match=r"unknown states.*nowhere"):
        Flow(name="f", title="F", start="a", on_start=lost, states={"a": State(prompt="?")})


def test_a_flow_refuses_to_be_built_with_an_exit_to_no_state():
    @exits("nowhere")
    async def lost(ctx: Context, _: object) -> Transition:
        return "nowhere"

    with pytest.raises(ValueError, match=r"unknown states.*nowhere"):
        Flow(name="f", title="F", start="a", states={"a": State(prompt="?", then=lost)})


async def test_an_engine_refuses_a_flow_that_calls_an_unknown_journey(redis: Redis):
    with pytest.raises(ValueError, match=r"calls unknown journeys.*confirm"):
        Engine([ORDER], RedisSessionStore(redis, 1800))


async def test_regression_an_undeclared_exit_is_refused_with_one_busy_reply(
        engine: Engine, redis: Redis, caplog: pytest.LogCaptureFixture):
    """A handler's typo used to surface as a KeyError somewhere later; now it is named."""
    typo = Flow(name="wait", title="等结果", click_key="WAIT", start="ready",
                states={**WAIT.states, "waiting": State(prompt="请稍候。", then=_waited)})
    engine = Engine([typo], RedisSessionStore(redis, 1800))
    await engine.handle(click("WAIT"))
    await engine.handle(text("开始"))
    with caplog.at_level(logging.ERROR, logger="bot.engine"):
        reply = await engine.handle(text("好了吗"))
    assert reply.text == SORRY
    assert await redis.exists(SESSION_KEY) == 0
    assert [r.getMessage() for r in caplog.records] == [
        "journey refused: _waited led to undeclared state 'waiting'"]


# ---- outside events -------------------------------------------------------------------------


async def waiting(engine: Engine) -> None:
    await engine.handle(click("WAIT"))
    assert (await engine.handle(text("开始"))).text == "请稍候，结果出来会通知您。"


async def test_deliver_resumes_the_journey_waiting_on_the_events_reference(engine: Engine,
                                                                           redis: Redis):
    await waiting(engine)
    session = await engine.store.load(ME.key)
    assert session.top.awaiting == "ref-1"
    step = await engine.deliver(ME, session, Event("face.settled", "ref-1", {"outcome": "通过"}))
    assert step.reply.text == "结果：通过" and step.session is None


async def test_deliver_leaves_an_event_it_does_not_wait_on_to_the_caller(engine: Engine):
    await waiting(engine)
    session = await engine.store.load(ME.key)
    assert await engine.deliver(ME, session, Event("face.settled", "ref-2", {})) is None
    assert await engine.deliver(ME, None, Event("face.settled", "ref-1", {})) is None
    await engine.store.clear(ME.key)
    await engine.handle(click("ORDER"))  # a journey not waiting on anything
    assert await engine.deliver(ME, await engine.store.load(ME.key),
                                Event("face.settled", "ref-1", {})) is None


async def test_text_typed_while_waiting_keeps_the_wait(engine: Engine):
    await waiting(engine)
    assert (await engine.handle(text("好了吗"))).text == "请稍候，结果出来会通知您。"
    step = await engine.deliver(ME, await engine.store.load(ME.key),
                                Event("face.settled", "ref-1", {"outcome": "不通过"}))
    assert step.reply.text == "结果：不通过"


# ---- journeys begun from outside ------------------------------------------------------------


async def test_begin_puts_a_journey_on_top_and_resumes_the_current_one_after_it(
        engine: Engine, redis: Redis):
    await engine.handle(click("ORDER"))
    step = await engine.begin(ME, await engine.store.load(ME.key), "approve", {"who": "张*"})
    assert step.reply.text == "有人请求关注您的车辆，是否同意？"
    assert [frame.flow for frame in step.session.frames] == ["order", "approve"]
    await engine.store.put(ME.key, step.session)
    reply = await engine.handle(text("同意"))
    assert reply.text == "已同意张*的请求。\n\n买什么？"
    assert reply.choices == ("苹果", "梨")
    assert (await engine.handle(text("梨"))).text == "确认购买梨？"


async def test_regression_a_journey_ending_over_another_kept_only_its_text(engine: Engine):
    """A begun journey's last reply had a link (a face check's): the journey resumed beneath
    it showed the words without the link. Words and hints go first, the link with the
    resumed prompt, for this turn only."""
    await engine.handle(click("ORDER"))
    step = await engine.begin(ME, await engine.store.load(ME.key), "linked", {})
    await engine.store.put(ME.key, step.session)
    reply = await engine.handle(text("同意"))
    assert reply.text == "请点击下方链接完成认证。\n认证结果将通知对方。\n\n买什么？"
    assert reply.link == Link("点击认证", "https://face.example/1")
    assert reply.choices == ("苹果", "梨")
    assert (await engine.handle(text("返回"))).link is None


async def test_begin_for_a_user_in_no_journey_ends_with_the_begun_one(engine: Engine):
    step = await engine.begin(ME, None, "approve", {"who": "李*"})
    await engine.store.put(ME.key, step.session)
    assert (await engine.handle(text("2"))).text == "已拒绝李*的请求。"
    assert await engine.store.load(ME.key) is None


async def test_cancel_in_a_begun_journey_goes_back_to_the_one_beneath(engine: Engine):
    await engine.handle(click("ORDER"))
    step = await engine.begin(ME, await engine.store.load(ME.key), "approve", {"who": "张*"})
    await engine.store.put(ME.key, step.session)
    assert (await engine.handle(text("取消"))).text == "已取消当前操作。\n\n买什么？"


# ---- leaving a journey ----------------------------------------------------------------------


async def test_a_menu_click_inside_a_journey_leaves_it_saying_so(engine: Engine):
    await engine.handle(click("ORDER"))
    reply = await engine.handle(click("GUARDED"))
    assert reply.text == "已退出“下单”。\n\n买什么？"


async def test_a_service_name_typed_inside_a_journey_leaves_it_saying_so(engine: Engine):
    await engine.handle(click("ORDER"))
    assert (await engine.handle(text("受限下单"))).text == "已退出“下单”。\n\n买什么？"


async def test_leaving_a_journey_that_waits_asks_first(engine: Engine, redis: Redis):
    await waiting(engine)
    reply = await engine.handle(text("菜单"))
    assert "正在等待结果" in reply.text and reply.choices == (KEEP_WAITING, LEAVE)
    assert (await engine.handle(text("1"))).text == "请稍候，结果出来会通知您。"
    await engine.handle(click("ORDER"))
    reply = await engine.handle(text(LEAVE))
    assert reply.text == "已退出“等结果”。\n\n买什么？"
    # the event that comes later is not this journey's any more: the caller keeps it
    assert await engine.deliver(ME, await engine.store.load(ME.key),
                                Event("face.settled", "ref-1", {})) is None


# ---- the session ----------------------------------------------------------------------------


async def test_a_session_of_the_old_format_starts_afresh(engine: Engine, redis: Redis):
    await redis.set(SESSION_KEY, json.dumps({"f": "order", "s": "item", "d": {}, "h": []}))
    assert await engine.store.load(ME.key) is None
    assert (await engine.handle(text("1"))).text == "买什么？"


async def test_choices_are_worked_out_once_per_turn(redis: Redis):
    asked: list[str] = []

    async def sizes(ctx: Context) -> list[Choice]:
        asked.append("sizes")
        return [Choice("小"), Choice("大")]

    async def nope(ctx: Context, size: str) -> Transition:
        return Done(size) if size == "大" else Stay("只有大杯。")

    flow = Flow(name="size", title="尺寸", click_key="SIZE", start="s",
                states={"s": State(prompt="多大？", choices=sizes, then=nope)})
    engine = Engine([flow], RedisSessionStore(redis, 1800))
    await engine.handle(click("SIZE"))
    asked.clear()
    await engine.handle(text("小"))  # accepted, refused by the handler, prompt shown again
    assert asked == ["sizes"]
