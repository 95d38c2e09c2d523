"""Motor vehicles (机动车) as the traffic records hold them."""

from tortoise import fields
from tortoise.models import Model

from models.enums import OwnerKind, PlateType, VehicleKind

VIN_LENGTH = 17  # ISO 3779
VIN_SUFFIX_LENGTH = 6  # its last characters, the usual proof of a vehicle


class Vehicle(Model):
    id = fields.IntField(primary_key=True)
    plate_type = fields.CharEnumField(PlateType, max_length=2)
    plate_number = fields.CharField(max_length=8)
    vin = fields.CharField(max_length=17, unique=True)
    kind = fields.CharEnumField(VehicleKind, max_length=16)
    owner_kind = fields.CharEnumField(OwnerKind, max_length=16, default=OwnerKind.PERSON)
    owner_name = fields.CharField(max_length=64)
    # ID number of a person owner (links to their licence and account); "" for organisations.
    owner_id_number = fields.CharField(max_length=18, default="", db_index=True)
    owner_phone = fields.CharField(max_length=11)
    registration_place = fields.CharField(max_length=64)

    class Meta:
        table = "vehicle"
        unique_together = (("plate_type", "plate_number"),)
