"""A registered user's vehicles' violations as sub-journeys: a followed vehicle's (我的账户,
flows/account.py, and the quick picks of 查询车辆违法) and one's own (the quick picks).

``followed_vehicle`` is called with the follow's id; it lists the vehicle's violations
(flows.violation_list) while the follow is live and the user is its follower.
``own_vehicle`` is called with a vehicle's id; it lists it while the vehicle is registered
to the user. A detail says what processing it online would need (flows.violation_list).
返回 from either list goes back to the step that called it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import accounts
from bot.engine import Context, Flow
from bot.follows import Target
from flows import violation_list
from flows.violation_list import Listing, ListingData
from models.follow import Follow
from models.vehicle import Vehicle

NAME = "followed_vehicle"
OWN = "own_vehicle"


@dataclass
class FollowedData(ListingData):
    follow: int = 0


@dataclass
class OwnData(ListingData):
    vehicle: int = 0


async def following(ctx: Context) -> list[Follow]:
    """The user's live follows (vehicles and licences), each with its vehicle or licence,
    looked up once a turn."""
    return await ctx.once("following", lambda: _following(ctx))


async def _following(ctx: Context) -> list[Follow]:
    user = await accounts.of_chat(ctx)
    return [] if user is None else await ctx.deps.follows.following(user)


async def followed_vehicles(ctx: Context) -> list[Follow]:
    """The user's live follows of vehicles."""
    return [follow for follow in await following(ctx) if follow.vehicle_id is not None]


async def followed(ctx: Context, follow_id: int) -> Follow | None:
    """The user's live follow with this id; None once it ended or if it is not theirs."""
    return next((follow for follow in await following(ctx) if follow.id == follow_id), None)


def named(vehicle: Vehicle) -> str:
    return Target.of(vehicle).title


async def _listing(ctx: Context, page: int, size: int) -> Listing | None:
    """Under the 12123 rule profile the follower sees violations with points only from the
    day the follow started; those without points, all."""
    follow = await followed(ctx, ctx.data.follow)
    if follow is None or follow.vehicle is None:
        return None
    vehicle: Vehicle = follow.vehicle
    since = follow.started_at if ctx.deps.follows.policy.points_from_binding else None
    return Listing(named(vehicle), await ctx.deps.traffic.vehicle_violations(
        vehicle, page, size, points_since=since))


FLOW = Flow(
    name=NAME,
    title="关注车辆的违法记录",
    start=violation_list.LIST,
    in_menu=False,
    data=FollowedData,
    states=violation_list.states(_listing),
)


async def own_vehicles(ctx: Context) -> list[Vehicle]:
    """The vehicles registered to the user's ID number, looked up once a turn."""
    return await ctx.once("own vehicles", lambda: _own_vehicles(ctx))


async def _own_vehicles(ctx: Context) -> list[Vehicle]:
    user = await accounts.of_chat(ctx)
    return [] if user is None else await ctx.deps.traffic.vehicles_of(user.id_number)


async def _own_listing(ctx: Context, page: int, size: int) -> Listing | None:
    vehicle = next((v for v in await own_vehicles(ctx) if v.id == ctx.data.vehicle), None)
    if vehicle is None:
        return None
    return Listing(named(vehicle), await ctx.deps.traffic.vehicle_violations(vehicle, page, size))


OWN_FLOW = Flow(
    name=OWN,
    title="本人车辆的违法记录",
    start=violation_list.LIST,
    in_menu=False,
    data=OwnData,
    states=violation_list.states(_own_listing),
)
