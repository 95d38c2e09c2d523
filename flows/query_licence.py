"""查询驾驶证违法和记分: a licence's violations and points, proven by holder name + licence
number + file number.

A registered user with a licence of their own or followed ones first sees those as lettered
quick picks (as 查询车辆违法 shows vehicles): one opens its list at once, without the proof
(flows/followed_licence.py). Under the list, 关注该驾驶证 takes the licence just proven into
关注好友驾驶证 (flows/follow_licence.py) without typing it again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.engine import Call, Context, Flow, StartFlow, State, Stay, Transition, exits
from bot.fields import Field, FileNumberField, LicenceNumberField, NameField
from bot.follows import Target as FollowTarget
from bot.lockout import Target, TargetKind
from flows import followed_licence, violation_list
from flows.follow_request import offering_follow
from flows.query_vehicle import (
    PICK,
    PICK_LETTERS,
    PICKED,
    QuickPick,
    back_from_pick,
    pick_letter,
    picks_prompt,
)
from flows.summaries import licence_summary
from flows.violation_list import Listing, ListingData
from models.licence import DriverLicence

NAME_PROMPT = "请输入驾驶人姓名："
_NAME = NameField()


@dataclass
class LicenceQuery(ListingData):
    """The proof typed so far (the session keeps it to find the licence again per page)."""

    name: str = ""
    number: str = ""
    file_number: str = ""


async def proven_licence(ctx: Context) -> DriverLicence | None:
    """The licence the proof names, looked up once a turn: the match and the list after it
    share it."""
    data: LicenceQuery = ctx.data
    proof = (data.name, data.number, data.file_number)
    return await ctx.once(("licence", *proof), lambda: ctx.deps.traffic.licence(*proof))


async def holds(ctx: Context, id_number: str) -> bool:
    licence = await ctx.deps.traffic.licence_of(id_number)
    return licence is not None and licence.number == ctx.data.number


@exits(violation_list.LIST, "name")
async def _match(ctx: Context, _: str) -> Transition:
    target = Target(TargetKind.LICENCE, ctx.data.number)
    return await violation_list.match(ctx, proven_licence, retry="name", target=target,
                                      owned_by=holds)


async def _listing(ctx: Context, page: int, size: int) -> Listing | None:
    licence = await proven_licence(ctx)
    if licence is None:
        return None
    violations = await ctx.deps.traffic.licence_violations(licence, page, size)
    return Listing(licence_summary(licence), violations)


FOLLOW = "关注该驾驶证"
FOLLOW_HINT = f"回复“{FOLLOW}”可请求关注此驾驶证（需持证人同意）"


async def _follow(ctx: Context, _: str) -> Transition:
    """Into 关注好友驾驶证 with this proof (it looks the licence up again)."""
    data: LicenceQuery = ctx.data
    return StartFlow("follow_licence", {"name": data.name, "number": data.number,
                                        "file_number": data.file_number})


async def quick_picks(ctx: Context) -> list[QuickPick]:
    """The user's own licence, then those they follow; none for someone not registered."""
    own = await followed_licence.own_licence(ctx)
    mine = [] if own is None else [QuickPick(f"我的驾驶证 {FollowTarget.of(own).title}",
                                             followed_licence.OWN, {})]
    followed = [QuickPick(f"关注 {FollowTarget.of(follow.licence).title}", followed_licence.NAME,
                          {"follow": follow.id})
                for follow in await followed_licence.followed_licences(ctx)]
    return (mine + followed)[:len(PICK_LETTERS)]


class _PickOrName(Field[str]):
    """A quick pick's letter, else the holder's name (names have no Latin letters)."""

    label, hint = _NAME.label, _NAME.hint

    def parse(self, text: str) -> str:
        return pick_letter(text) or _NAME.parse(text)


async def _name_prompt(ctx: Context) -> str:
    picks = await ctx.once("licence picks", lambda: quick_picks(ctx))
    if not picks:
        return NAME_PROMPT
    return picks_prompt(picks, "回复字母直接查看驾驶证的记分和违法记录：",
                        f"或查询其他驾驶证，{NAME_PROMPT}")


@exits("number", PICKED, calls=(followed_licence.NAME, followed_licence.OWN))
async def _name_or_pick(ctx: Context, value: str) -> Transition:
    """A name goes on to the licence number; a pick's letter opens that licence's list."""
    if len(value) > 1:  # names have two characters at least
        ctx.data.name = value
        return "number"
    picks = await ctx.once("licence picks", lambda: quick_picks(ctx))
    index = PICK_LETTERS.index(value)
    if index >= len(picks):
        return Stay(f"请回复列表中的字母，或{NAME_PROMPT}" if picks else _NAME.hint)
    return Call(picks[index].flow, then=PICKED, data=picks[index].data)


NAME_STATE = State(prompt=NAME_PROMPT, field=_NAME, save="name", then="number")
FLOW = Flow(
    name="query_licence",
    title="查询驾驶证违法和记分",
    click_key="QUERY_LICENCE",
    start=PICK,
    guard=violation_list.paused,
    data=LicenceQuery,
    states={
        PICK: replace(NAME_STATE, prompt=_name_prompt, field=_PickOrName(), save=None,
                      then=_name_or_pick),
        PICKED: State(prompt="", then=back_from_pick),
        "name": NAME_STATE,
        "number": State(prompt="请输入18位驾驶证号（即身份证号码）：", field=LicenceNumberField(),
                        save="number", then="file_number"),
        "file_number": State(prompt="请输入驾驶证上的12位档案编号：", field=FileNumberField(),
                             save="file_number", then=_match),
        **offering_follow(violation_list.states(_listing), FOLLOW, FOLLOW_HINT, _follow),
    },
)
