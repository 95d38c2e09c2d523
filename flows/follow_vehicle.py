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

from bot.engine import Choice, Context, Flow, State
from bot.follows import VEHICLE
from bot.lockout import Target, TargetKind
from bot.masking import mask_name, mask_vin
from flows import follow_request, query_vehicle, violation_list
from flows.follow_request import TARGET, Asking
from flows.followed_vehicle import named
from flows.query_vehicle import VehicleQuery
from flows.violation_list import Listing
from models.vehicle import VIN_SUFFIX_LENGTH

NAME, TITLE = "follow_vehicle", "关注好友车辆"


@dataclass
class FollowData(VehicleQuery, Asking):
    vehicle: int = 0  # a vehicle followed before, to ask again (a lapsed follow's item)


async def _seeded(ctx: Context) -> bool:
    """The proof of the vehicle a lapsed follow's item names, or the one 查询车辆违法 passed
    on."""
    data: FollowData = ctx.data
    vehicle = await follow_request.followed_before(ctx, VEHICLE, data.vehicle)
    if vehicle is not None:
        data.plate_type, data.plate_number = vehicle.plate_type.value, vehicle.plate_number
        data.vin6 = vehicle.vin[-VIN_SUFFIX_LENGTH:]
    return bool(data.vin6)


def _lockout_target(ctx: Context) -> Target:
    return Target(TargetKind.PLATE, ctx.data.plate_number)


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
    guard=follow_request.guard(TITLE),
    on_start=follow_request.on_start(query_vehicle.proven_vehicle, _seeded, "plate_type"),
    data=FollowData,
    states={
        "plate_type": _PROOF["plate_type"],
        "plate_number": _PROOF["plate_number"],
        "vin6": replace(_PROOF["vin6"], then=follow_request.matched(
            query_vehicle.proven_vehicle, "plate_type", _lockout_target, query_vehicle.owns)),
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
