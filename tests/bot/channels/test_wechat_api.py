"""The outbound WeChat client against the sandbox WeChat API served by the app: one token per
appid in Redis, fetched once under concurrency, refreshed on 40001, backing off on 45009."""

import asyncio
import time

import pytest

from bot.channels.wechat_api import RATE_LIMITED, WeChatAPI, WeChatAPIError
from bot.sandbox.wechat_api import TOKEN_LIFETIME
from bot.services import wechat_menu
from tests.support.harness import Harness

OPENID = "openid-api"


def another_process(harness: Harness, **options) -> WeChatAPI:
    """A second client on the same Redis, as in another worker process (small back-off)."""
    services, fake = harness.services, harness.fake_wechat
    return WeChatAPI(services.http, services.redis, appid=fake.appid, secret=fake.secret,
                     base_url=str(harness.client.make_url("/sandbox/wechat")),
                     backoff=0.01, **options)


async def sent_texts(harness: Harness) -> list[str]:
    return [m.body["text"] for m in await harness.outbox(OPENID) if m.kind == "wechat.text"]


async def test_concurrent_callers_fetch_the_token_once(harness: Harness):
    api = harness.services.wechat_api
    await asyncio.gather(*(api.send_text(OPENID, f"消息{n}") for n in range(20)))
    assert harness.fake_wechat.tokens_issued == 1
    assert sorted(await sent_texts(harness)) == sorted(f"消息{n}" for n in range(20))


async def test_the_token_in_redis_serves_every_process(harness: Harness):
    await harness.services.wechat_api.send_text(OPENID, "一")
    await another_process(harness).send_text(OPENID, "二")
    assert harness.fake_wechat.tokens_issued == 1


async def test_a_revoked_token_is_refreshed_once_and_the_call_succeeds(harness: Harness):
    api, fake = harness.services.wechat_api, harness.fake_wechat
    await api.send_text(OPENID, "之前")
    fake.revoke_tokens()  # as when someone else fetched a new token: 40001
    await asyncio.gather(*(api.send_text(OPENID, f"之后{n}") for n in range(5)))
    assert fake.tokens_issued == 2
    assert len(await sent_texts(harness)) == 6


async def test_the_token_is_refreshed_ahead_of_its_expiry(harness: Harness):
    api = another_process(harness, refresh_margin=TOKEN_LIFETIME)  # always due for refresh
    await api.send_text(OPENID, "一")
    await api.send_text(OPENID, "二")
    assert harness.fake_wechat.tokens_issued == 2


async def test_rate_limited_calls_back_off_then_succeed(harness: Harness):
    harness.fake_wechat.rate_limit(2)
    started = time.monotonic()
    await another_process(harness).send_text(OPENID, "稍后")
    assert time.monotonic() - started >= 0.01 + 0.02
    assert await sent_texts(harness) == ["稍后"]


async def test_rate_limiting_that_lasts_gives_up_with_the_error(harness: Harness):
    harness.fake_wechat.rate_limit(10)
    with pytest.raises(WeChatAPIError) as caught:
        await another_process(harness, max_backoffs=2).send_text(OPENID, "放弃")
    assert caught.value.code == RATE_LIMITED
    assert await sent_texts(harness) == []


async def test_template_fields_are_cut_to_20_characters_on_one_line(harness: Harness):
    long = "您的车辆渝A12345在重庆市渝中区解放碑附近有一条新的交通违法记录请及时处理"
    await harness.services.wechat_api.send_template(
        OPENID, "TEMPLATE-1", {"first": long, "remark": "第一行\n第二行\r\n第三行"},
        url="https://example.com/v")
    [message] = await harness.outbox(OPENID)
    assert message.kind == "wechat.template"
    assert message.body["data"] == {"first": {"value": long[:20]},
                                    "remark": {"value": "第一行 第二行 第三行"}}
    assert message.body["url"] == "https://example.com/v"


async def test_the_menu_is_installed(harness: Harness):
    await harness.services.wechat_api.create_menu(wechat_menu())
    assert harness.fake_wechat.menu == wechat_menu()
