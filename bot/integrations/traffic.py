"""The traffic data platform (公安交管综合平台) behind one interface.

Journeys ask it for vehicles, licences and violations; they never query tables directly,
so a deployment can swap the embedded implementation (our own tables, loaded by
`python -m bot import` or `seed-demo`) for an adapter to the police platform.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

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
