"""What the sandboxes "sent", as GET /sandbox/outbox lists it (handlers stay out of models)."""

from __future__ import annotations

from models.outbox import OutboxMessage

LIMIT = 500


async def sent(recipient: str = "", kind: str = "", after: int = 0) -> list[dict]:
    """Messages newest last, optionally for one recipient, of one kind, after an id."""
    query = OutboxMessage.filter(id__gt=after)
    if recipient:
        query = query.filter(recipient=recipient)
    if kind:
        query = query.filter(kind=kind)
    return [message.to_json() for message in await query.order_by("id").limit(LIMIT)]
