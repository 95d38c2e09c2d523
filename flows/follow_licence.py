"""关注好友驾驶证: follow a friend's driving licence, with its holder's consent (DOMAIN.md,
Following: holder name + licence number + file number → query → follow; delete likewise).

The licence is proven as in 查询驾驶证违法和记分 (name, licence number, 12-digit file number,
with the same lock-out on failed matches). The user sees the licence (number and holder
masked), its points and count of violations, asks to follow and confirms sending; the
request and the wait for the holder's answer are flows/follow_request.py's, shared with
关注好友车辆: the SMS goes to the phone on record of the licence, a registered holder gets a
pending action. A requester who left gets the outcome as a pending item, which opens this
journey seeded with the request id; a lapsed follow's item seeds the licence to ask again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot import accounts
from bot.engine import Choice, Context, Flow, State, Transition, exits
from bot.follows import LICENCE, Target
from bot.lockout import Target as LockoutTarget
from bot.lockout import TargetKind
from flows import follow_request, query_licence, violation_list
from flows.follow_request import TARGET, WAITING, Asking
from flows.query_licence import LicenceQuery, proven_licence
from flows.summaries import licence_summary
from flows.violation_list import Listing
from models.follow import Follow
from models.licence import DriverLicence

NAME, TITLE = "follow_licence", "关注好友驾驶证"
NOT_REGISTERED = "关注好友驾驶证需先完成实名注册，请在“实名注册”中办理。"


@dataclass
class FollowLicenceData(LicenceQuery, Asking):
    licence: int = 0  # a licence followed before, to ask again (a lapsed follow's item)


async def _guard(ctx: Context) -> str | None:
    """Only a registered user can follow; a query pause applies to the proof it asks for."""
    if await accounts.user_of(ctx.channel, ctx.user_id) is None:
        return NOT_REGISTERED
    return None if ctx.data.request else await violation_list.paused(ctx)


@exits("name", TARGET, WAITING)
async def _start(ctx: Context, _: None) -> Transition:
    """Fresh: ask for the proof. Seeded with a request (a pending item): its outcome, or the
    wait again. Seeded with a licence the user followed before (a lapsed follow's item): that
    licence."""
    data: FollowLicenceData = ctx.data
    if data.request:
        return await follow_request.opened(ctx)
    if data.licence:
        await _followed_before(ctx)
    if data.file_number and await proven_licence(ctx) is not None:
        return TARGET
    return "name"


@exits(TARGET, "name")
async def _match(ctx: Context, _: str) -> Transition:
    target = LockoutTarget(TargetKind.LICENCE, ctx.data.number)
    outcome = await violation_list.match(ctx, proven_licence, retry="name", target=target,
                                         owned_by=query_licence.holds)
    return TARGET if outcome == violation_list.LIST else outcome


async def _licence_prompt(ctx: Context) -> str:
    licence = await proven_licence(ctx)
    assert licence is not None  # proven before this state; records are not deleted
    page = await ctx.deps.traffic.licence_violations(licence, 0, 1)
    return "\n".join([
        licence_summary(licence),
        f"违法记录：{page.total}条",
        "",
        "关注后，可以随时查看该驾驶证的记分和违法记录。关注需经持证人同意。",
    ])


async def _followed_before(ctx: Context) -> None:
    """Take the proof of the seeded licence, if this user followed it once (the seed comes
    from their own pending item; the check keeps it so)."""
    data: FollowLicenceData = ctx.data
    user = await accounts.user_of(ctx.channel, ctx.user_id)
    followed = user is not None and await Follow.exists(follower_id=user.id,
                                                        licence_id=data.licence)
    licence = await DriverLicence.get_or_none(id=data.licence) if followed else None
    if licence is not None:
        data.name, data.number = licence.holder_name, licence.number
        data.file_number = licence.file_number


async def _listing(ctx: Context, page: int, size: int) -> Listing | None:
    licence = await proven_licence(ctx)
    if licence is None:
        return None
    return Listing(Target.of(licence).title,
                   await ctx.deps.traffic.licence_violations(licence, page, size))


_PROOF = query_licence.FLOW.states
FLOW = Flow(
    name=NAME,
    title=TITLE,
    click_key="FOLLOW_LICENCE",
    start="name",
    guard=_guard,
    on_start=_start,
    data=FollowLicenceData,
    states={
        "name": _PROOF["name"],
        "number": _PROOF["number"],
        "file_number": replace(_PROOF["file_number"], then=_match),
        TARGET: State(
            prompt=_licence_prompt,
            choices=(Choice("关注该驾驶证", value="follow"),
                     Choice("查看违法记录", goto=violation_list.LIST)),
            then=follow_request.want(proven_licence),
        ),
        **follow_request.states(proven_licence, LICENCE),
        **violation_list.states(_listing),
    },
)
