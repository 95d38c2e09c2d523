"""The traffic data platform (公安交管综合平台) behind one interface.

Journeys ask it for vehicles, licences and violations; they never query tables directly,
so a deployment can swap the embedded implementation (our own tables, loaded by
`python -m bot import` or `seed-demo`) for an adapter to the police platform.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from tortoise.expressions import RawSQL
from tortoise.queryset import QuerySet

from bot.fields import VIN_LENGTH, InvalidInput, PlateNumberField, Vin6Field
from models.enums import PlateType
from models.licence import DriverLicence
from models.vehicle import Vehicle
from models.violation import Violation


@dataclass(frozen=True)
class Page:
    """One page of a newest-first violation list."""

    items: list[Violation]
    number: int  # 0-based
    total: int
    size: int

    @property
    def has_next(self) -> bool:
        return (self.number + 1) * self.size < self.total

    @property
    def has_previous(self) -> bool:
        return self.number > 0


class TrafficPlatform(ABC):
    @abstractmethod
    async def vehicle(self, plate_type: PlateType, plate_number: str,
                      vin_suffix: str) -> Vehicle | None:
        """The vehicle only if plate and VIN (full or its last 6) all match."""

    @abstractmethod
    async def licence(self, name: str, number: str, file_number: str) -> DriverLicence | None:
        """The licence only if holder name, number and file number all match."""

    @abstractmethod
    async def licence_of(self, id_number: str) -> DriverLicence | None:
        """A registered user's own licence (the licence number is the ID number)."""

    @abstractmethod
    async def vehicles_of(self, id_number: str) -> list[Vehicle]:
        """Vehicles owned by the person with this ID number."""

    @abstractmethod
    async def vehicle_violations(self, vehicle: Vehicle, page: int, size: int) -> Page: ...

    @abstractmethod
    async def licence_violations(self, licence: DriverLicence, page: int, size: int) -> Page: ...

    @abstractmethod
    async def violation(self, violation_id: int) -> Violation | None: ...

    @abstractmethod
    async def decision(self, decision_number: str) -> Violation | None: ...


class EmbeddedTrafficPlatform(TrafficPlatform):
    """Our own tables, loaded by `python -m bot import` or `seed-demo`."""

    async def vehicle(self, plate_type: PlateType, plate_number: str,
                      vin_suffix: str) -> Vehicle | None:
        try:
            plate = PlateNumberField().parse(plate_number)
        except InvalidInput:
            return None
        vin = vin_suffix.strip().upper()
        if len(vin) not in (Vin6Field.length, VIN_LENGTH):
            return None
        # The unique (plate type, plate number) index finds the one candidate; the VIN is
        # compared here, so a near miss says nothing about which part was wrong.
        vehicle = await Vehicle.get_or_none(plate_type=plate_type, plate_number=plate)
        if vehicle is None or not vehicle.vin.endswith(vin):
            return None
        return vehicle

    async def licence(self, name: str, number: str, file_number: str) -> DriverLicence | None:
        return await DriverLicence.get_or_none(number=number.upper(), holder_name=name,
                                               file_number=file_number)

    async def licence_of(self, id_number: str) -> DriverLicence | None:
        return await DriverLicence.get_or_none(number=id_number.upper())

    async def vehicles_of(self, id_number: str) -> list[Vehicle]:
        return await Vehicle.filter(owner_id_number=id_number.upper()).order_by("id")

    async def vehicle_violations(self, vehicle: Vehicle, page: int, size: int) -> Page:
        return await _page(Violation.filter(plate_type=vehicle.plate_type,
                                            plate_number=vehicle.plate_number), page, size)

    async def licence_violations(self, licence: DriverLicence, page: int, size: int) -> Page:
        return await _page(Violation.filter(licence_number=licence.number), page, size)

    async def violation(self, violation_id: int) -> Violation | None:
        return await Violation.get_or_none(id=violation_id)

    async def decision(self, decision_number: str) -> Violation | None:
        return await Violation.get_or_none(decision_number=decision_number)


async def _page(query: QuerySet[Violation], page: int, size: int) -> Page:
    """Newest first; the id breaks ties so pages never overlap. The rows bring the total along
    (a window count: one query per page, not two); only a page past the end counts apart."""
    page = max(page, 0)
    items = await (query.annotate(total=RawSQL("COUNT(*) OVER ()"))
                   .order_by("-occurred_at", "-id").offset(page * size).limit(size))
    total = items[0].total if items else 0 if page == 0 else await query.count()
    return Page(items=items, number=page, total=total, size=size)
