"""Face checks for journeys: start one, settle it from the provider's word, keep the audit row.

A check is settled only by asking the provider (``FaceVerifier.query``): the browser coming
back to our return URL and the polling job are just two moments to ask, and a job at the
deadline expires a check nobody finished. Those three publish Event("face.settled"); its
handler, in the requester's turn, records the outcome with a conditional update of the
pending row and only then hands the event to the journey waiting on it (or leaves a pending
item). The user's own journey, asking in its turn, records the outcome directly. Whichever
comes first moves the row; the others find it settled and do nothing.
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
from bot.conversations import Conversations
from bot.events import Event, EventBus, on
from bot.integrations.face import FaceResult, FaceUnavailable, FaceVerifier
from bot.messages import Conversation, Reply
from bot.pending import Offer
from models.verification import Method, Outcome, Verification

log = logging.getLogger(__name__)
SETTLED = "face.settled"

# Whom else a check's outcome concerns, beside the requester (who is not always the person
# checked: a vehicle owner's check for someone's processing), and what to tell them. Asked
# before the requester's turn, while the records still name the check (the requester's
# journey may move on from it); told only by the delivery that recorded the outcome.
AlsoTell = Callable[[Verification, Outcome], Awaitable[list[tuple[Conversation, Reply]]]]
_ALSO_TELL: dict[str, AlsoTell] = {}


def also_tell(purpose: str) -> Callable[[AlsoTell], AlsoTell]:
    """Register the news of checks made for ``purpose`` for people other than the requester."""
    def register(news: AlsoTell) -> AlsoTell:
        if _ALSO_TELL.get(purpose, news) is not news:
            raise ValueError(f"face checks for {purpose} have their news already")
        _ALSO_TELL[purpose] = news
        return news

    return register


def new_reference() -> str:
    """A check's reference: Alipay wants a unique 32-character outer_order_no."""
    return uuid.uuid4().hex


class FaceChecks:
    def __init__(self, verifier: FaceVerifier, redis: ArqRedis, config: FaceConfig,
                 base_url: str, events: EventBus) -> None:
        self.verifier = verifier
        self._redis = redis
        self._config = config
        self._return_url = base_url + "/face/return"
        self._events = events

    async def begin(self, *, requester: str, purpose: str, name: str, id_number: str,
                    reference: str = "") -> str:
        """Start a check of this person for ``requester`` (a Conversation.key), for the
        journey named ``purpose``; returns the link to send in chat. Raises FaceUnavailable
        when the provider cannot start one. ``reference``: one chosen beforehand (from
        ``new_reference``), so a journey can wait on a check someone else starts later."""
        reference = reference or new_reference()
        certify_id = await self.verifier.start(
            reference=reference, name=name, id_number=id_number,
            return_url=f"{self._return_url}?{urlencode({'ref': reference})}")
        await Verification.create(method=Method.FACE, purpose=purpose, requester=requester,
                                  subject_id_number=id_number, reference=reference,
                                  provider_id=certify_id)
        await self._poll_later(reference)
        await self._redis.enqueue_job("expire_face", reference,
                                      _defer_by=self._config.timeout + 1)
        return self.verifier.certify_url(certify_id)

    async def latest(self, requester: str, purpose: str) -> Verification | None:
        """The requester's most recent face check for this purpose."""
        return await (Verification.filter(method=Method.FACE, requester=requester,
                                          purpose=purpose).order_by("-id").first())

    async def settle(self, reference: str) -> Outcome | None:
        """Ask the provider and record a final answer now; None for an unknown reference.

        For the user's own journey, which asks in the user's turn and goes on with the
        answer itself: nothing is published.
        """
        check = await self._check(reference)
        if check is None:
            return None
        return await self._settle(check, attempt_over=False, publish=False)

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
        return await self._settle(check, attempt_over=certify_id is not None, publish=True)

    async def requester_of(self, reference: str) -> Conversation | None:
        """Whose check this is (the return page names the app to go back to)."""
        check = await self._check(reference)
        return Conversation.parse(check.requester) if check else None

    async def poll(self, reference: str) -> None:
        """The polling job's step: settle, or ask again after ``poll_interval``."""
        check = await self._check(reference)
        if check is not None and await self._settle(check, attempt_over=False,
                                                    publish=True) is Outcome.PENDING:
            await self._poll_later(reference)

    async def expire(self, reference: str) -> None:
        """The deadline's job: a check still pending is abandoned, whatever the session."""
        check = await self._check(reference)
        if check is not None and check.outcome is Outcome.PENDING:
            await self._events.publish(Event(SETTLED, reference, {
                "outcome": Outcome.EXPIRED.value, "detail": "no result before the time limit"}))

    async def _check(self, reference: str) -> Verification | None:
        return await Verification.get_or_none(reference=reference, method=Method.FACE)

    async def _settle(self, check: Verification, *, attempt_over: bool,
                      publish: bool) -> Outcome:
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
        if publish:
            await self._events.publish(Event(SETTLED, check.reference,
                                             {"outcome": outcome.value, "detail": detail}))
            return outcome
        if not await _record(check.id, outcome, detail):  # settled meanwhile
            await check.refresh_from_db(fields=["outcome"])
            return check.outcome
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


async def _record(check_id: int, outcome: Outcome, detail: str) -> bool:
    """Move a pending check to its outcome; False if it was settled already."""
    changed = await Verification.filter(id=check_id, outcome=Outcome.PENDING).update(
        outcome=outcome, detail=detail[:128], settled_at=timezone.now())
    if changed:
        log.info("face check %d settled: %s", check_id, outcome.value)
    return bool(changed)


@on(SETTLED)
async def face_settled(event: Event, conversations: Conversations) -> None:
    """Record the outcome in the requester's turn, then resume the journey waiting on the
    check; a requester busy elsewhere finds it under 待处理 (it opens the journey named by
    the check's purpose, with the check's reference)."""
    check = await Verification.get_or_none(reference=event.reference, method=Method.FACE)
    if check is None:
        log.warning("face.settled for an unknown check")
        return
    outcome = Outcome(event.data["outcome"])

    async def claim() -> bool:
        return await _record(check.id, outcome, event.data.get("detail", ""))

    news = _ALSO_TELL.get(check.purpose)
    others = [] if news is None or check.outcome is not Outcome.PENDING else await news(
        check, outcome)
    offer = Offer(SETTLED, event.reference, f"刷脸认证结果：{outcome.label}", check.purpose,
                  {"face_reference": event.reference})
    if await conversations.resume(Conversation.parse(check.requester), event, offer=offer,
                                  claim=claim):
        for conversation, reply in others:
            await conversations.tell(conversation, reply)
