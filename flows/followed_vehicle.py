"""A followed vehicle's violations, a sub-journey of 我的账户 (flows/account.py).

Called with the follow's id; lists the vehicle's violations (flows.violation_list) while the
follow is live and the user is its follower, and judges a detail as for someone else's
vehicle. 返回 from the list goes back to the step that called it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import accounts
from bot.engine import Context, Flow
from flows import violation_list
from flows.violation_list import Listing, ListingData
from models.follow import Follow
from models.vehicle import Vehicle

NAME = "followed_vehicle"


@dataclass
class FollowedData(ListingData):
    follow: int = 0


async def following(ctx: Context) -> list[Follow]:
    """The user's live follows, each with its vehicle, looked up once a turn."""
    return await ctx.once("following", lambda: _following(ctx))


async def _following(ctx: Context) -> list[Follow]:
    user = await accounts.user_of(ctx.channel, ctx.user_id)
    return [] if user is None else await ctx.deps.follows.following(user)


async def followed(ctx: Context, follow_id: int) -> Follow | None:
    """The user's live follow with this id; None once it ended or if it is not theirs."""
    return next((follow for follow in await following(ctx) if follow.id == follow_id), None)


def named(vehicle: Vehicle) -> str:
    return f"{vehicle.plate_number}（{vehicle.plate_type.label}）"


async def _listing(ctx: Context, page: int, size: int) -> Listing | None:
    follow = await followed(ctx, ctx.data.follow)
    if follow is None:
        return None
    vehicle: Vehicle = follow.vehicle
    return Listing(named(vehicle), await ctx.deps.traffic.vehicle_violations(vehicle, page, size))


FLOW = Flow(
    name=NAME,
    title="关注车辆的违法记录",
    start=violation_list.LIST,
    in_menu=False,
    data=FollowedData,
    states=violation_list.states(_listing),
)
