"""Business rules of DOMAIN.md as pure functions: no I/O, no ORM, every number a parameter.

The defaults are DOMAIN.md's; config.toml passes its own values. Inputs are small frozen
dataclasses, so flows, jobs and tests can call the rules with facts from anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from models.enums import (
    LicenceClass,
    LicenceStatus,
    OwnerKind,
    PlateType,
    Procedure,
    ViolationKind,
    ViolationState,
)

_WINDOW = "请到违法发生地或机动车登记地的公安交管部门窗口处理"
# Second digit of a violation code -> points; 7 means the full 12.
_POINTS_BY_CLASS = {"0": 0, "1": 1, "2": 2, "3": 3, "6": 6, "7": 12}
_NO_ONLINE_POINTS = frozenset(
    {LicenceClass.A1, LicenceClass.A2, LicenceClass.A3, LicenceClass.B1, LicenceClass.B2}
)


@dataclass(frozen=True)
class ViolationFacts:
    """What the processing rules need to know about one violation record."""

    code: str
    kind: ViolationKind
    procedure: Procedure
    fine_yuan: Decimal
    points: int
    state: ViolationState


@dataclass(frozen=True)
class LicenceFacts:
    """The processor's licence; ``points`` are those of the current 12-month cycle."""

    licence_class: LicenceClass
    status: LicenceStatus
    points: int


@dataclass(frozen=True)
class Refusal:
    """Why something cannot be done online (``reason``) and what to do instead (``where``)."""

    reason: str
    where: str


def points_class_of(code: str) -> int:
    """Points of a violation code (4 or 5 digits), read from its second digit."""
    if not (code.isascii() and code.isdigit() and len(code) in (4, 5)):
        raise ValueError(f"not a violation code: {code!r}")
    if code[1] not in _POINTS_BY_CLASS:
        raise ValueError(f"unknown points class in violation code: {code!r}")
    return _POINTS_BY_CLASS[code[1]]


_STATE_REFUSALS = {
    ViolationState.PROCESSED_UNPAID: Refusal("该违法已处理，尚未缴款", "请在“罚款缴纳”中缴纳罚款"),
    ViolationState.PAID: Refusal("该违法已处理并已缴款", "无需再次处理"),
    ViolationState.HANDLED_ELSEWHERE: Refusal(
        "该违法已在其他渠道处理", "如有疑问请咨询处理地交管部门"
    ),
}


def online_processing_refusal(
    violation: ViolationFacts, *, max_fine: Decimal = Decimal(200)
) -> Refusal | None:
    """The gate anyone viewing a violation sees: None when it may be processed online at all.

    Only unprocessed, non-on-site, simple-procedure violations with a fine of at most
    ``max_fine`` yuan qualify; who may process them is ``processing_refusal``'s business.
    """
    if violation.state is not ViolationState.UNPROCESSED:
        return _STATE_REFUSALS[violation.state]
    if violation.kind is not ViolationKind.NON_ON_SITE:
        return Refusal("仅非现场违法可以在线处理", _WINDOW)
    if violation.procedure is not Procedure.SIMPLE:
        return Refusal("一般程序违法不能在线处理", _WINDOW)
    if violation.fine_yuan > max_fine:
        return Refusal(f"罚款超过{max_fine}元的违法不能在线处理", _WINDOW)
    return None


def processing_refusal(
    violation: ViolationFacts,
    licence: LicenceFacts | None,
    *,
    point_limit: int = 12,
    max_fine: Decimal = Decimal(200),
) -> Refusal | None:
    """Whether this user may process this violation online with their own licence.

    ``licence`` is None for a user without a driving licence on record: they may still
    process violations without points. Points are refused to A/B class holders, to licences
    not in normal status, and when the holder's points would reach ``point_limit`` (seed 004:
    12 points needs the paper licence at a window). Whose vehicle it is changes only the face
    verifications needed: see ``owner_face_required``.
    """
    refusal = online_processing_refusal(violation, max_fine=max_fine)
    if refusal is not None or violation.points == 0:
        return refusal
    if licence is None:
        return Refusal("记分违法需用本人驾驶证处理，未查到您的驾驶证", _WINDOW)
    if licence.licence_class in _NO_ONLINE_POINTS:
        return Refusal("A、B类驾驶证不能在线处理记分违法", _WINDOW)
    if licence.status is not LicenceStatus.NORMAL:
        return Refusal(f"驾驶证状态为“{licence.status.label}”，不能在线记分", _WINDOW)
    if licence.points + violation.points >= point_limit:
        return Refusal(f"处理后累积记分将达到{point_limit}分，不能在线处理", _WINDOW)
    return None


def owner_face_required(violation: ViolationFacts, *, own_vehicle: bool) -> bool:
    """Points taken for someone else's vehicle need its owner's face verification first."""
    return not own_vehicle and violation.points > 0


class Relation(StrEnum):
    """How the processor stands to the vehicle of the violation."""

    OWN = "own"  # registered to the processor's ID number (本人本车)
    FOLLOWED = "followed"  # a vehicle the processor follows with its owner's consent
    OTHER = "other"  # neither: the list may be seen, nothing processed


class Verifications(StrEnum):
    """The face verifications processing needs, in order."""

    PROCESSOR = "processor"
    OWNER_THEN_PROCESSOR = "owner_then_processor"


@dataclass(frozen=True)
class Eligibility:
    """Whether a violation may be processed online by this person: the refusal (the rule
    broken, and which window to go to instead), or the face verifications it needs."""

    refusal: Refusal | None
    verifications: Verifications = Verifications.PROCESSOR

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def windows(authority: str, registration_place: str) -> str:
    """Where a violation refused online is handled: the window at the place of the
    violation (its authority) or of the vehicle's registration."""
    places = "或".join(f"{name}（{place}）" for name, place in
                       (("违法发生地", authority), ("机动车登记地", registration_place)) if place)
    return f"请到{places}的公安交管部门窗口处理" if places else _WINDOW


def eligibility(
    violation: ViolationFacts,
    licence: LicenceFacts | None,
    relation: Relation,
    *,
    authority: str = "",
    registration_place: str = "",
    point_limit: int = 12,
    max_fine: Decimal = Decimal(200),
) -> Eligibility:
    """Processing online by this person with their own licence (DOMAIN.md "Processing a
    violation online"): only their own or a followed vehicle's violations; the licence rules
    of ``processing_refusal``; someone else's point violation needs the owner's face first."""
    if relation is Relation.OTHER:
        return Eligibility(Refusal("只能在线处理本人名下或已关注车辆的违法",
                                   windows(authority, registration_place)))
    refusal = processing_refusal(violation, licence, point_limit=point_limit,
                                 max_fine=max_fine)
    if refusal is not None:
        if refusal.where == _WINDOW:
            refusal = Refusal(refusal.reason, windows(authority, registration_place))
        return Eligibility(refusal)
    if owner_face_required(violation, own_vehicle=relation is Relation.OWN):
        return Eligibility(None, Verifications.OWNER_THEN_PROCESSOR)
    return Eligibility(None)


def points_after(licence: LicenceFacts | None, violation: ViolationFacts) -> int:
    """The processor's points once this violation is processed (the forecast shown)."""
    return (licence.points if licence is not None else 0) + violation.points


def payment_due(decided_on: date, *, grace_days: int = 15) -> date:
    """The last day to pay a fine without a late fee: ``grace_days`` after the decision."""
    return decided_on + timedelta(days=grace_days)


def late_fee(
    fine: Decimal,
    decided_on: date,
    today: date,
    *,
    grace_days: int = 15,
    daily_rate: Decimal = Decimal("0.03"),
) -> Decimal:
    """滞纳金 in yuan: ``daily_rate`` of the fine per day late, never more than the fine.

    The decision day is day 0, so the fine is due by day ``grace_days`` (day 15 after the
    decision date costs nothing) and day 16 after the decision date is the first late day,
    counting 1 day. Rounded to 0.01 yuan, half up.
    """
    fee = min(fine * daily_rate * days_overdue(decided_on, today, grace_days=grace_days), fine)
    return fee.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def days_overdue(decided_on: date, today: date, *, grace_days: int = 15) -> int:
    """Days a fine is late on ``today``: 0 up to the last day to pay, 1 on the day after."""
    return max((today - payment_due(decided_on, grace_days=grace_days)).days, 0)


class Reminder(StrEnum):
    """The payment reminders of a decision (DOMAIN.md "Operators": automatic notices)."""

    DUE_SOON = "due_soon"  # the last day to pay is near
    LATE_FEES = "late_fees"  # late fees have started


def reminders_due(decided_on: date, today: date, *, grace_days: int = 15,
                  days_before: int = 3, catch_up_days: int = 7) -> list[Reminder]:
    """The reminders an unpaid decision is due for on ``today``: DUE_SOON from
    ``days_before`` days before the last day to pay until that day, LATE_FEES from the first
    late day for ``catch_up_days`` (a day the job did not run is caught up, never a week
    later). Each is sent once (the caller keeps what it sent)."""
    due = payment_due(decided_on, grace_days=grace_days)
    found = []
    if due - timedelta(days=days_before) <= today <= due:
        found.append(Reminder.DUE_SOON)
    if due < today <= due + timedelta(days=catch_up_days):
        found.append(Reminder.LATE_FEES)
    return found


def maintenance_window(
    now: time | datetime, *, start: time = time(22, 0), end: time = time(0, 30)
) -> bool:
    """Whether payments are closed at local time ``now``: ``start`` inclusive, ``end`` not.

    The window may span midnight (22:00-00:30 by default).
    """
    moment = now.time() if isinstance(now, datetime) else now
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end


def reopens_at(now: datetime, *, start: time = time(22, 0), end: time = time(0, 30)) -> datetime:
    """When payments open again, to tell the user; ``now`` itself when they are open."""
    if not maintenance_window(now, start=start, end=end):
        return now
    reopening = datetime.combine(now.date(), end, tzinfo=now.tzinfo)
    if reopening <= now:
        reopening += timedelta(days=1)
    return reopening


def payments_reopen(now: datetime, *, start: time = time(22, 0),
                    end: time = time(0, 30)) -> datetime | None:
    """None while payments are open at ``now`` (an aware time, any zone); during the daily
    maintenance window (Asia/Shanghai), when they open again, in Asia/Shanghai."""
    local = now.astimezone(BEIJING)
    if not maintenance_window(local, start=start, end=end):
        return None
    return reopens_at(local, start=start, end=end)


@dataclass(frozen=True)
class RecordHolder:
    """A person as one police record names them: a licence's holder or a vehicle's owner."""

    name: str
    phone: str


def on_record(name: str, holders: Sequence[RecordHolder]) -> bool:
    """Registration needs a police record (a licence or an own vehicle) naming this person."""
    return any(holder.name == name for holder in holders)


def phone_on_record(name: str, holders: Sequence[RecordHolder]) -> str | None:
    """Where a registration SMS code goes: the first phone of a record naming this person.

    ``holders`` come in order of trust (the licence, then vehicles). A phone the user typed
    is never a candidate: the code proves control of the phone the police know.
    """
    return next((holder.phone for holder in holders if holder.name == name and holder.phone),
                None)


def sms_fallback_allowed(face_failures: int, record_phone: str | None, *,
                         max_failures: int = 3) -> bool:
    """Seed 004: when face verification keeps failing (``max_failures`` times), an SMS code
    to the phone on record may replace it, if there is a phone on record."""
    return record_phone is not None and face_failures >= max_failures


BEIJING = ZoneInfo("Asia/Shanghai")  # calendar years of follow attempts are Beijing's


def follow_year(now: datetime) -> int:
    """The calendar year, in Asia/Shanghai, a follow attempt made at ``now`` counts in."""
    return now.astimezone(BEIJING).year


def attempts_reset_on(now: datetime) -> date:
    """When spent follow attempts come back: the next 1 January in Asia/Shanghai."""
    return date(follow_year(now) + 1, 1, 1)


@dataclass(frozen=True)
class FollowPolicy:
    """The follow quotas of a rule profile: DOMAIN.md's (Chongqing's account) or the 12123
    app's stricter binding rules (which are about vehicles; licences keep their own quota)."""

    max_vehicles: int = 2
    attempts_per_year: int = 3  # shared by vehicles and licences: each sent request spends one
    followers_per_vehicle: int = 3  # followers of one vehicle, and of one licence
    owners_ever: int | None = None  # 12123: distinct owners a user may ever follow
    plate_types: frozenset[PlateType] | None = None  # 12123: personal small cars only
    points_from_binding: bool = False  # 12123: point violations only from the binding date
    max_licences: int = 2  # other people's licences a user follows at once

    @classmethod
    def profile(cls, name: str, *, max_vehicles: int = 2, attempts_per_year: int = 3,
                followers_per_vehicle: int = 3, owners_ever: int = 5,
                max_licences: int = 2) -> FollowPolicy:
        """``"chongqing"`` (the numbers given) or ``"12123"`` (3 vehicles at once, at most
        ``owners_ever`` owners ever, personal small and small new-energy cars only)."""
        if name == "12123":
            return cls(3, attempts_per_year, followers_per_vehicle, owners_ever,
                       frozenset({PlateType.SMALL, PlateType.SMALL_NEW_ENERGY}), True,
                       max_licences)
        if name == "chongqing":
            return cls(max_vehicles, attempts_per_year, followers_per_vehicle,
                       max_licences=max_licences)
        raise ValueError(f"unknown follow rule profile: {name!r}")


@dataclass(frozen=True)
class FollowWords:
    """How the refusals name what is followed and who consents."""

    own: str
    noun: str
    unit: str
    owner: str


VEHICLE_WORDS = FollowWords("这是您本人名下的车辆，已在“我的车辆”中", "车辆", "辆", "车主")
LICENCE_WORDS = FollowWords("这是您本人的驾驶证，已在“我的驾驶证”中", "驾驶证", "本驾驶证",
                            "持证人")


@dataclass(frozen=True)
class FollowFacts:
    """What the follow quotas need to know, counted by the caller. ``plate_type`` and
    ``owner_kind`` are None for a licence (``licence``): the vehicle rules skip it."""

    own: bool  # the requester's own vehicle or licence
    already_following: bool
    pending_here: bool  # the requester's request for this target awaits the owner
    plate_type: PlateType | None
    owner_kind: OwnerKind | None
    following: int  # the requester's live follows of this kind (vehicles, or licences)
    pending: int  # the requester's requests of this kind awaiting an owner
    attempts_this_year: int
    vehicle_followers: int  # the target's followers
    owners_so_far: int = 0  # distinct owners the requester ever followed (12123)
    new_owner: bool = True  # this vehicle's owner is not one of them
    licence: bool = False


def follow_refusal(policy: FollowPolicy, facts: FollowFacts, now: datetime) -> str | None:
    """Why the requester may not ask to follow this vehicle or licence now (with the
    numbers), or None.

    Pending requests count towards the targets followed, so no attempt is spent on a
    request that could only fail for want of a slot.
    """
    words = LICENCE_WORDS if facts.licence else VEHICLE_WORDS
    most = policy.max_licences if facts.licence else policy.max_vehicles
    if facts.own:
        return words.own
    if facts.already_following:
        return f"您已关注该{words.noun}"
    if facts.pending_here:
        return f"您对该{words.noun}的关注请求正在等待{words.owner}同意"
    if policy.plate_types is not None and not facts.licence and (
            facts.plate_type not in policy.plate_types
            or facts.owner_kind is not OwnerKind.PERSON):
        return "只能关注个人名下的小型汽车和小型新能源汽车"
    if facts.following >= most:
        return f"您已关注 {facts.following}/{most} {words.unit}"
    if facts.following + facts.pending >= most:
        return (f"您已关注 {facts.following}/{most} {words.unit}，另有 {facts.pending} 个"
                f"关注请求正在等待{words.owner}同意")
    if (policy.owners_ever is not None and not facts.licence and facts.new_owner
            and facts.owners_so_far >= policy.owners_ever):
        return f"您已关注过 {facts.owners_so_far} 位车主的车辆，已达上限"
    if facts.attempts_this_year >= policy.attempts_per_year:
        reset = attempts_reset_on(now)
        return (f"今年的 {policy.attempts_per_year} 次关注机会已用完，"
                f"明年 {reset.month} 月 {reset.day} 日恢复")
    if facts.vehicle_followers >= policy.followers_per_vehicle:
        return f"该{words.noun}已有 {facts.vehicle_followers} 位关注人"
    return None


def consent_valid_until(consented_at: datetime, *, by_sms: bool,
                        valid_days: int = 365) -> datetime | None:
    """When a follow's consent lapses: an SMS consent after ``valid_days``; a registered
    owner's consent in chat does not (they can revoke it at any time)."""
    return consented_at + timedelta(days=valid_days) if by_sms else None
