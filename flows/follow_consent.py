"""关注请求 (the owner's side): approve or refuse a request to follow one's vehicle or
driving licence.

Offered by bot.follows as a pending action (``Offer(flow="follow_consent", data={"request":
id})``), so it opens on top of whatever the owner was doing, which resumes when it ends. It
shows who asks (masked) and which vehicle or licence, asks 同意 / 拒绝 and a confirmation, then
``Follows.decide`` with chat evidence; a request decided or expired meanwhile is said so and
nothing happens twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.timezone import localtime

from bot import accounts
from bot.engine import Choice, Context, Done, Flow, State, Transition, exits
from bot.follows import NOT_PENDING, Evidence, target_of
from bot.masking import mask_name
from models.follow import FollowRequest, RequestState
from models.user import User

NAME = "follow_consent"
ASK, APPROVE, REFUSE = "ask", "approve", "refuse"
GONE = "未找到该关注请求。"


@dataclass
class ConsentData:
    request: int = 0


async def _request(ctx: Context) -> FollowRequest | None:
    """The request, with its requester and target, if this user owns the target."""
    return await ctx.once("follow request", lambda: _load(ctx))


async def _load(ctx: Context) -> FollowRequest | None:
    owner = await accounts.user_of(ctx.channel, ctx.user_id)
    request = await FollowRequest.get_or_none(id=ctx.data.request).prefetch_related(
        "requester", "vehicle", "licence")
    if owner is None or request is None or request.owner_id_number != owner.id_number:
        return None
    return request


def _settled(why: str) -> str:
    return f"{why}，无需再处理。"


@exits(ASK)
async def _open(ctx: Context, _: None) -> Transition:
    request = await _request(ctx)
    if request is None:
        return Done(GONE, menu=True)
    if request.state is not RequestState.PENDING:
        return Done(_settled(NOT_PENDING[request.state]))
    return ASK


def _who_and_what(request: FollowRequest) -> tuple[str, str]:
    requester: User = request.requester
    return mask_name(requester.real_name), target_of(request).title


async def _ask_prompt(ctx: Context) -> str:
    request = await _request(ctx)
    if request is None:
        return GONE
    who, what = _who_and_what(request)
    if target_of(request).is_vehicle:
        whose, where = f"您名下的车辆 {what}", "我的车辆 → 关注我车辆的人"
    else:
        whose, where = f"您的{what}", "我的驾驶证 → 关注我驾驶证的人"
    return (f"关注请求：{who} 请求关注{whose}。\n"
            "同意后，对方可以查看其交通违法记录，看不到您的其他信息；您可以随时在"
            f"“我的账户 → {where}”中解除。\n"
            f"请求有效期至 {localtime(request.expires_at):%Y-%m-%d %H:%M}。请选择：")


async def _confirm_prompt(approve: bool, ctx: Context) -> str:
    request = await _request(ctx)
    if request is None:
        return GONE
    who, what = _who_and_what(request)
    return f"确认{'同意' if approve else '拒绝'} {who} 关注 {what}吗？"


async def _approve_prompt(ctx: Context) -> str:
    return await _confirm_prompt(True, ctx)


async def _refuse_prompt(ctx: Context) -> str:
    return await _confirm_prompt(False, ctx)


@exits()
async def _decide(ctx: Context, approve: bool) -> Transition:
    request = await _request(ctx)
    if request is None:
        return Done(GONE, menu=True)
    decided = await ctx.deps.follows.decide(request.id, approve, evidence=Evidence("chat"))
    if not decided.done:
        return Done(_settled(decided.reason))
    who, what = _who_and_what(request)
    if decided.state == RequestState.APPROVED:
        return Done(f"已同意 {who} 关注 {what}，对方已收到通知。")
    if decided.state == RequestState.REFUSED:
        return Done(f"已拒绝 {who} 关注 {what}，对方已收到通知。")
    return Done(f"未能完成关注：{decided.reason}")


FLOW = Flow(
    name=NAME,
    title="关注请求",
    start=ASK,
    in_menu=False,
    data=ConsentData,
    on_start=_open,
    states={
        ASK: State(prompt=_ask_prompt, choices=(Choice("同意", goto=APPROVE),
                                                Choice("拒绝", goto=REFUSE))),
        APPROVE: State(prompt=_approve_prompt, then=_decide,
                       choices=(Choice("确认同意", value=True), Choice("返回", goto=ASK))),
        REFUSE: State(prompt=_refuse_prompt, then=_decide,
                      choices=(Choice("确认拒绝", value=False), Choice("返回", goto=ASK))),
    },
)
