"""实名注册: name, ID number and phone; the ID must be on police record; then a face check.

The face check is the face_check sub-journey (flows/face_check.py): it shows the certify
link and waits for the face.settled event, so the next step arrives as a push; a message
typed meanwhile asks the provider. After ``face.max_failures`` failed checks the user may
prove their identity instead by an SMS code (the sms_code sub-journey) sent to the phone
**on police record** for that ID, never to the phone they typed.

Only proven phones are stored: after the SMS fallback the phone on record (the code proved
it); after a face pass the typed phone, once an SMS code sent to it comes back. Identity
checks (face checks and fallback codes) are limited per ID number from anyone
(bot.identity_attempts, counted by the sub-journeys); the binding policy is
``accounts.register``'s.

A user who leaves while the check is pending gets its result as a pending item, which
starts this journey seeded with the check's reference. The session that held the name and
the typed phone is gone by then, so the journey picks up from durable records only: the
Verification row (whose request, which ID number, what outcome) and the police record of
that ID number, whose holder's name the typed name had to equal before the check started.
The typed phone is asked again (nothing unproven is kept anywhere in the meantime).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.timezone import localtime

from bot import accounts
from bot.accounts import Person, Registration
from bot.engine import (
    Call,
    Cancel,
    Choice,
    Context,
    Done,
    Flow,
    State,
    Transition,
    exits,
)
from bot.fields import IdNumberField, NameField, PhoneField
from bot.masking import mask_id_number, mask_name, mask_phone
from bot.messages import Conversation, Reply
from bot.rules import RecordHolder, on_record, phone_on_record, sms_fallback_allowed
from flows import face_check, sms_code
from flows.face_check import FaceCheck, FaceCheckResult
from flows.sms_code import SmsCode, SmsCodeResult
from models.user import VerifiedBy
from models.verification import Method, Verification
from models.verification import Outcome as CheckOutcome

PURPOSE = "register"
PHONE_PURPOSE = "register_phone"  # the code that proves the typed phone after a face pass
NAME, FALLBACK, NEW_PHONE = "name", "fallback", "new_phone"
# Where the sub-journeys' results go (states whose handlers take them; never shown).
FACE_DONE, IDENTITY_DONE, PHONE_DONE = "face_done", "identity_done", "phone_done"
NOT_ON_RECORD = "未查询到该身份证号的驾驶证或机动车登记信息，请到窗口办理。"
TO_WINDOW = "刷脸认证多次未通过，请携带身份证件到公安交管部门窗口办理实名注册。"
CANNOT_CONTINUE = "无法继续该实名注册，请重新办理。"


@dataclass
class RegisterData:
    name: str = ""
    id_number: str = ""
    phone: str = ""  # typed, unproven until its code comes back
    record_phone: str | None = None  # the phone on police record (the SMS fallback's)
    failures: int = 0  # failed face checks in this registration
    face_reference: str = ""  # a settled check to continue from (a pending item's seed)


async def _not_registered_yet(ctx: Context) -> str | None:
    """Flow guard: a registered user is told so, with whom they are registered as."""
    user = await accounts.user_of(ctx.channel, ctx.user_id)
    if user is None:
        return None
    return (f"您已完成实名注册（{mask_name(user.real_name)}，"
            f"身份证号 {mask_id_number(user.id_number)}），无需重复注册。"
            "可在“我的账户”中查看本人驾驶证和车辆。")


async def _holders(ctx: Context, id_number: str) -> list[RecordHolder]:
    """The people the police records of this ID number name, the licence first."""
    traffic = ctx.deps.traffic
    licence = await traffic.licence_of(id_number)
    holders = [RecordHolder(licence.holder_name, licence.holder_phone)] if licence else []
    return holders + [RecordHolder(vehicle.owner_name, vehicle.owner_phone)
                      for vehicle in await traffic.vehicles_of(id_number)]


@exits(FACE_DONE, calls=(face_check.NAME,))
async def _check_record(ctx: Context, _: str) -> Transition:
    """The ID must have a licence or an own vehicle on record naming this person; which of
    the two failed is never said."""
    data: RegisterData = ctx.data
    holders = await _holders(ctx, data.id_number)
    if not on_record(data.name, holders):
        return Done(NOT_ON_RECORD)
    data.record_phone = phone_on_record(data.name, holders)
    data.failures = 0
    return _face_check(ctx)


def _face_check(ctx: Context) -> Call:
    return Call(face_check.NAME, then=FACE_DONE, data=face_check.call_data(
        name=ctx.data.name, id_number=ctx.data.id_number, purpose=PURPOSE, counted=True))


@exits(NAME, FALLBACK, NEW_PHONE, PHONE_DONE, FACE_DONE,
       calls=(face_check.NAME, sms_code.NAME))
async def _start(ctx: Context, _: None) -> Transition:
    """A fresh registration asks for the name; one seeded with a settled face check (a
    pending item) goes on from its outcome, from durable records only."""
    data: RegisterData = ctx.data
    if not data.face_reference:
        return NAME
    check = await Verification.get_or_none(reference=data.face_reference, method=Method.FACE)
    if (check is None or check.requester != ctx.conversation or check.purpose != PURPOSE
            or check.outcome is CheckOutcome.PENDING):
        return Done(CANNOT_CONTINUE, menu=True)
    holders = await _holders(ctx, check.subject_id_number)
    names = {holder.name for holder in holders}
    if len(names) != 1:  # no record any more, or records naming two people: ask afresh
        return Done(CANNOT_CONTINUE, menu=True)
    data.id_number, [data.name] = check.subject_id_number, names
    data.record_phone = phone_on_record(data.name, holders)
    if check.outcome is CheckOutcome.PASSED:
        return _face_passed(ctx)
    if check.outcome is CheckOutcome.EXPIRED:
        ctx.say("本次刷脸认证已超时，请重新认证。")
        return _face_check(ctx)
    data.failures = await _failures_in_a_row(ctx, data.id_number)
    return _after_failure(ctx)


async def _failures_in_a_row(ctx: Context, id_number: str) -> int:
    """The user's latest face checks of this ID for registration that failed, in a row."""
    limit = ctx.deps.limits.face_failures
    latest = await Verification.filter(
        method=Method.FACE, requester=ctx.conversation, purpose=PURPOSE,
        subject_id_number=id_number).order_by("-id").limit(limit)
    failed = [check.outcome is CheckOutcome.FAILED for check in latest]
    return failed.index(False) if False in failed else len(failed)


@exits(FALLBACK, PHONE_DONE, FACE_DONE, NEW_PHONE, calls=(face_check.NAME, sms_code.NAME))
async def _face_checked(ctx: Context, result: FaceCheckResult | object) -> Transition:
    """The face_check sub-journey's result (``CANCELLED`` when the user cancelled it)."""
    if not isinstance(result, FaceCheckResult):
        return Cancel()
    if result.status is FaceCheck.UNAVAILABLE:
        return Done(result.message)
    if result.status is FaceCheck.PASSED:
        return _face_passed(ctx)
    ctx.data.failures += 1
    return _after_failure(ctx)


def _after_failure(ctx: Context) -> Transition:
    failures, max_failures = ctx.data.failures, ctx.deps.limits.face_failures
    if sms_fallback_allowed(failures, ctx.data.record_phone, max_failures=max_failures):
        return FALLBACK
    if failures >= max_failures:
        return Done(TO_WINDOW)
    ctx.say(f"刷脸认证未通过（第{failures}次），请重新认证。")
    return _face_check(ctx)


def _face_passed(ctx: Context) -> Transition:
    """The identity is proven; the typed phone is not yet: a code goes to it (a phone lost
    with the session is asked again first)."""
    ctx.say("刷脸认证通过。请再验证您的手机号码。")
    return _prove_phone(ctx) if ctx.data.phone else NEW_PHONE


def _prove_phone(ctx: Context) -> Call:
    return Call(sms_code.NAME, then=PHONE_DONE, data=sms_code.call_data(
        phone=ctx.data.phone, purpose=PHONE_PURPOSE, id_number=ctx.data.id_number,
        ask="请输入发送到您手机的6位验证码，以确认手机号码为本人使用", changeable=True))


@exits(PHONE_DONE, calls=(sms_code.NAME,))
async def _phone_entered(ctx: Context, _: str) -> Transition:
    return _prove_phone(ctx)


async def _fallback_prompt(ctx: Context) -> str:
    return (f"刷脸认证已{ctx.data.failures}次未通过。您可以改用短信验证：验证码将发送至"
            f"您在公安交管部门登记的手机号 {mask_phone(ctx.data.record_phone)}。")


@exits(IDENTITY_DONE, FACE_DONE, calls=(face_check.NAME, sms_code.NAME))
async def _fallback(ctx: Context, picked: str) -> Transition:
    """A code to the phone on record is an identity check: counted like a face check."""
    if picked != "sms":
        return _face_check(ctx)
    return Call(sms_code.NAME, then=IDENTITY_DONE, data=sms_code.call_data(
        phone=ctx.data.record_phone, purpose=PURPOSE, id_number=ctx.data.id_number,
        counted=True))


def _unconfirmed(result: SmsCodeResult | object) -> Transition | None:
    """Where an sms_code result other than a confirmation leads: the user cancelled it
    (``CANCELLED``), it could not go on (the reason), or another phone is wanted."""
    if not isinstance(result, SmsCodeResult):
        return Cancel()
    if result.status is SmsCode.FAILED:
        return Done(result.message)
    return NEW_PHONE if result.status is SmsCode.NEW_PHONE else None


@exits()
async def _identity_proven(ctx: Context, result: SmsCodeResult | object) -> Transition:
    """The code to the phone on record came back: the identity is proven by it."""
    unconfirmed = _unconfirmed(result)
    if unconfirmed is not None:
        return unconfirmed
    return await _registered(ctx, VerifiedBy.SMS, ctx.data.record_phone)


@exits(NEW_PHONE)
async def _phone_proven(ctx: Context, result: SmsCodeResult | object) -> Transition:
    """The code to the typed phone came back after a face pass: that phone is stored."""
    unconfirmed = _unconfirmed(result)
    if unconfirmed is not None:
        return unconfirmed
    return await _registered(ctx, VerifiedBy.FACE, ctx.data.phone)


async def _registered(ctx: Context, verified_by: VerifiedBy, phone: str) -> Done:
    """Register with the proven phone; accounts that lost their binding are told in chat."""
    data: RegisterData = ctx.data
    done = await accounts.register(
        ctx.channel, ctx.user_id, Person(data.id_number, data.name, phone, verified_by),
        bindings_per_channel=ctx.deps.limits.bindings_per_channel)
    title = ctx.deps.channels.title(ctx.channel)
    for external_id in done.replaced:
        await ctx.deps.messages.push_later(Conversation(ctx.channel, external_id),
                                           Reply(replaced_notice(title, done.bound_at)))
    others = [ctx.deps.channels.title(name) for name in await accounts.bound_channels(done.user)
              if name != ctx.channel]
    return Done(_summary(title, done, others))


def replaced_notice(title: str, at: datetime) -> str:
    """What an account whose binding a newer registration ended is told."""
    return (f"您的身份信息已于{localtime(at):%Y年%m月%d日 %H:%M}在另一个"
            f"{title}账号上完成实名注册，本账号的实名绑定已解除。"
            "如是本人操作，无需处理（也可在本账号重新实名注册）；如非本人操作，请尽快携带"
            "身份证件到公安交管部门窗口核实处理。")


def _summary(title: str, done: Registration, others: list[str]) -> str:
    user = done.user
    lines = [
        "实名注册成功！",
        f"姓名：{mask_name(user.real_name)}",
        f"身份证号：{mask_id_number(user.id_number)}",
        f"手机号：{mask_phone(user.phone)}（已通过短信验证）",
        f"认证方式：{user.verified_by.label}",
    ]
    if done.replaced:
        lines.append(f"您的身份此前绑定的另一个{title}账号已解除实名绑定，并已收到通知。")
    if others:
        lines.append(f"您已在{'、'.join(others)}完成实名注册，各渠道共用同一份驾驶证、车辆和"
                     "办理记录。")
    lines.append("现在可以在“我的账户”中查看本人的驾驶证和车辆。")
    return "\n".join(lines)


FLOW = Flow(
    name="register",
    title="实名注册",
    click_key="REGISTER",
    start=NAME,
    guard=_not_registered_yet,
    on_start=_start,
    data=RegisterData,
    states={
        NAME: State(
            prompt="实名注册需核验您的身份（姓名、身份证号码、手机号码和刷脸认证）。\n"
                   "请输入您的姓名：",
            field=NameField(),
            save="name",
            then="id_number",
        ),
        "id_number": State(
            prompt="请输入18位身份证号码：",
            field=IdNumberField(),
            save="id_number",
            then="phone",
        ),
        "phone": State(
            prompt="请输入本人手机号码：",
            field=PhoneField(),
            save="phone",
            then=_check_record,
        ),
        FALLBACK: State(
            prompt=_fallback_prompt,
            choices=(Choice("发送短信验证码", value="sms"), Choice("重新刷脸认证", value="face")),
            then=_fallback,
        ),
        NEW_PHONE: State(
            prompt="请输入本人手机号码：",
            field=PhoneField(),
            save="phone",
            then=_phone_entered,
        ),
        FACE_DONE: State(prompt="", then=_face_checked),
        IDENTITY_DONE: State(prompt="", then=_identity_proven),
        PHONE_DONE: State(prompt="", then=_phone_proven),
    },
)
