"""Outside events: typed news about a durable record (a face result, a code confirmed on a
page, a payment settled, a request expired), raised by integrations, pages and jobs.

``EventBus.publish`` queues the event as an arq job whose id is derived from its kind and
reference, so the same event published twice while the first is queued or recently handled
is dropped. The job looks up the kind's domain handler (registered with ``@on``), which
moves the durable record with a conditional update (only a pending row moves) and only then
acts on a conversation: an event delivered twice, or to two workers, takes effect once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from arq.connections import ArqRedis

if TYPE_CHECKING:
    from bot.conversations import Conversations

log = logging.getLogger(__name__)
JOB = "handle_event"


@dataclass(frozen=True)
class Event:
    kind: str  # "face.settled", "sms.confirmed", "follow.expired", "payment.settled"
    reference: str  # the durable record's id/reference the journey waits on
    data: dict[str, Any] = field(default_factory=dict)  # JSON-able

    @property
    def job_id(self) -> str:
        """One job per event: arq refuses a second job with an id it still knows."""
        return f"event:{self.kind}:{self.reference}"


EventHandler = Callable[[Event, "Conversations"], Awaitable[None]]
_HANDLERS: dict[str, EventHandler] = {}


def on(kind: str) -> Callable[[EventHandler], EventHandler]:
    """Register the domain handler of an event kind (one per kind)."""

    def register(handler: EventHandler) -> EventHandler:
        if kind in _HANDLERS and _HANDLERS[kind] is not handler:
            raise ValueError(f"event {kind} has a handler already")
        _HANDLERS[kind] = handler
        return handler

    return register


class UnknownEvent(LookupError):
    pass


def handler_of(kind: str) -> EventHandler:
    try:
        return _HANDLERS[kind]
    except KeyError:
        raise UnknownEvent(kind) from None


class EventBus:
    def __init__(self, redis: ArqRedis) -> None:
        self._redis = redis

    async def publish(self, event: Event, *, defer_by: float | None = None) -> bool:
        """Queue the event (after ``defer_by`` seconds: a timer); False when the same event
        is queued or was handled within the job result's lifetime, and is dropped."""
        handler_of(event.kind)  # refuse a kind nobody handles before it is queued
        job = await self._redis.enqueue_job(JOB, event.kind, event.reference, event.data,
                                            _job_id=event.job_id, _defer_by=defer_by)
        if job is None:
            log.info("event %s dropped: already queued or handled", event.kind)
        return job is not None


async def handle(event: Event, conversations: Conversations) -> None:
    """Run the event's domain handler (the job's body; tests call it to play a second
    delivery)."""
    await handler_of(event.kind)(event, conversations)
