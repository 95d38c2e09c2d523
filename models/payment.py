"""Paying a fine through Alipay (交通罚款缴纳): the payment of one decision, and everything
Alipay said about it.

A ``Payment`` is one Alipay order (``out_trade_no``) for one decision (a processed-unpaid
violation), its amount fixed by the server when it is made:

    created -> paying -> paid -> refunded
       |          |
       +----------+--> closed (expired and closed at Alipay, or never opened there)
       +----------+--> unknown (expired, and Alipay could not be asked) -> paid / closed

``live_key`` is the violation's id while the payment is created, paying, unknown or paid
(unique): at most one open or paid payment per decision, whoever tries at once. Closing or
refunding a payment sets it to NULL, which frees the decision (NULLs never collide). Money
taken for a decision that another payment (or a window) had paid already keeps no key and
is ``flagged`` for operators, who refund it by command.

Reminders (``PaymentReminder``, one per decision, user and kind) tell owners and licence
holders before the last day to pay and when late fees start, unless they opted out
(``ReminderOptOut``).

A ``PaymentRecord`` keeps each notify (accepted or refused, with its form), each query,
close and refund answer, and each operator's refund, for good. An accepted notify's
``notify_id`` is unique: Alipay's repeats of it are answered without acting twice.
"""

from tortoise import fields
from tortoise.models import Model

from models.enums import LabeledEnum


class PaymentState(LabeledEnum):
    CREATED = "created", "待支付"
    PAYING = "paying", "支付中"  # Alipay has the trade, awaiting the buyer
    PAID = "paid", "已支付"
    CLOSED = "closed", "已关闭"
    UNKNOWN = "unknown", "支付结果待确认"
    REFUNDED = "refunded", "已退款"


OPEN_STATES = (PaymentState.CREATED, PaymentState.PAYING, PaymentState.UNKNOWN)


class RecordSource(LabeledEnum):
    NOTIFY = "notify", "支付宝异步通知"
    QUERY = "query", "交易查询"
    CLOSE = "close", "交易关闭"
    REFUND = "refund", "退款"


class Payment(Model):
    id = fields.IntField(primary_key=True)
    out_trade_no = fields.CharField(max_length=32, unique=True)
    violation: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Violation", related_name="payments", on_delete=fields.RESTRICT)
    decision_number = fields.CharField(max_length=16, db_index=True)
    payer: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name="payments", on_delete=fields.RESTRICT, null=True)
    conversation = fields.CharField(max_length=96)  # Conversation.key: told there when paid
    principal = fields.DecimalField(max_digits=10, decimal_places=2)
    late_fee = fields.DecimalField(max_digits=10, decimal_places=2)
    days_overdue = fields.IntField()
    amount = fields.DecimalField(max_digits=10, decimal_places=2)  # principal + late fee
    state = fields.CharEnumField(PaymentState, max_length=8, default=PaymentState.CREATED)
    trade_no = fields.CharField(max_length=64, default="")  # Alipay's, once it has the trade
    live_key = fields.IntField(null=True, unique=True)  # see the module docstring
    flagged = fields.CharField(max_length=128, default="")  # why operators must look at it
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()  # Alipay closes the trade then (timeout_express)
    paid_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    refunded_at = fields.DatetimeField(null=True)
    told_at = fields.DatetimeField(null=True)  # the payer was told it is paid

    class Meta:
        table = "payment"
        indexes = (("state", "created_at"), ("state", "told_at"))


class PaymentRecord(Model):
    id = fields.IntField(primary_key=True)
    payment: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Payment", related_name="records", on_delete=fields.RESTRICT, null=True)
    source = fields.CharEnumField(RecordSource, max_length=8)
    out_trade_no = fields.CharField(max_length=64, default="")  # as given, ours or not
    notify_id = fields.CharField(max_length=128, null=True, unique=True)  # accepted notifies
    trade_status = fields.CharField(max_length=32, default="")
    accepted = fields.BooleanField()
    outcome = fields.CharField(max_length=128)  # what we made of it
    operator = fields.CharField(max_length=64, default="")  # a refund's
    body = fields.JSONField(default=dict)  # the form or answer, as received
    at = fields.DatetimeField()

    class Meta:
        table = "payment_record"
        indexes = (("payment", "at"),)


class PaymentReminder(Model):
    """A payment reminder sent to a user about a decision, kept: never sent twice."""

    id = fields.IntField(primary_key=True)
    violation: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Violation", related_name="payment_reminders", on_delete=fields.RESTRICT)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name="payment_reminders", on_delete=fields.RESTRICT)
    kind = fields.CharField(max_length=12)  # bot.rules.Reminder
    sent_at = fields.DatetimeField()

    class Meta:
        table = "payment_reminder"
        unique_together = (("violation", "user", "kind"),)


class ReminderOptOut(Model):
    """A user who switched payment reminders off (the row goes when they switch them on)."""

    id = fields.IntField(primary_key=True)
    user: fields.OneToOneRelation = fields.OneToOneField(
        "models.User", related_name="reminder_opt_out", on_delete=fields.RESTRICT)
    at = fields.DatetimeField()

    class Meta:
        table = "payment_reminder_opt_out"
