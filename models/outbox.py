"""What the local sandboxes "sent": WeChat customer-service/template messages and SMS.

Developers and operators read it at GET /sandbox/outbox; tests assert on it.
"""

from tortoise import fields
from tortoise.models import Model


class OutboxMessage(Model):
    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=32, db_index=True)  # wechat.text, wechat.template, sms
    recipient = fields.CharField(max_length=128, db_index=True)
    body = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "sandbox_outbox"
        ordering = ("id",)

    def to_json(self) -> dict:
        return {"id": self.id, "kind": self.kind, "recipient": self.recipient, "body": self.body,
                "created_at": self.created_at.isoformat()}
