"""The conversation engine on a real Redis session store, with two small test journeys."""

import pytest
from redis.asyncio import Redis

from bot.engine import UNIVERSAL_HINT, WELCOME, Choice, Context, Done, Engine, Flow, State
from bot.messages import Inbound, InboundKind, Reply
from bot.session import RedisSessionStore

TTL = 1800
USER = "openid-engine"
SESSION_KEY = f"session:wechat:{USER}"


async def _served(ctx: Context, size: str) -> Done:
    return Done(f"好的，{size}{ctx.data['kind']}。")


DRINK = Flow(
    name="drink", title="点饮料", click_key="DRINK", start="kind",
    states={
        "kind": State(prompt="要什么饮料？", choices=(Choice("咖啡"), Choice("茶")), save="kind",
                      then="size"),
        "size": State(prompt="要多大杯？", choices=(Choice("中杯"), Choice("大杯")), then=_served),
    },
)
WEATHER = Flow(name="weather", title="天气", click_key="WEATHER", start="today",
               states={"today": State(prompt="今天晴。", choices=(Choice("好的"),), then=None)})
MENU = ("点饮料", "天气")


@pytest.fixture
def engine(redis: Redis) -> Engine:
    return Engine([DRINK, WEATHER], RedisSessionStore(redis, TTL))


def text(body: str) -> Inbound:
    return Inbound("wechat", USER, InboundKind.TEXT, f"msg:{body}", text=body)


def event(kind: InboundKind, key: str = "") -> Inbound:
    return Inbound("wechat", USER, kind, f"{USER}:1", event_key=key)


async def in_drink_size(engine: Engine) -> None:
    await engine.handle(event(InboundKind.CLICK, "DRINK"))
    reply = await engine.handle(text("咖啡"))
    assert reply.text == "要多大杯？"


@pytest.mark.parametrize("word", ["菜单", "帮助", "menu", "？"])
async def test_menu_words_show_the_menu_and_leave_the_journey(engine: Engine, redis: Redis,
                                                              word: str):
    await in_drink_size(engine)
    reply = await engine.handle(text(word))
    assert reply.choices == MENU
    assert "请回复数字选择服务" in reply.text
    assert await redis.exists(SESSION_KEY) == 0


@pytest.mark.parametrize("pick", ["1", "１", "1.", "点饮料"])
async def test_a_menu_entry_is_picked_by_number_full_width_number_or_text(engine: Engine,
                                                                        pick: str):
    reply = await engine.handle(text(pick))
    assert reply.text == "要什么饮料？"
    assert reply.choices == ("咖啡", "茶")
    assert UNIVERSAL_HINT in reply.extra  # the first step says how to go back or cancel


@pytest.mark.parametrize(("pick", "kind"), [("2", "茶"), ("１", "咖啡"), ("茶", "茶")])
async def test_choices_by_number_or_text_carry_the_journey_to_its_end(engine: Engine,
                                                                     redis: Redis, pick: str,
                                                                     kind: str):
    await engine.handle(event(InboundKind.CLICK, "DRINK"))
    assert (await engine.handle(text(pick))).text == "要多大杯？"
    assert (await engine.handle(text("２"))).text == f"好的，大杯{kind}。"
    assert await redis.exists(SESSION_KEY) == 0


@pytest.mark.parametrize("typed", ["奶茶", "3", "0", "①", "²", ""])
async def test_unknown_input_reprompts_with_a_hint(engine: Engine, typed: str):
    await engine.handle(event(InboundKind.CLICK, "DRINK"))
    reply = await engine.handle(text(typed))
    assert reply.text.startswith("请回复 1-2 之间的数字")
    assert reply.text.endswith("要什么饮料？")
    assert reply.choices == ("咖啡", "茶")
    assert (await engine.handle(text("1"))).text == "要多大杯？"  # still in the same state


async def test_unknown_input_outside_a_journey_shows_the_menu(engine: Engine):
    reply = await engine.handle(text("随便聊聊"))
    assert reply.text.startswith("没有理解您的意思")
    assert reply.choices == MENU


async def test_cancel_ends_the_journey(engine: Engine, redis: Redis):
    await in_drink_size(engine)
    reply = await engine.handle(text("取消"))
    assert reply.text.startswith("已取消当前操作")
    assert reply.choices == MENU
    assert await redis.exists(SESSION_KEY) == 0


async def test_back_returns_to_the_previous_step_then_to_the_menu(engine: Engine):
    await in_drink_size(engine)
    reply = await engine.handle(text("返回"))
    assert reply.text == "要什么饮料？"
    assert (await engine.handle(text("茶"))).text == "要多大杯？"  # the journey goes on
    await engine.handle(text("返回"))
    assert (await engine.handle(text("返回"))).choices == MENU


async def test_subscribe_gets_a_welcome_and_the_menu(engine: Engine):
    reply = await engine.handle(event(InboundKind.SUBSCRIBE))
    assert reply.text.startswith(WELCOME)
    assert reply.choices == MENU


async def test_click_keys_start_journeys_and_unknown_keys_show_the_menu(engine: Engine):
    await in_drink_size(engine)
    reply = await engine.handle(event(InboundKind.CLICK, "WEATHER"))
    assert reply.text == "已退出“点饮料”。\n\n今天晴。"  # leaving says so
    reply = await engine.handle(event(InboundKind.CLICK, "NO_SUCH_KEY"))
    assert reply.choices == MENU


async def test_the_session_is_small_and_expires(engine: Engine, redis: Redis):
    await in_drink_size(engine)
    assert 0 < await redis.ttl(SESSION_KEY) <= TTL
    assert await redis.strlen(SESSION_KEY) < 1024
    assert await redis.memory_usage(SESSION_KEY) < 1024


async def test_a_session_resumes_in_a_new_engine(redis: Redis):
    """What a restart of the server looks like to the engine: only Redis is left."""
    await in_drink_size(Engine([DRINK, WEATHER], RedisSessionStore(redis, TTL)))
    reborn = Engine([DRINK, WEATHER], RedisSessionStore(redis, TTL))
    assert (await reborn.handle(text("中杯"))) == Reply("好的，中杯咖啡。")
