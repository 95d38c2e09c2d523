"""查询车辆违法: any vehicle's violations, proven by plate type + plate number + last 6 of VIN.

A registered user with vehicles of their own or followed ones first sees those as quick
picks: one opens its list at once, without the proof (flows/followed_vehicle.py). Under the
list, 关注该车辆 takes the vehicle just proven into 关注好友车辆 (flows/follow_vehicle.py)
without typing the proof again.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, replace

from bot.engine import (
    CANCELLED,
    Call,
    Cancel,
    Choice,
    Context,
    Flow,
    StartFlow,
    State,
    Stay,
    Transition,
    exits,
)
from bot.fields import Field, PlateNumberField, PlateTypeField, Vin6Field, plate_hint
from bot.lockout import Target, TargetKind
from flows import followed_vehicle, violation_list
from flows.follow_request import offering_follow
from flows.followed_vehicle import named, own_vehicles
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


PLATE_TYPE_PROMPT = "请选择号牌种类（也可直接输入号牌种类代码，如 52）："
# The first step: the quick picks (if any) above the plate types. Asking again after a miss
# starts at "plate_type", which other journeys share (flows/follow_vehicle.py): no picks there.
PICK = "pick"
PICKED = "picked"  # where a quick pick's list returns (never shown)
PLATE_TYPE = State(prompt=PLATE_TYPE_PROMPT, choices=PLATE_TYPES, field=PlateTypeField(),
                   save="plate_type", then="plate_number")


@dataclass(frozen=True)
class QuickPick:
    """A vehicle of the user's, listed without its proof by the sub-journey named."""

    label: str
    flow: str
    data: dict[str, int]


async def quick_picks(ctx: Context) -> list[QuickPick]:
    """The user's own vehicles, then those they follow; none for someone not registered.
    Plates are shown whole, as in 我的账户: it is the user's own list, and masked plates of
    two cars could read alike."""
    return await ctx.once("quick picks", lambda: _quick_picks(ctx))


async def _quick_picks(ctx: Context) -> list[QuickPick]:
    own = [QuickPick(f"我的车辆 {named(vehicle)}", followed_vehicle.OWN, {"vehicle": vehicle.id})
           for vehicle in await own_vehicles(ctx)]
    followed = [QuickPick(f"关注 {named(follow.vehicle)}", followed_vehicle.NAME,
                          {"follow": follow.id})
                for follow in await followed_vehicle.followed_vehicles(ctx)]
    return (own + followed)[:len(PICK_LETTERS)]


PICK_LETTERS = string.ascii_uppercase[:9]
_PLATE_TYPE = PlateTypeField()
_LETTER = re.compile(f"[{PICK_LETTERS}]")


class _PickOrPlateType(Field[PlateType | str]):
    """A quick pick's letter (half- or full-width, either case), else a plate type.

    Picks are letters so the plate types keep their numbers: "1" and "2" still agree with the
    codes 01 and 02 whatever the user has, and no number means a vehicle to one user and a
    plate type to another (picks numbered 6, 7 would also clash with the code 07)."""

    label, hint = _PLATE_TYPE.label, _PLATE_TYPE.hint

    def parse(self, text: str) -> PlateType | str:
        return pick_letter(text) or _PLATE_TYPE.parse(text)


def pick_letter(text: str) -> str | None:
    """A quick pick's letter (half- or full-width, either case), or None."""
    letter = text.strip().translate(_FULL_WIDTH_LETTERS).upper().rstrip(".、")
    return letter if _LETTER.fullmatch(letter) else None


_FULL_WIDTH_LETTERS = str.maketrans({chr(0xFF21 + n): chr(0x41 + n) for n in range(26)}
                                    | {chr(0xFF41 + n): chr(0x61 + n) for n in range(26)})


def picks_prompt(picks: list[QuickPick], heading: str, other: str) -> str:
    """The quick picks, lettered, between ``heading`` and ``other`` (the first step's own
    prompt)."""
    lines = [f"{letter}. {pick.label}" for letter, pick in zip(PICK_LETTERS, picks,
                                                                strict=False)]
    return "\n".join([heading, *lines, "", other])


async def _plate_type_prompt(ctx: Context) -> str:
    picks = await quick_picks(ctx)
    if not picks:
        return PLATE_TYPE_PROMPT
    return picks_prompt(picks, "回复字母直接查看您的车辆的违法记录：",
                        f"或查询其他车辆，{PLATE_TYPE_PROMPT}")


@exits("plate_number", PICKED, calls=(followed_vehicle.NAME, followed_vehicle.OWN))
async def _plate_type_chosen(ctx: Context, value: PlateType | str) -> Transition:
    """A plate type goes on to the plate; a pick's letter opens that vehicle's list."""
    if isinstance(value, PlateType):
        ctx.data.plate_type = value
        return "plate_number"
    picks = await quick_picks(ctx)
    index = PICK_LETTERS.index(value)
    if index >= len(picks):
        if not picks:
            return Stay(f"没有这种号牌种类。{_PLATE_TYPE.hint}")  # as without picks
        letters = "A" if len(picks) == 1 else f"A-{PICK_LETTERS[len(picks) - 1]} 之间的"
        return Stay(f"请回复{letters}字母选择车辆，或选择号牌种类。")
    pick = picks[index]
    return Call(pick.flow, then=PICKED, data=pick.data)


@exits(PICK)
async def back_from_pick(ctx: Context, result: object) -> Transition:
    """The list is left with 返回 (back to the picks) or 取消 (``CANCELLED``: the query too)."""
    return Cancel() if result is CANCELLED else PICK


@dataclass
class VehicleQuery(ListingData):
    """The proof typed so far (the session keeps it to find the vehicle again per page)."""

    plate_type: str = ""
    plate_number: str = ""
    vin6: str = ""


async def proven_vehicle(ctx: Context) -> Vehicle | None:
    """The vehicle the proof names, looked up once a turn."""
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
    return await violation_list.match(ctx, _proven_with_first_page, retry="plate_type",
                                      target=target, owned_by=owns)


async def _proven_with_first_page(ctx: Context) -> Vehicle | None:
    """The VIN step's lookup: the vehicle and, if it matched, its first page in one read;
    the list shown next in this turn takes that page (``_listing``)."""
    data: VehicleQuery = ctx.data
    proof = (PlateType(data.plate_type), data.plate_number, data.vin6)
    size = ctx.deps.limits.page_size
    found = await ctx.deps.traffic.vehicle_with_first_page(*proof, size)
    if found is None:
        return None
    vehicle, page = found
    ctx.remember(("vehicle", *proof), vehicle)  # as proven_vehicle finds it
    ctx.remember(_page_key(data, 0, size), page)
    return vehicle


def _page_key(data: VehicleQuery, page: int, size: int) -> tuple[object, ...]:
    return ("plate page", data.plate_type, data.plate_number, page, size)


async def _listing(ctx: Context, page: int, size: int) -> Listing | None:
    """The list is entered only by a match, and the session keeps the proof it matched: a
    page is read by the plate alone, without looking the vehicle up again."""
    data: VehicleQuery = ctx.data
    plate_type = PlateType(data.plate_type)
    violations = await ctx.once(_page_key(data, page, size), lambda: ctx.deps.traffic
                                .plate_violations(plate_type, data.plate_number, page, size))
    return Listing(f"{data.plate_number}（{plate_type.label}）", violations)


FOLLOW = "关注该车辆"
FOLLOW_HINT = f"回复“{FOLLOW}”可请求关注此车（需车主同意）"


async def _follow(ctx: Context, _: str) -> Transition:
    """Into 关注好友车辆 with this proof (it looks the vehicle up again)."""
    data: VehicleQuery = ctx.data
    return StartFlow("follow_vehicle", {"plate_type": data.plate_type,
                                        "plate_number": data.plate_number, "vin6": data.vin6})


FLOW = Flow(
    name="query_vehicle",
    title="查询车辆违法",
    click_key="QUERY_VEHICLE",
    start=PICK,
    guard=violation_list.paused,
    data=VehicleQuery,
    states={
        PICK: replace(PLATE_TYPE, prompt=_plate_type_prompt, field=_PickOrPlateType(),
                      save=None, then=_plate_type_chosen),
        PICKED: State(prompt="", then=back_from_pick),
        "plate_type": PLATE_TYPE,
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
        **offering_follow(violation_list.states(_listing), FOLLOW, FOLLOW_HINT, _follow),
    },
)
