"""刷脸认证, a sub-journey: check that the person in front of the phone is who they say.

A journey ``Call``s it with the person (name, ID number) and a purpose; it starts a check
with the face service (bot.face_checks), shows the certify link and ``Await``s the
face.settled event, which resumes it when the provider's answer is recorded. A message typed
while waiting asks the provider at once (the user may be back before any event). A check
nobody finished in time is offered again rather than restarted unasked, so a user who walked
away is not sent link after link. It returns a ``FaceCheckResult``: passed, failed or
unavailable (no check could start: the provider, or the per-ID limit on identity checks).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from tortoise.timezone import localtime

from bot.engine import Await, Choice, Context, Flow, Return, State, Stay, Transition, exits
from bot.events import Event
from bot.identity_attempts import attempts_notice
from bot.integrations.face import FaceUnavailable
from bot.messages import Link, Reply
from models.verification import Outcome as CheckOutcome
from models.verification import Verification

log = logging.getLogger(__name__)
NAME = "face_check"
WAITING, EXPIRED = "waiting", "expired"
UNAVAILABLE = "刷脸认证服务暂时不可用，请稍后再试。"
NOT_YET = "尚未收到刷脸认证结果。如已完成认证，请稍候；如未完成，请点击链接进行认证。"


class FaceCheck(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class FaceCheckResult:
    """What the caller gets back; ``message`` says why when no check could start."""

    status: FaceCheck
    message: str = ""


@dataclass
class FaceCheckData:
    name: str = ""
    id_number: str = ""
    purpose: str = ""
    # Each check started counts against the per-ID-number limit (bot.identity_attempts).
    counted: bool = False
    reference: str = ""  # the check being waited on (Verification.reference)
    link: str = ""


def call_data(*, name: str, id_number: str, purpose: str, counted: bool) -> dict[str, object]:
    """The seed of a ``Call`` to this journey."""
    return {"name": name, "id_number": id_number, "purpose": purpose, "counted": counted}


@exits(WAITING)
async def _start(ctx: Context, _: object = None) -> Transition:
    """Start a check and wait for it; a check that cannot start ends the journey."""
    data: FaceCheckData = ctx.data
    attempts = ctx.deps.identity_attempts
    token = ""
    if data.counted:
        attempt = await attempts.start(data.id_number)
        if not attempt.allowed:
            notice = attempts_notice(localtime(attempt.refused_until), localtime(),
                                     attempts.limit)
            return Return(FaceCheckResult(FaceCheck.UNAVAILABLE, notice))
        token = attempt.token
    try:
        data.link = await ctx.deps.face.begin(requester=ctx.conversation, purpose=data.purpose,
                                              name=data.name, id_number=data.id_number)
    except FaceUnavailable as exc:
        log.warning("face verification unavailable: %s", exc)  # the user reads why; ops too
        if token:
            await attempts.cancel(data.id_number, token)  # a check that never started
        return Return(FaceCheckResult(FaceCheck.UNAVAILABLE, UNAVAILABLE))
    check = await ctx.deps.face.latest(ctx.conversation, data.purpose)
    data.reference = check.reference
    return Await(check.reference, WAITING)


async def _waiting_prompt(ctx: Context) -> Reply:
    return Reply("请点击下方链接，由本人完成刷脸认证。认证完成后将自动通知您结果。",
                 link=Link("点击进行刷脸认证", ctx.data.link))


@exits(WAITING, EXPIRED)
async def _settled(ctx: Context, news: Event | str) -> Transition:
    """The face.settled event (its outcome already recorded), or a typed message: a user who
    types may have finished on the phone with no result in yet, so ask the provider."""
    if isinstance(news, Event):
        outcome = CheckOutcome(news.data["outcome"])
    else:
        check = await Verification.get(reference=ctx.data.reference)
        outcome = check.outcome
        if outcome is CheckOutcome.PENDING:
            outcome = await ctx.deps.face.settle(check.reference) or outcome
    if outcome is CheckOutcome.PASSED:
        return Return(FaceCheckResult(FaceCheck.PASSED))
    if outcome is CheckOutcome.FAILED:
        return Return(FaceCheckResult(FaceCheck.FAILED))
    if outcome is CheckOutcome.EXPIRED:
        return EXPIRED
    return Stay(NOT_YET)


FLOW = Flow(
    name=NAME,
    title="刷脸认证",
    start=WAITING,
    in_menu=False,
    data=FaceCheckData,
    on_start=_start,
    states={
        WAITING: State(prompt=_waiting_prompt, then=_settled),
        EXPIRED: State(prompt="本次刷脸认证已超时。", choices=(Choice("重新刷脸认证"),),
                       then=_start),
    },
)
