"""The processing domain (bot/processing.py) on the running app: real Redis, SQLite and
PostgreSQL, the worker. A violation is processed once and points are added once whoever
tries at the same time; the licence never reaches 12 points by two decisions at once; the
notice is made after its delay (an injected clock) and the processor told, once."""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from datetime import date, timedelta

import pytest
from tortoise import timezone

from bot.messages import Conversation
from bot.processing import FLOW, Processing, ProcessingRefused
from bot.rules import Relation
from models.enums import ViolationState
from models.follow import Follow
from models.licence import DriverLicence
from models.outbox import OutboxMessage
from models.processing import CaseState, ProcessingCase, ProcessingNotice
from models.user import ChannelIdentity, User, VerifiedBy
from models.verification import Method, Outcome, Verification
from models.violation import Violation
from tests.support.follows import follow_directly
from tests.support.records import id_number, make_licence, make_vehicle, make_violation

_people = itertools.count(1)


class Clock:
    """An injected clock the test moves."""

    def __init__(self) -> None:
        self.now = timezone.now()

    def __call__(self):
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def processing(harness, clock: Clock) -> Processing:
    """The app's processing domain with the test's clock, as in production (notices within
    24 hours)."""
    services = harness.services
    return Processing(services.settings.processing, redis=services.redis,
                      events=services.events, face=services.face,
                      pending=services.pending, push=services.push_later,
                      base_url=services.settings.server.base_url, sandbox=False, clock=clock,
                      rng=random.Random(7))


async def person(points: int = 0) -> tuple[User, Conversation]:
    """A registered user in WeChat with a C1 licence holding ``points``."""
    n = next(_people)
    user = await User.create(id_number=id_number(900 + n, date(1991, 1, 1)),
                             real_name="赵小刚", phone=f"137{n:08d}",
                             verified_by=VerifiedBy.FACE)
    await ChannelIdentity.create(channel="wechat", external_id=f"openid-p{n}", user=user)
    await make_licence(number=user.id_number, holder_name=user.real_name, points=points)
    return user, Conversation("wechat", f"openid-p{n}")


async def ready(processing: Processing, user: User, conversation: Conversation,
                violation: Violation) -> ProcessingCase:
    """A case of the user's whose own face check passed (as the face_check journey leaves
    it)."""
    case = await processing.open_case(user, conversation, violation.id)
    await Verification.create(method=Method.FACE, purpose=FLOW, requester=conversation.key,
                              subject_id_number=user.id_number, reference=uuid.uuid4().hex,
                              outcome=Outcome.PASSED)
    return case


async def outcomes(*attempts) -> tuple[list, list[str]]:
    results = await asyncio.gather(*attempts, return_exceptions=True)
    refused = [str(r) for r in results if isinstance(r, ProcessingRefused)]
    assert len(refused) + len([r for r in results if not isinstance(r, Exception)]) == len(
        results), results  # nothing else went wrong
    return [r for r in results if not isinstance(r, Exception)], refused


async def test_two_people_processing_one_violation_at_once_decide_it_once(processing,
                                                                           harness):
    owner, owner_chat = await person(points=2)
    car = await make_vehicle(owner_name=owner.real_name, owner_id_number=owner.id_number)
    violation = await make_violation(car, points=0, code="1039")
    follower, follower_chat = await person()
    await follow_directly(harness, follower, car)
    cases = [await ready(processing, owner, owner_chat, violation),
             await ready(processing, follower, follower_chat, violation)]

    decided, refused = await outcomes(processing.process(owner, cases[0].id),
                                      processing.process(follower, cases[1].id))

    # read inside the transaction after the other's commit, or the conditional update's
    assert len(decided) == 1 and len(refused) == 1 and refused[0].startswith("该违法已处理")
    await violation.refresh_from_db()
    assert violation.state is ViolationState.PROCESSED_UNPAID
    assert violation.decision_number == decided[0].decision_number
    assert await ProcessingNotice.filter(violation_id=violation.id).count() == 1
    states = sorted([(await ProcessingCase.get(id=c.id)).state.value for c in cases])
    assert states == sorted([CaseState.PROCESSED.value, CaseState.AWAITING_PROCESSOR.value])


async def test_two_messages_of_one_processor_add_the_points_once(processing):
    user, chat = await person(points=3)
    car = await make_vehicle(owner_name=user.real_name, owner_id_number=user.id_number)
    violation = await make_violation(car, points=3)
    case = await ready(processing, user, chat, violation)

    decided, refused = await outcomes(*(processing.process(user, case.id) for _ in range(4)))

    assert len(decided) == 1 and len(refused) == 3
    assert (await DriverLicence.get(number=user.id_number)).points == 6


async def test_two_violations_at_once_never_bring_the_licence_to_12_points(processing):
    user, chat = await person(points=6)
    car = await make_vehicle(owner_name=user.real_name, owner_id_number=user.id_number)
    first, second = (await make_violation(car, points=3), await make_violation(car, points=3))
    cases = [await ready(processing, user, chat, first),
             await ready(processing, user, chat, second)]  # each judged alone: 6 + 3 < 12

    decided, refused = await outcomes(*(processing.process(user, c.id) for c in cases))

    assert len(decided) == 1
    assert len(refused) == 1 and refused[0].startswith("处理后累积记分将达到12分")
    assert (await DriverLicence.get(number=user.id_number)).points == 9
    states = {(await Violation.get(id=v.id)).state for v in (first, second)}
    assert states == {ViolationState.PROCESSED_UNPAID, ViolationState.UNPROCESSED}


async def test_processing_needs_the_processors_own_face(processing):
    user, chat = await person()
    car = await make_vehicle(owner_name=user.real_name, owner_id_number=user.id_number)
    violation = await make_violation(car)
    case = await processing.open_case(user, chat, violation.id)
    with pytest.raises(ProcessingRefused, match="尚未通过本人刷脸认证"):
        await processing.process(user, case.id)


async def test_the_notice_is_made_after_its_delay_and_the_processor_told_once(processing,
                                                                            clock, harness):
    user, chat = await person(points=1)
    car = await make_vehicle(owner_name=user.real_name, owner_id_number=user.id_number)
    violation = await make_violation(car, points=2, code="1240")
    decision = await processing.process(user, (await ready(processing, user, chat,
                                                            violation)).id)
    notice = await ProcessingNotice.get(violation_id=violation.id)
    delay = notice.due_at - clock.now
    assert timedelta(0) <= delay <= timedelta(hours=24)

    clock.now += delay - timedelta(seconds=1)
    assert not await processing.make_notice(notice.id)  # not yet due
    assert await processing.make_due_notices() == 0
    clock.now += timedelta(seconds=1)
    assert await processing.make_due_notices() == 1
    assert not await processing.make_notice(notice.id)  # made once

    await notice.refresh_from_db()
    assert notice.ready_at is not None and f"编号：{decision.decision_number}" in notice.text
    assert "被处罚人：赵**" in notice.text and "罚款 200 元，记 2 分" in notice.text
    told = await _pushed(chat.user_id)
    assert f"处罚决定书编号 {decision.decision_number}" in told
    assert f"请于 {decision.pay_by:%Y年%m月%d日} 前缴纳罚款 200 元" in told
    assert decision.pay_by == decision.decided_on + timedelta(days=15)


async def _pushed(openid: str) -> str:
    for _ in range(200):
        message = await OutboxMessage.filter(kind="wechat.text", recipient=openid).first()
        if message is not None:
            return message.body["text"]
        await asyncio.sleep(0.05)
    raise AssertionError("nothing pushed")


async def test_under_the_12123_profile_point_violations_before_the_follow_are_not_yours(
        harness, clock):
    services = harness.services
    processing = Processing(services.settings.processing, redis=services.redis,
                            events=services.events, face=services.face,
                            pending=services.pending, push=services.push_later,
                            base_url="http://127.0.0.1",
                            sandbox=False, points_from_binding=True, clock=clock)
    follower, _ = await person()
    car = await make_vehicle()
    await follow_directly(harness, follower, car)
    started = (await Follow.get(follower_id=follower.id)).started_at
    before = await make_violation(car, points=3, occurred_at=started - timedelta(days=1))
    parking = await make_violation(car, points=0, code="1039",
                                   occurred_at=started - timedelta(days=1))
    after = await make_violation(car, points=3, occurred_at=started + timedelta(minutes=1))

    assert {v.id for v in await processing.mine(follower)} == {parking.id, after.id}
    judged = await processing.judge(follower, before.id)
    assert judged.relation is Relation.OTHER and not judged.eligibility.allowed
    assert (await processing.judge(follower, after.id)).relation is Relation.FOLLOWED
    assert {v.id for v in await services.processing.mine(follower)} == {
        before.id, parking.id, after.id}  # the Chongqing profile: all of them
