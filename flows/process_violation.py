"""交通违法处理: process a violation of one's own or a followed vehicle online (DOMAIN.md).

The user picks one of the unprocessed violations of their own and followed vehicles; the
rules (bot.rules.eligibility, through bot.processing) either refuse it, saying why and which
window to go to, or show the points forecast and the warning about points taken at a window.
On confirmation a case opens (bot.processing): a point violation of a followed vehicle first
waits for the owner's face verification, asked of the owner in chat or by SMS, while this
journey ``Await``s the owner's check: its face.settled event, the owner's refusal and the
deadline all come under that reference. Then the processor's own face check (the
face_check sub-journey), and the decision in one transaction.

A processor who left finds the owner's news, or their own face result, under 待处理: it
opens this journey seeded with the case (or the check), which picks up from the case.

``process_owner`` is the registered owner's side, opened from a pending action: who asks
(masked) and what, then 同意并刷脸认证 (the face link) or 拒绝.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.timezone import localtime

from bot import accounts
from bot.engine import (
    Await,
    Call,
    Cancel,
    Choice,
    Context,
    Done,
    Flow,
    StartFlow,
    State,
    Stay,
    Transition,
    exits,
)
from bot.events import Event
from bot.integrations.face import FaceUnavailable
from bot.masking import mask_name, mask_plate
from bot.messages import Conversation, Link, Reply
from bot.processing import FLOW as NAME
from bot.processing import OWNER_FLOW, Judged, ProcessingRefused, facts_of, yuan
from bot.rules import points_after
from flows import face_check
from flows.face_check import FaceCheck, FaceCheckResult
from flows.followed_vehicle import named
from flows.summaries import offence
from models.processing import CaseState, OwnerAsked, ProcessingCase
from models.user import User
from models.vehicle import Vehicle
from models.verification import Method, Outcome, Verification
from models.violation import Violation

TITLE = "交通违法处理"
CHOOSE, FORECAST, WAIT_OWNER, FACE_DONE = "choose", "forecast", "wait_owner", "face_done"
DECIDED = "decided"
PAY_FLOW = "pay_fine"  # 罚款缴纳 (flows/pay_fine.py), seeded with the new decision
NOT_REGISTERED = "交通违法处理需先完成实名注册，请在“实名注册”中办理。"
NOTHING = ("您名下车辆和关注的车辆暂无未处理的违法记录。"
           "其他车辆的违法请在“查询车辆违法”中查询，可在线处理的需先关注该车辆。")
WARNING = ("温馨提示：在窗口处理的记分可能尚未同步到本平台。如您近期在其他地方处理过记分违法，"
           "请暂勿在线处理记分违法，以免累积记分达到12分。")
GONE = "未找到该处理申请。"
CASE_WORDS = {
    CaseState.REFUSED: "车主拒绝了刷脸认证，本次处理未完成。",
    CaseState.FAILED: "车主刷脸认证未通过，本次处理未完成。",
    CaseState.EXPIRED: "车主未在有效期内完成刷脸认证，本次处理已过期，可重新办理。",
    CaseState.CANCELLED: "本次处理已取消。",
    CaseState.PROCESSED: "该违法已处理完成。",
}


@dataclass
class ProcessData:
    violation: int = 0  # the one chosen
    case: int = 0  # the case opened (or the one a pending item names)
    face_reference: str = ""  # a face result opened from 待处理 names only its check
    decided: str = ""  # what the decision said, shown with the offer to pay now
    decision: str = ""  # its decision number: 立即缴纳罚款 opens that fine's breakdown


async def _registered(ctx: Context) -> str | None:
    """Flow guard: processing is for registered users."""
    return None if await accounts.of_chat(ctx) is not None else NOT_REGISTERED


@exits(CHOOSE, WAIT_OWNER, FACE_DONE, DECIDED, calls=(face_check.NAME,))
async def _start(ctx: Context, _: None) -> Transition:
    """Fresh: the list. Seeded by a pending item: the case, wherever it stands now."""
    data: ProcessData = ctx.data
    user = await accounts.of_chat(ctx)
    assert user is not None  # the guard
    processing = ctx.deps.processing
    if data.case or data.face_reference:
        case = (await processing.case_of(user, data.case) if data.case
                else await processing.case_by_check(user, data.face_reference))
        if case is None:
            return Done(GONE, menu=True)
        data.case, data.violation = case.id, case.violation_id
        return await _go_on(ctx, case)
    if not await _violations(ctx):
        return Done(NOTHING, menu=True)
    return CHOOSE


# ---- choose -----------------------------------------------------------------------------------


async def _violations(ctx: Context) -> list[Violation]:
    user = await accounts.of_chat(ctx)
    return [] if user is None else await ctx.once(
        "processable", lambda: ctx.deps.processing.mine(user))


def _line(violation: Violation) -> str:
    return (f"{violation.plate_number} {localtime(violation.occurred_at):%Y-%m-%d} "
            f"{offence(violation.description)} 罚款{yuan(violation.fine)}元 "
            f"记{violation.points}分")


async def _choices(ctx: Context) -> list[Choice]:
    return [Choice(_line(v), value=v.id) for v in await _violations(ctx)]


async def _judged(ctx: Context) -> Judged | None:
    user = await accounts.of_chat(ctx)
    if user is None:
        return None
    return await ctx.once(("judged", ctx.data.violation),
                          lambda: ctx.deps.processing.judge(user, ctx.data.violation))


@exits(FORECAST)
async def _chosen(ctx: Context, violation_id: int) -> Transition:
    """The rules' verdict: on to the forecast, or the reason and the window with the list
    again (another of the user's violations may well be processable here)."""
    ctx.data.violation = violation_id
    judged = await _judged(ctx)
    if judged is None:
        return Done(GONE, menu=True)
    refusal = judged.eligibility.refusal
    if refusal is not None:
        return Stay(f"该违法不能在线处理：{refusal.reason}。\n办理方式：{refusal.where}。"
                    "\n您可以选择其他违法，或回复“取消”结束。")
    return FORECAST


async def _forecast_prompt(ctx: Context) -> str:
    judged = await _judged(ctx)
    if judged is None:
        return GONE
    violation = judged.violation
    limit = ctx.deps.processing.config.point_limit
    lines = [
        "违法详情",
        f"车辆：{violation.plate_number}（{violation.plate_type.label}）",
        f"时间：{localtime(violation.occurred_at):%Y-%m-%d %H:%M}",
        f"地点：{violation.place}",
        f"违法行为：{violation.code} {violation.description}",
        f"罚款：{yuan(violation.fine)}元",
        f"记分：{violation.points}分",
        "",
    ]
    if violation.points:
        after = points_after(judged.licence, facts_of(violation))
        lines += [f"处理后您的记分将为 {after}/{limit}", WARNING]
    else:
        lines.append("该违法不记分，处理后您的记分不变。")
    if judged.owner_first:
        lines.append("这是他人车辆的记分违法：需先由车主本人刷脸认证同意，再由您本人刷脸认证。")
    else:
        lines.append("处理需您本人刷脸认证。")
    lines.append("处理后将生成处罚决定，请在15日内缴纳罚款。确认处理吗？")
    return "\n".join(lines)


@exits(WAIT_OWNER, FACE_DONE, DECIDED, calls=(face_check.NAME,))
async def _confirmed(ctx: Context, _: str) -> Transition:
    """Open the case (the rules are checked again); ask the owner first when needed."""
    user = await accounts.of_chat(ctx)
    if user is None:
        return Done(NOT_REGISTERED, menu=True)
    try:
        case = await ctx.deps.processing.open_case(
            user, Conversation(ctx.channel, ctx.user_id), ctx.data.violation)
    except ProcessingRefused as refused:
        return Done(str(refused), menu=True)
    ctx.data.case = case.id
    if case.state is CaseState.AWAITING_OWNER:
        ctx.say("已请车主本人刷脸认证。")
    return await _go_on(ctx, case)


# ---- the owner ---------------------------------------------------------------------------------


async def _go_on(ctx: Context, case: ProcessingCase) -> Transition:
    """Where a case leads now: wait for the owner, the processor's face (or the decision if
    it passed already), or the end it came to."""
    if case.state is CaseState.AWAITING_OWNER:
        return Await(case.owner_check, WAIT_OWNER)
    if case.state is CaseState.AWAITING_PROCESSOR:
        if await _processor_passed(ctx, case):
            return await _decide(ctx)
        return _processor_face(ctx, await accounts.of_chat(ctx))
    return Done(CASE_WORDS[case.state], menu=case.state is not CaseState.PROCESSED)


async def _wait_prompt(ctx: Context) -> str:
    case = await ProcessingCase.get_or_none(id=ctx.data.case)
    if case is None:
        return GONE
    how = ("车主是本平台实名用户，将在对话中收到申请" if case.owner_asked is OwnerAsked.CHAT
           else "已通过短信向车主登记的手机号发送刷脸认证链接")
    return (f"正在等待车主刷脸认证（{how}），有效期至 {localtime(case.expires_at):%Y-%m-%d %H:%M}。"
            "车主认证后将通知您；您也可以回复“菜单”办理其他业务，结果会作为待处理事项通知您。")


@exits(WAIT_OWNER, FACE_DONE, DECIDED, calls=(face_check.NAME,))
async def _owner_news(ctx: Context, news: object) -> Transition:
    """The owner's check settled, the owner refused, the deadline came, or the processor
    typed something: the case says which."""
    user = await accounts.of_chat(ctx)
    case = None if user is None else await ctx.deps.processing.case_of(user, ctx.data.case)
    if case is None:
        return Done(GONE, menu=True)
    if isinstance(news, Event) and news.data.get("unsent"):
        return Done("未能向车主登记的手机号发送短信，本次处理未完成。请稍后重新办理，"
                    "或到窗口处理。", menu=True)
    if case.state is CaseState.AWAITING_PROCESSOR:
        ctx.say("车主已通过刷脸认证，请您本人刷脸认证。")
    elif case.state is CaseState.AWAITING_OWNER and isinstance(news, str):
        ctx.say("车主尚未完成刷脸认证。")
    elif case.state is CaseState.AWAITING_OWNER:
        ctx.say("车主本次刷脸认证已超时，车主可重新打开链接认证。")
    return await _go_on(ctx, case)


# ---- the processor ----------------------------------------------------------------------------


def _processor_face(ctx: Context, user: User | None) -> Transition:
    if user is None:
        return Done(NOT_REGISTERED, menu=True)
    return Call(face_check.NAME, then=FACE_DONE, data=face_check.call_data(
        name=user.real_name, id_number=user.id_number, purpose=NAME, counted=False))


async def _processor_passed(ctx: Context, case: ProcessingCase) -> bool:
    """The processor passed a face check for this case already (while away)."""
    user = await accounts.of_chat(ctx)
    return user is not None and await Verification.filter(
        method=Method.FACE, requester=case.conversation, purpose=NAME,
        subject_id_number=user.id_number, outcome=Outcome.PASSED,
        created_at__gte=case.created_at).exists()


@exits(DECIDED)
async def _face_checked(ctx: Context, result: object) -> Transition:
    """The processor's face check: passed, the decision; otherwise the case ends."""
    case = await ProcessingCase.get_or_none(id=ctx.data.case)
    if not isinstance(result, FaceCheckResult) or result.status is not FaceCheck.PASSED:
        if case is not None:
            await ctx.deps.processing.cancel(case)
        if not isinstance(result, FaceCheckResult):
            return Cancel()
        if result.status is FaceCheck.UNAVAILABLE:
            return Done(result.message, menu=True)
        return Done("刷脸认证未通过，本次处理未完成。如需处理，请重新办理。", menu=True)
    return await _decide(ctx)


async def _decide(ctx: Context) -> Transition:
    user = await accounts.of_chat(ctx)
    if user is None:
        return Done(NOT_REGISTERED, menu=True)
    try:
        decision = await ctx.deps.processing.process(user, ctx.data.case)
    except ProcessingRefused as refused:
        return Done(f"处理未完成：{refused}", menu=True)
    limit = ctx.deps.processing.config.point_limit
    points = ("" if decision.points_now is None
              else f"您的驾驶证本记分周期累积记分：{decision.points_now}/{limit}\n")
    ctx.data.decision = decision.decision_number
    ctx.data.decided = (
        "处理成功！\n"
        f"处罚决定书编号：{decision.decision_number}\n"
        f"罚款：{yuan(decision.fine)}元\n{points}"
        "处理通知书将在24小时内生成，生成后将通知您。\n"
        f"请于 {decision.pay_by:%Y年%m月%d日} 前缴纳罚款，逾期每日按罚款数额的3%加处罚款。")
    return DECIDED


async def _decided_prompt(ctx: Context) -> str:
    return ctx.data.decided


@exits()
async def _pay_or_not(ctx: Context, pay: bool) -> Transition:
    if pay:
        return StartFlow(PAY_FLOW, {"decision": ctx.data.decision})
    return Done("可随时在“罚款缴纳”中缴纳。")


FLOW = Flow(
    name=NAME,
    title=TITLE,
    click_key="PROCESS_VIOLATION",
    start=CHOOSE,
    guard=_registered,
    on_start=_start,
    data=ProcessData,
    states={
        CHOOSE: State(prompt="请选择要处理的违法（您名下车辆和关注车辆的未处理违法）：",
                      choices=_choices, then=_chosen),
        FORECAST: State(prompt=_forecast_prompt,
                        choices=(Choice("确认处理", value="confirm"),
                                 Choice("返回列表", goto=CHOOSE)),
                        then=_confirmed),
        WAIT_OWNER: State(prompt=_wait_prompt, then=_owner_news),
        FACE_DONE: State(prompt="", then=_face_checked),
        DECIDED: State(prompt=_decided_prompt, then=_pay_or_not,
                       choices=(Choice("立即缴纳罚款", value=True),
                                Choice("稍后缴纳", value=False))),
    },
)


# ---- the owner's side --------------------------------------------------------------------------

ASK = "ask"


@dataclass
class OwnerData:
    case: int = 0


async def _owned(ctx: Context) -> ProcessingCase | None:
    """The case, with its violation and processor, if it asks this user."""
    async def load() -> ProcessingCase | None:
        owner = await accounts.of_chat(ctx)
        case = None if owner is None else await ctx.deps.processing.owned_case(
            owner, ctx.data.case)
        if case is not None:
            await case.fetch_related("violation", "processor")
        return case

    return await ctx.once("owned case", load)


@exits(ASK)
async def _owner_open(ctx: Context, _: None) -> Transition:
    case = await _owned(ctx)
    if case is None:
        return Done(GONE, menu=True)
    if case.state is not CaseState.AWAITING_OWNER:
        return Done(ctx.deps.processing.owner_words(case) + "。")
    return ASK


async def _ask_prompt(ctx: Context) -> str:
    case = await _owned(ctx)
    if case is None:
        return GONE
    violation: Violation = case.violation
    processor: User = case.processor
    vehicle = await Vehicle.get_or_none(plate_type=violation.plate_type,
                                        plate_number=violation.plate_number)
    return (f"处理申请：{mask_name(processor.real_name)} 申请在线处理您名下车辆 "
            f"{named(vehicle) if vehicle else mask_plate(violation.plate_number)} 的一条违法"
            f"（{localtime(violation.occurred_at):%Y-%m-%d} {offence(violation.description)}，"
            f"罚款{yuan(violation.fine)}元，记{violation.points}分）。"
            "记分将记在对方的驾驶证上，罚款由对方缴纳。\n"
            "同意需您本人刷脸认证；不认识对方请选择“拒绝”。\n"
            f"有效期至 {localtime(case.expires_at):%Y-%m-%d %H:%M}。请选择：")


@exits()
async def _owner_answer(ctx: Context, agree: bool) -> Transition:
    case = await _owned(ctx)
    if case is None:
        return Done(GONE, menu=True)
    processing = ctx.deps.processing
    if not agree:
        if await processing.owner_refuses(case):
            return Done("已拒绝该处理申请，对方已收到通知。")
        return Done(processing.owner_words(await processing.refresh(case)) + "。")
    try:
        link = await processing.start_owner_check(case)
    except ProcessingRefused as refused:
        return Done(f"{refused}。")
    except FaceUnavailable:
        return Done(face_check.UNAVAILABLE)
    return Done(Reply("请点击下方链接，由您本人完成刷脸认证。认证结果将通知对方。",
                      link=Link("点击进行刷脸认证", link)))


OWNER = Flow(
    name=OWNER_FLOW,
    title="处理申请",
    start=ASK,
    in_menu=False,
    data=OwnerData,
    on_start=_owner_open,
    states={
        ASK: State(prompt=_ask_prompt, then=_owner_answer,
                   choices=(Choice("同意并刷脸认证", value=True), Choice("拒绝", value=False))),
    },
)
