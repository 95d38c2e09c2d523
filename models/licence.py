"""Driver licences (驾驶证) as the traffic records hold them."""

from tortoise import fields
from tortoise.models import Model

from models.enums import LicenceClass, LicenceStatus


class DriverLicence(Model):
    id = fields.IntField(primary_key=True)
    # The licence number is the holder's ID number (GB 11643).
    number = fields.CharField(max_length=18, unique=True)
    file_number = fields.CharField(max_length=12)
    holder_name = fields.CharField(max_length=32)
    holder_phone = fields.CharField(max_length=11, default="")
    licence_class = fields.CharEnumField(LicenceClass, max_length=4)
    issuing_authority = fields.CharField(max_length=64)
    valid_from = fields.DateField()
    valid_to = fields.DateField()
    status = fields.CharEnumField(LicenceStatus, max_length=16, default=LicenceStatus.NORMAL)
    points = fields.SmallIntField(default=0)  # accumulated in the current 12-month cycle
    cycle_start = fields.DateField()

    class Meta:
        table = "driver_licence"
