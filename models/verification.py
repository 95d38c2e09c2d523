"""Audit trail of every identity verification (face or SMS code), kept after unregistering."""

from tortoise import fields
from tortoise.models import Model

from models.enums import LabeledEnum


class Method(LabeledEnum):
    FACE = "face", "刷脸认证"
    SMS = "sms", "短信验证码"


class Outcome(LabeledEnum):
    PENDING = "pending", "进行中"
    PASSED = "passed", "通过"
    FAILED = "failed", "未通过"
    EXPIRED = "expired", "已过期"


class Verification(Model):
    id = fields.IntField(primary_key=True)
    method = fields.CharEnumField(Method, max_length=8)
    purpose = fields.CharField(max_length=32)  # register, process_violation, follow ...
    # Who asked (channel:external id) and whose identity was checked.
    requester = fields.CharField(max_length=96, db_index=True)
    subject_id_number = fields.CharField(max_length=18)
    # Our own reference, sent to the provider (Alipay outer_order_no, the SMS OutId) ...
    reference = fields.CharField(max_length=64, unique=True)
    # ... and the provider's id for the same check (Alipay certify_id), once it gave one.
    provider_id = fields.CharField(max_length=64, default="")
    outcome = fields.CharEnumField(Outcome, max_length=8, default=Outcome.PENDING)
    detail = fields.CharField(max_length=128, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    settled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "verification"
