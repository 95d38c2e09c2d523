"""Face checks for journeys: start one, settle it from the provider's word, keep the audit row.

A check is settled only by asking the provider (``FaceVerifier.query``): the browser coming
back to our return URL and the polling job are just two moments to ask. Settling is a
conditional update of a pending row, so the return page and the job may race and exactly
one of them records the outcome and wakes the user's journey.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from arq.connections import ArqRedis
from tortoise import timezone

from bot.config import FaceConfig
from bot.integrations.face import FaceResult, FaceUnavailable, FaceVerifier
from models.verification import Method, Outcome, Verification

log = logging.getLogger(__name__)
Wake = Callable[[str, str], Awaitable[None]]


class FaceChecks:
    def __init__(self, verifier: FaceVerifier, redis: ArqRedis, config: FaceConfig,
                 base_url: str, wake: Wake) -> None:
        self.verifier = verifier
        self._redis = redis
        self._config = config
        self._return_url = base_url + "/face/return"
        self._wake = wake

    async def begin(self, *, requester: str, purpose: str, name: str, id_number: str) -> str:
        """Start a check of this person for ``requester`` ("channel:user id"); returns the
        link to send in chat. Raises FaceUnavailable when the provider cannot start one."""
        reference = uuid.uuid4().hex  # Alipay wants a unique 32-character outer_order_no
        certify_id = await self.verifier.start(
            reference=reference, name=name, id_number=id_number,
            return_url=f"{self._return_url}?{urlencode({'ref': reference})}")
        await Verification.create(method=Method.FACE, purpose=purpose, requester=requester,
                                  subject_id_number=id_number, reference=reference,
                                  provider_id=certify_id)
        await self._poll_later(reference)
        return self.verifier.certify_url(certify_id)

    async def latest(self, requester: str, purpose: str) -> Verification | None:
        """The requester's most recent face check for this purpose."""
        return await (Verification.filter(method=Method.FACE, requester=requester,
                                          purpose=purpose).order_by("-id").first())

    async def settle(self, reference: str, *, wake: bool = True) -> Outcome | None:
        """Ask the provider and record a final answer; None for an unknown reference.

        ``wake=False`` when the user's own journey asks (they are waiting in it, and holding
        their turn: a wake-up would wait for that turn and come too late to matter).
        """
        check = await self._check(reference)
        if check is None:
            return None
        return await self._settle(check, attempt_over=False, wake=wake)

    async def came_back(self, reference: str, certify_id: str | None) -> Outcome | None:
        """The browser returned from the provider with our reference (and its certify id).

        The certify id, when it is this check's own, shows the attempt is over, so the
        provider's "not passed" is then a failure rather than "not yet". One that is not
        this check's gets nothing done: None, as for an unknown reference.
        """
        check = await self._check(reference)
        if check is None:
            return None
        if certify_id is not None and not hmac.compare_digest(certify_id.encode(),
                                                              check.provider_id.encode()):
            log.warning("face return for %s with a certify id that is not its own", reference)
            return None
        return await self._settle(check, attempt_over=certify_id is not None, wake=True)

    async def poll(self, reference: str) -> None:
        """The polling job's step: settle, or ask again after ``poll_interval``."""
        if await self.settle(reference) is Outcome.PENDING:
            await self._poll_later(reference)

    async def _check(self, reference: str) -> Verification | None:
        return await Verification.get_or_none(reference=reference, method=Method.FACE)

    async def _settle(self, check: Verification, *, attempt_over: bool, wake: bool) -> Outcome:
        if check.outcome is not Outcome.PENDING:
            return check.outcome
        try:
            result = await self.verifier.query(check.provider_id)
        except FaceUnavailable as exc:
            log.warning("face check %s not settled: %s", check.reference, exc)
            result = None
        outcome, detail = self._decide(check, result, attempt_over)
        if outcome is Outcome.PENDING:
            return outcome
        changed = await Verification.filter(id=check.id, outcome=Outcome.PENDING).update(
            outcome=outcome, detail=detail[:128], settled_at=timezone.now())
        if not changed:  # settled meanwhile by the return page or the job
            await check.refresh_from_db(fields=["outcome"])
            return check.outcome
        log.info("face check %s settled: %s", check.reference, outcome.value)
        if not wake:
            return outcome
        channel, user_id = check.requester.split(":", 1)
        try:
            await self._wake(channel, user_id)
        except Exception:  # the outcome is recorded; the user's next message continues
            log.exception("could not push the face result of %s", check.reference)
        return outcome

    def _decide(self, check: Verification, result: FaceResult | None,
                attempt_over: bool) -> tuple[Outcome, str]:
        """``result`` is None when the provider could not be asked."""
        if result is not None and result.passed:
            return Outcome.PASSED, ""
        if result is not None and result.passed is False:
            return Outcome.FAILED, result.reason
        if result is not None and attempt_over:
            return Outcome.FAILED, "not passed when the user came back"
        deadline = check.created_at + dt.timedelta(seconds=self._config.timeout)
        if timezone.now() >= deadline:
            return Outcome.EXPIRED, "no result before the time limit"
        return Outcome.PENDING, ""

    async def _poll_later(self, reference: str) -> None:
        await self._redis.enqueue_job("poll_face", reference,
                                      _defer_by=self._config.poll_interval)
