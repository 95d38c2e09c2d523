"""Pending items of a user: stored in the database, counted in Redis for the hot path.

Every reply to a user with open items ends with the footer; 待处理 (a built-in journey, added
at the composition root) lists them, and picking one starts its journey. News is done with
once opened. A request for the user's answer (a kind in ``asking``: approve a follow, verify
for someone's processing) stays listed after it is opened, since a user who leaves it
unanswered must be able to come back to it, until the domain ``close``s it (answered, in any
of the user's conversations, or ended) or it expires. The Redis counter is a mirror: it is
recomputed from the database whenever an item is offered, opened, closed or expires (a job
at each item's expiry), never trusted to count by itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from arq.connections import ArqRedis
from tortoise import timezone
from tortoise.exceptions import IntegrityError

from bot.engine import Choice, Context, Done, Flow, StartFlow, State, Transition
from bot.messages import Conversation, Reply
from models.pending import PendingItem

WORD = "待处理"
COUNTER_PREFIX = "pending:"  # + Conversation.key: how many open items


@dataclass(frozen=True)
class Offer:
    """What a domain handler puts in front of a user: news (``kind``, ``reference``) shown
    as ``title``, opened by starting ``flow`` with ``data``; listed until ``until`` (the
    request's own deadline), else for the items' lifetime."""

    kind: str
    reference: str
    title: str
    flow: str
    data: dict[str, Any] = field(default_factory=dict)
    until: dt.datetime | None = None


def footer(count: int) -> str:
    return f"您有 {count} 条待处理事项，回复“{WORD}”查看。"


def with_footer(reply: Reply, count: int) -> Reply:
    """The reply with the pending footer as its last line, when there is anything pending."""
    if count <= 0:
        return reply
    return Reply(reply.text, reply.choices, reply.link, (*reply.extra, footer(count)))


class PendingItems:
    def __init__(self, redis: ArqRedis, lifetime: int, asking: Iterable[str] = ()) -> None:
        self._redis = redis
        self._lifetime = lifetime
        self._asking = frozenset(asking)  # kinds that ask for an answer: listed until closed

    @staticmethod
    def counter_key(conversation: Conversation) -> str:
        return COUNTER_PREFIX + conversation.key

    async def add(self, conversation: Conversation, offer: Offer) -> bool:
        """Store the offer (once per kind and reference); False if it was there already."""
        expires_at = offer.until or timezone.now() + dt.timedelta(seconds=self._lifetime)
        try:
            await PendingItem.create(conversation=conversation.key, kind=offer.kind,
                                     reference=offer.reference, title=offer.title,
                                     flow=offer.flow, data=offer.data, expires_at=expires_at)
        except IntegrityError:
            return False
        await self.recount(conversation)
        # The counter drops the item when it expires, even if the user never writes again.
        await self._redis.enqueue_job("recount_pending", conversation.key,
                                      _defer_until=expires_at)
        return True

    def _open(self, conversation: Conversation):
        # The local time, not timezone.now(): SQLite compares datetimes as the text Tortoise
        # stored, in the configured zone (+08:00), and a UTC value's text sorts 8 hours early.
        return PendingItem.filter(conversation=conversation.key, opened_at=None,
                                  expires_at__gt=timezone.localtime())

    async def open_items(self, conversation: Conversation) -> list[PendingItem]:
        return await self._open(conversation).order_by("id")

    async def count(self, conversation: Conversation) -> int:
        """The mirrored count (one Redis read)."""
        raw = await self._redis.get(self.counter_key(conversation))
        return int(raw) if raw else 0

    async def recount(self, conversation: Conversation) -> int:
        count = await self._open(conversation).count()
        key = self.counter_key(conversation)
        if count:
            await self._redis.set(key, count, ex=self._lifetime)
        else:
            await self._redis.delete(key)
        return count

    async def take(self, conversation: Conversation, item_id: int) -> PendingItem | None:
        """The item to open, or None if it is no longer open. News is marked opened (once: a
        conditional update); a request for an answer stays open until ``close``."""
        item = await self._open(conversation).filter(id=item_id).first()
        if item is None or item.kind in self._asking:
            return item
        moved = await self._open(conversation).filter(id=item_id).update(
            opened_at=timezone.now())
        await self.recount(conversation)
        return item if moved else None

    async def close(self, kind: str, reference: str) -> None:
        """The request these items ask about was answered or ended: off the list of every
        conversation it was offered in (a person's WeChat and Alipay)."""
        items = PendingItem.filter(kind=kind, reference=reference, opened_at=None)
        keys = set(await items.values_list("conversation", flat=True))
        if keys:
            await items.update(opened_at=timezone.now())
        for key in sorted(keys):
            await self.recount(Conversation.parse(key))


def pending_flow(items: PendingItems) -> Flow:
    """The 待处理 journey: the user's open items as choices; a pick starts its journey."""

    async def nothing_pending(ctx: Context) -> str | None:
        if await items.recount(Conversation(ctx.channel, ctx.user_id)):
            return None
        return "您目前没有待处理事项。"

    async def choices(ctx: Context) -> list[Choice]:
        listed = await items.open_items(Conversation(ctx.channel, ctx.user_id))
        return [Choice(item.title, value=item.id) for item in listed]

    async def open_item(ctx: Context, item_id: int) -> Transition:
        item = await items.take(Conversation(ctx.channel, ctx.user_id), item_id)
        if item is None:  # opened (in another message) or expired meanwhile
            return Done("该事项已处理或已过期。")
        return StartFlow(item.flow, item.data)

    return Flow(
        name="pending",
        title=WORD,
        start="list",
        guard=nothing_pending,
        overlay=True,  # typed inside a journey, it keeps that journey for afterwards
        states={"list": State(prompt="您的待处理事项：", choices=choices, then=open_item)},
    )
