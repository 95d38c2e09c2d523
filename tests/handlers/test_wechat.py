"""The WeChat callback URL over real HTTP: handshake, plaintext and safe mode, freshness and
replays, bad input, slow and broken bodies, retries, per-user order, the reply budget and a
restart in the middle of a journey."""

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import ClassVar

import pytest
from aiohttp import web
from redis.asyncio import Redis
from yarl import URL

from bot.app import create_app
from bot.channels.wechat import UNSUPPORTED
from bot.config import Settings
from bot.engine import UNIVERSAL_HINT, Flow
from bot.messages import Conversation
from bot.sandbox.wechat_client import WeChatUser, signature
from flows import ALL_FLOWS, guide
from tests.support.harness import Harness, running_harness
from tests.support.probe import PROBE_KEY, Probe
from tests.support.turns import turn_over
from tests.support.wechat_requests import AES_KEY, message, signed

MENU_PROMPT = "请回复数字选择服务"
GUIDE_PROMPT = "您想了解哪方面的内容"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Compatible message mode (a fixed EncodingAESKey): plaintext and AES both work."""
    return settings.with_overrides(wechat={"encoding_aes_key": AES_KEY,
                                           "message_mode": "compatible"})


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


def quiet(caplog: pytest.LogCaptureFixture) -> bool:
    """No traceback and no error in the log."""
    return not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def said(reply: str) -> str:
    """A reply without the hint line the engine adds on a journey's first step."""
    return reply.removesuffix("\n" + UNIVERSAL_HINT)


async def listening(user: WeChatUser) -> None:
    assert said(await user.click(PROBE_KEY)) == "请说话"


# ---- handshake and safe mode ----------------------------------------------------------------

async def test_the_handshake_echoes_when_signed_and_is_forbidden_otherwise(harness: Harness):
    token, timestamp, nonce = harness.settings.wechat.token, str(int(time.time())), "abc"
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


class TestSafeMode:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.with_overrides(wechat={"message_mode": "safe"})

    async def test_regression_safe_mode_refuses_plaintext(self, harness: Harness, redis: Redis,
                                                          probe: Probe):
        """A plaintext body was processed and answered in plaintext: with the signature over
        the timestamp and nonce only, anyone holding one signed query string could forge."""
        alice = harness.user()
        for xml in (alice.event_xml("CLICK", PROBE_KEY), alice.text_xml("菜单")):
            answer = await alice.post(xml)
            assert (answer.status, answer.body) == (403, b"forbidden")
        assert probe.starts == 0
        assert await untouched(redis)
        encrypted = harness.user(encrypted=True)
        assert said(await encrypted.click(PROBE_KEY)) == "请说话"


class TestPlainMode:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.with_overrides(wechat={"message_mode": "plain"})

    async def test_an_encrypted_body_is_refused_in_plain_mode(self, harness: Harness,
                                                             redis: Redis, probe: Probe):
        alice = harness.user(encrypted=True)
        answer = await alice.post(alice.event_xml("CLICK", PROBE_KEY))
        assert answer.status == 403
        assert probe.starts == 0
        assert await untouched(redis)
        assert said(await harness.user().click(PROBE_KEY)) == "请说话"


# ---- freshness and replays ------------------------------------------------------------------

async def post_signed(harness: Harness, query: dict[str, str], body: str):
    return await harness.client.post("/wechat", params=query | {"openid": "openid-alice"},
                                     data=body.encode())


async def test_regression_timestamp_from_2001_is_refused(harness: Harness, redis: Redis,
                                                          probe: Probe):
    """A timestamp of 2001 (or anything beyond the window) was accepted with any body."""
    token, window = harness.settings.wechat.token, harness.settings.wechat.timestamp_window
    click = harness.user().event_xml("CLICK", PROBE_KEY)
    now = int(time.time())
    for timestamp in (1_000_000_000, now - window - 2, now + window + 2):
        response = await post_signed(harness, signed(token, timestamp), click)
        assert (response.status, await response.text()) == (403, "forbidden"), timestamp
        response = await harness.client.get("/wechat", params=signed(token, timestamp)
                                            | {"echostr": "4711"})
        assert response.status == 403 and "4711" not in await response.text()
    assert probe.starts == 0
    assert await untouched(redis)
    assert (await post_signed(harness, signed(token, now - window + 5), click)).status == 200
    assert probe.starts == 1


async def test_regression_empty_timestamp_and_nonce_is_refused(harness: Harness, redis: Redis,
                                                                probe: Probe):
    """With both empty, the signature is sha1 of the token alone: valid for ever."""
    token = harness.settings.wechat.token
    query = {"timestamp": "", "nonce": "", "signature": hashlib.sha1(token.encode()).hexdigest()}
    response = await post_signed(harness, query, harness.user().event_xml("CLICK", PROBE_KEY))
    assert response.status == 403
    response = await harness.client.get("/wechat", params=query | {"echostr": "4711"})
    assert response.status == 403
    assert probe.starts == 0
    assert await untouched(redis)


async def test_regression_query_string_replayed_with_other_body_is_refused(
        harness: Harness, redis: Redis, probe: Probe):
    """A signed query string copied from a log was accepted with any body and any openid."""
    alice = harness.user()
    await listening(alice)
    query, body = alice.request(alice.text_xml("你好"))
    first = await harness.client.post("/wechat", params=query, data=body)
    assert said(alice.content(await first.read())) == "收到：你好"
    for forged in (alice.text_xml("转账"), harness.user("openid-mallory").text_xml("你好"),
                   alice.event_xml("CLICK", guide.CLICK_KEY)):
        response = await harness.client.post("/wechat", params=query, data=forged)
        assert (response.status, await response.text()) == (403, "forbidden")
    retry = await harness.client.post("/wechat", params=query, data=body)  # WeChat's own retry
    assert retry.status == 200  # rendered again: compared by content, its CreateTime may move on
    assert alice.content(await retry.read()) == alice.content(await first.read())
    assert probe.heard == ["你好"]
    assert not await redis.exists("session:wechat:openid-mallory")
    stamp = f"wechat:stamp:{query['timestamp']}:{query['nonce']}"
    assert 0 < await redis.ttl(stamp) <= harness.settings.wechat.timestamp_window + 1


async def test_an_encrypted_query_string_replayed_with_other_body_is_refused(harness: Harness,
                                                                           probe: Probe):
    alice = harness.user(encrypted=True)
    query, body = alice.request(alice.event_xml("CLICK", PROBE_KEY))
    assert (await harness.client.post("/wechat", params=query, data=body)).status == 200
    _, other = alice.request(alice.event_xml("CLICK", PROBE_KEY))  # its own msg_signature
    assert (await harness.client.post("/wechat", params=query, data=other)).status == 403
    assert probe.starts == 1


async def test_regression_handshake_query_string_reused_for_a_message_is_refused(
        harness: Harness, redis: Redis, probe: Probe):
    """The console's URL check (GET) left its (timestamp, nonce) unremembered, so its signed
    query string, copied within the window, carried any message body once as a POST."""
    query = signed(harness.settings.wechat.token)
    first = await harness.client.get("/wechat", params=query | {"echostr": "4711"})
    assert (first.status, await first.text()) == (200, "4711")
    click = harness.user().event_xml("CLICK", PROBE_KEY)
    response = await post_signed(harness, query, click)
    assert (response.status, await response.text()) == (403, "forbidden")
    assert probe.starts == 0
    assert await untouched(redis)
    again = await harness.client.get("/wechat", params=query | {"echostr": "4711"})
    assert (again.status, await again.text()) == (200, "4711")  # the console may ask again


async def test_regression_query_string_of_an_unreadable_body_reused_is_refused(
        harness: Harness, redis: Redis, probe: Probe):
    """A signed request whose body could not be read (or decrypted) left its (timestamp,
    nonce) unremembered, so the same query string then carried any other body."""
    alice = harness.user(encrypted=True)
    query, _ = alice.request(alice.event_xml("CLICK", PROBE_KEY))
    answer = await harness.client.post("/wechat", params=query, data=b"this is not XML")
    assert (answer.status, await answer.read()) == (200, b"success")
    plain = {key: value for key, value in query.items()
             if key not in ("encrypt_type", "msg_signature")}
    response = await post_signed(harness, plain, alice.event_xml("CLICK", PROBE_KEY))
    assert (response.status, await response.text()) == (403, "forbidden")
    assert probe.starts == 0
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
    "MsgId over 64 bits": message("openid-alice", "text",
                                  f"<Content>x</Content><MsgId>{2**64}</MsgId>"),
}


async def test_regression_5000_digit_msgid_is_malformed(harness: Harness, redis: Redis,
                                                        caplog: pytest.LogCaptureFixture):
    """It passed the digits check, then int() raised and the log got a traceback."""
    alice = harness.user()
    answer = await alice.post(message(alice.openid, "text",
                                      f"<Content>x</Content><MsgId>{'7' * 5000}</MsgId>"))
    assert (answer.status, answer.body) == (200, b"success")
    assert quiet(caplog)
    assert await untouched(redis)


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
    # The bodies differ only in CreateTime when the answers straddle a second.
    assert answers[0].text == answers[1].text == answers[2].text
    assert probe.heard == ["你好"]


async def test_regression_two_events_in_one_second_are_two(harness: Harness, probe: Probe):
    """CLICK QUERY_VEHICLE then CLICK GUIDE with one CreateTime: the second got the first's
    reply, because events were deduped by FromUserName + CreateTime only."""
    alice = harness.user()
    created = int(time.time())
    first = await alice.post(alice.event_xml("CLICK", PROBE_KEY, create_time=created))
    second = await alice.post(alice.event_xml("CLICK", guide.CLICK_KEY,
                                              create_time=created))
    assert said(first.text) == "请说话"
    assert GUIDE_PROMPT in second.text
    assert probe.starts == 1


async def test_a_retried_event_is_processed_once(harness: Harness, probe: Probe):
    alice = harness.user()
    click = alice.event_xml("CLICK", PROBE_KEY, create_time=1700000000)
    first, retry = await alice.post(click), await alice.post(click)
    # The same reply, rendered again: its CreateTime may be a second on (seen under load).
    assert first.text == retry.text and first.status == retry.status == 200
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
    probe.delay = 0.1  # parallel: 0.4 s, serial: 1.2 s; room for a busy machine between
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
    assert elapsed < 1.0, f"{elapsed:.2f} s: users waited for each other (serial: 1.2 s)"


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
        await turn_over(harness, Conversation("wechat", alice.openid))  # a second push too
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
        assert GUIDE_PROMPT in await first.user().click(guide.CLICK_KEY)
    async with running_harness(settings) as second:
        reply = await second.user().send("1")
    assert guide.JOURNEYS[ALL_FLOWS[0].name] in reply  # the guide's first topic, answered


# ---- slow and broken bodies -----------------------------------------------------------------

class TestSlowBodies:
    """Raw sockets (no client library sends these) against the app served as `serve` serves
    it: web.run_app keeps running a handler whose client went away, where aiohttp's test
    server cancels it, which would hide what the handler does then. The life account's
    gateway and the follow consent page read their bodies the same way (handlers/bodies.py)
    and are held to the same."""

    READ_TIMEOUT = 0.5

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.with_overrides(server={"read_timeout": self.READ_TIMEOUT})

    CONTENT_TYPES: ClassVar[dict[str, str]] = {
        "/wechat": "text/xml", "/alipay/gateway": "application/x-www-form-urlencoded",
        # a page's form (handlers/bodies.py read_form), read before its token is looked at
        "/follow/consent/" + "A" * 32: "application/x-www-form-urlencoded"}

    @pytest.fixture(params=list(CONTENT_TYPES))
    async def url(self, request: pytest.FixtureRequest, settings: Settings,
                  redis: Redis) -> AsyncIterator[URL]:
        runner = web.AppRunner(create_app(settings), handler_cancellation=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", settings.server.port).start()
            yield URL(f"http://127.0.0.1:{settings.server.port}{request.param}")
        finally:
            await runner.cleanup()

    @staticmethod
    async def connect(url: URL, settings: Settings, head: str, body: bytes = b"") -> tuple[
            asyncio.StreamReader, asyncio.StreamWriter]:
        """Open a connection and send a signed POST's head (a header block) and ``body``."""
        target = url.with_query(signed(settings.wechat.token)).raw_path_qs
        reader, writer = await asyncio.open_connection(url.host, url.port)
        content_type = TestSlowBodies.CONTENT_TYPES[url.path]
        writer.write(f"POST {target} HTTP/1.1\r\nHost: {url.host}\r\n"
                     f"Content-Type: {content_type}\r\n{head}\r\n".encode() + body)
        await writer.drain()
        return reader, writer

    @staticmethod
    async def status_within(reader: asyncio.StreamReader, seconds: float) -> int:
        async with asyncio.timeout(seconds):
            status_line = await reader.readline()
        return int(status_line.split()[1])

    async def test_regression_body_shorter_than_content_length_times_out(
            self, url: URL, settings: Settings, redis: Redis, caplog: pytest.LogCaptureFixture):
        """The request was held 15 s and more, waiting for bytes that never came."""
        body = message("openid-alice", "text", "<Content>菜单</Content><MsgId>1</MsgId>")
        started = time.monotonic()
        reader, writer = await self.connect(url, settings,
                                            f"Content-Length: {len(body.encode()) + 100}\r\n",
                                            body.encode())
        try:
            assert await self.status_within(reader, 3) == 408
            assert time.monotonic() - started < self.READ_TIMEOUT + 1
            async with asyncio.timeout(1):
                await reader.read()  # and the connection is closed, not kept waiting
        finally:
            writer.close()
        assert await untouched(redis)
        assert quiet(caplog)

    async def test_regression_chunked_body_that_never_ends_times_out(
            self, url: URL, settings: Settings, redis: Redis, caplog: pytest.LogCaptureFixture):
        """Chunks trickling in, each soon after the last: the whole body is bounded."""
        reader, writer = await self.connect(url, settings, "Transfer-Encoding: chunked\r\n")

        async def trickle() -> None:
            while True:
                writer.write(b"1\r\nx\r\n")
                await writer.drain()
                await asyncio.sleep(0.05)

        started = time.monotonic()
        dripping = asyncio.create_task(trickle())
        try:
            assert await self.status_within(reader, 3) == 408
            assert time.monotonic() - started < self.READ_TIMEOUT + 1
        finally:
            dripping.cancel()
            writer.close()
        assert await untouched(redis)
        assert quiet(caplog)

    async def test_regression_client_disconnecting_mid_body_logs_no_traceback(
            self, url: URL, settings: Settings, redis: Redis, caplog: pytest.LogCaptureFixture):
        """ConnectionResetError was logged with its traceback as an unhandled error; now the
        access log's line is the only one above DEBUG."""
        caplog.set_level(logging.DEBUG)
        _, writer = await self.connect(url, settings, "Content-Length: 5000\r\n", b"<xml><To")
        await asyncio.sleep(0.1)
        caplog.clear()
        writer.transport.abort()  # gone, mid-body
        for _ in range(100):
            if any(record.name == "aiohttp.access" for record in caplog.records):
                break
            await asyncio.sleep(0.01)
        lines = [r for r in caplog.records if r.levelno >= logging.INFO]
        assert [(r.name, r.levelno) for r in lines] == [("aiohttp.access", logging.INFO)]
        assert " 499 " in lines[0].getMessage()
        assert quiet(caplog)
        assert await untouched(redis)
