"""The server killed (kill -9) after the buyer paid on the pay page and before Alipay's
notify, then started again: the payment is settled once, the decision cleared once and the
payer told once. Nothing lost, nothing doubled.

The real server runs as a subprocess on a SQLite file and the test session's Redis (where
the simulated Alipay's notify waits, as Alipay's would wait on Alipay's side), the demo data
written to its database by this test; the notify is held back a few seconds
(payment.sandbox_notify_delay) so that the kill falls between the page and the notify.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time

import aiohttp

from bot import db
from bot.demo_data import seed_demo_if_empty
from bot.sandbox.wechat_client import WeChatUser
from tests.support.payments import biz_of
from tests.support.registration import link_in
from tests.test_crash import TOKEN, Server, http, server  # noqa: F401  fixtures

DECISION = "5001080000000001"  # 张伟's 1301, decided 30 days ago: 200 yuan plus 90 late
OPENID = "openid-payer"
SETTINGS = {"BOT__PAYMENT__SANDBOX_NOTIFY_DELAY": "3",
            # Never closed for maintenance, whatever hour the test runs at.
            "BOT__PAYMENT__MAINTENANCE_START": "03:00", "BOT__PAYMENT__MAINTENANCE_END": "03:00"}


def rows(app: Server, sql: str) -> list[tuple]:
    with sqlite3.connect(app.data_dir / "traffic.sqlite3") as connection:
        return connection.execute(sql).fetchall()


async def told(client: aiohttp.ClientSession, app: Server, seconds: float = 30) -> list[str]:
    """The payer's pushed messages once the first arrived, and a moment for a second."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        async with client.get(app.url + "/sandbox/outbox",
                              params={"recipient": OPENID, "kind": "wechat.text"}) as response:
            messages = (await response.json())["messages"]
        if messages:
            await asyncio.sleep(2)  # room for a second one, if any
            async with client.get(app.url + "/sandbox/outbox", params={
                    "recipient": OPENID, "kind": "wechat.text"}) as response:
                return [m["body"]["text"] for m in (await response.json())["messages"]]
        await asyncio.sleep(0.1)
    raise AssertionError(f"the payer was not told\n{app.output()}")


async def test_killed_between_the_pay_page_and_the_notify(server: Server,  # noqa: F811
                                                          http: aiohttp.ClientSession):  # noqa: F811
    await db.open_database(f"sqlite://{server.data_dir / 'traffic.sqlite3'}")
    try:
        await seed_demo_if_empty()
    finally:
        await db.close_database()
    await server.start(0, SETTINGS)
    user = WeChatUser(http, server.url + "/wechat", TOKEN, OPENID)
    await user.click("PAY_FINE")
    assert "应缴合计：290元" in await user.send(DECISION)
    link = link_in(await user.send("确认缴纳"))
    out_trade_no = biz_of(link)["out_trade_no"]
    async with http.get(link) as response:
        assert "￥290.00" in await response.text()
    async with http.post(server.url + "/sandbox/alipay/pay", allow_redirects=False,
                         data={"out_trade_no": out_trade_no, "action": "pay"}) as response:
        assert response.status == 302
    server.kill()  # the notify is still 3 s away, queued in Redis
    assert rows(server, "SELECT state FROM payment") == [("created",)]

    await server.start(0, SETTINGS)
    texts = await told(http, server)
    assert len(texts) == 1 and "缴款成功" in texts[0] and "290" in texts[0]
    assert rows(server, "SELECT state, amount FROM payment") == [("paid", "290.00")]
    assert rows(server, "SELECT state FROM violation WHERE decision_number = "
                        f"'{DECISION}'") == [("paid",)]
    assert rows(server, "SELECT count(*) FROM payment_record WHERE source = 'notify' "
                        "AND accepted") == [(1,)]
    await user.click("PAY_FINE")  # and it cannot be paid again
    assert "已缴纳，无需重复缴纳" in await user.send(DECISION)
