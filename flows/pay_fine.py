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
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import accounts
from bot.engine import Choice, Context, Done, Flow, State, Stay, Transition, exits
from bot.fields import DecisionNumberField
from bot.messages import Conversation, Link, Reply
from bot.rules import BEIJING
from flows.summaries import offence
from models.enums import ViolationState
from models.user import User
from models.violation import Violation
from payments.service import PaymentRefused, yuan

NAME = "pay_fine"
TITLE = "罚款缴纳"
CHOOSE, NUMBER, BREAKDOWN = "choose", "number", "breakdown"
BY_NUMBER = "按处罚决定书编号缴纳"
REMINDERS = "reminders"  # the choice that switches payment reminders
GONE = "未找到该处罚决定，请重新办理。"
CHOOSE_PROMPT = "请选择要缴纳的罚款（您名下车辆、关注车辆和本人驾驶证的已处理未缴款记录）："


@dataclass
class PayData:
    decision: str = ""  # the decision number chosen or typed


async def _me(ctx: Context) -> User | None:
    return await ctx.once("me", lambda: accounts.user_of(ctx.channel, ctx.user_id))


async def _unpaid(ctx: Context) -> list[Violation]:
    user = await _me(ctx)
    return [] if user is None else await ctx.once(
        "unpaid", lambda: ctx.deps.payments.unpaid_of(user))


def _closed(ctx: Context) -> str | None:
    reopens = ctx.deps.payments.reopens_at()
    if reopens is None:
        return None
    config = ctx.deps.payments.config
    return (f"每日{config.maintenance_start}至次日{config.maintenance_end}为系统维护时间，"
            f"暂停缴款，请于 {reopens:%H:%M} 后再来缴纳。")


@exits(CHOOSE, NUMBER)
async def _start(ctx: Context, _: None) -> Transition:
    """The maintenance window first; then a registered user's list (with the reminders'
    switch), or straight to the number."""
    closed = _closed(ctx)
    if closed is not None:
        return Done(closed, menu=True)
    if await _me(ctx) is None:
        return NUMBER
    if not await _unpaid(ctx):
        ctx.say("您名下车辆、关注车辆和本人驾驶证暂无待缴纳的罚款。")
    return CHOOSE


def _line(violation: Violation) -> str:
    return (f"{violation.plate_number} 决定书{violation.decision_number} "
            f"{offence(violation.description)} 罚款{yuan(violation.fine)}元")


async def _choices(ctx: Context) -> list[Choice]:
    user = await _me(ctx)
    switch = [] if user is None else [Choice(
        "关闭缴款提醒" if await ctx.deps.payments.reminders.enabled(user) else "开启缴款提醒",
        value=REMINDERS)]
    return [*(Choice(_line(v), value=v.decision_number) for v in await _unpaid(ctx)),
            Choice(BY_NUMBER, goto=NUMBER), *switch]


@exits(BREAKDOWN)
async def _chosen(ctx: Context, decision: str) -> Transition:
    if decision == REMINDERS:
        return await _switch_reminders(ctx)
    ctx.data.decision = decision
    return BREAKDOWN


async def _switch_reminders(ctx: Context) -> Transition:
    """Reminders before the last day to pay and when late fees start: on or off."""
    user = await _me(ctx)
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
    """A typed number must name an adjudicated record that is still to be paid."""
    violation = await ctx.deps.payments.decision(decision)
    if violation is None:
        return Stay("未找到该处罚决定书编号，请核对后重新输入（回复“菜单”返回）。")
    if violation.state is ViolationState.PAID:
        return Done("该处罚决定的罚款已缴纳，无需重复缴纳。", menu=True)
    if violation.state is not ViolationState.PROCESSED_UNPAID:
        return Done(f"该记录状态为“{violation.state.label}”，不能缴款。", menu=True)
    ctx.data.decision = decision
    return BREAKDOWN


async def _decision(ctx: Context) -> Violation | None:
    return await ctx.once(("decision", ctx.data.decision),
                          lambda: ctx.deps.payments.decision(ctx.data.decision))


async def _breakdown_prompt(ctx: Context) -> str:
    violation = await _decision(ctx)
    if violation is None or violation.decided_on is None:
        return GONE
    quote = ctx.deps.payments.quote(violation)
    lines = [
        "缴款信息",
        f"处罚决定书编号：{violation.decision_number}",
        f"车辆：{violation.plate_number}（{violation.plate_type.label}）",
        f"违法行为：{violation.code} {violation.description}",
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


@exits()
async def _confirmed(ctx: Context, _: str) -> Transition:
    """The order, priced again by the server now; its link."""
    try:
        order = await ctx.deps.payments.order(ctx.data.decision, await _me(ctx),
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
        BREAKDOWN: State(prompt=_breakdown_prompt,
                         choices=(Choice("确认缴纳", value="confirm"),
                                  Choice("返回", goto=CHOOSE)),
                         then=_confirmed),
    },
)
