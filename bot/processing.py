"""Processing violations online: who may, the owner's face, the decision, the notice.

Eligibility is ``bot.rules.eligibility`` over facts read here (the violation, the
processor's licence, how they stand to the vehicle). A ``ProcessingCase`` carries one
attempt: a point violation of someone else's (followed) vehicle first waits for the owner's
face verification, asked in chat (``processing.requested``, a pending action) of an owner
who is a user, else by an SMS with a link to the face page. The owner's check has a
reference chosen when the case opens (``owner_check``), so the processor's journey waits on
it from the start: the face.settled event of that check reaches it directly, and the
owner's refusal and the case's expiry are delivered under the same reference
(``processing.owner``, ``processing.expired``). A check nobody finished is replaced by a new
reference, which the waiting journey takes up.

``process`` is one transaction: the case moves from awaiting the processor, the violation
from unprocessed (a conditional update: processed once whoever tries), the licence's points
grow only while they stay below the limit (a conditional update again), and the notice is
stored, due after a random delay; a job makes it and tells the processor.
"""

from __future__ import annotations

import hashlib
import logging
import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from arq.connections import ArqRedis
from tortoise import timezone
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from bot.config import ProcessingConfig
from bot.conversations import Conversations
from bot.events import Event, EventBus, on
from bot.face_checks import FaceChecks, also_tell, new_reference
from bot.follows import conversations_of
from bot.integrations.sms import OutgoingSms, SmsError
from bot.masking import mask_name, mask_plate
from bot.messages import Conversation, Reply
from bot.pending import WORD as PENDING_WORD
from bot.pending import Offer, PendingItems
from bot.rules import (
    Eligibility,
    LicenceFacts,
    Refusal,
    Relation,
    Verifications,
    ViolationFacts,
    eligibility,
    payment_due,
)
from models.enums import LicenceStatus, ViolationState
from models.follow import Follow
from models.licence import DriverLicence
from models.processing import (
    OPEN_STATES,
    CaseState,
    OwnerAsked,
    ProcessingCase,
    ProcessingNotice,
)
from models.user import User
from models.vehicle import Vehicle
from models.verification import Method, Outcome, Verification
from models.violation import Violation

log = logging.getLogger(__name__)

REQUESTED = "processing.requested"  # a registered owner is asked in chat
OWNER = "processing.owner"  # the owner refused: the processor is told
EXPIRED = "processing.expired"  # the owner's deadline (the event deferred to it)
FLOW = "process_violation"  # the processor's journey (also the purpose of its face checks)
OWNER_FLOW = "process_owner"  # the registered owner's pending action
SMS_PURPOSE = "process_owner"
NOTICE_JOB = "make_processing_notice"
BUSY = "该违法正在由他人申请处理，请稍后再试"

Clock = Callable[[], datetime]
Push = Callable[[Conversation, Reply], Awaitable[None]]


class ProcessingRefused(Exception):
    """Processing cannot go on; ``str(exc)`` is what the user reads."""


@dataclass(frozen=True)
class Judged:
    """A violation as this person may (or may not) process it."""

    violation: Violation
    vehicle: Vehicle | None
    relation: Relation
    licence: LicenceFacts | None
    eligibility: Eligibility

    @property
    def owner_first(self) -> bool:
        return self.eligibility.verifications is Verifications.OWNER_THEN_PROCESSOR


@dataclass(frozen=True)
class Decision:
    """What processing decided, for the processor to read."""

    decision_number: str
    decided_on: date
    pay_by: date
    fine: Decimal
    points_now: int | None  # the processor's points after it (None: no licence on record)


@dataclass(frozen=True)
class OwnerView:
    """An owner's face page's view of a case, personal data masked."""

    case: ProcessingCase
    waiting: bool  # still waiting for the owner; else ``words`` say what became of it
    words: str
    expired: bool
    processor: str
    plate: str
    what: str  # the violation: day, description, fine and points
    until: datetime


def facts_of(violation: Violation) -> ViolationFacts:
    return ViolationFacts(violation.code, violation.kind, violation.procedure, violation.fine,
                          violation.points, violation.state)


def case_reference(case_id: int) -> str:
    """The case's own event reference (its expiry, the owner's request)."""
    return f"processing-{case_id}"


def link_digest(token: str) -> str:
    """What is stored of an owner's link token: a leaked table opens no page."""
    return hashlib.sha256(token.encode()).hexdigest()


def owner_url(base_url: str, token: str) -> str:
    """The owner's face page the SMS links to."""
    return f"{base_url.rstrip('/')}/process/owner/{token}"


class Processing:
    """The processing domain (``deps.processing``); built once at the composition root."""

    def __init__(self, config: ProcessingConfig, *, redis: ArqRedis, events: EventBus,
                 face: FaceChecks, pending: PendingItems, push: Push, base_url: str,
                 sandbox: bool,
                 points_from_binding: bool = False, clock: Clock = timezone.now,
                 rng: random.Random | None = None) -> None:
        self.config = config
        # The 12123 rule profile: a follower has a followed vehicle's point violations only
        # from the follow's start (bot.rules.FollowPolicy), so earlier ones are not theirs.
        self._points_from_binding = points_from_binding
        self._redis = redis
        self._events = events
        self._face = face
        self._pending = pending
        self._push = push
        self._base_url = base_url
        self._sandbox = sandbox
        self._clock = clock
        self._rng = rng or random.Random()

    def _now(self) -> datetime:
        """The clock's time in the database's zone (SQLite compares datetimes as text)."""
        return timezone.localtime(self._clock())

    # -- what may be processed ----------------------------------------------------------------

    async def mine(self, user: User) -> list[Violation]:
        """Unprocessed violations of the user's own and followed vehicles, newest first."""
        own = await Vehicle.filter(owner_id_number=user.id_number)
        follows = await Follow.filter(follower_id=user.id, ended_at=None,
                                      vehicle_id__isnull=False).prefetch_related("vehicle")
        since = {follow.vehicle_id: follow.started_at for follow in follows}
        found: list[Violation] = []
        for vehicle in {v.id: v for v in [*own, *(f.vehicle for f in follows)]}.values():
            found += [violation for violation in await Violation.filter(
                plate_type=vehicle.plate_type, plate_number=vehicle.plate_number,
                state=ViolationState.UNPROCESSED)
                if vehicle in own or self._followed_in_time(violation, since[vehicle.id])]
        return sorted(found, key=lambda violation: violation.occurred_at, reverse=True)

    def _followed_in_time(self, violation: Violation, started_at: datetime) -> bool:
        """Whether a followed vehicle's violation is the follower's to process."""
        return (not self._points_from_binding or not violation.points
                or violation.occurred_at >= started_at)

    async def judge(self, user: User, violation_id: int,
                    conn: BaseDBAsyncClient | None = None) -> Judged | None:
        """The violation with the rules' verdict for this user; None if there is none."""
        violation = await Violation.get_or_none(id=violation_id, using_db=conn)
        if violation is None:
            return None
        vehicle = await Vehicle.get_or_none(plate_type=violation.plate_type,
                                            plate_number=violation.plate_number, using_db=conn)
        relation = await self._relation(user, vehicle, violation, conn)
        row = await DriverLicence.get_or_none(number=user.id_number, using_db=conn)
        licence = None if row is None else LicenceFacts(row.licence_class, row.status,
                                                        row.points)
        verdict = eligibility(
            facts_of(violation), licence, relation, authority=violation.authority,
            registration_place=vehicle.registration_place if vehicle else "",
            point_limit=self.config.point_limit, max_fine=Decimal(self.config.max_fine))
        return Judged(violation, vehicle, relation, licence, verdict)

    async def _relation(self, user: User, vehicle: Vehicle | None, violation: Violation,
                        conn: BaseDBAsyncClient | None) -> Relation:
        if vehicle is None:
            return Relation.OTHER
        if vehicle.owner_id_number and vehicle.owner_id_number == user.id_number:
            return Relation.OWN
        follow = await Follow.filter(follower_id=user.id, vehicle_id=vehicle.id,
                                     ended_at=None).using_db(conn).first()
        if follow is not None and self._followed_in_time(violation, follow.started_at):
            return Relation.FOLLOWED
        return Relation.OTHER

    # -- a case ---------------------------------------------------------------------------------

    async def open_case(self, user: User, conversation: Conversation,
                        violation_id: int) -> ProcessingCase:
        """Start processing: a case awaiting the processor's face, or first the owner's (who
        is asked now). The processor's own open case of the violation is taken up again."""
        now = self._now()
        judged = await self.judge(user, violation_id)
        if judged is None:
            raise ProcessingRefused("该违法记录不存在")
        if judged.eligibility.refusal is not None:
            refusal: Refusal = judged.eligibility.refusal
            raise ProcessingRefused(f"{refusal.reason}。{refusal.where}")
        lifetime = timedelta(seconds=self.config.owner_lifetime)
        if not judged.owner_first:
            return await ProcessingCase.create(
                violation_id=violation_id, processor=user, conversation=conversation.key,
                state=CaseState.AWAITING_PROCESSOR, created_at=now, expires_at=now + lifetime)
        existing = await ProcessingCase.get_or_none(open_key=violation_id)
        if existing is not None:
            if existing.processor_id != user.id:
                raise ProcessingRefused(BUSY)
            return await self.refresh(existing)
        vehicle = judged.vehicle
        assert vehicle is not None  # a followed vehicle
        owner = await registered(vehicle.owner_id_number)
        if owner is None and not vehicle.owner_phone:
            raise ProcessingRefused("车主未登记手机号，无法请车主刷脸认证，请到窗口处理")
        token = secrets.token_urlsafe(24)
        try:
            case = await ProcessingCase.create(
                violation_id=violation_id, processor=user, conversation=conversation.key,
                state=CaseState.AWAITING_OWNER,
                owner_asked=OwnerAsked.CHAT if owner else OwnerAsked.SMS,
                owner_id_number=vehicle.owner_id_number, owner_check=new_reference(),
                token_hash=None if owner else link_digest(token), open_key=violation_id,
                created_at=now, expires_at=now + lifetime)
        except IntegrityError:  # a concurrent case of the violation took the slot
            raise ProcessingRefused(BUSY) from None
        log.info("processing case %d asks the owner (%s)", case.id, case.owner_asked.value)
        await self._events.publish(Event(EXPIRED, case_reference(case.id)),
                                   defer_by=self.config.owner_lifetime)
        if owner is not None:
            await self._events.publish(Event(REQUESTED, case_reference(case.id)))
        else:
            params = {"processor": mask_name(user.real_name),
                      "plate": mask_plate(vehicle.plate_number),
                      "link": owner_url(self._base_url, token)}
            message = OutgoingSms(vehicle.owner_phone, self.config.template, params,
                                  f"process-{case.id}", SMS_PURPOSE, str(case.id))
            await self._redis.enqueue_job("send_sms", message, _job_id=f"sms:{message.out_id}")
        return case

    async def case_of(self, user: User, case_id: int) -> ProcessingCase | None:
        """The processor's own case, brought up to date with the owner's check."""
        case = await ProcessingCase.get_or_none(id=case_id, processor_id=user.id)
        return None if case is None else await self.refresh(case)

    async def case_by_check(self, user: User, reference: str) -> ProcessingCase | None:
        """The processor's case a face check belongs to: a face result opened from 待处理
        names only the check. The owner's check is the case's own reference (or was, before
        it expired); the processor's own is the latest case of that conversation before it."""
        case = await ProcessingCase.get_or_none(owner_check=reference, processor_id=user.id)
        if case is None:
            check = await Verification.get_or_none(reference=reference, method=Method.FACE)
            if check is None or check.purpose != FLOW:
                return None
            case = await (ProcessingCase.filter(processor_id=user.id,
                                                conversation=check.requester,
                                                created_at__lte=check.created_at)
                          .order_by("-id").first())
        return None if case is None else await self.refresh(case)

    async def refresh(self, case: ProcessingCase) -> ProcessingCase:
        """Move a case awaiting the owner by the outcome of the owner's check: passed, it
        awaits the processor; failed, it ends; expired unfinished, a new reference awaits a
        new check (the owner may open the link again)."""
        if case.state is not CaseState.AWAITING_OWNER:
            return case
        check = await Verification.get_or_none(reference=case.owner_check)
        if check is None or check.outcome is Outcome.PENDING:
            return case
        waiting = ProcessingCase.filter(id=case.id, state=CaseState.AWAITING_OWNER,
                                        owner_check=case.owner_check)
        if check.outcome in (Outcome.PASSED, Outcome.FAILED):
            moved = await waiting.update(**(
                {"state": CaseState.AWAITING_PROCESSOR} if check.outcome is Outcome.PASSED
                else {"state": CaseState.FAILED, "open_key": None, "ended_at": self._now()}))
            if moved:
                await self._owner_asked_no_more(case.id)
        else:  # a check nobody finished: the owner is still asked, under a new reference
            await waiting.update(owner_check=new_reference())
        await case.refresh_from_db()
        return case

    async def _owner_asked_no_more(self, case_id: int) -> None:
        """The case stopped waiting for the owner: their 处理申请 leaves 待处理."""
        await self._pending.close(REQUESTED, case_reference(case_id))

    async def cancel(self, case: ProcessingCase) -> None:
        """The processor gave up (cancelled their own face check, or left for good)."""
        if await ProcessingCase.filter(id=case.id, state__in=OPEN_STATES).update(
                state=CaseState.CANCELLED, open_key=None, ended_at=self._now()):
            await self._owner_asked_no_more(case.id)

    # -- the owner's side -----------------------------------------------------------------------

    async def owner_view(self, token: str) -> OwnerView | None:
        """What the owner's page shows of the case its SMS link names; None for no case."""
        case = await ProcessingCase.get_or_none(token_hash=link_digest(token))
        if case is None:
            return None
        case = await self.refresh(case)
        await case.fetch_related("violation", "processor")
        violation: Violation = case.violation
        expired = case.state is CaseState.EXPIRED or (case.state is CaseState.AWAITING_OWNER
                                                      and case.expires_at <= self._now())
        return OwnerView(
            case, case.state is CaseState.AWAITING_OWNER and not expired,
            self.owner_words(case), expired, mask_name(case.processor.real_name),
            mask_plate(violation.plate_number),
            f"{timezone.localtime(violation.occurred_at):%Y-%m-%d} {violation.description}，"
            f"罚款{yuan(violation.fine)}元，记{violation.points}分",
            timezone.localtime(case.expires_at))

    async def owner_channels(self, reference: str) -> list[str] | None:
        """Where the person whose face check this is came from, for the face return page:
        None when it is not a vehicle owner's check for someone's processing (the requester
        goes back to their own chat); else the channels the owner was asked in: none for an
        owner reached by SMS, who has no chat, or those of a registered owner's chats."""
        check = await Verification.get_or_none(reference=reference, method=Method.FACE,
                                               purpose=FLOW)
        case = None if check is None else await (
            ProcessingCase.filter(conversation=check.requester,
                                  owner_id_number=check.subject_id_number)
            .exclude(owner_asked=OwnerAsked.NOT_NEEDED).order_by("-id").first())
        if case is None:
            return None
        owner = await registered(case.owner_id_number)
        if case.owner_asked is OwnerAsked.SMS or owner is None:
            return []
        return list(dict.fromkeys(c.channel for c in await conversations_of(owner.id)))

    async def owned_case(self, owner: User, case_id: int) -> ProcessingCase | None:
        """A case asking this registered owner, up to date."""
        case = await ProcessingCase.get_or_none(id=case_id, owner_id_number=owner.id_number)
        return None if case is None else await self.refresh(case)

    async def start_owner_check(self, case: ProcessingCase) -> str:
        """The owner agrees: the link to their face check (started now, or the one under way).
        Raises ProcessingRefused when the case no longer waits for the owner, and
        FaceUnavailable when the provider cannot start a check."""
        case = await self.refresh(case)
        if case.state is not CaseState.AWAITING_OWNER or case.expires_at <= self._now():
            raise ProcessingRefused(self.owner_words(case))
        check = await Verification.get_or_none(reference=case.owner_check)
        if check is not None:  # pending: the same check again
            return self._face.verifier.certify_url(check.provider_id)
        await case.fetch_related("violation")
        vehicle = await Vehicle.get(plate_type=case.violation.plate_type,
                                    plate_number=case.violation.plate_number)
        return await self._face.begin(requester=case.conversation, purpose=FLOW,
                                      name=vehicle.owner_name, id_number=case.owner_id_number,
                                      reference=case.owner_check)

    async def owner_refuses(self, case: ProcessingCase) -> bool:
        """The owner says no: the case ends and the processor is told (once)."""
        moved = await ProcessingCase.filter(id=case.id, state=CaseState.AWAITING_OWNER).update(
            state=CaseState.REFUSED, open_key=None, ended_at=self._now())
        if moved:
            await self._owner_asked_no_more(case.id)
            await self._events.publish(Event(OWNER, case_reference(case.id)))
        return bool(moved)

    def owner_words(self, case: ProcessingCase) -> str:
        """What the owner reads about a case that no longer waits for them."""
        if case.state is CaseState.EXPIRED or (case.state is CaseState.AWAITING_OWNER
                                                and case.expires_at <= self._now()):
            return "该申请已超过有效期，无需操作"
        return {CaseState.AWAITING_OWNER: "该申请正在等待您的刷脸认证",
                CaseState.REFUSED: "您已拒绝该申请，无需再操作",
                CaseState.FAILED: "刷脸认证未通过，该申请已结束"}.get(
            case.state, "您已完成刷脸认证，无需再操作" if case.state in (
                CaseState.AWAITING_PROCESSOR, CaseState.PROCESSED)
            else "该申请已结束，无需操作")

    async def undeliverable(self, message: OutgoingSms, error: SmsError) -> None:
        """The owner's SMS could not be sent: the case fails and the processor is told."""
        log.warning("processing case %s: sms not delivered: %s", message.subject, error.code)
        moved = await ProcessingCase.filter(id=int(message.subject),
                                            state=CaseState.AWAITING_OWNER).update(
            state=CaseState.FAILED, open_key=None, ended_at=self._now())
        if moved:
            await self._events.publish(Event(OWNER, case_reference(int(message.subject)),
                                             {"unsent": True}))

    # -- the decision ---------------------------------------------------------------------------

    async def process(self, user: User, case_id: int) -> Decision:
        """Decide, once: the violation processed-unpaid with a decision number, the points on
        the processor's licence, the notice due. Raises ProcessingRefused with the reason
        (the transaction leaves nothing behind)."""
        now = self._now()
        decided_on = now.date()
        async with in_transaction() as conn:
            case = await (ProcessingCase.filter(id=case_id, processor_id=user.id)
                          .using_db(conn).select_for_update().first())
            if case is None or case.state is not CaseState.AWAITING_PROCESSOR:
                raise ProcessingRefused("该处理申请已结束，请重新办理")
            if case.expires_at <= now:
                raise ProcessingRefused("该处理申请已超过有效期，请重新办理")
            if not await Verification.filter(
                    method=Method.FACE, requester=case.conversation, purpose=FLOW,
                    subject_id_number=user.id_number, outcome=Outcome.PASSED,
                    created_at__gte=case.created_at).using_db(conn).exists():
                raise ProcessingRefused("尚未通过本人刷脸认证")
            judged = await self.judge(user, case.violation_id, conn)
            assert judged is not None  # records are never deleted
            refusal = judged.eligibility.refusal
            if refusal is not None:
                raise ProcessingRefused(f"{refusal.reason}。{refusal.where}")
            if judged.owner_first and case.owner_asked is OwnerAsked.NOT_NEEDED:
                raise ProcessingRefused("需车主先刷脸认证，请重新办理")
            violation = judged.violation
            number = f"{self.config.decision_prefix}{violation.id:010d}"
            moved = await Violation.filter(
                id=violation.id, state=ViolationState.UNPROCESSED).using_db(conn).update(
                state=ViolationState.PROCESSED_UNPAID, decision_number=number,
                decided_on=decided_on, processed_at=now, licence_number=user.id_number)
            if not moved:
                raise ProcessingRefused("该违法已处理，无需重复处理")
            if violation.points:
                limit = self.config.point_limit - violation.points
                added = await DriverLicence.filter(
                    number=user.id_number, status=LicenceStatus.NORMAL, points__lt=limit,
                ).using_db(conn).update(points=F("points") + violation.points)
                if not added:
                    raise ProcessingRefused(f"处理后累积记分将达到{self.config.point_limit}分，"
                                            "不能在线处理")
            await ProcessingCase.filter(id=case.id).using_db(conn).update(
                state=CaseState.PROCESSED, open_key=None, ended_at=now)
            notice = await ProcessingNotice.create(
                violation_id=violation.id, case_id=case.id, user=user, decision_number=number,
                due_at=now + timedelta(seconds=self._notice_delay()), using_db=conn)
        log.info("violation %d processed online (case %d)", violation.id, case_id)
        await self._redis.enqueue_job(NOTICE_JOB, notice.id, _defer_until=notice.due_at,
                                      _job_id=f"notice:{notice.id}")
        points = None if judged.licence is None else judged.licence.points + violation.points
        return Decision(number, decided_on, payment_due(decided_on), violation.fine, points)

    def _notice_delay(self) -> float:
        if self._sandbox:
            return self._rng.uniform(0, self.config.sandbox_notice_delay_max)
        return self._rng.uniform(self.config.notice_delay_min, self.config.notice_delay_max)

    # -- the notice -----------------------------------------------------------------------------

    async def make_notice(self, notice_id: int) -> bool:
        """Make the processing notice and tell the processor, once; False if made already
        or not yet due."""
        notice = await ProcessingNotice.get_or_none(id=notice_id).prefetch_related(
            "violation", "user")
        if notice is None or notice.ready_at is not None or notice.due_at > self._now():
            return False
        text = notice_text(notice.violation, notice.user)
        moved = await ProcessingNotice.filter(id=notice_id, ready_at=None).update(
            ready_at=self._now(), text=text)
        if not moved:
            return False
        violation: Violation = notice.violation
        pay_by = payment_due(violation.decided_on)
        reply = Reply(f"您的处理通知书已生成（处罚决定书编号 {notice.decision_number}）。"
                      f"请于 {pay_by:%Y年%m月%d日} 前缴纳罚款 {yuan(violation.fine)} 元，"
                      "逾期每日按罚款数额的3%加处罚款。可在“罚款缴纳”中缴纳。\n\n" + text)
        for conversation in await conversations_of(notice.user_id):
            await self._push(conversation, reply)
        return True

    async def make_due_notices(self) -> int:
        """The backstop of each notice's deferred job (lost if the process died right after
        the decision's commit): every notice past due. Returns how many were made."""
        due = await ProcessingNotice.filter(ready_at=None, due_at__lte=self._now()).values_list(
            "id", flat=True)
        return sum([await self.make_notice(notice_id) for notice_id in due])

    async def expire_overdue(self) -> int:
        """The backstop of each case's deferred expiry event: open cases past their deadline."""
        due = await ProcessingCase.filter(state__in=OPEN_STATES,
                                          expires_at__lte=self._now()).values_list("id", flat=True)
        for case_id in due:
            await self._events.publish(Event(EXPIRED, case_reference(case_id)))
        return len(due)


def notice_text(violation: Violation, user: User) -> str:
    """处理通知书 as the processor reads it (their name masked)."""
    pay_by = payment_due(violation.decided_on)
    return "\n".join([
        "公安交通管理简易程序处罚决定书（处理通知书）",
        f"编号：{violation.decision_number}",
        f"被处罚人：{mask_name(user.real_name)}",
        f"车辆：{violation.plate_number}（{violation.plate_type.label}）",
        f"违法时间：{timezone.localtime(violation.occurred_at):%Y-%m-%d %H:%M}",
        f"违法地点：{violation.place}",
        f"违法行为：{violation.code} {violation.description}",
        f"处罚：罚款 {yuan(violation.fine)} 元，记 {violation.points} 分",
        f"决定日期：{violation.decided_on:%Y-%m-%d}",
        f"缴款期限：{pay_by:%Y-%m-%d} 前（逾期每日加处罚款数额的3%）",
        f"作出决定机关：{violation.authority}",
    ])


async def registered(id_number: str) -> User | None:
    """The person with this ID number as a user bound in some conversation, or None."""
    if not id_number:
        return None
    return await User.filter(id_number=id_number, unregistered_at=None,
                             identities__id__isnull=False).first()


def yuan(amount: Decimal) -> str:
    """200.00 -> "200", 150.50 -> "150.5"."""
    return f"{amount.normalize():f}"


# -- events -------------------------------------------------------------------------------------


async def _case(event: Event) -> ProcessingCase | None:
    case_id = event.reference.removeprefix("processing-")
    if not case_id.isdigit():
        return None
    return await ProcessingCase.get_or_none(id=int(case_id)).prefetch_related(
        "violation", "processor")


def _processor_offer(kind: str, case: ProcessingCase) -> Offer:
    """The processor's pending item, opened in the processing journey."""
    return Offer(kind, case_reference(case.id),
                 f"交通违法处理：{mask_plate(case.violation.plate_number)} {case.state.label}",
                 FLOW, {"case": case.id})


@on(REQUESTED)
async def processing_requested(event: Event, conversations: Conversations) -> None:
    """Put the request in front of a registered owner, in every conversation of theirs."""
    case = await _case(event)
    if case is None or case.state is not CaseState.AWAITING_OWNER:
        return
    owner = await registered(case.owner_id_number)
    if owner is None:
        log.warning("processing case %d: the owner is no longer registered", case.id)
        return
    offer = Offer(REQUESTED, event.reference,
                  f"处理申请：{mask_name(case.processor.real_name)} 申请处理 "
                  f"{mask_plate(case.violation.plate_number)} 的违法，需您刷脸认证",
                  OWNER_FLOW, {"case": case.id}, until=case.expires_at)
    for conversation in await conversations_of(owner.id):
        await conversations.offer(conversation, offer)


@also_tell(FLOW)
async def owner_check_ran_out(check: Verification,
                              outcome: Outcome) -> list[tuple[Conversation, Reply]]:
    """A registered owner agreed but their face check ran out unfinished: the processor is
    told by the check's own event; the owner, who may think they are done, is told in every
    chat of theirs that the request still waits for them under 待处理, while it does."""
    if outcome is not Outcome.EXPIRED:
        return []
    case = await ProcessingCase.get_or_none(
        owner_check=check.reference, owner_asked=OwnerAsked.CHAT,
        state=CaseState.AWAITING_OWNER, expires_at__gt=timezone.localtime(),
    ).prefetch_related("violation", "processor")
    owner = None if case is None else await registered(case.owner_id_number)
    if case is None or owner is None:
        return []
    reply = Reply(f"您的刷脸认证已超时未完成。{mask_name(case.processor.real_name)} 申请处理您名下"
                  f"车辆 {mask_plate(case.violation.plate_number)} 违法的申请仍待您同意，有效期至 "
                  f"{timezone.localtime(case.expires_at):%Y-%m-%d %H:%M}。"
                  f"如同意，请回复“{PENDING_WORD}”重新打开该申请。")
    return [(conversation, reply) for conversation in await conversations_of(owner.id)]


@on(OWNER)
async def processing_owner(event: Event, conversations: Conversations) -> None:
    """Tell the processor the owner's answer (a refusal, an SMS that could not be sent), in
    the journey waiting on the owner's check, or as a pending item."""
    case = await _case(event)
    if case is None:
        return
    await conversations.resume(Conversation.parse(case.conversation),
                               Event(OWNER, case.owner_check, event.data),
                               offer=_processor_offer(OWNER, case), announce=True)


@on(EXPIRED)
async def processing_expired(event: Event, conversations: Conversations) -> None:
    """The owner's deadline: a case still open expires (in the processor's turn) and the
    processor is told; one that moved on meanwhile is left alone."""
    case = await _case(event)
    if case is None:
        return

    async def claim() -> bool:
        now = timezone.localtime(timezone.now())  # the stored zone (see Processing._now)
        return bool(await ProcessingCase.filter(
            id=case.id, state__in=OPEN_STATES, expires_at__lte=now,
        ).update(state=CaseState.EXPIRED, open_key=None, ended_at=now))

    if case.owner_asked is OwnerAsked.NOT_NEEDED:  # the processor's own attempt, abandoned
        await claim()
        return

    case.state = CaseState.EXPIRED
    await conversations.resume(Conversation.parse(case.conversation),
                               Event(EXPIRED, case.owner_check or event.reference),
                               offer=_processor_offer(EXPIRED, case), claim=claim, announce=True)
