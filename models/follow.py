"""Following a friend's vehicle or driving licence (the target): the owner's or holder's
consent awaited, the follows it gives, the attempts it spends and the evidence it leaves.

A request and a follow name exactly one target: ``vehicle`` or ``licence`` (the other is
NULL). Quotas are the database's: every place a quota counts is a unique slot, so two
transactions can never both take the last one. A live follow of a vehicle holds a slot of
the vehicle (``vehicle_slot`` 1..followers_per_vehicle) and of its follower
(``follower_slot`` 1..max_vehicles); a follow of a licence, ``licence_slot`` and
``follower_licence_slot`` (1..max_licences) the same way. Ending a follow sets its slots to
NULL, which frees them (NULLs never collide). A sent request holds one ``FollowAttempt``
(user, year, n 1..attempts_per_year; vehicles and licences share them), kept for good; a
vehicle owner followed for the first time holds a ``FollowedOwner`` (user, n), kept for good
too (the 12123 profile's "distinct owners ever"). ``pending_key`` and ``active_key``
(follower:target, NULL once over) make "one pending request" and "one live follow" per
follower and target unique the same way.
"""

from tortoise import fields
from tortoise.models import Model

from models.enums import LabeledEnum


class RequestState(LabeledEnum):
    PENDING = "pending", "等待车主同意"
    APPROVED = "approved", "车主已同意"
    REFUSED = "refused", "车主已拒绝"
    EXPIRED = "expired", "已过期"
    FAILED = "failed", "未能关注"
    CANCELLED = "cancelled", "已取消"


class AskedBy(LabeledEnum):
    CHAT = "chat", "在对话中"
    SMS = "sms", "短信"


class ConsentChannel(LabeledEnum):
    CHAT = "chat", "车主在对话中同意"
    PAGE = "page", "车主在确认页面同意"
    CODE = "code", "车主告知验证码"


class EndedBy(LabeledEnum):
    UNFOLLOW = "unfollow", "您已取消关注"
    REVOKE = "revoke", "车主已撤销关注"
    LAPSE = "lapse", "授权已满一年"


class FollowRequest(Model):
    """The durable wait for an owner's answer (24 h). ``asked_at`` stays NULL until the owner
    has been asked (the SMS queued, or the pending action's event); a sweep asks every
    request left unasked by a process that died after the commit."""

    id = fields.IntField(primary_key=True)
    requester: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name="follow_requests", on_delete=fields.RESTRICT)
    conversation = fields.CharField(max_length=96)  # Conversation.key the requester is told in
    vehicle: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Vehicle", related_name="follow_requests", on_delete=fields.RESTRICT, null=True)
    licence: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.DriverLicence", related_name="follow_requests", on_delete=fields.RESTRICT,
        null=True)
    owner_id_number = fields.CharField(max_length=18, default="")
    state = fields.CharEnumField(RequestState, max_length=16, default=RequestState.PENDING)
    asked_by = fields.CharEnumField(AskedBy, max_length=8)
    reason = fields.CharField(max_length=64, default="")  # why it failed, as the user reads it
    code_hash = fields.CharField(max_length=64, default="")  # HMAC of the SMS code
    code_tries = fields.SmallIntField(default=0)  # wrong codes entered
    token_hash = fields.CharField(max_length=64, null=True, unique=True)  # the consent link
    # The SMS's code and link are derived from it with the SMS pepper, so the SMS can be sent
    # again, the same, by the sweep; the table alone gives neither.
    nonce = fields.CharField(max_length=32, default="")
    asked_at = fields.DatetimeField(null=True)
    # "requester:vehicle" while pending, NULL after: one pending request per pair.
    pending_key = fields.CharField(max_length=32, null=True, unique=True)
    expires_at = fields.DatetimeField()
    created_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "follow_request"
        indexes = (("requester", "state"), ("state", "asked_at"))


class Follow(Model):
    """A consent given: the follower sees the vehicle or licence until it ends."""

    id = fields.IntField(primary_key=True)
    follower: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name="follows", on_delete=fields.RESTRICT)
    vehicle: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Vehicle", related_name="follows", on_delete=fields.RESTRICT, null=True)
    licence: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.DriverLicence", related_name="follows", on_delete=fields.RESTRICT, null=True)
    request: fields.OneToOneRelation = fields.OneToOneField(
        "models.FollowRequest", related_name="follow", on_delete=fields.RESTRICT)
    consent = fields.CharEnumField(ConsentChannel, max_length=8)
    valid_until = fields.DatetimeField(null=True)  # SMS consents lapse; a chat consent: None
    started_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True)
    ended_by = fields.CharEnumField(EndedBy, max_length=8, null=True)
    # Slots while live, NULL once ended (see the module docstring).
    vehicle_slot = fields.SmallIntField(null=True)
    follower_slot = fields.SmallIntField(null=True)
    licence_slot = fields.SmallIntField(null=True)
    follower_licence_slot = fields.SmallIntField(null=True)
    active_key = fields.CharField(max_length=32, null=True, unique=True)

    class Meta:
        table = "follow"
        unique_together = (("vehicle", "vehicle_slot"), ("follower", "follower_slot"),
                           ("licence", "licence_slot"), ("follower", "follower_licence_slot"))
        indexes = (("ended_at", "valid_until"),)


class FollowAttempt(Model):
    """A follow request sent: ``n`` of the user's attempts in a calendar year (Beijing)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name="follow_attempts", on_delete=fields.RESTRICT)
    year = fields.SmallIntField()
    n = fields.SmallIntField()
    request: fields.OneToOneRelation = fields.OneToOneField(
        "models.FollowRequest", related_name="attempt", on_delete=fields.RESTRICT)

    class Meta:
        table = "follow_attempt"
        unique_together = (("user", "year", "n"),)


class FollowedOwner(Model):
    """A vehicle owner the user followed (``n``-th distinct one), kept for good: under the
    12123 profile ``n`` stops at owners_ever, so two approvals cannot both take the last."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name="followed_owners", on_delete=fields.RESTRICT)
    owner_id_number = fields.CharField(max_length=18)
    n = fields.SmallIntField()

    class Meta:
        table = "follow_owner"
        unique_together = (("user", "n"), ("user", "owner_id_number"))


class ConsentEvidence(Model):
    """How and when an owner answered a request, kept for good."""

    id = fields.IntField(primary_key=True)
    request: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.FollowRequest", related_name="evidence", on_delete=fields.RESTRICT)
    channel = fields.CharEnumField(ConsentChannel, max_length=8)
    approved = fields.BooleanField()
    code_hash = fields.CharField(max_length=64, default="")
    at = fields.DatetimeField()
    client_address = fields.CharField(max_length=64, default="")
    user_agent = fields.CharField(max_length=256, default="")

    class Meta:
        table = "follow_consent_evidence"
