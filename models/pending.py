"""Pending items: news for a user that came while they were busy in another journey.

An outside event whose journey is not the one on top of the user's session (or who has no
session) becomes a row here instead of being lost; the user is told with every reply and
opens it under 待处理, which starts ``flow`` with ``data``. One row per (conversation, kind,
reference), so the same news offered twice is one item.
"""

from tortoise import fields
from tortoise.models import Model


class PendingItem(Model):
    id = fields.BigIntField(primary_key=True)
    conversation = fields.CharField(max_length=96)  # Conversation.key
    kind = fields.CharField(max_length=32)  # the event kind: face.settled, follow.requested ...
    reference = fields.CharField(max_length=64)  # the durable record the news is about
    title = fields.CharField(max_length=64)  # one line in the 待处理 list
    flow = fields.CharField(max_length=32)  # the journey that opens it
    data = fields.JSONField(default=dict)  # that journey's seed data
    created_at = fields.DatetimeField(auto_now_add=True)
    opened_at = fields.DatetimeField(null=True)  # off the list: news opened, a request closed
    expires_at = fields.DatetimeField()

    class Meta:
        table = "pending_item"
        unique_together = (("conversation", "kind", "reference"),)
        # The second: a request answered is closed in every conversation it was offered in.
        indexes = (("conversation", "opened_at", "expires_at"), ("kind", "reference"))
