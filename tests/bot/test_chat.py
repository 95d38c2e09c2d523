"""`python -m bot chat` against a served app, as a WeChat or an Alipay user: pushed messages
show as they arrive, as text."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from bot.chat import plain, render
from bot.integrations.alipay import alipay_client
from bot.sandbox.alipay import CUSTOM_SEND

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


def test_alipay_pushes_read_as_text_image_text_as_title_description_and_url():
    text = render({"kind": "alipay.text", "recipient": "2088000000000001",
                   "body": {"text": "请输入号牌号码"}})
    image_text = render({"kind": "alipay.image_text", "recipient": "2088000000000001", "body": {
        "articles": [{"title": "刷脸认证", "desc": "请完成刷脸认证",
                      "url": "http://127.0.0.1/g?a=1&timestamp=2", "action_name": "立即查看"}]}})
    template = render({"kind": "alipay.template", "recipient": "2088000000000001", "body": {
        "template_id": "T", "context": {"url": "http://x/y", "action_name": "查看",
                                        "first": {"value": "新违法"}}}})
    assert text == "[生活号消息] 请输入号牌号码"
    assert image_text == "[图文消息]\n刷脸认证\n请完成刷脸认证\n立即查看：http://127.0.0.1/g?a=1&timestamp=2"
    assert template == "[模板消息]\nfirst：新违法\n查看：http://x/y"
    assert "{" not in text + image_text + template


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
    chat = await _start_chat(harness, "--openid", "openid-terminal")
    try:
        assert chat.stdout
        await read_until(chat.stdout, "/quit")
        await _type(chat, "菜单")
        assert "请回复数字选择服务" in await read_until(chat.stdout, "请回复数字选择服务")

        await harness.services.wechat_api.send_text(
            "openid-terminal", '结果已出\n<a href="http://127.0.0.1/r?x=1">查看</a>')

        pushed = await read_until(chat.stdout, "查看")  # nothing typed meanwhile
        assert "[客服消息] 结果已出\n查看：http://127.0.0.1/r?x=1" in pushed
        assert "{'text'" not in pushed
    finally:
        await _stop(chat)


async def _start_chat(harness, *options: str,
                      data_dir: Path | None = None) -> asyncio.subprocess.Process:
    data_dir = data_dir or harness.settings.server.data_dir
    env = os.environ | {"BOT__WECHAT__TOKEN": harness.settings.wechat.token,
                        "BOT__SERVER__DATA_DIR": str(data_dir)}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "chat", "--port", str(harness.settings.server.port),
        *options, cwd=ROOT, env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)


async def _type(chat: asyncio.subprocess.Process, line: str) -> None:
    assert chat.stdin
    chat.stdin.write(f"{line}\n".encode())
    await chat.stdin.drain()


async def _stop(chat: asyncio.subprocess.Process) -> None:
    if chat.stdin:
        chat.stdin.close()
    try:
        await asyncio.wait_for(chat.wait(), 10)
    except TimeoutError:
        chat.kill()
        await chat.wait()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("charset", ["GBK", "UTF-8"])
async def test_alipay_chat_speaks_signed_forms_and_shows_pushed_replies(harness, charset):
    user_id = "2088000000000777"
    chat = await _start_chat(harness, "--channel", "alipay", "--user-id", user_id,
                             "--charset", charset)
    try:
        assert chat.stdout
        await read_until(chat.stdout, "/quit")
        await _type(chat, "/subscribe")
        assert "[生活号消息] 欢迎关注" in await read_until(chat.stdout, "请回复数字选择服务")
        await _type(chat, "/click QUERY_VEHICLE")
        assert "[生活号消息] 请选择号牌种类" in await read_until(chat.stdout, "小型汽车")
        await _type(chat, "2")
        assert "请输入号牌号码" in await read_until(chat.stdout, "请输入号牌号码")

        link = {"title": "刷脸认证", "desc": "请完成刷脸认证",
                "url": "http://127.0.0.1/face?ref=r", "action_name": "立即查看"}
        client = alipay_client(harness.settings, sandbox=True)
        answer = await asyncio.to_thread(client.server_api, CUSTOM_SEND, {
            "to_user_id": user_id, "msg_type": "image-text", "articles": [link]})
        assert answer["code"] == "10000"
        pushed = await read_until(chat.stdout, "http://127.0.0.1/face?ref=r")  # nothing typed
        assert ("[图文消息]\n刷脸认证\n请完成刷脸认证\n立即查看：http://127.0.0.1/face?ref=r"
                in pushed)
    finally:
        await _stop(chat)
    # Every line typed was one signed form the gateway took: three messages, three replies.
    assert len(await harness.outbox(user_id)) == 4


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_regression_piped_input_shows_the_pushes_its_last_lines_caused(harness):
    """`printf ... | ./dev chat --channel alipay` quit at the end of its input, before the
    replies to its last lines were pushed: they never showed."""
    user_id = "2088000000000778"
    chat = await _start_chat(harness, "--channel", "alipay", "--user-id", user_id)
    assert chat.stdin and chat.stdout
    chat.stdin.write(b"/click QUERY_VEHICLE\n2\n")
    chat.stdin.close()  # the input ends at once, as a pipe's does
    try:
        shown = (await asyncio.wait_for(chat.stdout.read(), 20)).decode()
    finally:
        await _stop(chat)
    assert chat.returncode == 0
    assert "[生活号消息] 请选择号牌种类" in shown
    assert "[生活号消息] 请输入号牌号码" in shown  # the reply to the last line


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_alipay_chat_with_keys_the_server_does_not_hold_says_so(harness, tmp_path):
    """Another data dir holds another simulator key: the gateway refuses the form, the chat
    says so and carries on."""
    chat = await _start_chat(harness, "--channel", "alipay", data_dir=tmp_path / "elsewhere")
    try:
        assert chat.stdout
        await read_until(chat.stdout, "/quit")
        await _type(chat, "菜单")
        refused = await read_until(chat.stdout, "not one Alipay accepts")
        assert "HTTP 403" in refused
        assert "BOT__SERVER__DATA_DIR" in refused  # what to do about it
        await _type(chat, "菜单")
        assert "HTTP 403" in await read_until(chat.stdout, "not one Alipay accepts")
    finally:
        await _stop(chat)
    assert await harness.outbox() == []
