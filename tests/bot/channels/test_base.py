"""The channel protocol over the real app: WeChat's push and its 48-hour window, an
asynchronous channel that acknowledges at once and pushes, and what channels and handlers
may import."""

from __future__ import annotations

import ast
import asyncio
import logging
from pathlib import Path

from bot.channels.base import Pushed, PushResult, UnknownChannel, Unreachable
from bot.jobs import send_reply
from bot.messages import Conversation, Inbound, InboundKind, Reply
from tests.support.turns import turn_over

ROOT = Path(__file__).resolve().parents[3]


class LoopChannel:
    """A channel whose requests are acknowledged at once (like the Alipay life account)."""

    name = "loop"
    title = "测试"
    reply_budget = 0.0

    def __init__(self) -> None:
        self.pushed: list[tuple[str, str]] = []

    def render_text(self, reply: Reply) -> str:
        return reply.as_text()

    async def push(self, user_id: str, reply: Reply) -> PushResult:
        self.pushed.append((user_id, self.render_text(reply)))
        return Pushed()


async def test_regression_wechat_45015_is_unreachable_logged_at_info_not_an_error(harness,
                                                                                caplog):
    services = harness.services
    assert await services.send("wechat", "openid-away", Reply("一")) == Pushed()
    harness.fake_wechat.out_of_window(2)

    result = await services.send("wechat", "openid-away", Reply("二"))
    assert isinstance(result, Unreachable) and "45015" in result.reason
    with caplog.at_level(logging.INFO):
        await send_reply({"services": services, "job_try": 1}, "wechat", "openid-away",
                         Reply("三").to_json())
    records = [r for r in caplog.records if r.name.startswith("bot.")]
    assert records and all(r.levelno == logging.INFO for r in records)
    assert [m.body["text"] for m in await harness.outbox("openid-away")] == ["一"]


async def test_an_asynchronous_channel_is_acknowledged_at_once_and_pushed(harness):
    services = harness.services
    loop = LoopChannel()
    services.channels.register(loop)
    inbound = Inbound("loop", "user-1", InboundKind.TEXT, "msg:1", text="菜单")

    assert await services.inbox.deliver(inbound) is None  # acknowledged, nothing in reply
    for _ in range(200):
        if loop.pushed:
            break
        await asyncio.sleep(0.05)
    [(user_id, text)] = loop.pushed
    assert user_id == "user-1" and "请回复数字选择服务" in text
    assert await services.inbox.deliver(inbound) is None  # a retry is not run again
    await turn_over(harness, inbound.conversation)
    assert len(loop.pushed) == 1


async def test_an_unknown_channel_is_refused(harness):
    try:
        await harness.services.channels.push(Conversation("fax", "x"), Reply("一"))
    except UnknownChannel:
        return
    raise AssertionError("a push to an unknown channel went nowhere silently")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_channels_import_no_flows_nor_the_composition_root():
    for path in (ROOT / "bot" / "channels").glob("*.py"):
        bad = {n for n in _imports(path) if n == "flows" or n.startswith(("flows.",
                                                                        "bot.services"))}
        assert not bad, f"{path.name} imports {bad}"


def test_handlers_do_not_reach_into_models():
    for path in (ROOT / "handlers").glob("*.py"):
        bad = {n for n in _imports(path) if n == "models" or n.startswith("models.")}
        assert not bad, f"{path.name} imports {bad}"
