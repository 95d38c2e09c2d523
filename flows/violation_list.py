"""What the violation-query journeys share: the match with its lock-out, the list and the detail.

A journey asks for its proof (plate + VIN, or name + licence number + file number), then calls
``match`` with a function that finds its vehicle or licence, the target it names (for the
per-target pause, bot/lockout.py) and a test of ownership, and includes ``states(load)``:
``load`` finds the record again from the journey's data and returns one page of its
violations. The session keeps the proof, the page number and the ids on the shown page: the
journey's data class extends ``ListingData``.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial

from tortoise.timezone import localtime

from bot.accounts import of_chat
from bot.engine import Choice, Context, Done, State, Stay, Transition, exits
from bot.fields import Field, InvalidInput, choice_number
from bot.integrations.traffic import Page
from bot.lockout import Target, pause_notice, target_pause_notice
from bot.messages import Reply
from bot.processing import facts_of
from bot.rules import (
    Relation,
    Verifications,
    late_fee,
    online_processing_refusal,
    payment_due,
)
from flows.summaries import offence
from models.enums import ViolationState
from models.violation import Violation

LIST, DETAIL = "list", "detail"


@dataclass
class ListingData:
    """Where the user is in a list; the data of every journey that shows one extends it."""

    page: int = 0
    pages: int = 0
    ids: list[int] = field(default_factory=list)  # the violations on the page shown
    violation: int = 0  # the one opened
NO_MATCH = "未找到匹配的记录，请核对后重新输入"
NEXT_PAGE, PREVIOUS_PAGE = "下一页", "上一页"
PLACE_CHARS = 12  # a list line shows this much of the place; the detail shows all
NOT_OWN = "温馨提示：在线处理需先实名注册，并绑定本人或已关注的车辆、驾驶证后办理。"
OWN = "温馨提示：这是您本人名下的车辆，按您本人驾驶证的状态和记分，该记录符合在线处理条件。"
FOLLOWED = "温馨提示：这是您关注的车辆，按您本人驾驶证的状态和记分，该记录符合在线处理条件。"
PROCESSOR_ONLY = "办理：在“交通违法处理”中选择该记录，需您本人刷脸认证。"
OWNER_FIRST = "办理：在“交通违法处理”中选择该记录，需车主本人先刷脸认证同意，再由您本人刷脸认证。"


@dataclass(frozen=True)
class Listing:
    heading: str  # what is listed (plate, or the licence summary), personal data masked
    page: Page


Loader = Callable[[Context, int, int], Awaitable[Listing | None]]
Finder = Callable[[Context], Awaitable[object | None]]
# Whether the person with this ID number owns the journey's vehicle or holds its licence.
OwnerTest = Callable[[Context, str], Awaitable[bool]]


async def paused(ctx: Context) -> str | None:
    """Flow guard: the notice for a user paused after too many failed matches."""
    until = await ctx.deps.failed_matches.paused_until(ctx.conversation,
                                                       prefetched=ctx.turn.prefetched)
    return None if until is None else pause_notice(localtime(until), localtime())


async def match(ctx: Context, find: Finder, retry: str, *, target: Target,
                owned_by: OwnerTest) -> Transition:
    """Show the list when ``find`` matches; otherwise count the failure and ask again from
    ``retry``, never saying which input was wrong or whether the vehicle or licence exists.
    A paused target is refused whatever ``find`` found, except to its registered owner."""
    failed_matches = ctx.deps.failed_matches
    # Asked before the lookup and awaited after it (one wait, not two); what ``find`` found
    # is not used while paused.
    asked = failed_matches.target_paused_until(target)
    try:
        found = await find(ctx)
    except BaseException:
        asked.cancel()
        raise
    target_until = await asked
    if target_until is not None and not await _is_owner(ctx, owned_by):
        return Done(target_pause_notice(target.kind, localtime(target_until), localtime()),
                    menu=True)
    if found is not None:
        ctx.data.page = 0
        return LIST
    until = await failed_matches.record(ctx.conversation, target)
    if until is not None:
        return Done(pause_notice(localtime(until), localtime()), menu=True)
    ctx.say(NO_MATCH)
    return retry


async def _is_owner(ctx: Context, owned_by: OwnerTest) -> bool:
    user = await of_chat(ctx)
    return user is not None and await owned_by(ctx, user.id_number)


def states(load: Loader) -> dict[str, State]:
    """The list and detail states, bound to the journey's ``load``. The detail judges online
    processing as it applies to the user (``_processing_lines``), whichever list it is in."""
    return {
        LIST: State(prompt=partial(_list_prompt, load), field=_ItemNumber(), then=_open,
                    commands={NEXT_PAGE: _next_page, PREVIOUS_PAGE: _previous_page}),
        DETAIL: State(prompt=_detail_prompt,
                      choices=(Choice("返回列表", goto=LIST),)),
    }


# ---- list -----------------------------------------------------------------------------------


class _ItemNumber(Field[int]):
    label = "序号"
    hint = f"请回复列表中的序号查看详情，或回复“{NEXT_PAGE}”“{PREVIOUS_PAGE}”翻页"

    def parse(self, text: str) -> int:
        number = choice_number(text)
        if number is None:
            raise InvalidInput(self.hint)
        return number


async def _list_prompt(load: Loader, ctx: Context) -> Reply | str:
    size = ctx.deps.limits.page_size
    listing = await load(ctx, ctx.data.page, size)
    if listing is not None and not listing.page.items and listing.page.number > 0:
        ctx.data.page = 0  # records went away since the last page was shown
        listing = await load(ctx, 0, size)
    if listing is None:
        return NO_MATCH
    page = listing.page
    ctx.data.ids = [violation.id for violation in page.items]
    ctx.data.pages = math.ceil(page.total / size)
    if not page.total:
        return Reply(f"{listing.heading}\n\n暂无违法记录。", extra=("回复“菜单”查看其他服务",))
    paging = [f"“{word}”" for word, shown in ((NEXT_PAGE, page.has_next),
                                             (PREVIOUS_PAGE, page.has_previous)) if shown]
    hint = "回复序号查看详情" + (f"，回复{'或'.join(paging)}翻页" if paging else "")
    position = f"共{page.total}条违法记录，第{page.number + 1}/{ctx.data.pages}页："
    return Reply(
        f"{listing.heading}\n\n{position}",
        choices=tuple(_line(violation) for violation in page.items),
        extra=(hint,),
    )


def _line(violation: Violation) -> str:
    place = violation.place
    if len(place) > PLACE_CHARS:
        place = place[:PLACE_CHARS] + "…"
    return (f"{localtime(violation.occurred_at):%Y-%m-%d %H:%M} {place} "
            f"{offence(violation.description)} "
            f"罚款{_yuan(violation.fine)}元 记{violation.points}分 {violation.state.label}")


@exits(LIST)
async def _next_page(ctx: Context, _: str) -> Transition:
    if ctx.data.page + 1 >= ctx.data.pages:
        return Stay("已经是最后一页了。")
    ctx.data.page += 1
    return LIST


@exits(LIST)
async def _previous_page(ctx: Context, _: str) -> Transition:
    if ctx.data.page == 0:
        return Stay("已经是第一页了。")
    ctx.data.page -= 1
    return LIST


@exits(DETAIL)
async def _open(ctx: Context, number: int) -> Transition:
    ids = ctx.data.ids
    if not ids:
        return Stay("暂无违法记录。")
    if not 1 <= number <= len(ids):
        return Stay(f"请回复 1-{len(ids)} 之间的序号。")
    ctx.data.violation = ids[number - 1]
    return DETAIL


# ---- detail ---------------------------------------------------------------------------------


async def _detail_prompt(ctx: Context) -> str:
    violation = await ctx.deps.traffic.violation(ctx.data.violation)
    if violation is None:
        return "该记录已不存在，请返回列表。"
    lines = [
        "违法详情",
        f"时间：{localtime(violation.occurred_at):%Y-%m-%d %H:%M}",
        f"地点：{violation.place}",
        f"违法行为：{violation.code} {violation.description}",
        f"罚款：{_yuan(violation.fine)}元",
        f"记分：{violation.points}分",
        f"状态：{violation.state.label}",
    ]
    if violation.decision_number:
        lines.append(f"处罚决定书编号：{violation.decision_number}")
    lines += _payment_lines(violation)
    lines.append(f"处理机关：{violation.authority}")
    lines += await _processing_lines(ctx, violation)
    return "\n".join(lines)


def _payment_lines(violation: Violation) -> list[str]:
    """A decided, unpaid fine: the last day to pay and the late fee to date (bot.rules)."""
    if violation.state is not ViolationState.PROCESSED_UNPAID or violation.decided_on is None:
        return []
    fee = late_fee(violation.fine, violation.decided_on, localtime().date())
    return [f"缴款期限：{payment_due(violation.decided_on):%Y-%m-%d}（逾期每日加处3%滞纳金）",
            f"截至今日滞纳金：{_yuan(fee)}元，应缴合计：{_yuan(violation.fine + fee)}元"]


async def _processing_lines(ctx: Context, violation: Violation) -> list[str]:
    """Whether and how this user could process the record online, by the same rules as 交通
    违法处理 (bot.processing.judge): their own or a followed vehicle's, for their own licence,
    with the face checks it needs. Anyone else learns only whether it qualifies at all."""
    user = await of_chat(ctx)
    judged = None if user is None else await ctx.deps.processing.judge(user, violation.id)
    if judged is None or judged.relation is Relation.OTHER:
        max_fine = Decimal(ctx.deps.processing.config.max_fine)
        refusal = online_processing_refusal(facts_of(violation), max_fine=max_fine)
        allowed = ["能否在线处理：是", NOT_OWN]
    else:
        refusal = judged.eligibility.refusal
        faces = (OWNER_FIRST if judged.eligibility.verifications is
                 Verifications.OWNER_THEN_PROCESSOR else PROCESSOR_ONLY)
        allowed = ["能否在线处理：是", OWN if judged.relation is Relation.OWN else FOLLOWED,
                   faces]
    if refusal is None:
        return allowed
    return [f"能否在线处理：否，{refusal.reason}", f"办理方式：{refusal.where}"]


def _yuan(amount: Decimal) -> str:
    """200.00 -> "200", 150.50 -> "150.5"."""
    return f"{amount.normalize():f}"
