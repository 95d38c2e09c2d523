"""罚款缴纳: pay a decided fine through Alipay (DOMAIN.md "Paying fines").

A registered user picks from the processed-unpaid decisions of their own and followed
vehicles and of their own licence, or types a decision number (any adjudicated record:
processed online, on-site, general procedure); anyone else types the number. The breakdown
(principal, late fee to date, days overdue, the total) is the server's (bot.payments); on
confirmation the order is made and the pay link given: an image-text message in Alipay, a
link in WeChat. The outcome comes by Alipay's notify, later: the payer is told in the
conversation they paid from (payments.service), so the journey ends with the link.
Registered users also find the switch of their payment reminders (payments.reminders) in
the list.

Typed numbers are guesses to be limited like the queries' proofs (bot/lockout.py): decision
numbers are sequential, so a number not found counts as a failed match of the conversation
and, for a registered user, of the person (another channel or a new openid goes on from the
same count), with the queries' pause. A number found but not payable (paid, handled
elsewhere) says only that. The breakdown of a record not in the user's own list (their own
and followed vehicles, their licence) masks the plate and leaves out the time and place:
the number, the offence, the dates and the amounts are enough to recognise a fine.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.timezone import localtime

from bot import accounts
from bot.engine import Choice, Context, Done, Flow, State, Stay, Transition, exits
from bot.fields import DecisionNumberField
from bot.lockout import pause_notice
from bot.masking import mask_plate
from bot.messages import Conversation, Link, Reply
from bot.rules import BEIJING
from flows.summaries import offence
from models.enums import ViolationState
from models.violation import Violation
from payments.service import PaymentRefused, yuan

NAME = "pay_fine"
TITLE = "罚款缴纳"
CHOOSE, NUMBER, BREAKDOWN = "choose", "number", "breakdown"
BY_NUMBER = "按处罚决定书编号缴纳"
REMINDERS = "reminders"  # the choice that switches payment reminders
BACK = "back"  # the breakdown's 返回 (or, begun there, its way to the list)
ALL_UNPAID = "查看全部待缴罚款"
NOT_FOUND = "未找到该处罚决定书编号，请核对后重新输入（回复“菜单”返回）。"
GONE = "未找到该处罚决定，请重新办理。"
CHOOSE_PROMPT = "请选择要缴纳的罚款（您名下车辆、关注车辆和本人驾驶证的已处理未缴款记录）："


@dataclass
class PayData:
    decision: str = ""  # the decision number chosen or typed, or the seed of a journey
    straight: bool = False  # begun at the seed's breakdown: no step lies behind it


async def _unpaid(ctx: Context) -> list[Violation]:
    user = await accounts.of_chat(ctx)
    return [] if user is None else await ctx.once(
        "unpaid", lambda: ctx.deps.payments.unpaid_of(user))


def _closed(ctx: Context) -> str | None:
    reopens = ctx.deps.payments.reopens_at()
    if reopens is None:
        return None
    config = ctx.deps.payments.config
    return (f"每日{config.maintenance_start}至次日{config.maintenance_end}为系统维护时间，"
            f"暂停缴款，请于 {reopens:%H:%M} 后再来缴纳。")


async def _person(ctx: Context) -> str | None:
    """Whom failed matches count for beside the conversation: a registered user's ID number."""
    user = await accounts.of_chat(ctx)
    return None if user is None else user.id_number


async def _paused(ctx: Context) -> str | None:
    """The pause notice while this conversation, or the registered person in any of their
    accounts, is paused after too many failed matches."""
    until = await ctx.deps.failed_matches.paused_until(ctx.conversation,
                                                       person=await _person(ctx))
    return None if until is None else pause_notice(localtime(until), localtime())


@exits(CHOOSE, NUMBER, BREAKDOWN)
async def _start(ctx: Context, _: None) -> Transition:
    """The maintenance window first; then a registered user's list (with the reminders'
    switch), or straight to the number unless paused. Seeded with a decision of the user's
    own list (processing's 立即缴纳罚款), that fine's breakdown at once, which offers the list
    in place of 返回 (typed 返回 leaves, as on any first step)."""
    closed = _closed(ctx)
    if closed is not None:
        return Done(closed, menu=True)
    if await accounts.of_chat(ctx) is None:
        paused = await _paused(ctx)
        return NUMBER if paused is None else Done(paused, menu=True)
    unpaid = await _unpaid(ctx)
    if any(own.decision_number == ctx.data.decision for own in unpaid):
        ctx.data.straight = True
        return BREAKDOWN
    ctx.data.decision = ""
    if not unpaid:
        ctx.say("您名下车辆、关注车辆和本人驾驶证暂无待缴纳的罚款。")
    return CHOOSE


def _line(violation: Violation) -> str:
    return (f"{violation.plate_number} 决定书{violation.decision_number} "
            f"{offence(violation.description)} 罚款{yuan(violation.fine)}元")


async def _choices(ctx: Context) -> list[Choice]:
    user = await accounts.of_chat(ctx)
    switch = [] if user is None else [Choice(
        "关闭缴款提醒" if await ctx.deps.payments.reminders.enabled(user) else "开启缴款提醒",
        value=REMINDERS)]
    return [*(Choice(_line(v), value=v.decision_number) for v in await _unpaid(ctx)),
            Choice(BY_NUMBER), *switch]


@exits(BREAKDOWN, NUMBER)
async def _chosen(ctx: Context, decision: str) -> Transition:
    if decision == REMINDERS:
        return await _switch_reminders(ctx)
    if decision == BY_NUMBER:
        paused = await _paused(ctx)
        return NUMBER if paused is None else Stay(paused)  # the own list stays payable
    ctx.data.decision, ctx.data.straight = decision, False
    return BREAKDOWN


async def _switch_reminders(ctx: Context) -> Transition:
    """Reminders before the last day to pay and when late fees start: on or off."""
    user = await accounts.of_chat(ctx)
    if user is None:
        return Done(GONE, menu=True)
    reminders = ctx.deps.payments.reminders
    on = not await reminders.enabled(user)
    await reminders.switch(user, on=on)
    if on:
        return Done("已开启缴款提醒：缴款期限前3天和开始加收滞纳金时，将在这里提醒您。",
                    menu=True)
    return Done("已关闭缴款提醒。可随时在“罚款缴纳”中重新开启。", menu=True)


@exits(BREAKDOWN)
async def _typed(ctx: Context, decision: str) -> Transition:
    """A typed number must name an adjudicated record that is still to be paid; one that
    names none is a failed match."""
    paused = await _paused(ctx)  # perhaps since the prompt, in the person's other account
    if paused is not None:
        return Done(paused, menu=True)
    ctx.data.decision = decision
    violation = await _decision(ctx)  # the breakdown's prompt, next, shares the lookup
    if violation is None:
        return await _missed(ctx)
    if violation.state is ViolationState.PAID:
        return Done("该处罚决定的罚款已缴纳，无需重复缴纳。", menu=True)
    if violation.state is not ViolationState.PROCESSED_UNPAID:
        return Done(f"该记录状态为“{violation.state.label}”，不能缴款。", menu=True)
    return BREAKDOWN


async def _missed(ctx: Context) -> Transition:
    """Count the miss for the conversation and the person; the pause it may start ends the
    journey as the queries' does."""
    until = await ctx.deps.failed_matches.record(ctx.conversation, None,
                                                 person=await _person(ctx))
    if until is not None:
        return Done(pause_notice(localtime(until), localtime()), menu=True)
    return Stay(NOT_FOUND)


async def _decision(ctx: Context) -> Violation | None:
    return await ctx.once(("decision", ctx.data.decision),
                          lambda: ctx.deps.payments.decision(ctx.data.decision))


async def _breakdown_prompt(ctx: Context) -> str:
    violation = await _decision(ctx)
    if violation is None or violation.decided_on is None:
        return GONE
    quote = ctx.deps.payments.quote(violation)
    occurred = localtime(violation.occurred_at)
    if any(own.id == violation.id for own in await _unpaid(ctx)):
        plate, when = violation.plate_number, [f"违法时间：{occurred:%Y-%m-%d %H:%M}",
                                               f"违法地点：{violation.place}"]
    else:  # reached by a typed number: someone else's, perhaps guessed
        plate, when = mask_plate(violation.plate_number), [f"违法日期：{occurred:%Y-%m-%d}"]
    lines = [
        "缴款信息",
        f"处罚决定书编号：{violation.decision_number}",
        f"车辆：{plate}（{violation.plate_type.label}）",
        f"违法行为：{violation.code} {violation.description}",
        *when,
        f"决定日期：{violation.decided_on:%Y-%m-%d}，缴款期限：{quote.pay_by:%Y-%m-%d}",
        f"罚款：{yuan(quote.principal)}元",
    ]
    if quote.days_overdue:
        lines.append(f"滞纳金：{yuan(quote.late_fee)}元（逾期{quote.days_overdue}天，每日按罚款的"
                     f"3%加处，不超过罚款本身）")
    else:
        lines.append("滞纳金：0元（未逾期）")
    lines += [f"应缴合计：{yuan(quote.amount)}元", "", "确认通过支付宝缴纳吗？"]
    return "\n".join(lines)


async def _breakdown_choices(ctx: Context) -> list[Choice]:
    return [Choice("确认缴纳", value="confirm"),
            Choice(ALL_UNPAID if ctx.data.straight else "返回", value=BACK)]


@exits(CHOOSE, NUMBER)
async def _confirmed(ctx: Context, answer: str) -> Transition:
    """The order, priced again by the server now; its link. 返回 goes to the list, or to
    the number for someone who has no list."""
    if answer == BACK:
        ctx.data.straight = False
        return NUMBER if await accounts.of_chat(ctx) is None else CHOOSE
    try:
        order = await ctx.deps.payments.order(ctx.data.decision, await accounts.of_chat(ctx),
                                              Conversation(ctx.channel, ctx.user_id))
    except PaymentRefused as refused:
        return Done(f"{refused}。", menu=True)
    payment = order.payment
    until = payment.expires_at.astimezone(BEIJING)
    return Done(Reply(
        f"请在 {until:%H:%M} 前点击下方链接，在支付宝完成缴款 {yuan(payment.amount)} 元"
        f"（处罚决定书 {payment.decision_number}）。缴款结果将在这里通知您，请勿重复付款。",
        link=Link(f"支付宝缴纳罚款 {yuan(payment.amount)} 元", order.url)))


FLOW = Flow(
    name=NAME,
    title=TITLE,
    click_key="PAY_FINE",
    start=CHOOSE,
    on_start=_start,
    data=PayData,
    states={
        CHOOSE: State(prompt=CHOOSE_PROMPT, choices=_choices, then=_chosen),
        NUMBER: State(prompt="请输入处罚决定书编号（处罚决定书或处理通知书上的15或16位数字）：",
                      field=DecisionNumberField(), then=_typed),
        BREAKDOWN: State(prompt=_breakdown_prompt, choices=_breakdown_choices,
                         then=_confirmed),
    },
)
