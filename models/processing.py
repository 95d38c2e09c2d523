"""Processing a violation online (交通违法处理): the case that waits on faces, and the notice.

A ``ProcessingCase`` is one person's attempt to process one violation: it waits for the
vehicle owner's face verification when the rules need it, then for the processor's, and
ends processed, or refused, failed, expired or abandoned by the owner. While open it holds
the violation's ``open_key`` (unique): one open case per violation, so an owner is never
asked twice at once. Processing itself is a conditional update of the violation in the
case's transaction (bot.processing), so a violation is processed once whoever tries.

A ``ProcessingNotice`` (处理通知书) is made in the same transaction, due a configured delay
later; a job fills it in and tells the processor.
"""

from tortoise import fields
from tortoise.models import Model

from models.enums import LabeledEnum


class CaseState(LabeledEnum):
    AWAITING_OWNER = "awaiting_owner", "等待车主刷脸认证"
    AWAITING_PROCESSOR = "awaiting_processor", "等待处理人刷脸认证"
    PROCESSED = "processed", "已处理"
    REFUSED = "refused", "车主已拒绝"
    FAILED = "failed", "车主刷脸认证未通过"
    EXPIRED = "expired", "车主未在有效期内认证"
    CANCELLED = "cancelled", "已取消"


OPEN_STATES = (CaseState.AWAITING_OWNER, CaseState.AWAITING_PROCESSOR)


class OwnerAsked(LabeledEnum):
    NOT_NEEDED = "none", "无需车主认证"
    CHAT = "chat", "对话"  # a registered owner: a pending action in chat
    SMS = "sms", "短信"  # anyone else: an SMS with a link to the face page


class ProcessingCase(Model):
    id = fields.IntField(primary_key=True)
    violation: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Violation", related_name="processing_cases", on_delete=fields.RESTRICT)
    processor: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name="processing_cases", on_delete=fields.RESTRICT)
    conversation = fields.CharField(max_length=96)  # the processor's, told of the owner
    state = fields.CharEnumField(CaseState, max_length=20)
    owner_asked = fields.CharEnumField(OwnerAsked, max_length=8, default=OwnerAsked.NOT_NEEDED)
    owner_id_number = fields.CharField(max_length=18, default="")
    # The owner's face check (Verification.reference) once the owner started one.
    owner_check = fields.CharField(max_length=64, default="", db_index=True)
    token_hash = fields.CharField(max_length=64, null=True, unique=True)  # the SMS link's
    # The violation's id while the case is open: one open case per violation.
    open_key = fields.IntField(null=True, unique=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True)

    class Meta:
        table = "processing_case"


class ProcessingNotice(Model):
    """处理通知书 of one processed violation; ``ready_at`` once made and the user told."""

    id = fields.IntField(primary_key=True)
    violation: fields.OneToOneRelation = fields.OneToOneField(
        "models.Violation", related_name="processing_notice", on_delete=fields.RESTRICT)
    case: fields.OneToOneRelation = fields.OneToOneField(
        "models.ProcessingCase", related_name="notice", on_delete=fields.RESTRICT)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name="processing_notices", on_delete=fields.RESTRICT)
    decision_number = fields.CharField(max_length=16, unique=True)
    due_at = fields.DatetimeField(db_index=True)  # when it is to be made
    ready_at = fields.DatetimeField(null=True)
    text = fields.TextField(default="")

    class Meta:
        table = "processing_notice"
