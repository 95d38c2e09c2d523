"""The WeChat callback URL over real HTTP: handshake, plaintext and safe mode, bad input,
retries, per-user order, the reply budget and a restart in the middle of a journey."""

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

import pytest
from redis.asyncio import Redis

from bot.channels.wechat import UNSUPPORTED
from bot.config import Settings
from bot.engine import UNIVERSAL_HINT, Flow
from bot.sandbox.wechat_client import WeChatUser, signature
from flows import ALL_FLOWS, guide
from tests.support.harness import Harness, running_harness
from tests.support.probe import PROBE_KEY, Probe
from tests.support.wechat_requests import AES_KEY, message

MENU_PROMPT = "请回复数字选择服务"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Safe mode available (a fixed EncodingAESKey); plaintext requests still work."""
    return settings.with_overrides(wechat={"encoding_aes_key": AES_KEY})


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
def flows(probe: Probe) -> Sequence[Flow]:
    return [*ALL_FLOWS, probe.flow]


async def untouched(redis: Redis) -> bool:
    """Nothing of a request was processed: no dedupe claim, no turn, no session."""
    return not [key async for key in redis.scan_iter("*")
                if key.startswith((b"inbox:", b"turns:", b"turn:", b"session:"))]


def said(reply: str) -> str:
    """A reply without the hint line the engine adds on a journey's first step."""
    return reply.removesuffix("\n" + UNIVERSAL_HINT)


async def listening(user: WeChatUser) -> None:
    assert said(await user.click(PROBE_KEY)) == "请说话"


# ---- handshake and safe mode ----------------------------------------------------------------

async def test_the_handshake_echoes_when_signed_and_is_forbidden_otherwise(harness: Harness):
    token, timestamp, nonce = harness.settings.wechat.token, "1700000000", "abc"
    good = {"timestamp": timestamp, "nonce": nonce, "echostr": "4711",
            "signature": signature(token, timestamp, nonce)}
    response = await harness.client.get("/wechat", params=good)
    assert (response.status, await response.text()) == (200, "4711")
    response = await harness.client.get("/wechat", params=good | {"signature": "0" * 40})
    assert response.status == 403
    assert "4711" not in await response.text()


async def test_plaintext_messages_get_plaintext_replies(harness: Harness):
    answer = await harness.user().post(harness.user().text_xml("菜单"))
    assert answer.status == 200
    assert answer.body.startswith(b"<xml>") and b"<Encrypt>" not in answer.body
    assert MENU_PROMPT in answer.text


async def test_safe_mode_replies_are_encrypted(harness: Harness):
    alice = harness.user(encrypted=True)
    answer = await alice.post(alice.text_xml("菜单"))
    assert answer.status == 200
    assert b"<Encrypt>" in answer.body and MENU_PROMPT.encode() not in answer.body
    assert MENU_PROMPT in answer.text  # decrypted by wechatpy's WeChatCrypto


async def test_a_bad_msg_signature_is_forbidden_in_safe_mode(harness: Harness, redis: Redis):
    alice = harness.user(encrypted=True)
    params, body = alice.request(alice.event_xml("CLICK", PROBE_KEY))
    response = await harness.client.post("/wechat", params=params | {"msg_signature": "0" * 40},
                                         data=body)
    assert response.status == 403
    assert await untouched(redis)


# ---- bad input ------------------------------------------------------------------------------

async def test_a_bad_or_missing_signature_is_forbidden_and_nothing_is_processed(
        harness: Harness, redis: Redis, probe: Probe):
    alice = harness.user()
    click = alice.event_xml("CLICK", PROBE_KEY)
    assert (await alice.post(click, sign=False)).status == 403
    response = await harness.client.post("/wechat", data=click)
    assert response.status == 403
    assert probe.starts == 0
    assert await untouched(redis)


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY a "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>
<xml><ToUserName>gh</ToUserName><FromUserName>openid-alice</FromUserName>
<CreateTime>1700000000</CreateTime><MsgType>text</MsgType><Content>&e;</Content>
<MsgId>1</MsgId></xml>"""


UNREADABLE = {
    "not XML": "this is not XML",
    "cut short": "<xml><ToUserName>gh</ToUserName><MsgType>text",
    "entity expansion": BILLION_LAUGHS,
    "over 64 KiB": message("openid-alice", "text", f"<Content>{'长' * 30000}</Content>"),
    "bad numbers": message("openid-alice", "text", "<Content>x</Content><MsgId>x</MsgId>"),
}


@pytest.mark.parametrize("encrypted", [False, True], ids=["plaintext", "safe mode"])
async def test_unreadable_bodies_get_success_and_nothing_is_processed(harness: Harness,
                                                                     redis: Redis,
                                                                     encrypted: bool):
    alice = harness.user(encrypted=encrypted)
    for case, body in UNREADABLE.items():
        started = time.monotonic()
        answer = await alice.post(body)
        assert (answer.status, answer.body) == (200, b"success"), case
        assert time.monotonic() - started < 1, case
    assert await untouched(redis)


@pytest.mark.parametrize("encrypted", [False, True], ids=["plaintext", "safe mode"])
async def test_other_message_types_get_a_polite_reply(harness: Harness, encrypted: bool):
    alice = harness.user(encrypted=encrypted)
    for kind, fields in [
        ("image", "<PicUrl><![CDATA[http://x/1.jpg]]></PicUrl><MediaId>m</MediaId>"),
        ("location", "<Location_X>29.56</Location_X><Location_Y>106.55</Location_Y>"
                     "<Scale>15</Scale><Label><![CDATA[重庆市渝中区]]></Label>"),
        ("voice", "<MediaId>m</MediaId><Format>amr</Format>"),
        ("hologram", ""),
    ]:
        answer = await alice.post(message(alice.openid, kind, f"{fields}<MsgId>7</MsgId>"))
        assert (answer.status, answer.text) == (200, UNSUPPORTED.text), kind


async def test_a_body_arriving_in_pieces_is_read_whole(harness: Harness):
    alice = harness.user()
    params, body = alice.request(alice.text_xml("菜单"))

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64):
            yield body[start:start + 64]
            await asyncio.sleep(0.002)

    response = await harness.client.post("/wechat", params=params, data=pieces())
    assert MENU_PROMPT in alice.content(await response.read())


# ---- retries --------------------------------------------------------------------------------

async def test_a_retried_message_is_processed_once_with_the_same_reply(harness: Harness,
                                                                       probe: Probe):
    alice = harness.user()
    await listening(alice)
    xml = alice.text_xml("你好")
    first, retry = await alice.post(xml), await alice.post(xml)
    assert first.body == retry.body
    assert said(first.text) == "收到：你好"
    assert probe.heard == ["你好"]


async def test_concurrent_duplicates_are_processed_once(harness: Harness, probe: Probe):
    alice = harness.user()
    await listening(alice)
    probe.delay = 0.2
    xml = alice.text_xml("你好")
    answers = await asyncio.gather(*(alice.post(xml) for _ in range(3)))
    assert [said(a.text) for a in answers] == ["收到：你好"] * 3
    assert answers[0].body == answers[1].body == answers[2].body
    assert probe.heard == ["你好"]


async def test_a_retried_event_is_processed_once(harness: Harness, probe: Probe):
    alice = harness.user()
    click = alice.event_xml("CLICK", PROBE_KEY, create_time=1700000000)
    first, retry = await alice.post(click), await alice.post(click)
    assert first.body == retry.body
    assert said(first.text) == "请说话"
    assert probe.starts == 1
    await alice.post(alice.event_xml("CLICK", PROBE_KEY, create_time=1700000001))
    assert probe.starts == 2  # another second: another click


# ---- order and parallelism ------------------------------------------------------------------

async def test_one_users_messages_are_handled_in_order_and_users_in_parallel(harness: Harness,
                                                                            probe: Probe):
    users = [harness.user(f"openid-{name}") for name in ("alice", "bob", "carol")]
    for user in users:
        await listening(user)
    probe.delay = 0.05
    posts = []
    started = time.monotonic()
    for n in range(4):
        for user in users:
            posts.append(asyncio.create_task(user.send(f"{user.openid}-{n}")))
            await asyncio.sleep(0.005)  # arrival order, while all are still in flight
    replies = await asyncio.gather(*posts)
    elapsed = time.monotonic() - started
    for user in users:
        sent = [f"{user.openid}-{n}" for n in range(4)]
        assert [text for text in probe.heard if text.startswith(user.openid + "-")] == sent
    assert [said(r) for r in replies] == [f"收到：{u.openid}-{n}" for n in range(4) for u in users]
    assert elapsed < 0.5, f"{elapsed:.2f} s: users waited for each other (serial: 0.6 s)"


# ---- the reply budget -----------------------------------------------------------------------

class TestReplyBudget:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.with_overrides(wechat={"reply_budget": 0.2})

    async def test_a_slow_reply_is_pushed_as_a_customer_service_message(self, harness: Harness,
                                                                        probe: Probe):
        alice = harness.user()
        await listening(alice)
        probe.delay = 0.5
        xml = alice.text_xml("慢")
        first = await alice.post(xml)
        assert (first.status, first.body) == (200, b"success")
        retry = await alice.post(xml)  # WeChat retries while the step still runs
        assert retry.body == b"success"
        pushed = await outbox_texts(harness, alice.openid, count=1)
        assert said(pushed[0]) == "收到：慢"
        late_retry = await alice.post(xml)
        assert late_retry.body == b"success"
        assert probe.heard == ["慢"]
        await asyncio.sleep(0.1)  # a second push would have been picked up by now
        assert len(await outbox_texts(harness, alice.openid, count=1)) == 1


    async def test_a_push_refused_while_wechat_is_busy_is_retried(self, harness: Harness,
                                                                   probe: Probe):
        alice = harness.user()
        await listening(alice)
        probe.delay = 0.5
        harness.fake_wechat.busy(1)
        assert (await alice.send("慢")) == ""
        pushed = await outbox_texts(harness, alice.openid, count=1, within=5)
        assert [said(text) for text in pushed] == ["收到：慢"]


async def outbox_texts(harness: Harness, openid: str, *, count: int,
                       within: float = 3) -> list[str]:
    """The customer-service texts sent to ``openid``, once at least ``count`` have arrived."""
    deadline = time.monotonic() + within
    while True:
        texts = [m.body["text"] for m in await harness.outbox(openid) if m.kind == "wechat.text"]
        if len(texts) >= count or time.monotonic() > deadline:
            return texts
        await asyncio.sleep(0.02)


# ---- restart --------------------------------------------------------------------------------

async def test_a_journey_resumes_after_a_restart(settings: Settings, redis: Redis):
    """Two app instances one after the other on one Redis: the session is all that survives."""
    async with running_harness(settings) as first:
        assert "您想了解哪方面的内容" in await first.user().click(guide.FLOW.click_key)
    async with running_harness(settings) as second:
        reply = await second.user().send("1")
    assert next(iter(guide.TOPICS.values())) in reply  # the guide's first topic, answered
