"""One-time SMS verification codes.

Codes are 6 digits, kept only as an HMAC in Redis for ``code_ttl`` seconds, and die after
``max_attempts`` wrong tries. A code proves only the phone it was sent to: the HMAC covers the
phone, so a journey that moved on to another phone cannot pass with the first one's code.
Sends per phone number are limited over sliding windows of a minute, an hour and 24 hours,
and sends per requester (codes, and distinct phones they went to) over 24 hours; all counted
only when a send is accepted. The message itself goes out as the ``send_sms`` job, never
inside a chat reply, and every code leaves an audit row (models.verification) that is settled
when the code is used, voided, superseded or expires.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from arq.connections import ArqRedis

from bot.config import SmsConfig
from bot.integrations.sms import wording
from bot.integrations.sms.adapters import OutgoingSms, SmsError
from bot.masking import mask_phone
from models.verification import Method, Outcome, Verification

log = logging.getLogger(__name__)

Clock = Callable[[], float]

# Sliding windows, in seconds, for the per-minute, per-hour and per-day limits.
MINUTE, HOUR, DAY = 60, wording.HOUR, 86400

# Count sends in each of the phone's windows and the requester's codes and distinct phones in
# a day; if one is full, answer how long until it is not (the longest wait, and its name).
# Otherwise record this send everywhere and replace the subject's code, answering the out_id it
# superseded. All in one script, so two requests cannot both pass a limit with one place left.
# KEYS: sends (per phone), code hash (per purpose + subject), sends (per subject), phones (per
# subject: phone digest -> time of its last send).
# ARGV: now, out_id, code hash, expires_at, key ttl, phone digest, day, subject's codes per
# day, subject's phones per day, subject's codes per minute, then window/limit/name triples
# for the phone.
_REQUEST = """
local now, day = tonumber(ARGV[1]), tonumber(ARGV[7])
local wait, blocked, longest = 0, '', day
local function check(key, window, limit, name)
  local recent = redis.call('ZRANGEBYSCORE', key, '(' .. (now - window), '+inf', 'WITHSCORES')
  local count = #recent / 2
  if count >= limit then
    local frees_at = tonumber(recent[2 * (count - limit + 1)]) + window
    if frees_at - now > wait then wait, blocked = frees_at - now, name end
  end
end
for i = 11, #ARGV, 3 do
  longest = math.max(longest, tonumber(ARGV[i]))
  check(KEYS[1], tonumber(ARGV[i]), tonumber(ARGV[i + 1]), ARGV[i + 2])
end
check(KEYS[3], day, tonumber(ARGV[8]), 'requester-codes')
check(KEYS[3], 60, tonumber(ARGV[10]), 'requester-minute')
local last = redis.call('ZSCORE', KEYS[4], ARGV[6])
if not last or tonumber(last) <= now - day then  -- a phone already texted today is no new one
  check(KEYS[4], day, tonumber(ARGV[9]), 'requester-phones')
end
if blocked ~= '' then return {0, tostring(wait), blocked} end
for key, member in pairs({[KEYS[1]] = ARGV[2], [KEYS[3]] = ARGV[2], [KEYS[4]] = ARGV[6]}) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - longest)
  redis.call('ZADD', key, now, member)
  redis.call('EXPIRE', key, longest)
end
local superseded = redis.call('HGET', KEYS[2], 'out_id') or ''
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'hash', ARGV[3], 'expires_at', ARGV[4], 'attempts', 0,
           'out_id', ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return {1, superseded, ''}
"""

# Check a candidate hash against the stored one; a match, expiry or the last wrong try deletes
# the code, so it can be used or voided only once. KEYS: code hash. ARGV: candidate, now, max.
_VERIFY = """
local stored = redis.call('HMGET', KEYS[1], 'hash', 'expires_at', 'out_id')
if not stored[1] then return {'missing', '', 0} end
if tonumber(stored[2]) <= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return {'expired', stored[3], 0}
end
if stored[1] == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return {'passed', stored[3], 0}
end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
local remaining = tonumber(ARGV[3]) - attempts
if remaining <= 0 then
  redis.call('DEL', KEYS[1])
  return {'void', stored[3], 0}
end
return {'wrong', stored[3], remaining}
"""

# Delete the subject's code only if it is still the one sent as out_id. KEYS: code hash.
_DISCARD = """
if redis.call('HGET', KEYS[1], 'out_id') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class CodeRequest:
    """The answer to a code request; ``message`` is ready to show the user."""

    ok: bool
    message: str
    retry_after: int = 0  # seconds until a refused request could succeed
    out_id: str = ""  # the SMS OutId and Verification.reference when ok


class CheckOutcome(StrEnum):
    PASSED = "passed"
    WRONG = "wrong"  # tries remain
    EXPIRED = "expired"  # expired, already used, superseded, undeliverable or never requested
    VOID = "void"  # the last allowed wrong try


@dataclass(frozen=True)
class CodeCheck:
    """The answer to an entered code; ``message`` is ready to show the user."""

    outcome: CheckOutcome
    message: str
    remaining: int = 0  # tries left after a wrong code

    @property
    def ok(self) -> bool:
        return self.outcome is CheckOutcome.PASSED


class SmsCodes:
    """One-time codes per (purpose, subject), e.g. ("register", "wechat:<openid>").

    A requester (``subject``) gets at most ``per_user_codes_per_day`` codes, sent to at most
    ``per_user_phones_per_day`` distinct phones, in any 24 hours, and no more codes a minute
    than one phone may get (``per_minute``): one chat identity cannot text many people, nor
    two people seconds apart. A new openid starts those counts afresh, though, so what bounds an
    attacker with many openids is the per-phone limit (each phone gets at most ``per_day``
    codes whoever asks) and the per-ID-number limit on registration attempts (the phone a
    registration texts is the one on record for the ID number typed).
    """

    def __init__(self, redis: ArqRedis, config: SmsConfig, *, clock: Clock = time.time,
                 prefix: str = "sms:") -> None:
        self._redis = redis
        self._config = config
        self._clock = clock
        self._prefix = prefix
        self._limits = [(MINUTE, config.per_minute, "phone-minute"),
                        (HOUR, config.per_hour, "phone-hour"), (DAY, config.per_day, "phone-day")]
        self._request_script = redis.register_script(_REQUEST)
        self._verify_script = redis.register_script(_VERIFY)
        self._discard_script = redis.register_script(_DISCARD)

    async def request(self, *, purpose: str, subject: str, phone: str,
                      subject_id_number: str) -> CodeRequest:
        """Issue a new code and queue its SMS, unless the phone's or the requester's send
        limits are reached.

        ``subject`` asked for the code (the channel user); ``subject_id_number`` is the person
        whose identity the code proves, recorded on the audit row. A new code replaces the
        subject's previous one for the same purpose.
        """
        now, out_id = self._clock(), uuid.uuid4().hex
        code = f"{secrets.randbelow(10**6):06d}"
        ttl = self._config.code_ttl
        config, phone_digest = self._config, self._digest(phone)
        windows = [str(item) for triple in self._limits for item in triple]
        allowed, detail, blocked = await self._request_script(
            keys=[f"{self._prefix}sends:{phone_digest}", self._code_key(purpose, subject),
                  f"{self._prefix}requester-sends:{subject}",
                  f"{self._prefix}requester-phones:{subject}"],
            args=[repr(now), out_id, self._hash(purpose, subject, phone, code), repr(now + ttl),
                  ttl, phone_digest, DAY, config.per_user_codes_per_day,
                  config.per_user_phones_per_day, config.per_minute, *windows])
        if not allowed:
            wait, limit = math.ceil(float(detail)), blocked.decode()
            log.info("sms code for %s refused by the %s limit", mask_phone(phone), limit)
            return CodeRequest(False, wording.refusal(limit, wait,
                                                      config.per_user_phones_per_day),
                               retry_after=wait)
        superseded = detail.decode()
        if superseded:
            await self._settle(superseded, Outcome.EXPIRED, "superseded by a new code")
        await Verification.create(method=Method.SMS, purpose=purpose, requester=subject,
                                  subject_id_number=subject_id_number, reference=out_id)
        message = OutgoingSms(phone, self._config.code_template, {"code": code}, out_id,
                              purpose, subject)
        await self._redis.enqueue_job("send_sms", message, _job_id=f"sms:{out_id}")
        await self._redis.enqueue_job("expire_sms_code", purpose, subject, out_id,
                                      _job_id=f"sms-expiry:{out_id}", _defer_by=ttl)
        log.info("sms code %s for %s queued to %s", out_id, purpose, mask_phone(phone))
        return CodeRequest(True, wording.sent(phone, ttl), out_id=out_id)

    async def verify(self, *, purpose: str, subject: str, phone: str, code: str) -> CodeCheck:
        """Check an entered code as proof of ``phone``; a pass or the last wrong try ends the
        code for good (a code sent to another phone counts as a wrong try)."""
        result, out_id, remaining = await self._verify_script(
            keys=[self._code_key(purpose, subject)],
            args=[self._hash(purpose, subject, phone, code.strip()), repr(self._clock()),
                  self._config.max_attempts])
        outcome, out_id = result.decode(), out_id.decode()
        if outcome == "passed":
            await self._settle(out_id, Outcome.PASSED, "")
            return CodeCheck(CheckOutcome.PASSED, wording.PASSED)
        if outcome == "wrong":
            return CodeCheck(CheckOutcome.WRONG, wording.wrong(int(remaining)),
                             remaining=int(remaining))
        if outcome == "void":
            await self._settle(out_id, Outcome.FAILED, "too many wrong codes")
            return CodeCheck(CheckOutcome.VOID, wording.VOID)
        if outcome == "expired":
            await self._settle(out_id, Outcome.EXPIRED, "code expired")
        return CodeCheck(CheckOutcome.EXPIRED, wording.EXPIRED)

    async def expire(self, purpose: str, subject: str, out_id: str) -> None:
        """At the end of a code's life: drop it if unused and settle its audit row."""
        await self._discard_script(keys=[self._code_key(purpose, subject)], args=[out_id])
        await self._settle(out_id, Outcome.EXPIRED, "code expired")

    async def undeliverable(self, message: OutgoingSms, error: SmsError) -> None:
        """The SMS could not be sent: its code is void and the audit row says why."""
        log.warning("sms %s to %s not delivered: %s", message.out_id, mask_phone(message.phone),
                    error.code)
        await self._discard_script(keys=[self._code_key(message.purpose, message.subject)],
                                   args=[message.out_id])
        await self._settle(message.out_id, Outcome.FAILED, f"not sent: {error.code}"[:128])

    async def _settle(self, out_id: str, outcome: Outcome, detail: str) -> None:
        settled_at = datetime.fromtimestamp(self._clock(), UTC)
        await Verification.filter(reference=out_id, outcome=Outcome.PENDING).update(
            outcome=outcome, detail=detail, settled_at=settled_at)

    def _hash(self, purpose: str, subject: str, phone: str, code: str) -> str:
        """HMAC-SHA256 with the pepper, bound to purpose, subject and the phone the code went
        to: never the code itself."""
        message = f"{purpose}\n{subject}\n{phone}\n{code}".encode()
        return hmac.new(self._config.pepper, message, hashlib.sha256).hexdigest()

    def _code_key(self, purpose: str, subject: str) -> str:
        return f"{self._prefix}code:{purpose}:{subject}"

    def _digest(self, phone: str) -> str:
        """What stands for a phone in Redis, so Redis holds no phone numbers."""
        return hmac.new(self._config.pepper, phone.encode(), hashlib.sha256).hexdigest()[:32]
