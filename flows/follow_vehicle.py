"""关注好友车辆: follow a friend's vehicle, with its owner's consent (DOMAIN.md, Following).

The vehicle is proven as in 查询车辆违法 (plate type, plate, last 6 of the VIN, with the same
lock-out on failed matches), or seeded with that journey's proof when the user asks from its
list. The user sees the vehicle (owner masked) and its count of violations, asks to follow,
and confirms sending; the request and the wait for the owner's answer are
flows/follow_request.py's, shared with 关注好友驾驶证. A requester who left gets the outcome as
a pending item, which opens this journey seeded with the request id.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot import accounts
from bot.engine import Choice, Context, Flow, State, Transition, exits
from bot.follows import VEHICLE
from bot.lockout import Target, TargetKind
from bot.masking import mask_name, mask_vin
from flows import follow_request, query_vehicle, violation_list
from flows.follow_request import TARGET, WAITING, Asking
from flows.followed_vehicle import named
from flows.query_vehicle import VehicleQuery
from flows.violation_list import Listing
from models.follow import Follow
from models.vehicle import VIN_SUFFIX_LENGTH, Vehicle

NAME, TITLE = "follow_vehicle", "关注好友车辆"
NOT_REGISTERED = "关注好友车辆需先完成实名注册，请在“实名注册”中办理。"


@dataclass
class FollowData(VehicleQuery, Asking):
    vehicle: int = 0  # a vehicle followed before, to ask again (a lapsed follow's item)


async def _guard(ctx: Context) -> str | None:
    """Only a registered user can follow; a query pause applies to the proof it asks for."""
    if await accounts.user_of(ctx.channel, ctx.user_id) is None:
        return NOT_REGISTERED
    return None if ctx.data.request else await violation_list.paused(ctx)


@exits("plate_type", TARGET, WAITING)
async def _start(ctx: Context, _: None) -> Transition:
    """Fresh: ask for the proof. Seeded with a request (a pending item): its outcome, or the
    wait again. Seeded with a vehicle the user followed before (a lapsed follow's item), or
    with a proof (from 查询车辆违法's list): that vehicle, if it still matches."""
    data: FollowData = ctx.data
    if data.request:
        return await follow_request.opened(ctx)
    if data.vehicle:
        await _followed_before(ctx)
    if data.vin6 and await query_vehicle.proven_vehicle(ctx) is not None:
        return TARGET
    return "plate_type"


@exits(TARGET, "plate_type")
async def _match(ctx: Context, _: str) -> Transition:
    target = Target(TargetKind.PLATE, ctx.data.plate_number)
    outcome = await violation_list.match(ctx, query_vehicle.proven_vehicle, retry="plate_type",
                                         target=target, owned_by=query_vehicle.owns)
    return TARGET if outcome == violation_list.LIST else outcome


async def _vehicle_prompt(ctx: Context) -> str:
    vehicle = await query_vehicle.proven_vehicle(ctx)
    assert vehicle is not None  # proven before this state; records are not deleted
    page = await ctx.deps.traffic.vehicle_violations(vehicle, 0, 1)
    return "\n".join([
        f"车辆：{named(vehicle)}",
        f"车架号：{mask_vin(vehicle.vin)}",
        f"车主：{mask_name(vehicle.owner_name)}",
        f"违法记录：{page.total}条",
        "",
        "关注后，可以随时查看该车的违法记录。关注需经车主同意。",
    ])


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
        TARGET: State(
            prompt=_vehicle_prompt,
            choices=(Choice("关注该车辆", value="follow"),
                     Choice("查看违法记录", goto=violation_list.LIST)),
            then=follow_request.want(query_vehicle.proven_vehicle),
        ),
        **follow_request.states(query_vehicle.proven_vehicle, VEHICLE),
        **violation_list.states(_listing),
    },
)
