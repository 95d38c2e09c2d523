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

from bot.engine import Choice, Context, Flow, State
from bot.follows import LICENCE, Target
from bot.lockout import Target as LockoutTarget
from bot.lockout import TargetKind
from flows import follow_request, query_licence, violation_list
from flows.follow_request import TARGET, Asking
from flows.query_licence import LicenceQuery, proven_licence
from flows.summaries import licence_summary
from flows.violation_list import Listing

NAME, TITLE = "follow_licence", "关注好友驾驶证"


@dataclass
class FollowLicenceData(LicenceQuery, Asking):
    licence: int = 0  # a licence followed before, to ask again (a lapsed follow's item)


async def _seeded(ctx: Context) -> bool:
    """The proof of the licence a lapsed follow's item names, or the one 查询驾驶证违法和记分
    passed on."""
    data: FollowLicenceData = ctx.data
    licence = await follow_request.followed_before(ctx, LICENCE, data.licence)
    if licence is not None:
        data.name, data.number = licence.holder_name, licence.number
        data.file_number = licence.file_number
    return bool(data.file_number)


def _lockout_target(ctx: Context) -> LockoutTarget:
    return LockoutTarget(TargetKind.LICENCE, ctx.data.number)


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
    guard=follow_request.guard(TITLE),
    on_start=follow_request.on_start(proven_licence, _seeded, "name"),
    data=FollowLicenceData,
    states={
        "name": _PROOF["name"],
        "number": _PROOF["number"],
        "file_number": replace(_PROOF["file_number"], then=follow_request.matched(
            proven_licence, "name", _lockout_target, query_licence.holds)),
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
