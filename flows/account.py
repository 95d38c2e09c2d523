"""我的账户: a registered user's own licence and vehicles (from the traffic records, by ID
number), the vehicles and licences they follow, and unregistering.

Someone not registered is offered registration instead. Own vehicles open the shared
violation list and detail (flows.violation_list).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.timezone import localtime

from bot import accounts
from bot.engine import (
    CANCELLED,
    Call,
    Cancel,
    Choice,
    Context,
    Done,
    Flow,
    StartFlow,
    State,
    Transition,
    exits,
)
from bot.follows import Target, target_of
from bot.masking import mask_id_number, mask_name, mask_vin
from flows import followed_licence, followed_vehicle, violation_list
from flows.followed_vehicle import followed, following, own_vehicles
from flows.summaries import licence_summary
from flows.violation_list import Listing, ListingData
from models.follow import Follow
from models.user import User
from models.vehicle import Vehicle

HOME = "home"
BACK_HOME = Choice("返回我的账户", goto=HOME)
NOT_REGISTERED = "您尚未实名注册。实名注册后，可以查看本人的驾驶证和名下车辆。"
FOLLOWERS = "关注我车辆的人"
FOLLOWED_LIST = "followed_list"  # where the followed vehicle's list returns (never shown)


@dataclass
class AccountData(ListingData):
    vehicle: int = 0  # the own vehicle whose violations are listed
    follow: int = 0  # the followed vehicle's or licence's follow, as its follower
    follower: int = 0  # a follow of one of the user's vehicles, as its owner


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


async def _vehicles_prompt(ctx: Context) -> str:
    if not await own_vehicles(ctx):
        return "未查询到登记在您名下的机动车。"
    return "您名下的机动车（回复序号查看违法记录）："


async def _vehicle_choices(ctx: Context) -> Sequence[Choice]:
    vehicles = [Choice(f"{vehicle.plate_number} {vehicle.plate_type.label} "
                       f"车架号{mask_vin(vehicle.vin)}", value=vehicle.id)
                for vehicle in await own_vehicles(ctx)]
    followers = (Choice(FOLLOWERS, goto="followers"),) if vehicles else ()
    return (*vehicles, *followers, BACK_HOME)


@exits(violation_list.LIST)
async def _open_vehicle(ctx: Context, vehicle_id: int) -> Transition:
    ctx.data.vehicle, ctx.data.page = vehicle_id, 0
    return violation_list.LIST


async def _listing(ctx: Context, page: int, size: int) -> Listing | None:
    """The chosen vehicle's violations, while it is still registered to this user."""
    vehicle = next((v for v in await own_vehicles(ctx) if v.id == ctx.data.vehicle), None)
    if vehicle is None:
        return None
    heading = f"{vehicle.plate_number}（{vehicle.plate_type.label}）"
    return Listing(heading, await ctx.deps.traffic.vehicle_violations(vehicle, page, size))


# ---- vehicles and licences the user follows (their violations, unfollow) --------------------


def _since(follow: Follow) -> str:
    return f"{localtime(follow.started_at):%Y-%m-%d}起"


async def _follows_prompt(ctx: Context) -> str:
    user = await _me(ctx)
    pending = [] if user is None else await ctx.deps.follows.pending_of(user)
    lines = [f"等待{target.kind.words.owner}同意：{target.title}"
             for target in map(target_of, pending)]
    if await following(ctx):
        lines.insert(0, "您关注的车辆和驾驶证（回复序号查看）：")
    else:
        lines.insert(0, "暂无关注的车辆和驾驶证。可在“关注好友车辆”“关注好友驾驶证”中关注亲友的"
                        "车辆和驾驶证。")
    return "\n".join(lines)


async def _follow_choices(ctx: Context) -> Sequence[Choice]:
    follows = [Choice(f"{target_of(follow).title} {_since(follow)}", value=follow.id)
               for follow in await following(ctx)]
    return (*follows, BACK_HOME)


@exits("followed")
async def _open_follow(ctx: Context, follow_id: int) -> Transition:
    ctx.data.follow = follow_id
    return "followed"


async def _followed_prompt(ctx: Context) -> str:
    follow = await followed(ctx, ctx.data.follow)
    if follow is None:
        return "该关注已结束。"
    target = target_of(follow)
    who = target.kind.words.owner
    lines = [target.title]
    if follow.vehicle is not None:
        lines.append(f"车主：{mask_name(follow.vehicle.owner_name)}")
    lines.append(f"关注时间：{localtime(follow.started_at):%Y-%m-%d}")
    if follow.valid_until is not None:
        lines.append(f"{who}授权有效期至：{localtime(follow.valid_until):%Y-%m-%d}")
    return "\n".join(lines)


@exits(FOLLOWED_LIST, calls=(followed_vehicle.NAME, followed_licence.NAME))
async def _followed_violations(ctx: Context, _: str) -> Transition:
    follow = await followed(ctx, ctx.data.follow)
    name = followed_licence.NAME if follow and follow.licence_id else followed_vehicle.NAME
    return Call(name, then=FOLLOWED_LIST, data={"follow": ctx.data.follow})


@exits("followed")
async def _back_from_violations(ctx: Context, result: object) -> Transition:
    """The list is left with 返回 (back here) or 取消 (``CANCELLED``: the account too)."""
    return Cancel() if result is CANCELLED else "followed"


async def _unfollow_prompt(ctx: Context) -> str:
    follow = await followed(ctx, ctx.data.follow)
    if follow is None:
        return "该关注已结束。"
    target = target_of(follow)
    who = target.kind.words.owner
    return (f"确认取消关注 {target.title}吗？取消后不能再查看其违法记录（{who}是本平台用户的"
            f"会收到通知）；再次关注需重新征得{who}同意，并占用当年的关注机会。")


@exits("follows")
async def _unfollow(ctx: Context, _: str) -> Transition:
    follow, user = await followed(ctx, ctx.data.follow), await _me(ctx)
    if follow is None or user is None or not await ctx.deps.follows.unfollow(follow.id, user):
        ctx.say("该关注已结束。")
    else:
        ctx.say(f"已取消关注 {target_of(follow).title}。")
    ctx.turn.memo.pop("following", None)  # the list shown next is without it
    return "follows"


# ---- who follows the user's vehicles and licence (revoke) ------------------------------------


@dataclass(frozen=True)
class _Follower:
    target: Target  # the user's own vehicle or licence
    follow: Follow  # with its follower

    @property
    def who(self) -> str:
        follower: User = self.follow.follower
        return mask_name(follower.real_name)

    @property
    def what(self) -> str:
        record = self.target.record
        return record.plate_number if isinstance(record, Vehicle) else "我的驾驶证"

    @property
    def line(self) -> str:
        return f"{self.what} {self.who} {_since(self.follow)}"


async def _followers(ctx: Context) -> list[_Follower]:
    """Live follows of the user's own vehicles and licence, looked up once a turn."""
    return await ctx.once("followers", lambda: _load_followers(ctx))


async def _load_followers(ctx: Context) -> list[_Follower]:
    user = await _me(ctx)
    licence = None if user is None else await ctx.deps.traffic.licence_of(user.id_number)
    owned = [*await own_vehicles(ctx), *([licence] if licence else [])]
    return [_Follower(Target.of(record), follow) for record in owned
            for follow in await ctx.deps.follows.followers(record)]


async def _followers_prompt(ctx: Context) -> str:
    if not await _followers(ctx):
        return "目前没有人关注您名下的车辆和您的驾驶证。"
    return "关注您名下车辆和您驾驶证的人（回复序号可解除关注）："


async def _follower_choices(ctx: Context) -> Sequence[Choice]:
    followers = [Choice(found.line, value=found.follow.id) for found in await _followers(ctx)]
    return (*followers, BACK_HOME)


@exits("revoke")
async def _pick_follower(ctx: Context, follow_id: int) -> Transition:
    ctx.data.follower = follow_id
    return "revoke"


async def _follower_of_mine(ctx: Context) -> _Follower | None:
    return next((found for found in await _followers(ctx)
                 if found.follow.id == ctx.data.follower), None)


async def _revoke_prompt(ctx: Context) -> str:
    found = await _follower_of_mine(ctx)
    if found is None:
        return "该关注已结束。"
    return (f"确认解除 {found.who} 对 {found.what} 的关注吗？"
            "解除后对方不能再查看其违法记录，并会收到通知。")


@exits("followers")
async def _revoke(ctx: Context, _: str) -> Transition:
    found, user = await _follower_of_mine(ctx), await _me(ctx)
    if found is None or user is None or not await ctx.deps.follows.revoke(found.follow.id,
                                                                          user):
        ctx.say("该关注已结束。")
    else:
        ctx.say(f"已解除 {found.who} 对 {found.what} 的关注，对方已收到通知。")
    ctx.turn.memo.pop("followers", None)  # the list shown next is without it
    return "followers"


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
        "licence": State(prompt=_licence_prompt,
                         choices=(BACK_HOME, Choice("关注我驾驶证的人", goto="followers"))),
        "vehicles": State(prompt=_vehicles_prompt, choices=_vehicle_choices, then=_open_vehicle),
        "follows": State(prompt=_follows_prompt, choices=_follow_choices, then=_open_follow),
        "followed": State(
            prompt=_followed_prompt,
            choices=(Choice("查看违法记录", value="list"), Choice("取消关注", goto="unfollow"),
                     Choice("返回关注列表", goto="follows")),
            then=_followed_violations,
        ),
        FOLLOWED_LIST: State(prompt="", then=_back_from_violations),
        "unfollow": State(
            prompt=_unfollow_prompt,
            choices=(Choice("确认取消关注", value="confirm"), Choice("暂不取消", goto="followed")),
            then=_unfollow,
        ),
        "followers": State(prompt=_followers_prompt, choices=_follower_choices,
                           then=_pick_follower),
        "revoke": State(
            prompt=_revoke_prompt,
            choices=(Choice("确认解除", value="confirm"), Choice("暂不解除", goto="followers")),
            then=_revoke,
        ),
        "unregister": State(
            prompt=_unregister_prompt,
            choices=(Choice("确认注销", value="confirm"), Choice("暂不注销", goto=HOME)),
            then=_unregister,
        ),
        **violation_list.states(_listing),
    },
)
