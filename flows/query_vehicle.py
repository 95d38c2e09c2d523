"""查询车辆违法: any vehicle's violations, proven by plate type + plate number + last 6 of VIN.

Under the list, 关注该车辆 takes the vehicle just proven into 关注好友车辆 (flows/follow_vehicle.py)
without typing the proof again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.engine import Choice, Context, Flow, StartFlow, State, Stay, Transition, exits
from bot.fields import PlateNumberField, PlateTypeField, Vin6Field, plate_hint
from bot.lockout import Target, TargetKind
from bot.messages import Reply
from flows import violation_list
from flows.violation_list import Listing, ListingData
from models.enums import PlateType
from models.vehicle import Vehicle

# Choice numbers 1 and 2 agree with the codes 01 and 02, so "1", "01" or "2" mean the same
# whichever way the user reads the prompt; other codes (07, 51, 52) are typed as they are.
PLATE_TYPES = (
    Choice(PlateType.LARGE.label, value=PlateType.LARGE),
    Choice(PlateType.SMALL.label, value=PlateType.SMALL),
    Choice(PlateType.SMALL_NEW_ENERGY.label, value=PlateType.SMALL_NEW_ENERGY),
    Choice(PlateType.LARGE_NEW_ENERGY.label, value=PlateType.LARGE_NEW_ENERGY),
    Choice(PlateType.ORDINARY_MOTORCYCLE.label, value=PlateType.ORDINARY_MOTORCYCLE),
)


@dataclass
class VehicleQuery(ListingData):
    """The proof typed so far (the session keeps it to find the vehicle again per page)."""

    plate_type: str = ""
    plate_number: str = ""
    vin6: str = ""


async def proven_vehicle(ctx: Context) -> Vehicle | None:
    """The vehicle the proof names, looked up once a turn: the match and the list after it
    share it."""
    data: VehicleQuery = ctx.data
    proof = (PlateType(data.plate_type), data.plate_number, data.vin6)
    return await ctx.once(("vehicle", *proof), lambda: ctx.deps.traffic.vehicle(*proof))


async def owns(ctx: Context, id_number: str) -> bool:
    wanted = (PlateType(ctx.data.plate_type), ctx.data.plate_number)
    vehicles = await ctx.deps.traffic.vehicles_of(id_number)
    return any((vehicle.plate_type, vehicle.plate_number) == wanted for vehicle in vehicles)


@exits("vin6")
async def _plate_entered(ctx: Context, plate: str) -> Transition:
    """A plate that cannot be of the chosen type, or is not from Chongqing, is said so now
    rather than counted as a failed match after the VIN."""
    hint = plate_hint(PlateType(ctx.data.plate_type), plate)
    return "vin6" if hint is None else Stay(hint)


@exits(violation_list.LIST, "plate_type")
async def _match(ctx: Context, _: str) -> Transition:
    target = Target(TargetKind.PLATE, ctx.data.plate_number)
    return await violation_list.match(ctx, proven_vehicle, retry="plate_type", target=target,
                                      owned_by=owns)


async def _listing(ctx: Context, page: int, size: int) -> Listing | None:
    vehicle = await proven_vehicle(ctx)
    if vehicle is None:
        return None
    heading = f"{vehicle.plate_number}（{vehicle.plate_type.label}）"
    return Listing(heading, await ctx.deps.traffic.vehicle_violations(vehicle, page, size))


FOLLOW = "关注该车辆"
FOLLOW_HINT = f"回复“{FOLLOW}”可请求关注此车（需车主同意）"


async def _follow(ctx: Context, _: str) -> Transition:
    """Into 关注好友车辆 with this proof (it looks the vehicle up again)."""
    data: VehicleQuery = ctx.data
    return StartFlow("follow_vehicle", {"plate_type": data.plate_type,
                                        "plate_number": data.plate_number, "vin6": data.vin6})


def _offering_follow(states: dict[str, State]) -> dict[str, State]:
    """The shared list, taking 关注该车辆 and saying so under it."""
    listed = states[violation_list.LIST]

    async def prompt(ctx: Context) -> Reply | str:
        reply = await listed.prompt(ctx)
        if isinstance(reply, str):  # no match any more: nothing to follow
            return reply
        return Reply(reply.text, reply.choices, reply.link, (*reply.extra, FOLLOW_HINT))

    return states | {violation_list.LIST: replace(
        listed, prompt=prompt, commands={**listed.commands, FOLLOW: _follow})}


FLOW = Flow(
    name="query_vehicle",
    title="查询车辆违法",
    click_key="QUERY_VEHICLE",
    start="plate_type",
    guard=violation_list.paused,
    data=VehicleQuery,
    states={
        "plate_type": State(
            prompt="请选择号牌种类（也可直接输入号牌种类代码，如 52）：",
            choices=PLATE_TYPES,
            field=PlateTypeField(),
            save="plate_type",
            then="plate_number",
        ),
        "plate_number": State(
            prompt="请输入号牌号码，如 渝A12345（新能源车牌如 渝AD12345）：",
            field=PlateNumberField(),
            save="plate_number",
            then=_plate_entered,
        ),
        "vin6": State(
            prompt="请输入车架号（车辆识别代号）后6位：",
            field=Vin6Field(),
            save="vin6",
            then=_match,
        ),
        **_offering_follow(violation_list.states(_listing)),
    },
)
