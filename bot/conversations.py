"""Acting on a user's conversation from outside: an event, another person's request.

Like aiogram_dialog's background manager, every action goes through what the user's own
messages go through: it takes the user's turn (``Inbox.hold``, so it is ordered with their
messages and never runs beside one), loads their session, asks the engine, stores the
session and sends the reply through the user's channel (a push, queued as a job that
retries). News the user's current journey does not wait for becomes a pending item: never
lost, told with their next reply, opened under 待处理.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bot.engine import Engine, Step
from bot.events import Event
from bot.inbox import Inbox
from bot.messages import Conversation, Reply
from bot.pending import Offer, PendingItems, with_footer

log = logging.getLogger(__name__)
Push = Callable[[Conversation, Reply], Awaitable[None]]
Claim = Callable[[], Awaitable[bool]]


async def _always() -> bool:
    return True


class Conversations:
    def __init__(self, engine: Engine, inbox: Inbox, pending: PendingItems, push: Push) -> None:
        self._engine = engine
        self._inbox = inbox
        self._pending = pending
        self._push = push

    @property
    def pending(self) -> PendingItems:
        return self._pending

    async def resume(self, conversation: Conversation, event: Event, *, offer: Offer,
                     claim: Claim = _always, announce: bool = False) -> bool:
        """Hand the event to the journey waiting on it, or leave ``offer`` as a pending item
        (``announce``: and push its title, as ``offer`` does, for news the user must not
        first find when they next write, such as a follow request's outcome).

        ``claim`` runs first, in the user's turn: the domain handler's conditional update of
        the durable record. False (the record moved already: a second delivery, or the
        user's own message settled it) and nothing happens; the result is ``claim``'s.
        """
        async with self._inbox.hold(conversation.key):
            if not await claim():
                return False
            session = await self._engine.store.load(conversation.key)
            step = await self._engine.deliver(conversation, session, event)
            if step is None:
                added = await self._pending.add(conversation, offer)
                log.info("event %s kept as a pending item", event.kind)
                if not (added and announce):
                    return True
                reply = with_footer(Reply(f"新的待处理事项：{offer.title}"),
                                    await self._pending.count(conversation))
            else:
                reply = await self._keep(conversation, step)
        await self._push(conversation, reply)
        return True

    async def begin(self, conversation: Conversation, flow: str,
                    data: Mapping[str, Any]) -> None:
        """Start a journey for the user on top of the one they are in (kept beneath)."""
        async with self._inbox.hold(conversation.key):
            session = await self._engine.store.load(conversation.key)
            step = await self._engine.begin(conversation, session, flow, data)
            reply = await self._keep(conversation, step)
        await self._push(conversation, reply)

    async def offer(self, conversation: Conversation, offer: Offer) -> bool:
        """Put an action in front of the user (approve or refuse a request) without touching
        their journey: a pending item, announced by a push. False if offered already."""
        async with self._inbox.hold(conversation.key):
            added = await self._pending.add(conversation, offer)
            count = await self._pending.count(conversation)
        if added:
            await self._push(conversation, with_footer(Reply(f"新的待处理事项：{offer.title}"),
                                                       count))
        return added

    async def tell(self, conversation: Conversation, reply: Reply) -> None:
        """News that needs no answer and changes no journey, with the pending footer (read
        in the user's turn), pushed as every push is."""
        async with self._inbox.hold(conversation.key):
            count = await self._pending.count(conversation)
        await self._push(conversation, with_footer(reply, count))

    async def _keep(self, conversation: Conversation, step: Step) -> Reply:
        await self._engine.store.put(conversation.key, step.session)
        return with_footer(step.reply, await self._pending.count(conversation))
