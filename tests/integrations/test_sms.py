"""One-time SMS codes: limits, expiry, wrong tries, reuse, hashing, delivery and audit.

Everything runs for real: Redis, the in-process arq worker, the sandbox sender and the
database (SQLite and PostgreSQL). Time is a controllable clock handed to SmsCodes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import logging
import re
import time

import pytest
from redis.asyncio import Redis

from bot.config import ConfigError, load_settings
from bot.integrations.sms import DAY, CheckOutcome, CodeCheck, SmsCodes
from models.outbox import OutboxMessage
from models.verification import Method, Outcome, Verification
from tests.support.harness import Harness
from tests.support.sms import code_of, delivered

PHONE = "13812345678"
ID_NUMBER = "11010519491231002X"
ALICE = "wechat:openid-alice"


class Clock:
    """Seconds since the epoch that move only when a test says so."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def codes(harness: Harness, clock: Clock) -> SmsCodes:
    return SmsCodes(harness.services.redis, harness.settings.sms, clock=clock)


async def ask(codes: SmsCodes, phone: str = PHONE, subject: str = ALICE,
              purpose: str = "register"):
    return await codes.request(purpose=purpose, subject=subject, phone=phone,
                               subject_id_number=ID_NUMBER)


async def verify(codes: SmsCodes, code: str, phone: str = PHONE, subject: str = ALICE,
                 purpose: str = "register") -> CodeCheck:
    return await codes.verify(purpose=purpose, subject=subject, phone=phone, code=code)


async def test_code_goes_out_by_job_and_passes_once(harness: Harness, codes: SmsCodes):
    asked = await ask(codes)
    assert asked.ok
    assert asked.message == "验证码已发送至 138****5678，5 分钟内有效"

    sms = await delivered(asked.out_id)
    code = sms.body["params"]["code"]
    assert sms.recipient == PHONE and re.fullmatch(r"[0-9]{6}", code)
    assert code in sms.body["text"] and sms.body["template"] == "SMS_SANDBOX_CODE"

    row = await Verification.get(reference=asked.out_id)
    assert (row.method, row.purpose, row.requester, row.subject_id_number, row.outcome) == (
        Method.SMS, "register", ALICE, ID_NUMBER, Outcome.PENDING)

    check = await verify(codes, code)
    assert check.ok and check.message == "验证通过"
    row = await Verification.get(reference=asked.out_id)
    assert row.outcome == Outcome.PASSED and row.settled_at is not None

    again = await verify(codes, code)
    assert again.outcome is CheckOutcome.EXPIRED and again.message == "验证码已失效，请重新获取"


async def test_code_is_bound_to_purpose_and_subject(harness: Harness, codes: SmsCodes):
    code = await code_of((await ask(codes)).out_id)
    assert not (await verify(codes, code, subject="wechat:bob")).ok
    assert not (await verify(codes, code, purpose="follow")).ok
    assert (await verify(codes, code)).ok


async def test_regression_a_code_proves_a_phone_it_was_not_sent_to(
        harness: Harness, codes: SmsCodes):
    """Found in registration: after 更换手机号 to a phone whose send the limits refused, the
    first phone's code, still live, passed for the second phone. Checked against another phone
    a code is a wrong try; against its own it still passes."""
    code = await code_of((await ask(codes)).out_id)
    check = await verify(codes, code, phone="13900001111")
    assert check.outcome is CheckOutcome.WRONG and check.remaining == 4
    assert (await verify(codes, code)).ok


async def test_redis_holds_a_peppered_hash_never_the_code_or_phone(
        harness: Harness, codes: SmsCodes, redis: Redis):
    asked = await ask(codes)
    code = await code_of(asked.out_id)

    stored = await redis.hgetall(f"sms:code:register:{ALICE}")
    expected = hmac.new(b"sandbox-pepper", f"register\n{ALICE}\n{PHONE}\n{code}".encode(),
                        hashlib.sha256).hexdigest()
    assert stored[b"hash"].decode() == expected
    everything = b"".join([key + await _dump(redis, key) async for key in redis.scan_iter()])
    assert code.encode() not in everything
    assert PHONE.encode() not in everything


async def _dump(redis: Redis, key: bytes) -> bytes:
    kind = (await redis.type(key)).decode()
    if kind == "string":
        return await redis.get(key) or b""
    if kind == "hash":
        return repr(await redis.hgetall(key)).encode()
    if kind == "zset":
        return repr(await redis.zrange(key, 0, -1, withscores=True)).encode()
    if kind == "list":
        return repr(await redis.lrange(key, 0, -1)).encode()
    return repr(await redis.smembers(key)).encode() if kind == "set" else b""


async def test_one_code_a_minute_per_phone(harness: Harness, codes: SmsCodes, clock: Clock):
    assert (await ask(codes)).ok
    refused = await ask(codes, subject="wechat:bob")  # the limit is the phone's, not the user's
    assert not refused.ok and refused.retry_after == 60
    assert refused.message == "发送过于频繁，请 1 分钟后再试"
    # another phone is not affected (asked by another user: one user gets one code a minute)
    assert (await ask(codes, phone="13900001111", subject="wechat:carol")).ok

    clock.advance(59)
    assert (await ask(codes)).retry_after == 1
    clock.advance(1)
    assert (await ask(codes)).ok
    assert await Verification.all().count() == 3  # refusals leave no audit row and no SMS


async def test_five_codes_an_hour_counting_only_accepted_sends(
        harness: Harness, codes: SmsCodes, clock: Clock):
    for _ in range(5):
        assert (await ask(codes)).ok
        assert not (await ask(codes)).ok  # refused at once; must not count towards the hour
        clock.advance(60)

    refused = await ask(codes)  # 300 s after the first of the five
    assert not refused.ok and refused.retry_after == 3300
    assert refused.message == "该手机号获取验证码次数已达上限，请 55 分钟后再试"
    clock.advance(3299)
    assert not (await ask(codes)).ok
    clock.advance(1)
    assert (await ask(codes)).ok


async def test_ten_codes_a_day(harness: Harness, codes: SmsCodes, clock: Clock):
    for _ in range(10):
        assert (await ask(codes)).ok
        clock.advance(3600)

    refused = await ask(codes)  # 10 h after the first of the ten
    assert not refused.ok and refused.retry_after == 14 * 3600
    assert refused.message == "该手机号获取验证码次数已达上限，请 14 小时后再试"
    clock.advance(14 * 3600)
    assert (await ask(codes)).ok


async def test_regression_one_openid_cannot_text_many_phones(
        harness: Harness, codes: SmsCodes, clock: Clock):
    """One openid sent codes to two different people's phones 3 s apart, and could go on to
    any number of phones: the limits were per phone only."""
    assert (await ask(codes, phone="13900000001")).ok
    clock.advance(3)
    seconds_later = await ask(codes, phone="13900000002")  # the case as found
    assert not seconds_later.ok and seconds_later.message == "发送过于频繁，请 1 分钟后再试"
    clock.advance(60)
    assert (await ask(codes, phone="13900000002", purpose="follow")).ok  # purposes count together
    clock.advance(60)

    refused = await ask(codes, phone="13900000003")
    assert not refused.ok and refused.retry_after == DAY - 123
    assert refused.message == "您24小时内已向2个不同手机号发送验证码，已达上限，请 24 小时后再试"
    clock.advance(60)
    assert (await ask(codes, phone="13900000001")).ok  # a phone texted today is no new one
    assert (await ask(codes, phone="13900000003", subject="wechat:bob")).ok  # bob's own count
    assert await OutboxMessage.filter(kind="sms", recipient="13900000003").count() <= 1

    clock.advance(DAY - 183)  # both phones still had a code within the last 24 hours
    assert not (await ask(codes, phone="13900000004")).ok
    clock.advance(63)  # the second phone's day is over: room for one new phone
    assert (await ask(codes, phone="13900000004")).ok
    assert not (await ask(codes, phone="13900000005")).ok


async def test_ten_codes_a_day_per_requester_whatever_the_phones(
        harness: Harness, codes: SmsCodes, clock: Clock):
    for sent in range(10):  # alternating two phones, well inside each phone's own limits
        assert (await ask(codes, phone=("13900000001", "13900000002")[sent % 2])).ok
        clock.advance(1800)

    refused = await ask(codes, phone="13900000001")  # 5 h after the first of the ten
    assert not refused.ok and refused.retry_after == DAY - 5 * 3600
    assert refused.message == "您24小时内获取验证码次数已达上限，请 19 小时后再试"
    assert (await ask(codes, phone="13900000001", subject="wechat:bob")).ok  # the phone may
    clock.advance(DAY - 5 * 3600 - 1)
    assert not (await ask(codes, phone="13900000002")).ok
    clock.advance(1)
    assert (await ask(codes, phone="13900000002")).ok
    assert await Verification.filter(requester=ALICE).count() == 11  # refusals leave no row


async def test_concurrent_requests_cannot_pass_the_requester_limits_together(
        harness: Harness, codes: SmsCodes, clock: Clock):
    answers = await asyncio.gather(*(ask(codes, phone=f"1390000000{n}") for n in range(6)))
    assert sum(answer.ok for answer in answers) == 1  # one code a minute
    clock.advance(60)
    # The other five: the first phone again a minute later would be no new phone (one run in
    # six, whichever request won, the third phone below then passed).
    others = [n for n, answer in enumerate(answers) if not answer.ok]
    answers = await asyncio.gather(*(ask(codes, phone=f"1390000000{n}") for n in others))
    assert sum(answer.ok for answer in answers) == 1  # and two distinct phones a day
    clock.advance(60)
    assert not (await ask(codes, phone="13900000009")).ok  # a third phone
    assert await Verification.filter(requester=ALICE).count() == 2


@pytest.mark.parametrize("limits", [{"per_user_codes_per_day": 3, "per_user_phones_per_day": 1}])
async def test_the_requester_limits_come_from_config(harness: Harness, clock: Clock,
                                                     limits: dict):
    config = dataclasses.replace(harness.settings.sms, **limits)
    codes = SmsCodes(harness.services.redis, config, clock=clock)
    assert (await ask(codes)).ok
    refused = await ask(codes, phone="13900000001")
    assert refused.message == "您24小时内已向1个不同手机号发送验证码，已达上限，请 24 小时后再试"
    for _ in range(2):
        clock.advance(60)
        assert (await ask(codes)).ok
    clock.advance(60)
    assert (await ask(codes)).message.startswith("您24小时内获取验证码次数已达上限")


async def test_code_expires_after_five_minutes(harness: Harness, codes: SmsCodes, clock: Clock):
    late, in_time = await ask(codes), await ask(codes, phone="13900001111", subject="wechat:bob")
    late_code, in_time_code = await code_of(late.out_id), await code_of(in_time.out_id)

    clock.advance(299)
    assert (await verify(codes, in_time_code, "13900001111", "wechat:bob")).ok
    clock.advance(1)
    check = await verify(codes, late_code)
    assert check.outcome is CheckOutcome.EXPIRED and check.message == "验证码已失效，请重新获取"
    assert (await Verification.get(reference=late.out_id)).outcome == Outcome.EXPIRED


async def test_five_wrong_codes_void_the_code(harness: Harness, codes: SmsCodes):
    asked = await ask(codes)
    code = await code_of(asked.out_id)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    for remaining in (4, 3, 2, 1):
        check = await verify(codes, wrong)
        assert check.outcome is CheckOutcome.WRONG and check.remaining == remaining
        assert check.message == f"验证码错误，还可尝试 {remaining} 次"
    check = await verify(codes, wrong)
    assert check.outcome is CheckOutcome.VOID
    assert check.message == "验证码错误次数过多，已失效，请重新获取"

    late_right = await verify(codes, code)
    assert late_right.outcome is CheckOutcome.EXPIRED
    row = await Verification.get(reference=asked.out_id)
    assert row.outcome == Outcome.FAILED and row.settled_at is not None


async def test_a_new_code_supersedes_the_old(harness: Harness, codes: SmsCodes, clock: Clock):
    first = await ask(codes)
    first_code = await code_of(first.out_id)
    clock.advance(60)
    second = await ask(codes)
    second_code = await code_of(second.out_id)

    assert (await Verification.get(reference=first.out_id)).outcome == Outcome.EXPIRED
    if first_code != second_code:
        assert not (await verify(codes, first_code)).ok
    assert (await verify(codes, second_code)).ok


async def test_expiry_job_drops_an_unused_code_and_settles_its_row(
        harness: Harness, codes: SmsCodes):
    asked = await ask(codes)
    code = await code_of(asked.out_id)
    # What the deferred job does when the code's lifetime is over, run now.
    await harness.services.redis.enqueue_job("expire_sms_code", "register", ALICE, asked.out_id)
    for _ in range(200):
        row = await Verification.get(reference=asked.out_id)
        if row.outcome != Outcome.PENDING:
            break
        await asyncio.sleep(0.025)
    assert row.outcome == Outcome.EXPIRED
    assert not (await verify(codes, code)).ok


async def test_undeliverable_sms_voids_its_code(harness: Harness, clock: Clock):
    # A template the sender does not know: a refusal that no retry can fix.
    config = dataclasses.replace(harness.settings.sms, template_code="SMS_UNKNOWN")
    codes = SmsCodes(harness.services.redis, config, clock=clock)
    asked = await ask(codes)
    for _ in range(200):
        row = await Verification.get(reference=asked.out_id)
        if row.outcome != Outcome.PENDING:
            break
        await asyncio.sleep(0.025)
    assert row.outcome == Outcome.FAILED and row.detail == "not sent: isv.SMS_TEMPLATE_ILLEGAL"
    assert not await harness.services.redis.exists(f"sms:code:register:{ALICE}")
    assert not await OutboxMessage.filter(kind="sms").exists()


async def test_logs_show_no_phone_number_or_code(harness: Harness, codes: SmsCodes,
                                                 caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO)
    code = await code_of((await ask(codes)).out_id)
    assert (await verify(codes, code)).ok
    assert "138****5678" in caplog.text
    assert PHONE not in caplog.text and code not in caplog.text


def test_aliyun_provider_needs_a_pepper():
    with pytest.raises(ConfigError, match=r"sms\.code_pepper"):
        load_settings({"BOT__SMS__PROVIDER": "aliyun", "BOT__SMS__ACCESS_KEY_ID": "id",
                       "BOT__SMS__ACCESS_KEY_SECRET": "secret", "BOT__SMS__SIGN_NAME": "交管",
                       "BOT__SMS__TEMPLATE_CODE": "SMS_1"})
