"""Factories for traffic records in tests: valid licences, vehicles and violations.

Every ID number carries its GB 11643 check character and every VIN its ISO 3779 check digit,
so the records pass the same field types the journeys use. ``seq`` keeps them distinct.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot.fields import id_check_char, vin_check_digit
from models.enums import (
    LicenceClass,
    OwnerKind,
    PlateType,
    Procedure,
    VehicleKind,
    ViolationKind,
    ViolationState,
)
from models.licence import DriverLicence
from models.vehicle import Vehicle
from models.violation import Violation

_serials = itertools.count(1)
BEIJING = ZoneInfo("Asia/Shanghai")


def id_number(seq: int, born: date = date(1990, 3, 7)) -> str:
    """An 18-character ID number from Chongqing (500103), born on ``born``."""
    first17 = f"500103{born:%Y%m%d}{seq % 1000:03d}"
    return first17 + id_check_char(first17)


def vin(seq: int) -> str:
    """A 17-character VIN ending in the 6 digits of ``seq``."""
    body = f"LSVAB2BJ0AH{seq % 1_000_000:06d}"
    return body[:8] + vin_check_digit(body) + body[9:]


def local(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A wall-clock time in Beijing, as the records store them."""
    return datetime(year, month, day, hour, minute, tzinfo=BEIJING)


async def make_licence(**fields: Any) -> DriverLicence:
    seq = next(_serials)
    values: dict[str, Any] = {
        "number": id_number(seq),
        "file_number": f"5001{seq:08d}",
        "holder_name": "张三丰",
        "holder_phone": f"139{seq:08d}",
        "licence_class": LicenceClass.C1,
        "issuing_authority": "重庆市公安局交通巡逻警察总队",
        "valid_from": date(2020, 5, 1),
        "valid_to": date(2030, 5, 1),
        "points": 3,
        "cycle_start": date(2026, 5, 1),
    }
    return await DriverLicence.create(**values | fields)


async def make_vehicle(**fields: Any) -> Vehicle:
    seq = next(_serials)
    values: dict[str, Any] = {
        "plate_type": PlateType.SMALL,
        "plate_number": f"渝A{seq % 100_000:05d}",
        "vin": vin(seq),
        "kind": VehicleKind.SMALL_CAR,
        "owner_kind": OwnerKind.PERSON,
        "owner_name": "李四",
        "owner_id_number": id_number(seq, date(1985, 11, 20)),
        "owner_phone": f"138{seq:08d}",
        "registration_place": "重庆市渝中区",
    }
    return await Vehicle.create(**values | fields)


async def make_violation(vehicle: Vehicle, **fields: Any) -> Violation:
    """An unprocessed, online-processable violation (non-on-site, simple, 200 yuan, 3 points)."""
    values: dict[str, Any] = {
        "plate_type": vehicle.plate_type,
        "plate_number": vehicle.plate_number,
        "occurred_at": local(2026, 6, 1, 8, 30),
        "place": "重庆市渝中区解放碑步行街民族路口",
        "code": "1345",
        "description": "机动车违反禁令标志指示的",
        "fine": Decimal(200),
        "points": 3,
        "kind": ViolationKind.NON_ON_SITE,
        "procedure": Procedure.SIMPLE,
        "state": ViolationState.UNPROCESSED,
        "authority": "重庆市公安局交巡警总队渝中区支队",
    }
    return await Violation.create(**values | fields)


async def make_violations(vehicle: Vehicle, count: int, **fields: Any) -> list[Violation]:
    """``count`` violations one day apart, the first the newest (2026-06-01 08:30)."""
    newest = local(2026, 6, 1, 8, 30)
    return [await make_violation(vehicle, occurred_at=newest - timedelta(days=n), **fields)
            for n in range(count)]
