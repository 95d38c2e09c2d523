"""A licence's violations and points as sub-journeys: a followed licence's (我的账户,
flows/account.py, and the quick picks of 查询驾驶证违法和记分) and one's own (the quick picks).

``followed_licence`` is called with the follow's id; it lists the licence's violations
(flows.violation_list) while the follow is live and the user is its follower.
``own_licence`` lists the user's own licence. A detail says what processing it online would
need, by the vehicle it was recorded on (flows.violation_list). 返回 from either list goes
back to the step that called it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import accounts
from bot.engine import Context, Flow
from flows import violation_list
from flows.followed_vehicle import followed, following
from flows.summaries import licence_summary
from flows.violation_list import Listing, ListingData
from models.follow import Follow
from models.licence import DriverLicence

NAME = "followed_licence"
OWN = "own_licence"


@dataclass
class FollowedData(ListingData):
    follow: int = 0


async def followed_licences(ctx: Context) -> list[Follow]:
    """The user's live follows of licences."""
    return [follow for follow in await following(ctx) if follow.licence_id is not None]


async def own_licence(ctx: Context) -> DriverLicence | None:
    """The licence of the user's ID number, looked up once a turn."""
    return await ctx.once("own licence", lambda: _own_licence(ctx))


async def _own_licence(ctx: Context) -> DriverLicence | None:
    user = await accounts.of_chat(ctx)
    return None if user is None else await ctx.deps.traffic.licence_of(user.id_number)


async def _listing(licence: DriverLicence | None, ctx: Context, page: int,
                   size: int) -> Listing | None:
    if licence is None:
        return None
    violations = await ctx.deps.traffic.licence_violations(licence, page, size)
    return Listing(licence_summary(licence), violations)


async def _followed_listing(ctx: Context, page: int, size: int) -> Listing | None:
    follow = await followed(ctx, ctx.data.follow)
    return await _listing(None if follow is None else follow.licence, ctx, page, size)


async def _own_listing(ctx: Context, page: int, size: int) -> Listing | None:
    return await _listing(await own_licence(ctx), ctx, page, size)


FLOW = Flow(
    name=NAME,
    title="关注驾驶证的违法记录",
    start=violation_list.LIST,
    in_menu=False,
    data=FollowedData,
    states=violation_list.states(_followed_listing),
)

OWN_FLOW = Flow(
    name=OWN,
    title="本人驾驶证的违法记录",
    start=violation_list.LIST,
    in_menu=False,
    data=ListingData,
    states=violation_list.states(_own_listing),
)
