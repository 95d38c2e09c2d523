"""`python -m bot chat` against a served app: pushed messages show as they arrive, as text."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from bot.chat import plain, render

ROOT = Path(__file__).parents[2]


def test_links_read_as_label_and_url():
    text = '请完成刷脸认证\n<a href="http://127.0.0.1/face?a=1&amp;b=2">开始刷脸认证</a>'
    assert plain(text) == "请完成刷脸认证\n开始刷脸认证：http://127.0.0.1/face?a=1&b=2"


def test_regression_a_link_with_a_timestamp_parameter_is_shown_as_sent():
    """The face link's "&timestamp=" read as "×tamp=" (html.unescape takes "&times"), so
    the link copied from the chat was refused by the certify page."""
    url = "http://127.0.0.1/gateway.do?sign_type=RSA2&timestamp=2026-12-02+15%3A27%3A22&v=1"
    assert plain(f'<a href="{url}">点击进行刷脸认证</a>') == f"点击进行刷脸认证：{url}"


def test_outbox_entries_read_as_text_not_dicts():
    template = render({"kind": "wechat.template", "recipient": "o1", "body": {
        "template_id": "T", "data": {"first": {"value": "新违法"}}, "url": "http://x/y"}})
    sms = render({"kind": "sms", "recipient": "13900000000",
                  "body": {"text": "您的验证码为123456"}})
    assert template == "[模板消息]\nfirst：新违法\n详情：http://x/y"
    assert sms == "[短信 → 13900000000] 您的验证码为123456"
    assert "{" not in template + sms


async def read_until(stream: asyncio.StreamReader, wanted: str, timeout: float = 15) -> str:
    seen = ""
    async with asyncio.timeout(timeout):
        while wanted not in seen:
            line = await stream.readline()
            if not line:
                break
            seen += line.decode()
    return seen


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_regression_pushed_messages_show_before_the_next_typed_line(harness):
    """A face result pushed while the user typed nothing stayed unseen until the next line,
    and printed as a Python dict."""
    env = os.environ | {"BOT__WECHAT__TOKEN": harness.settings.wechat.token,
                        "BOT__SERVER__DATA_DIR": harness.settings.server.data_dir}
    chat = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "chat", "--port", str(harness.settings.server.port),
        "--openid", "openid-terminal", cwd=ROOT, env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        assert chat.stdin and chat.stdout
        await read_until(chat.stdout, "/quit")
        chat.stdin.write("菜单\n".encode())
        await chat.stdin.drain()
        assert "请回复数字选择服务" in await read_until(chat.stdout, "请回复数字选择服务")

        await harness.services.wechat_api.send_text(
            "openid-terminal", '结果已出\n<a href="http://127.0.0.1/r?x=1">查看</a>')

        pushed = await read_until(chat.stdout, "查看")  # nothing typed meanwhile
        assert "[客服消息] 结果已出\n查看：http://127.0.0.1/r?x=1" in pushed
        assert "{'text'" not in pushed
    finally:
        if chat.stdin:
            chat.stdin.close()
        try:
            await asyncio.wait_for(chat.wait(), 10)
        except TimeoutError:
            chat.kill()
            await chat.wait()
