"""实名注册: name, ID number and phone; the ID must be on police record; then a face check.

The face check runs on the user's phone: the chat sends the certify link and waits. The face
service settles the result and wakes this journey (the next step arrives as a push), and a
message typed meanwhile lands in the same waiting state. After ``face.max_failures`` failed
checks the user may prove their identity instead by an SMS code sent to the phone **on
police record** for that ID, never to the phone they typed.

Only proven phones are stored: after the SMS fallback the phone on record (the code proved
it); after a face pass the typed phone, once an SMS code sent to it comes back. Identity
checks (face checks and fallback codes) are limited per ID number from anyone
(bot.identity_attempts); the binding policy is ``accounts.register``'s.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from tortoise.timezone import localtime

from bot import accounts
from bot.accounts import Person, Registration
from bot.engine import (
    Await,
    Choice,
    Context,
    Done,
    Flow,
    Handler,
    Outcome,
    State,
    Stay,
    exits,
)
from bot.fields import IdNumberField, NameField, PhoneField, SmsCodeField
from bot.identity_attempts import IdentityAttempts, attempts_notice
from bot.integrations.face import FaceUnavailable
from bot.masking import mask_id_number, mask_name, mask_phone
from bot.messages import Link, Reply
from bot.rules import RecordHolder, on_record, phone_on_record, sms_fallback_allowed
from models.user import VerifiedBy
from models.verification import Outcome as CheckOutcome

PURPOSE = "register"
PHONE_PURPOSE = "register_phone"  # the code that proves the typed phone after a face pass
FACE, FALLBACK, SMS_CODE = "face", "fallback", "sms_code"
PHONE_CODE, NEW_PHONE = "phone_code", "new_phone"
RESEND = "重新发送"
CHANGE_PHONE = "更换手机号"
NOT_ON_RECORD = "未查询到该身份证号的驾驶证或机动车登记信息，请到窗口办理。"
FACE_UNAVAILABLE = "刷脸认证服务暂时不可用，请稍后再试。"
TO_WINDOW = "刷脸认证多次未通过，请携带身份证件到公安交管部门窗口办理实名注册。"
CHANNEL_NAMES = {"wechat": "微信", "alipay": "支付宝"}


def _who(ctx: Context) -> str:
    return f"{ctx.channel}:{ctx.user_id}"


async def _not_registered_yet(ctx: Context) -> str | None:
    """Flow guard: a registered user is told so, with whom they are registered as."""
    user = await accounts.user_of(ctx.channel, ctx.user_id)
    if user is None:
        return None
    return (f"您已完成实名注册（{mask_name(user.real_name)}，"
            f"身份证号 {mask_id_number(user.id_number)}），无需重复注册。"
            "可在“我的账户”中查看本人驾驶证和车辆。")


@exits(FACE)
async def _check_record(ctx: Context, _: str) -> Outcome:
    """The ID must have a licence or an own vehicle on record naming this person; which of
    the two failed is never said."""
    traffic, id_number = ctx.deps.traffic, ctx.data["id_number"]
    licence = await traffic.licence_of(id_number)
    holders = [RecordHolder(licence.holder_name, licence.holder_phone)] if licence else []
    holders += [RecordHolder(vehicle.owner_name, vehicle.owner_phone)
                for vehicle in await traffic.vehicles_of(id_number)]
    if not on_record(ctx.data["name"], holders):
        return Done(NOT_ON_RECORD)
    ctx.data["record_phone"] = phone_on_record(ctx.data["name"], holders)
    ctx.data["failures"] = 0
    return await _begin_face(ctx)


async def _identity_check(ctx: Context, begin: Handler) -> Outcome:
    """Count an identity check of the ID number (from anyone) and start it with ``begin``;
    over the day's limit nothing starts. A check that did not start (``begin`` answered
    with anything but a next state) is not counted."""
    attempts = IdentityAttempts.from_settings(ctx.deps.redis, ctx.deps.settings)
    attempt = await attempts.start(ctx.data["id_number"])
    if not attempt.allowed:
        return Done(attempts_notice(localtime(attempt.refused_until), localtime(),
                                    attempts.limit))
    outcome = await begin(ctx, None)
    if not isinstance(outcome, str | Await):
        await attempts.cancel(ctx.data["id_number"], attempt.token)
    return outcome


@exits(FACE)
async def _begin_face(ctx: Context, _: object = None) -> Outcome:
    """Start a face check; the prompt of the waiting state shows its link."""
    return await _identity_check(ctx, _face_link)


async def _face_link(ctx: Context, _: object) -> Outcome:
    try:
        ctx.data["face_link"] = await ctx.deps.face.begin(
            requester=_who(ctx), purpose=PURPOSE, name=ctx.data["name"],
            id_number=ctx.data["id_number"])
    except FaceUnavailable:
        return Done(FACE_UNAVAILABLE)
    check = await ctx.deps.face.latest(_who(ctx), PURPOSE)
    return Await(check.reference, FACE)  # the face.settled event resumes the journey


async def _face_prompt(ctx: Context) -> Reply:
    return Reply("请点击下方链接，由本人完成刷脸认证。认证完成后将自动通知您结果。",
                 link=Link("点击进行刷脸认证", ctx.data["face_link"]))


@exits(FACE, FALLBACK, PHONE_CODE)
async def _face_result(ctx: Context, typed: str | None) -> Outcome:
    """Runs when the face service wakes the journey (None) or the user types anything; a
    user who types may have finished on the phone with no result in yet, so ask for it."""
    check = await ctx.deps.face.latest(_who(ctx), PURPOSE)
    outcome = check.outcome if check else CheckOutcome.PENDING
    if check and outcome is CheckOutcome.PENDING and typed is not None:
        outcome = await ctx.deps.face.settle(check.reference)
    if outcome is CheckOutcome.PASSED:
        return await _face_passed(ctx)
    if outcome is CheckOutcome.PENDING:
        return Stay("尚未收到刷脸认证结果。如已完成认证，请稍候；如未完成，请点击链接进行认证。")
    if outcome is CheckOutcome.EXPIRED:
        ctx.say("本次刷脸认证已超时，请重新认证。")
        return await _begin_face(ctx)
    ctx.data["failures"] += 1
    max_failures = ctx.deps.settings.face.max_failures
    if sms_fallback_allowed(ctx.data["failures"], ctx.data["record_phone"],
                            max_failures=max_failures):
        return FALLBACK
    if ctx.data["failures"] >= max_failures:
        return Done(TO_WINDOW)
    ctx.say(f"刷脸认证未通过（第{ctx.data['failures']}次），请重新认证。")
    return await _begin_face(ctx)


async def _face_passed(ctx: Context) -> Outcome:
    """The identity is proven; the typed phone is not yet: a code goes to it. A code the
    phone's limits refuse now can be asked for again in the next state."""
    ctx.say("刷脸认证通过。请再验证您的手机号码。")
    outcome = await PHONE_PROOF.send(ctx)
    if isinstance(outcome, Stay):
        ctx.say(outcome.message)
        return PHONE_CODE
    return outcome


async def _fallback_prompt(ctx: Context) -> str:
    return (f"刷脸认证已{ctx.data['failures']}次未通过。您可以改用短信验证：验证码将发送至"
            f"您在公安交管部门登记的手机号 {mask_phone(ctx.data['record_phone'])}。")


@exits(FACE, SMS_CODE)
async def _fallback(ctx: Context, picked: str) -> Outcome:
    return await (_send_identity_code(ctx) if picked == "sms" else _begin_face(ctx))


@exits(SMS_CODE)
async def _send_identity_code(ctx: Context, _: object = None) -> Outcome:
    """A code to the phone on record is an identity check: counted like a face check."""
    return await _identity_check(ctx, IDENTITY_CODE.send)


@dataclass(frozen=True)
class _CodeStep:
    """An SMS code sub-step: a code to the phone kept under ``phone_key`` in the journey's
    data, answered in ``state``; ``passed`` runs when the right code comes back."""

    state: str
    purpose: str
    phone_key: str
    passed: Callable[[Context], Awaitable[Outcome]]

    @exits(SMS_CODE, PHONE_CODE)
    async def send(self, ctx: Context, _: object = None) -> Outcome:
        sent = await ctx.deps.sms_codes.request(
            purpose=self.purpose, subject=_who(ctx), phone=ctx.data[self.phone_key],
            subject_id_number=ctx.data["id_number"])
        if not sent.ok:
            return Stay(sent.message)
        ctx.say(sent.message)
        return self.state

    async def check(self, ctx: Context, code: str) -> Outcome:
        check = await ctx.deps.sms_codes.verify(purpose=self.purpose, subject=_who(ctx),
                                                    code=code)
        if not check.ok:
            return Stay(check.message)
        return await self.passed(ctx)


async def _registered(ctx: Context, verified_by: VerifiedBy, phone: str) -> Done:
    """Register with the proven phone; accounts that lost their binding are told in chat."""
    data = ctx.data
    done = await accounts.register(
        ctx.channel, ctx.user_id, Person(data["id_number"], data["name"], phone, verified_by),
        bindings_per_channel=ctx.deps.settings.register.bindings_per_channel)
    for external_id in done.replaced:
        # The send_reply job deliver_later queues: a customer-service message, retried.
        await ctx.deps.redis.enqueue_job(
            "send_reply", ctx.channel, external_id,
            Reply(replaced_notice(ctx.channel, done.bound_at)).to_json())
    return Done(_summary(ctx.channel, done))


def replaced_notice(channel: str, at: datetime) -> str:
    """What an account whose binding a newer registration ended is told."""
    return (f"您的身份信息已于{localtime(at):%Y年%m月%d日 %H:%M}在另一个"
            f"{CHANNEL_NAMES.get(channel, '')}账号上完成实名注册，本账号的实名绑定已解除。"
            "如是本人操作，无需处理（也可在本账号重新实名注册）；如非本人操作，请尽快携带"
            "身份证件到公安交管部门窗口核实处理。")


def _summary(channel: str, done: Registration) -> str:
    user = done.user
    lines = [
        "实名注册成功！",
        f"姓名：{mask_name(user.real_name)}",
        f"身份证号：{mask_id_number(user.id_number)}",
        f"手机号：{mask_phone(user.phone)}（已通过短信验证）",
        f"认证方式：{user.verified_by.label}",
    ]
    if done.replaced:
        lines.append(f"您的身份此前绑定的另一个{CHANNEL_NAMES.get(channel, '')}账号已解除"
                     "实名绑定，并已收到通知。")
    lines.append("现在可以在“我的账户”中查看本人的驾驶证和车辆。")
    return "\n".join(lines)


async def _proved_by_sms(ctx: Context) -> Outcome:
    return await _registered(ctx, VerifiedBy.SMS, ctx.data["record_phone"])


async def _proved_phone(ctx: Context) -> Outcome:
    return await _registered(ctx, VerifiedBy.FACE, ctx.data["phone"])


IDENTITY_CODE = _CodeStep(SMS_CODE, PURPOSE, "record_phone", _proved_by_sms)
PHONE_PROOF = _CodeStep(PHONE_CODE, PHONE_PURPOSE, "phone", _proved_phone)

FLOW = Flow(
    name="register",
    title="实名注册",
    click_key="REGISTER",
    start="name",
    guard=_not_registered_yet,
    states={
        "name": State(
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
        FACE: State(prompt=_face_prompt, then=_face_result),
        FALLBACK: State(
            prompt=_fallback_prompt,
            choices=(Choice("发送短信验证码", value="sms"), Choice("重新刷脸认证", value="face")),
            then=_fallback,
        ),
        SMS_CODE: State(
            prompt=f"请输入短信中的6位验证码（没有收到？回复“{RESEND}”）：",
            field=SmsCodeField(),
            then=IDENTITY_CODE.check,
            commands={RESEND: _send_identity_code},
        ),
        PHONE_CODE: State(
            prompt=f"请输入发送到您手机的6位验证码，以确认手机号码为本人使用（没有收到？回复"
                   f"“{RESEND}”；号码有误？回复“{CHANGE_PHONE}”）：",
            field=SmsCodeField(),
            then=PHONE_PROOF.check,
            commands={RESEND: PHONE_PROOF.send, CHANGE_PHONE: NEW_PHONE},
        ),
        NEW_PHONE: State(
            prompt="请输入本人手机号码：",
            field=PhoneField(),
            save="phone",
            then=PHONE_PROOF.send,
        ),
    },
)
