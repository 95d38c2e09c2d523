"""Users of the account: one person, any number of channel identities (WeChat, Alipay)."""

from tortoise import fields
from tortoise.models import Model

from models.enums import LabeledEnum


class VerifiedBy(LabeledEnum):
    FACE = "face", "刷脸认证"
    SMS = "sms", "短信验证"
    WINDOW = "window", "窗口核验"


class User(Model):
    """A real person, registered once by ID number whichever channel they came from."""

    id = fields.IntField(primary_key=True)
    id_number = fields.CharField(max_length=18, unique=True)
    real_name = fields.CharField(max_length=32)
    phone = fields.CharField(max_length=11)
    verified_by = fields.CharEnumField(VerifiedBy, max_length=8)
    registered_at = fields.DatetimeField(auto_now_add=True)
    # Set when the last channel identity is unbound; the row stays for audit.
    unregistered_at = fields.DatetimeField(null=True)

    identities: fields.ReverseRelation["ChannelIdentity"]

    class Meta:
        table = "app_user"


class ChannelIdentity(Model):
    """A WeChat openid or Alipay user id bound to a user; unbinding deletes the row."""

    id = fields.IntField(primary_key=True)
    channel = fields.CharField(max_length=16)
    external_id = fields.CharField(max_length=64)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="identities", on_delete=fields.CASCADE)
    bound_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "channel_identity"
        unique_together = (("channel", "external_id"),)


class BindingAction(LabeledEnum):
    BOUND = "bound", "绑定"
    UNBOUND = "unbound", "解除绑定"  # the account holder unregistered
    REPLACED = "replaced", "被新注册替换"  # a newer registration of the person took its place


class BindingEvent(Model):
    """Audit of chat bindings made and ended, kept for good.

    One row per identity bound, unbound or replaced, kept after the binding is gone. Personal
    data stays on the user row; a chat identity is named by its pseudonymous id only.
    """

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="binding_events", on_delete=fields.RESTRICT)
    channel = fields.CharField(max_length=16)
    external_id = fields.CharField(max_length=64, db_index=True)
    action = fields.CharEnumField(BindingAction, max_length=8)
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "binding_event"
