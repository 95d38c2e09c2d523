"""A follow request whose process is killed (kill -9) right after its commit: the owner is
still asked, once, after the restart (bot.follows: the sweep asks requests left unasked), so
the requester's attempt of the year is not spent on a request nobody saw.

The real server runs as a subprocess (tests/support/follow_crash_server.py kills itself right
after the commit), on a SQLite file and the test session's Redis, and is started
again on the same data dir; the demo data, the requester and a registered owner are written
to its database by this test. The owner approves on the consent page over HTTP with the
SMS's code.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time

import aiohttp
import pytest

from bot import db
from bot.accounts import Person, register
from bot.demo_data import seed_demo_if_empty
from bot.sandbox.wechat_client import WeChatUser
from models.user import VerifiedBy
from tests.support.follows import REQUESTER, REQUESTER_OPENID
from tests.test_crash import TOKEN, Server, http, post, server  # noqa: F401  fixtures

OWNER_PHONE, PLATE = "13983001234", "渝A12345"  # 张伟's car of the demo data (docs/demo-data.md)
OWNER_ID_NUMBER, OWNER_OPENID = "500103199003074210", "openid-zhangwei"
SETTINGS = {"BOT__FOLLOW__ASK_AFTER": "0"}


@pytest.fixture
def crash_server(server: Server) -> Server:  # noqa: F811
    server.module = "tests.support.follow_crash_server"
    return server


async def registered(app: Server, *people: tuple[str, str, str, str]) -> None:
    """The demo data and (ID number, name, phone, openid) registered in the server's
    database, as registration would."""
    await db.open_database(f"sqlite://{app.data_dir / 'traffic.sqlite3'}")
    try:
        await seed_demo_if_empty()
        for id_number, name, phone, openid in people:
            await register("wechat", openid, Person(id_number, name, phone, VerifiedBy.FACE),
                           bindings_per_channel=1)
    finally:
        await db.close_database()


def requests(app: Server) -> list[tuple[str, object]]:
    """(state, asked_at) of every follow request, read from the database file."""
    with sqlite3.connect(app.data_dir / "traffic.sqlite3") as connection:
        return connection.execute("SELECT state, asked_at FROM follow_request").fetchall()


async def outbox(client: aiohttp.ClientSession, app: Server, recipient: str,
                 kind: str) -> list[dict]:
    async with client.get(app.url + "/sandbox/outbox",
                        params={"recipient": recipient, "kind": kind}) as response:
        return (await response.json())["messages"]


async def arrived(client: aiohttp.ClientSession, app: Server, recipient: str,
                  kind: str, seconds: float = 30) -> list[dict]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        messages = await outbox(client, app, recipient, kind)
        if messages:
            await asyncio.sleep(1)  # room for a second one, if any
            return await outbox(client, app, recipient, kind)
        await asyncio.sleep(0.1)
    raise AssertionError(f"nothing sent to {recipient}\n{app.output()}")


async def send_until_killed(client: aiohttp.ClientSession, app: Server) -> None:
    """The follow journey to 确认发送, whose request kills the app after its commit."""
    requester = WeChatUser(client, app.url + "/wechat", TOKEN, REQUESTER_OPENID)
    assert "请选择号牌种类" in await requester.click("FOLLOW_VEHICLE")
    await requester.send("2")
    await requester.send(PLATE)
    assert "关注该车辆" in await requester.send("123456")
    assert "确认发送吗" in await requester.send("关注该车辆")
    assert await post(client, requester, requester.request(requester.text_xml("确认发送"))) is None
    assert app.process is not None and app.process.wait() == -9  # SIGKILL
    assert requests(app) == [("pending", None)]  # committed, the owner not asked


async def approve_on_the_page(link: str, code: str) -> str:
    """The owner opens the SMS's link and approves with its code, as a browser does."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(link) as response:
            page = await response.text()
            assert response.status == 200, page
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)[1]
        async with browser.post(link, data={"csrf": csrf, "code": code,
                                            "decision": "approve"}) as response:
            return await response.text()


async def test_regression_an_owner_asked_by_sms_is_asked_after_kill_9_after_the_commit(
        crash_server: Server, http: aiohttp.ClientSession):  # noqa: F811
    """The process died between the request's commit and the SMS to the owner: the owner
    was never asked, the request expired a day later and the requester's attempt was
    spent."""
    await crash_server.start(0, {**SETTINGS, "FOLLOW_KILL_AFTER_COMMIT": "1"})
    await registered(crash_server, (REQUESTER.id_number, REQUESTER.real_name, REQUESTER.phone,
                                    REQUESTER_OPENID))
    await send_until_killed(http, crash_server)

    await crash_server.start(0, SETTINGS)
    texts = await arrived(http, crash_server, OWNER_PHONE, "sms")

    assert len(texts) == 1, texts
    text = texts[0]["body"]["text"]
    code = re.search(r"验证码([0-9]{6})", text)[1]
    link = re.search(r"(http\S+/follow/consent/[A-Za-z0-9_-]+)", text)[1]
    assert "已同意" in await approve_on_the_page(link, code)
    told = await arrived(http, crash_server, REQUESTER_OPENID, "wechat.text")
    assert any("关注结果：渝A***45 车主已同意" in m["body"]["text"] for m in told), told
    assert [state for state, _ in requests(crash_server)] == ["approved"]


async def test_regression_a_registered_owner_is_asked_after_kill_9_after_the_commit(
        crash_server: Server, http: aiohttp.ClientSession):  # noqa: F811
    """The same death before the pending action was put in front of a registered owner."""
    await crash_server.start(0, {**SETTINGS, "FOLLOW_KILL_AFTER_COMMIT": "1"})
    await registered(crash_server,
                     (REQUESTER.id_number, REQUESTER.real_name, REQUESTER.phone,
                      REQUESTER_OPENID),
                     (OWNER_ID_NUMBER, "张伟", OWNER_PHONE, OWNER_OPENID))
    await send_until_killed(http, crash_server)

    await crash_server.start(0, SETTINGS)
    offered = await arrived(http, crash_server, OWNER_OPENID, "wechat.text")

    assert [m["body"]["text"].split("\n")[0] for m in offered] == [
        "新的待处理事项：关注请求：王** 请求关注 渝A***45"]
    assert await outbox(http, crash_server, OWNER_PHONE, "sms") == []
    assert [asked is not None for _, asked in requests(crash_server)] == [True]
