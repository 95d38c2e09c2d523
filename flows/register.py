"""实名注册: name, ID number and phone; the ID must be on police record; then a face check.

The face check runs on the user's phone: the chat sends the certify link and waits. The face
service settles the result and wakes this journey (the next step arrives as a push), and a
message typed meanwhile lands in the same waiting state. After ``face.max_failures`` failed
checks the user may prove their identity instead by an SMS code sent to the phone **on
police record** for that ID, never to the phone they typed.
"""

from __future__ import annotations

from bot import accounts
from bot.accounts import Person
from bot.engine import Choice, Context, Done, Flow, Outcome, State, Stay
from bot.fields import IdNumberField, NameField, PhoneField, SmsCodeField
from bot.integrations.face import FaceUnavailable
from bot.masking import mask_id_number, mask_name, mask_phone
from bot.messages import Link, Reply
from bot.rules import RecordHolder, on_record, phone_on_record, sms_fallback_allowed
from models.user import User, VerifiedBy
from models.verification import Outcome as CheckOutcome

PURPOSE = "register"
FACE, FALLBACK, SMS_CODE = "face", "fallback", "sms_code"
RESEND = "重新发送"
NOT_ON_RECORD = "未查询到该身份证号的驾驶证或机动车登记信息，请到窗口办理。"
FACE_UNAVAILABLE = "刷脸认证服务暂时不可用，请稍后再试。"
TO_WINDOW = "刷脸认证多次未通过，请携带身份证件到公安交管部门窗口办理实名注册。"


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


async def _check_record(ctx: Context, _: str) -> Outcome:
    """The ID must have a licence or an own vehicle on record naming this person; which of
    the two failed is never said."""
    traffic, id_number = ctx.services.traffic, ctx.data["id_number"]
    licence = await traffic.licence_of(id_number)
    holders = [RecordHolder(licence.holder_name, licence.holder_phone)] if licence else []
    holders += [RecordHolder(vehicle.owner_name, vehicle.owner_phone)
                for vehicle in await traffic.vehicles_of(id_number)]
    if not on_record(ctx.data["name"], holders):
        return Done(NOT_ON_RECORD)
    ctx.data["record_phone"] = phone_on_record(ctx.data["name"], holders)
    ctx.data["failures"] = 0
    return await _begin_face(ctx)


async def _begin_face(ctx: Context, _: object = None) -> Outcome:
    """Start a face check; the prompt of the waiting state shows its link."""
    try:
        ctx.data["face_link"] = await ctx.services.face.begin(
            requester=_who(ctx), purpose=PURPOSE, name=ctx.data["name"],
            id_number=ctx.data["id_number"])
    except FaceUnavailable:
        return Done(FACE_UNAVAILABLE)
    return FACE


async def _face_prompt(ctx: Context) -> Reply:
    return Reply("请点击下方链接，由本人完成刷脸认证。认证完成后将自动通知您结果。",
                 link=Link("点击进行刷脸认证", ctx.data["face_link"]))


async def _face_result(ctx: Context, typed: str | None) -> Outcome:
    """Runs when the face service wakes the journey (None) or the user types anything; a
    user who types may have finished on the phone with no result in yet, so ask for it."""
    check = await ctx.services.face.latest(_who(ctx), PURPOSE)
    outcome = check.outcome if check else CheckOutcome.PENDING
    if check and outcome is CheckOutcome.PENDING and typed is not None:
        outcome = await ctx.services.face.settle(check.reference, wake=False)
    if outcome is CheckOutcome.PASSED:
        return await _registered(ctx, VerifiedBy.FACE)
    if outcome is CheckOutcome.PENDING:
        return Stay("尚未收到刷脸认证结果。如已完成认证，请稍候；如未完成，请点击链接进行认证。")
    if outcome is CheckOutcome.EXPIRED:
        ctx.say("本次刷脸认证已超时，请重新认证。")
        return await _begin_face(ctx)
    ctx.data["failures"] += 1
    max_failures = ctx.services.settings.face.max_failures
    if sms_fallback_allowed(ctx.data["failures"], ctx.data["record_phone"],
                            max_failures=max_failures):
        return FALLBACK
    if ctx.data["failures"] >= max_failures:
        return Done(TO_WINDOW)
    ctx.say(f"刷脸认证未通过（第{ctx.data['failures']}次），请重新认证。")
    return await _begin_face(ctx)


async def _fallback_prompt(ctx: Context) -> str:
    return (f"刷脸认证已{ctx.data['failures']}次未通过。您可以改用短信验证：验证码将发送至"
            f"您在公安交管部门登记的手机号 {mask_phone(ctx.data['record_phone'])}。")


async def _send_code(ctx: Context, _: object = None) -> Outcome:
    sent = await ctx.services.sms_codes.request(
        purpose=PURPOSE, subject=_who(ctx), phone=ctx.data["record_phone"],
        subject_id_number=ctx.data["id_number"])
    if not sent.ok:
        return Stay(sent.message)
    ctx.say(sent.message)
    return SMS_CODE


async def _fallback(ctx: Context, picked: str) -> Outcome:
    return await (_send_code(ctx) if picked == "sms" else _begin_face(ctx))


async def _check_code(ctx: Context, code: str) -> Outcome:
    check = await ctx.services.sms_codes.verify(purpose=PURPOSE, subject=_who(ctx), code=code)
    if not check.ok:
        return Stay(check.message)
    return await _registered(ctx, VerifiedBy.SMS)


async def _registered(ctx: Context, verified_by: VerifiedBy) -> Done:
    data = ctx.data
    user = await accounts.register(ctx.channel, ctx.user_id, Person(
        data["id_number"], data["name"], data["phone"], verified_by))
    return Done(_summary(user))


def _summary(user: User) -> str:
    return "\n".join([
        "实名注册成功！",
        f"姓名：{mask_name(user.real_name)}",
        f"身份证号：{mask_id_number(user.id_number)}",
        f"手机号：{mask_phone(user.phone)}",
        f"认证方式：{user.verified_by.label}",
        "现在可以在“我的账户”中查看本人的驾驶证和车辆。",
    ])


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
            then=_check_code,
            commands={RESEND: _send_code},
        ),
    },
)
