"""关注好友车辆: follow a friend's vehicle, with its owner's consent (DOMAIN.md, Following).

The vehicle is proven as in 查询车辆违法 (plate type, plate, last 6 of the VIN, with the same
lock-out on failed matches), or seeded with that journey's proof when the user asks from its
list. The user sees the vehicle (owner masked) and its count of violations, asks to follow,
and confirms sending; every quota refusal (bot.follows.Follows.check) comes before anything is
sent. The request goes to the owner in chat or by SMS to the phone on record (the requester
never types it); the journey then ``Await``s the request's id: a follow.decided or
follow.expired event ends it with the outcome, and a 6-digit code the owner told the
requester is taken here (``enter_code``). A requester who left gets the outcome as a pending
item, which opens this journey seeded with the request id.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tortoise.timezone import localtime

from bot import accounts
from bot.engine import Await, Choice, Context, Done, Flow, State, Stay, Transition, exits
from bot.events import Event
from bot.fields import InvalidInput, SmsCodeField
from bot.follows import Evidence, FollowRefused
from bot.lockout import Target, TargetKind
from bot.masking import mask_name, mask_phone, mask_vin
from bot.messages import Conversation
from flows import query_vehicle, violation_list
from flows.followed_vehicle import named
from flows.query_vehicle import VehicleQuery
from flows.violation_list import Listing
from models.follow import AskedBy, Follow, FollowRequest, RequestState
from models.vehicle import VIN_SUFFIX_LENGTH, Vehicle

NAME, TITLE = "follow_vehicle", "关注好友车辆"
VEHICLE, CONFIRM, WAITING = "vehicle", "confirm", "waiting"
NOT_REGISTERED = "关注好友车辆需先完成实名注册，请在“实名注册”中办理。"
CANNOT_OPEN = "未找到该关注请求。"
TO_ACCOUNT = "可在“我的账户 → 关注的车辆和驾驶证”中查看该车的违法记录。"


@dataclass
class FollowData(VehicleQuery):
    request: int = 0  # the request sent (or the one a pending item opens)
    vehicle: int = 0  # a vehicle followed before, to ask again (a lapsed follow's item)
    asked_in_chat: bool = False
    owner_phone: str = ""  # masked: where the SMS went
    expires_at: str = ""  # the request's deadline, as the user reads it


async def _guard(ctx: Context) -> str | None:
    """Only a registered user can follow; a query pause applies to the proof it asks for."""
    if await accounts.user_of(ctx.channel, ctx.user_id) is None:
        return NOT_REGISTERED
    return None if ctx.data.request else await violation_list.paused(ctx)


@exits("plate_type", VEHICLE, WAITING)
async def _start(ctx: Context, _: None) -> Transition:
    """Fresh: ask for the proof. Seeded with a request (a pending item): its outcome, or the
    wait again. Seeded with a vehicle the user followed before (a lapsed follow's item), or
    with a proof (from 查询车辆违法's list): that vehicle, if it still matches."""
    data: FollowData = ctx.data
    if data.request:
        return await _opened(ctx)
    if data.vehicle:
        await _followed_before(ctx)
    if data.vin6 and await query_vehicle.proven_vehicle(ctx) is not None:
        return VEHICLE
    return "plate_type"


@exits(VEHICLE, "plate_type")
async def _match(ctx: Context, _: str) -> Transition:
    target = Target(TargetKind.PLATE, ctx.data.plate_number)
    outcome = await violation_list.match(ctx, query_vehicle.proven_vehicle, retry="plate_type",
                                         target=target, owned_by=query_vehicle.owns)
    return VEHICLE if outcome == violation_list.LIST else outcome


async def _vehicle(ctx: Context) -> Vehicle:
    vehicle = await query_vehicle.proven_vehicle(ctx)
    assert vehicle is not None  # proven before this state; records are not deleted
    return vehicle


async def _vehicle_prompt(ctx: Context) -> str:
    vehicle = await _vehicle(ctx)
    page = await ctx.deps.traffic.vehicle_violations(vehicle, 0, 1)
    return "\n".join([
        f"车辆：{named(vehicle)}",
        f"车架号：{mask_vin(vehicle.vin)}",
        f"车主：{mask_name(vehicle.owner_name)}",
        f"违法记录：{page.total}条",
        "",
        "关注后，可以随时查看该车的违法记录。关注需经车主同意。",
    ])


async def _refusal(ctx: Context, vehicle: Vehicle) -> str | None:
    """Why this user may not follow this vehicle now (a quota, their own car), or None."""
    user = await accounts.user_of(ctx.channel, ctx.user_id)
    if user is None:
        return NOT_REGISTERED
    try:
        await ctx.deps.follows.check(user, vehicle)
    except FollowRefused as refused:
        return str(refused)
    return None


@exits(CONFIRM)
async def _want(ctx: Context, _: str) -> Transition:
    refusal = await _refusal(ctx, await _vehicle(ctx))
    return CONFIRM if refusal is None else Done(refusal, menu=True)


async def _confirm_prompt(ctx: Context) -> str:
    vehicle = await _vehicle(ctx)
    return (f"将向 {vehicle.plate_number} 的车主发送关注请求：车主是本平台实名用户的，在对话中"
            "确认；否则以短信发送至车主在公安交管部门登记的手机号"
            f"（{mask_phone(vehicle.owner_phone)}），含验证码和确认链接。"
            "发送即占用今年的1次关注机会。\n确认发送吗？")


@exits(WAITING)
async def _send(ctx: Context, _: str) -> Transition:
    """Send the request (the domain checks every quota again, in its transaction)."""
    data: FollowData = ctx.data
    vehicle = await _vehicle(ctx)
    user = await accounts.user_of(ctx.channel, ctx.user_id)
    if user is None:
        return Done(NOT_REGISTERED, menu=True)
    try:
        sent = await ctx.deps.follows.request(user, Conversation(ctx.channel, ctx.user_id),
                                              vehicle)
    except FollowRefused as refused:
        return Done(str(refused), menu=True)
    data.request, data.asked_in_chat = sent.request_id, sent.asked_in_chat
    data.owner_phone = "" if sent.asked_in_chat else mask_phone(vehicle.owner_phone)
    data.expires_at = f"{localtime(sent.expires_at):%Y-%m-%d %H:%M}"
    ctx.say(f"关注请求已发送（{vehicle.plate_number}）。")
    return Await(str(sent.request_id), WAITING)


async def _waiting_prompt(ctx: Context) -> str:
    data: FollowData = ctx.data
    if data.asked_in_chat:
        how = "车主是本平台实名用户，将在对话中收到您的请求。"
    else:
        how = (f"已通过短信向车主登记的手机号 {data.owner_phone} 发送验证码和确认链接。"
               "车主也可以把短信验证码告诉您，请在此输入6位验证码。")
    return (f"{how}\n请求有效期至 {data.expires_at}。车主作出决定后将通知您；"
            "您也可以回复“菜单”办理其他业务。")


@exits(WAITING)
async def _waited(ctx: Context, news: Event | str) -> Transition:
    """The request's outcome (an event, or found settled), or a code the owner told the
    requester (SMS requests only)."""
    data: FollowData = ctx.data
    request = await FollowRequest.get_or_none(id=data.request)
    if request is None:
        return Done(CANNOT_OPEN, menu=True)
    if isinstance(news, Event) or request.state is not RequestState.PENDING:
        return await _outcome(ctx, request)
    if data.asked_in_chat:
        return Stay("正在等待车主在对话中确认。")
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
    data: FollowData = ctx.data
    await request.fetch_related("vehicle")
    vehicle: Vehicle = request.vehicle
    plate = vehicle.plate_number
    if request.state is RequestState.PENDING:
        data.asked_in_chat = request.asked_by is AskedBy.CHAT
        data.owner_phone = "" if data.asked_in_chat else mask_phone(vehicle.owner_phone)
        data.expires_at = f"{localtime(request.expires_at):%Y-%m-%d %H:%M}"
        return Await(str(request.id), WAITING)
    if request.state is RequestState.APPROVED:
        return Done(f"车主已同意，您已关注 {plate}。{TO_ACCOUNT}")
    if request.state is RequestState.REFUSED:
        return Done(f"车主拒绝了您对 {plate} 的关注请求。", menu=True)
    if request.state is RequestState.EXPIRED:
        return Done(f"车主未在有效期内同意，您对 {plate} 的关注请求已过期。", menu=True)
    reason = f"：{request.reason}" if request.reason else "。"
    return Done(f"您对 {plate} 的关注请求{request.state.label}{reason}", menu=True)


async def _opened(ctx: Context) -> Transition:
    """A pending item names a request: only its requester may open it."""
    user = await accounts.user_of(ctx.channel, ctx.user_id)
    request = await FollowRequest.get_or_none(id=ctx.data.request)
    if user is None or request is None or request.requester_id != user.id:
        return Done(CANNOT_OPEN, menu=True)
    return await _outcome(ctx, request)


async def _followed_before(ctx: Context) -> None:
    """Take the proof of the seeded vehicle, if this user followed it once (the seed comes
    from their own pending item; the check keeps it so)."""
    data: FollowData = ctx.data
    user = await accounts.user_of(ctx.channel, ctx.user_id)
    followed = user is not None and await Follow.exists(follower_id=user.id,
                                                        vehicle_id=data.vehicle)
    vehicle = await Vehicle.get_or_none(id=data.vehicle) if followed else None
    if vehicle is not None:
        data.plate_type, data.plate_number = vehicle.plate_type.value, vehicle.plate_number
        data.vin6 = vehicle.vin[-VIN_SUFFIX_LENGTH:]


async def _listing(ctx: Context, page: int, size: int) -> Listing | None:
    vehicle = await query_vehicle.proven_vehicle(ctx)
    if vehicle is None:
        return None
    return Listing(named(vehicle), await ctx.deps.traffic.vehicle_violations(vehicle, page, size))


_PROOF = query_vehicle.FLOW.states
FLOW = Flow(
    name=NAME,
    title=TITLE,
    click_key="FOLLOW_VEHICLE",
    start="plate_type",
    guard=_guard,
    on_start=_start,
    data=FollowData,
    states={
        "plate_type": _PROOF["plate_type"],
        "plate_number": _PROOF["plate_number"],
        "vin6": replace(_PROOF["vin6"], then=_match),
        VEHICLE: State(
            prompt=_vehicle_prompt,
            choices=(Choice("关注该车辆", value="follow"),
                     Choice("查看违法记录", goto=violation_list.LIST)),
            then=_want,
        ),
        CONFIRM: State(
            prompt=_confirm_prompt,
            choices=(Choice("确认发送", value="send"), Choice("暂不发送", goto=VEHICLE)),
            then=_send,
        ),
        WAITING: State(prompt=_waiting_prompt, then=_waited),
        **violation_list.states(_listing),
    },
)
