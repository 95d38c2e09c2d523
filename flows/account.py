"""我的账户: a registered user's own licence and vehicles (from the traffic records, by ID
number), the vehicles and licences they follow, and unregistering.

Someone not registered is offered registration instead. Own vehicles open the shared
violation list and detail (flows.violation_list).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot import accounts
from bot.engine import Choice, Context, Done, Flow, StartFlow, State, Transition, exits
from bot.masking import mask_id_number, mask_name, mask_vin
from flows import violation_list
from flows.summaries import licence_summary
from flows.violation_list import Listing, ListingData
from models.user import User
from models.vehicle import Vehicle

HOME = "home"
BACK_HOME = Choice("返回我的账户", goto=HOME)
NOT_REGISTERED = "您尚未实名注册。实名注册后，可以查看本人的驾驶证和名下车辆。"


@dataclass
class AccountData(ListingData):
    vehicle: int = 0  # the own vehicle whose violations are listed


async def _me(ctx: Context) -> User | None:
    return await accounts.user_of(ctx.channel, ctx.user_id)


async def _home_prompt(ctx: Context) -> str:
    user = await _me(ctx)
    if user is None:
        return NOT_REGISTERED
    titles = [ctx.deps.channels.title(name) for name in await accounts.bound_channels(user)]
    return (f"我的账户：{mask_name(user.real_name)}（身份证号 {mask_id_number(user.id_number)}，"
            f"{user.verified_by.label}）\n已绑定：{'、'.join(titles)}\n请选择：")


async def _home_choices(ctx: Context) -> Sequence[Choice]:
    if await _me(ctx) is None:
        return (Choice("实名注册", value="register"),)
    return (Choice("我的驾驶证", goto="licence"), Choice("我的车辆", goto="vehicles"),
            Choice("关注的车辆和驾驶证", goto="follows"), Choice("注销账户", goto="unregister"))


async def _register(ctx: Context, _: str) -> Transition:
    return StartFlow("register")


async def _licence_prompt(ctx: Context) -> str:
    user = await _me(ctx)
    if user is None:
        return NOT_REGISTERED
    licence = await ctx.deps.traffic.licence_of(user.id_number)
    if licence is None:
        return "未查询到您本人的机动车驾驶证信息。"
    return "我的驾驶证\n" + licence_summary(licence)


async def _own_vehicles(ctx: Context) -> list[Vehicle]:
    """Looked up once a turn: the prompt and its choices (or a choice and its list) share it."""
    return await ctx.once("own vehicles", lambda: _load_own_vehicles(ctx))


async def _load_own_vehicles(ctx: Context) -> list[Vehicle]:
    user = await _me(ctx)
    return [] if user is None else await ctx.deps.traffic.vehicles_of(user.id_number)


async def _vehicles_prompt(ctx: Context) -> str:
    if not await _own_vehicles(ctx):
        return "未查询到登记在您名下的机动车。"
    return "您名下的机动车（回复序号查看违法记录）："


async def _vehicle_choices(ctx: Context) -> Sequence[Choice]:
    vehicles = [Choice(f"{vehicle.plate_number} {vehicle.plate_type.label} "
                       f"车架号{mask_vin(vehicle.vin)}", value=vehicle.id)
                for vehicle in await _own_vehicles(ctx)]
    return (*vehicles, BACK_HOME)


@exits(violation_list.LIST)
async def _open_vehicle(ctx: Context, vehicle_id: int) -> Transition:
    ctx.data.vehicle, ctx.data.page = vehicle_id, 0
    return violation_list.LIST


async def _listing(ctx: Context, page: int, size: int) -> Listing | None:
    """The chosen vehicle's violations, while it is still registered to this user."""
    vehicle = next((v for v in await _own_vehicles(ctx) if v.id == ctx.data.vehicle), None)
    if vehicle is None:
        return None
    heading = f"{vehicle.plate_number}（{vehicle.plate_type.label}）"
    return Listing(heading, await ctx.deps.traffic.vehicle_violations(vehicle, page, size))


async def _unregister_prompt(ctx: Context) -> str:
    title = ctx.deps.channels.title(ctx.channel)
    lines = [f"注销后，本{title}账号将解除与实名信息的绑定，不能再查看本人驾驶证和车辆；"
             "按规定需留存的身份核验记录将继续保存。"]
    others = await _other_channels(ctx)
    if others:
        lines.append(f"您在{others}上的实名绑定不受影响。")
    lines.append("确认注销吗？")
    return "".join(lines)


async def _other_channels(ctx: Context) -> str:
    """The titles of the other channels the user stays bound on, "" for none."""
    user = await _me(ctx)
    names = [] if user is None else await accounts.bound_channels(user)
    return "、".join(ctx.deps.channels.title(name) for name in names if name != ctx.channel)


async def _unregister(ctx: Context, _: str) -> Transition:
    title = ctx.deps.channels.title(ctx.channel)
    await accounts.unregister(ctx.channel, ctx.user_id)
    return Done(f"账户已注销，本{title}账号已解除与实名信息的绑定。"
                "按规定需留存的身份核验记录将继续保存备查。如需使用，请重新实名注册。")


FLOW = Flow(
    name="account",
    title="我的账户",
    click_key="MY_ACCOUNT",
    start=HOME,
    data=AccountData,
    states={
        HOME: State(prompt=_home_prompt, choices=_home_choices, then=_register),
        "licence": State(prompt=_licence_prompt, choices=(BACK_HOME,)),
        "vehicles": State(prompt=_vehicles_prompt, choices=_vehicle_choices, then=_open_vehicle),
        "follows": State(prompt="暂无关注的车辆和驾驶证。", choices=(BACK_HOME,)),
        "unregister": State(
            prompt=_unregister_prompt,
            choices=(Choice("确认注销", value="confirm"), Choice("暂不注销", goto=HOME)),
            then=_unregister,
        ),
        **violation_list.states(_listing, own=True),
    },
)
