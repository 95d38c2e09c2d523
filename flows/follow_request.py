"""What 关注好友车辆 and 关注好友驾驶证 share once the vehicle or licence (the target) is
proven: the quota check, the confirmation, the request sent, the wait for the owner's answer
(or the SMS code the owner told the requester), and a request's outcome opened from the
requester's pending item.

A journey includes ``states(proven)``, where ``proven`` finds its target again from the
journey's data, and leads its target's state to ``CONFIRM`` with ``want(proven)``. Every quota
refusal (bot.follows.Follows.check) comes before anything is sent. The request goes to the
owner in chat or by SMS to the phone on record (the requester never types it); the journey
then ``Await``s the request's id: a follow.decided or follow.expired event ends it with the
outcome, and a 6-digit code is taken here (``enter_code``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial

from tortoise.timezone import localtime

from bot import accounts
from bot.engine import Await, Choice, Context, Done, State, Stay, Transition, exits
from bot.events import Event
from bot.fields import InvalidInput, SmsCodeField
from bot.follows import (
    VEHICLE,
    Evidence,
    FollowRefused,
    Kind,
    Record,
    Target,
    outcome_label,
    target_of,
)
from bot.lockout import Target as LockoutTarget
from bot.masking import mask_phone
from bot.messages import Conversation, Reply
from flows import violation_list
from flows.violation_list import OwnerTest
from models.follow import AskedBy, Follow, FollowRequest, RequestState
from models.licence import DriverLicence
from models.vehicle import Vehicle

TARGET, CONFIRM, WAITING = "target", "confirm", "waiting"
NOT_REGISTERED = "关注需先完成实名注册，请在“实名注册”中办理。"  # left meanwhile
CANNOT_OPEN = "未找到该关注请求。"
TO_ACCOUNT = "可在“我的账户 → 关注的车辆和驾驶证”中查看其违法记录。"

Proven = Callable[[Context], Awaitable[Record | None]]
# Takes the proof of the target a journey was seeded with (a lapsed follow's item names it);
# whether the journey's data holds a proof now.
Seeded = Callable[[Context], Awaitable[bool]]


@dataclass
class Asking:
    """The request sent (or the one a pending item opens) and how its owner is asked; the
    data of both follow journeys extends it."""

    request: int = 0
    asked_in_chat: bool = False
    owner_phone: str = ""  # masked: where the SMS went
    expires_at: str = ""  # the request's deadline, as the user reads it


def guard(title: str) -> Callable[[Context], Awaitable[str | None]]:
    """A follow journey's guard: only a registered user can follow; a query pause applies to
    the proof it asks for."""

    async def check(ctx: Context) -> str | None:
        if await accounts.user_of(ctx.channel, ctx.user_id) is None:
            return f"{title}需先完成实名注册，请在“实名注册”中办理。"
        return None if ctx.data.request else await violation_list.paused(ctx)

    return check


def on_start(proven: Proven, seeded: Seeded, first: str
             ) -> Callable[[Context, None], Awaitable[Transition]]:
    """Fresh: ask for the proof from ``first``. Seeded with a request (a pending item): its
    outcome, or the wait again. Seeded with a target followed before (a lapsed follow's
    item), or with a proof (from the query journey's list): that target, if it matches."""

    async def start(ctx: Context, _: None) -> Transition:
        if ctx.data.request:
            return await opened(ctx)
        if await seeded(ctx) and await proven(ctx) is not None:
            return TARGET
        return first

    return exits(first, TARGET, WAITING)(start)


async def followed_before(ctx: Context, kind: Kind, record_id: int) -> Record | None:
    """The vehicle or licence with this id if this user followed it once (a seed comes from
    their own pending item; the check keeps it so)."""
    user = await accounts.user_of(ctx.channel, ctx.user_id)
    if not record_id or user is None or not await Follow.exists(
            follower_id=user.id, **{f"{kind.column}_id": record_id}):
        return None
    model = Vehicle if kind is VEHICLE else DriverLicence
    return await model.get_or_none(id=record_id)


def matched(proven: Proven, retry: str, target: Callable[[Context], LockoutTarget],
            owned_by: OwnerTest) -> Callable[[Context, str], Awaitable[Transition]]:
    """The proof's last step: the target shown when it matches, with the query journeys'
    lock-out on failed matches (flows.violation_list.match); asked again from ``retry``."""

    async def match(ctx: Context, _: str) -> Transition:
        outcome = await violation_list.match(ctx, proven, retry=retry, target=target(ctx),
                                             owned_by=owned_by)
        return TARGET if outcome == violation_list.LIST else outcome

    return exits(TARGET, retry)(match)


async def _target(ctx: Context, proven: Proven) -> Target:
    record = await proven(ctx)
    assert record is not None  # proven before these states; records are not deleted
    return Target.of(record)


async def _refusal(ctx: Context, target: Target) -> str | None:
    """Why this user may not follow this target now (a quota, their own), or None."""
    user = await accounts.user_of(ctx.channel, ctx.user_id)
    if user is None:
        return NOT_REGISTERED
    try:
        await ctx.deps.follows.check(user, target.record)
    except FollowRefused as refused:
        return str(refused)
    return None


async def _want(proven: Proven, ctx: Context, _: str) -> Transition:
    refusal = await _refusal(ctx, await _target(ctx, proven))
    return CONFIRM if refusal is None else Done(refusal, menu=True)


def want(proven: Proven) -> Callable[[Context, str], Awaitable[Transition]]:
    """The target state's ``then``: on to the confirmation, unless a quota refuses."""
    return exits(CONFIRM)(partial(_want, proven))


async def _confirm_prompt(proven: Proven, ctx: Context) -> str:
    target = await _target(ctx, proven)
    who = target.kind.words.owner
    what = target.record.plate_number if target.is_vehicle else target.masked
    return (f"将向 {what} 的{who}发送关注请求：{who}是本平台实名用户的，在对话中确认；否则以"
            f"短信发送至{who}在公安交管部门登记的手机号（{mask_phone(target.owner_phone)}），"
            "含验证码和确认链接。发送即占用今年的1次关注机会（车辆和驾驶证共用）。\n确认发送吗？")


async def _send(proven: Proven, ctx: Context, _: str) -> Transition:
    """Send the request (the domain checks every quota again, in its transaction)."""
    data: Asking = ctx.data
    target = await _target(ctx, proven)
    user = await accounts.user_of(ctx.channel, ctx.user_id)
    if user is None:
        return Done(NOT_REGISTERED, menu=True)
    try:
        sent = await ctx.deps.follows.request(user, Conversation(ctx.channel, ctx.user_id),
                                              target.record)
    except FollowRefused as refused:
        return Done(str(refused), menu=True)
    data.request, data.asked_in_chat = sent.request_id, sent.asked_in_chat
    data.owner_phone = "" if sent.asked_in_chat else mask_phone(target.owner_phone)
    data.expires_at = f"{localtime(sent.expires_at):%Y-%m-%d %H:%M}"
    what = target.record.plate_number if target.is_vehicle else target.masked
    ctx.say(f"关注请求已发送（{what}）。")
    return Await(str(sent.request_id), WAITING)


async def _waiting_prompt(kind: Kind, ctx: Context) -> str:
    data: Asking = ctx.data
    who = kind.words.owner
    if data.asked_in_chat:
        how = f"{who}是本平台实名用户，将在对话中收到您的请求。"
    else:
        how = (f"已通过短信向{who}登记的手机号 {data.owner_phone} 发送验证码和确认链接。"
               f"{who}也可以把短信验证码告诉您，请在此输入6位验证码。")
    return (f"{how}\n请求有效期至 {data.expires_at}。{who}作出决定后将通知您；"
            "您也可以回复“菜单”办理其他业务。")


@exits(WAITING)
async def _waited(ctx: Context, news: Event | str) -> Transition:
    """The request's outcome (an event, or found settled), or a code the owner told the
    requester (SMS requests only)."""
    data: Asking = ctx.data
    request = await FollowRequest.get_or_none(id=data.request)
    if request is None:
        return Done(CANNOT_OPEN, menu=True)
    if isinstance(news, Event) or request.state is not RequestState.PENDING:
        return await _outcome(ctx, request)
    if data.asked_in_chat:
        return Stay("正在等待对方在对话中确认。")
    try:
        code = SmsCodeField().parse(news)
    except InvalidInput as wrong:
        return Stay(wrong.hint)
    result = await ctx.deps.follows.enter_code(data.request, code, evidence=Evidence("code"))
    if result.approved:
        return Done(f"{result.message}\n{TO_ACCOUNT}")
    await request.refresh_from_db(fields=["state", "reason"])
    if request.state is not RequestState.PENDING:
        return Done(result.message, menu=True)
    return Stay(result.message)


async def _outcome(ctx: Context, request: FollowRequest) -> Transition:
    """What a settled request means to the requester; a pending one is waited on again."""
    data: Asking = ctx.data
    await request.fetch_related("vehicle", "licence")
    target = target_of(request)
    what, who = (target.record.plate_number if target.is_vehicle else target.masked,
                 target.kind.words.owner)
    if request.state is RequestState.PENDING:
        data.asked_in_chat = request.asked_by is AskedBy.CHAT
        data.owner_phone = "" if data.asked_in_chat else mask_phone(target.owner_phone)
        data.expires_at = f"{localtime(request.expires_at):%Y-%m-%d %H:%M}"
        return Await(str(request.id), WAITING)
    if request.state is RequestState.APPROVED:
        return Done(f"{who}已同意，您已关注 {what}。{TO_ACCOUNT}")
    if request.state is RequestState.REFUSED:
        return Done(f"{who}拒绝了您对 {what} 的关注请求。", menu=True)
    if request.state is RequestState.EXPIRED:
        return Done(f"{who}未在有效期内同意，您对 {what} 的关注请求已过期。", menu=True)
    reason = f"：{request.reason}" if request.reason else "。"
    return Done(f"您对 {what} 的关注请求{outcome_label(request)}{reason}", menu=True)


@exits(WAITING)
async def opened(ctx: Context) -> Transition:
    """A pending item names a request: only its requester may open it."""
    user = await accounts.user_of(ctx.channel, ctx.user_id)
    request = await FollowRequest.get_or_none(id=ctx.data.request)
    if user is None or request is None or request.requester_id != user.id:
        return Done(CANNOT_OPEN, menu=True)
    return await _outcome(ctx, request)


def offering_follow(states: dict[str, State], word: str, hint: str,
                    follow: Callable[[Context, str], Awaitable[Transition]]
                    ) -> dict[str, State]:
    """A query journey's shared list (flows.violation_list), taking ``word`` into its follow
    journey (``follow``, with the proof just typed) and saying so (``hint``) under it."""
    listed = states[violation_list.LIST]

    async def prompt(ctx: Context) -> Reply | str:
        reply = await listed.prompt(ctx)
        if isinstance(reply, str):  # no match any more: nothing to follow
            return reply
        return Reply(reply.text, reply.choices, reply.link, (*reply.extra, hint))

    return states | {violation_list.LIST: replace(
        listed, prompt=prompt, commands={**listed.commands, word: follow})}


def states(proven: Proven, kind: Kind) -> dict[str, State]:
    """The confirmation and the wait, bound to the journey's ``proven`` and kind of target;
    暂不发送 goes back to the journey's ``TARGET`` state."""
    return {
        CONFIRM: State(
            prompt=partial(_confirm_prompt, proven),
            choices=(Choice("确认发送", value="send"), Choice("暂不发送", goto=TARGET)),
            then=exits(WAITING)(partial(_send, proven)),
        ),
        WAITING: State(prompt=partial(_waiting_prompt, kind), then=_waited),
    }
