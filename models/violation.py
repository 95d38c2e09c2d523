"""Traffic violations (交通违法) of a vehicle, and of a licence once someone took the points."""

from tortoise import fields
from tortoise.models import Model

from models.enums import PlateType, Procedure, ViolationKind, ViolationState


class Violation(Model):
    id = fields.IntField(primary_key=True)
    plate_type = fields.CharEnumField(PlateType, max_length=2)
    plate_number = fields.CharField(max_length=8)
    occurred_at = fields.DatetimeField()
    place = fields.CharField(max_length=128)
    code = fields.CharField(max_length=5)
    description = fields.CharField(max_length=256)
    fine = fields.DecimalField(max_digits=10, decimal_places=2)  # principal, yuan
    points = fields.SmallIntField()
    kind = fields.CharEnumField(ViolationKind, max_length=16)
    procedure = fields.CharEnumField(Procedure, max_length=16)
    state = fields.CharEnumField(ViolationState, max_length=20,
                                 default=ViolationState.UNPROCESSED)
    authority = fields.CharField(max_length=64)  # 处理机关: where a window can handle it
    # The licence whose points it took (on-site records, or once processed).
    licence_number = fields.CharField(max_length=18, default="")
    decision_number = fields.CharField(max_length=16, null=True, unique=True)
    decided_on = fields.DateField(null=True)
    processed_at = fields.DatetimeField(null=True)
    paid_at = fields.DatetimeField(null=True)

    class Meta:
        table = "violation"
        # Lists are per vehicle (or licence), newest first.
        indexes = (("plate_type", "plate_number", "occurred_at"),
                   ("licence_number", "occurred_at"))
