"""查询驾驶证违法和记分: a licence's violations and points, proven by holder name + licence
number + file number."""

from __future__ import annotations

from dataclasses import dataclass

from bot.engine import Context, Flow, State, Transition, exits
from bot.fields import FileNumberField, LicenceNumberField, NameField
from bot.lockout import Target, TargetKind
from flows import violation_list
from flows.summaries import licence_summary
from flows.violation_list import Listing, ListingData
from models.licence import DriverLicence


@dataclass
class LicenceQuery(ListingData):
    """The proof typed so far (the session keeps it to find the licence again per page)."""

    name: str = ""
    number: str = ""
    file_number: str = ""


async def _licence(ctx: Context) -> DriverLicence | None:
    """The licence the proof names, looked up once a turn: the match and the list after it
    share it."""
    data: LicenceQuery = ctx.data
    proof = (data.name, data.number, data.file_number)
    return await ctx.once(("licence", *proof), lambda: ctx.deps.traffic.licence(*proof))


async def _holds(ctx: Context, id_number: str) -> bool:
    licence = await ctx.deps.traffic.licence_of(id_number)
    return licence is not None and licence.number == ctx.data.number


@exits(violation_list.LIST, "name")
async def _match(ctx: Context, _: str) -> Transition:
    target = Target(TargetKind.LICENCE, ctx.data.number)
    return await violation_list.match(ctx, _licence, retry="name", target=target,
                                      owned_by=_holds)


async def _listing(ctx: Context, page: int, size: int) -> Listing | None:
    licence = await _licence(ctx)
    if licence is None:
        return None
    violations = await ctx.deps.traffic.licence_violations(licence, page, size)
    return Listing(licence_summary(licence), violations)


FLOW = Flow(
    name="query_licence",
    title="查询驾驶证违法和记分",
    click_key="QUERY_LICENCE",
    start="name",
    guard=violation_list.paused,
    data=LicenceQuery,
    states={
        "name": State(prompt="请输入驾驶人姓名：", field=NameField(), save="name",
                      then="number"),
        "number": State(prompt="请输入18位驾驶证号（即身份证号码）：", field=LicenceNumberField(),
                        save="number", then="file_number"),
        "file_number": State(prompt="请输入驾驶证上的12位档案编号：", field=FileNumberField(),
                             save="file_number", then=_match),
        **violation_list.states(_listing),
    },
)
