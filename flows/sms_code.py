"""短信验证码, a sub-journey: prove control of a phone by a one-time code sent to it.

A journey ``Call``s it with the phone, the purpose (which names the code: one live code per
purpose and user), the ID number of the person the code concerns and the words asking for
the code. It sends a code at once and takes the answer; 重新发送 sends a new one; wrong
tries are counted by the code service (bot.integrations.sms), whose words the user reads. A
send the phone's limits refuse leaves the user here with the reason, to ask again later.

It returns a ``SmsCodeResult``: confirmed; failed (a code that proves an identity is counted
against the per-ID-number limit, and the limit is reached); or, when the caller offers it,
new_phone (the user wants to give another number). Cancelling reaches the caller as
``CANCELLED``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tortoise.timezone import localtime

from bot.engine import Context, Flow, Return, State, Stay, Transition, exits
from bot.fields import SmsCodeField
from bot.identity_attempts import attempts_notice

NAME = "sms_code"
CODE, CODE_OR_PHONE = "code", "code_or_phone"
RESEND = "重新发送"
CHANGE_PHONE = "更换手机号"


class SmsCode(StrEnum):
    CONFIRMED = "confirmed"
    FAILED = "failed"
    NEW_PHONE = "new_phone"


@dataclass(frozen=True)
class SmsCodeResult:
    status: SmsCode
    message: str = ""


@dataclass
class SmsCodeData:
    phone: str = ""
    purpose: str = ""
    id_number: str = ""  # whose identity the code concerns (kept on the audit row)
    ask: str = "请输入短信中的6位验证码"  # the words asking for the code
    # Each code sent is an identity check of ``id_number`` (bot.identity_attempts).
    counted: bool = False
    # The user may answer 更换手机号 (the caller then asks for another phone).
    changeable: bool = False


def call_data(*, phone: str, purpose: str, id_number: str, ask: str | None = None,
              counted: bool = False, changeable: bool = False) -> dict[str, object]:
    """The seed of a ``Call`` to this journey."""
    seed: dict[str, object] = {"phone": phone, "purpose": purpose, "id_number": id_number,
                               "counted": counted, "changeable": changeable}
    if ask is not None:
        seed["ask"] = ask
    return seed


@exits(CODE, CODE_OR_PHONE)
async def _send(ctx: Context, _: object = None) -> Transition:
    """Send a code (counted as an identity check when asked; a refused send is not)."""
    data: SmsCodeData = ctx.data
    attempts = ctx.deps.identity_attempts
    token = ""
    if data.counted:
        attempt = await attempts.start(data.id_number)
        if not attempt.allowed:
            notice = attempts_notice(localtime(attempt.refused_until), localtime(),
                                     attempts.limit)
            return Return(SmsCodeResult(SmsCode.FAILED, notice))
        token = attempt.token
    sent = await ctx.deps.sms_codes.request(purpose=data.purpose, subject=ctx.conversation,
                                            phone=data.phone, subject_id_number=data.id_number)
    if not sent.ok and token:
        await attempts.cancel(data.id_number, token)
    ctx.say(sent.message)
    return CODE_OR_PHONE if data.changeable else CODE


async def _check(ctx: Context, code: str) -> Transition:
    check = await ctx.deps.sms_codes.verify(purpose=ctx.data.purpose, subject=ctx.conversation,
                                            phone=ctx.data.phone, code=code)
    if not check.ok:
        return Stay(check.message)
    return Return(SmsCodeResult(SmsCode.CONFIRMED))


async def _new_phone(ctx: Context, _: str) -> Transition:
    return Return(SmsCodeResult(SmsCode.NEW_PHONE))


async def _code_prompt(ctx: Context) -> str:
    change = f"；号码有误？回复“{CHANGE_PHONE}”" if ctx.data.changeable else ""
    return f"{ctx.data.ask}（没有收到？回复“{RESEND}”{change}）："


FLOW = Flow(
    name=NAME,
    title="短信验证码",
    start=CODE,
    in_menu=False,
    data=SmsCodeData,
    on_start=_send,
    states={
        CODE: State(prompt=_code_prompt, field=SmsCodeField(), then=_check,
                    commands={RESEND: _send}),
        CODE_OR_PHONE: State(prompt=_code_prompt, field=SmsCodeField(), then=_check,
                             commands={RESEND: _send, CHANGE_PHONE: _new_phone}),
    },
)
