"""The traffic data platform (公安交管综合平台) behind one interface.

Journeys ask it for vehicles, licences and violations; they never query tables directly,
so a deployment can swap the embedded implementation (our own tables, loaded by
`python -m bot import` or `seed-demo`) for an adapter to the police platform. It takes typed,
already validated values (a PlateType, a plate number and VIN as the chat's fields normalise
them), never raw chat input.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from tortoise.models import Model
from tortoise.timezone import localtime

from bot.fast_reads import fetch_rows, instance, read_in_process, select
from models.enums import PlateType
from models.licence import DriverLicence
from models.vehicle import VIN_LENGTH, VIN_SUFFIX_LENGTH, Vehicle
from models.violation import Violation

M = TypeVar("M", bound=Model)


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
        """The vehicle only if plate and VIN (full or its last 6) all match; the plate number
        and VIN are upper case without spaces (as bot.fields parses them)."""

    async def vehicle_with_first_page(self, plate_type: PlateType, plate_number: str,
                                      vin_suffix: str, size: int) -> tuple[Vehicle, Page] | None:
        """``vehicle`` and, if it matched, the first page of its violations: the query's VIN
        step shows both at once, so an implementation may read them in one go."""
        vehicle = await self.vehicle(plate_type, plate_number, vin_suffix)
        if vehicle is None:
            return None
        return vehicle, await self.vehicle_violations(vehicle, 0, size)

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
    async def plate_violations(self, plate_type: PlateType, plate_number: str, page: int,
                               size: int, *, points_since: datetime | None = None) -> Page:
        """``points_since``: leave out violations with points that occurred before it (the
        12123 profile shows a follower those only from the day the follow started)."""

    async def vehicle_violations(self, vehicle: Vehicle, page: int, size: int, *,
                                 points_since: datetime | None = None) -> Page:
        return await self.plate_violations(vehicle.plate_type, vehicle.plate_number, page, size,
                                           points_since=points_since)

    @abstractmethod
    async def licence_violations(self, licence: DriverLicence, page: int, size: int) -> Page: ...

    @abstractmethod
    async def violation(self, violation_id: int) -> Violation | None: ...

    @abstractmethod
    async def decision(self, decision_number: str) -> Violation | None: ...


class EmbeddedTrafficPlatform(TrafficPlatform):
    """Our own tables, loaded by `python -m bot import` or `seed-demo`.

    The calls of the query journeys' every step (a vehicle, a page of violations) are one
    statement each, written once per SQL dialect: Tortoise's query builder costs several
    times the CPU of the query itself (about 0.5 against 0.15 ms for a page)."""

    async def vehicle(self, plate_type: PlateType, plate_number: str,
                      vin_suffix: str) -> Vehicle | None:
        vin = vin_suffix.upper()
        if len(vin) not in (VIN_SUFFIX_LENGTH, VIN_LENGTH):
            return None
        # The unique (plate type, plate number) index finds the one candidate; the VIN is
        # compared here, so a near miss says nothing about which part was wrong.
        rows = await fetch_rows(Vehicle, _VEHICLE_BY_PLATE, plate_type.value, plate_number)
        if not rows or not rows[0]["vin"].endswith(vin):
            return None
        return instance(Vehicle, rows[0])

    async def vehicle_with_first_page(self, plate_type: PlateType, plate_number: str,
                                      vin_suffix: str, size: int) -> tuple[Vehicle, Page] | None:
        """On a database server one statement, not two in turn: each is a round trip, and
        the VIN step was the slowest of the journey (bench/README.md, sixth round). Its rows
        are the page's, each with the vehicle's columns beside it (one row of NULLs if it has
        none). On the embedded SQLite database the two reads are calls in this process, and
        cheaper than the join (about 250 against 290 µs)."""
        if read_in_process(Vehicle):
            return await super().vehicle_with_first_page(plate_type, plate_number, vin_suffix,
                                                         size)
        vin = vin_suffix.upper()
        if len(vin) not in (VIN_SUFFIX_LENGTH, VIN_LENGTH):
            return None
        plate = (plate_type.value, plate_number)
        rows = await fetch_rows(Vehicle, _VEHICLE_WITH_FIRST_PAGE, *plate, size, 0, *plate)
        if not rows or not rows[0][_VEHICLE_ALIAS + "vin"].endswith(vin):
            return None
        vehicle = instance(Vehicle, {column: rows[0][_VEHICLE_ALIAS + column]
                                     for column in Vehicle._meta.db_fields})
        items = [instance(Violation, row) for row in rows if row["id"] is not None]
        return vehicle, Page(items=items, number=0, total=rows[0]["total"] or 0, size=size)

    async def licence(self, name: str, number: str, file_number: str) -> DriverLicence | None:
        return await DriverLicence.get_or_none(number=number.upper(), holder_name=name,
                                               file_number=file_number)

    async def licence_of(self, id_number: str) -> DriverLicence | None:
        return await DriverLicence.get_or_none(number=id_number.upper())

    async def vehicles_of(self, id_number: str) -> list[Vehicle]:
        return await Vehicle.filter(owner_id_number=id_number.upper()).order_by("id")

    async def plate_violations(self, plate_type: PlateType, plate_number: str, page: int,
                               size: int, *, points_since: datetime | None = None) -> Page:
        plate = (plate_type.value, plate_number)
        if points_since is None:
            return await _page(_VEHICLE_WHERE, plate, page, size)
        # In the stored zone: SQLite compares the datetimes as text (bot/follows.py).
        return await _page(_VEHICLE_POINTS_SINCE_WHERE, (*plate, localtime(points_since)),
                           page, size)

    async def licence_violations(self, licence: DriverLicence, page: int, size: int) -> Page:
        return await _page(_LICENCE_WHERE, (licence.number,), page, size)

    async def violation(self, violation_id: int) -> Violation | None:
        return await Violation.get_or_none(id=violation_id)

    async def decision(self, decision_number: str) -> Violation | None:
        return await Violation.get_or_none(decision_number=decision_number)


# Statements with "{}" where a parameter goes (bot/fast_reads.py); identifiers from the models.
_VEHICLE_BY_PLATE = select(Vehicle) + ' WHERE "plate_type" = {} AND "plate_number" = {}'
# A list is per vehicle or per licence, newest first (the indexes in models/violation.py).
_VEHICLE_WHERE = ' WHERE "plate_type" = {} AND "plate_number" = {}'
_LICENCE_WHERE = ' WHERE "licence_number" = {}'
# Filtered in the statement, so the window count and the pages count only what is shown.
_VEHICLE_POINTS_SINCE_WHERE = _VEHICLE_WHERE + ' AND ("points" = 0 OR "occurred_at" >= {})'
_PAGE = (select(Violation, ', COUNT(*) OVER () AS "total"') + '{where}'
         ' ORDER BY "occurred_at" DESC, "id" DESC LIMIT {{}} OFFSET {{}}')
_COUNT = 'SELECT COUNT(*) AS "total" FROM "violation"{where}'
# The vehicle's columns under another name beside each row of its first page (both tables
# have "id", "plate_type"...). The page is found by the plate, as a further page is.
_VEHICLE_ALIAS = "vehicle."
_VEHICLE_WITH_FIRST_PAGE = (
    "SELECT " + ", ".join(f'v."{column}" AS "{_VEHICLE_ALIAS}{column}"'
                          for column in Vehicle._meta.db_fields)
    + ", p.* FROM \"vehicle\" AS v LEFT JOIN ("
    + _PAGE.format(where=_VEHICLE_WHERE)
    + ') AS p ON TRUE WHERE v."plate_type" = {} AND v."plate_number" = {}'
    ' ORDER BY p."occurred_at" DESC, p."id" DESC')


async def _page(where: str, values: tuple[Any, ...], page: int, size: int) -> Page:
    """Newest first; the id breaks ties so pages never overlap. The rows bring the total along
    (a window count: one query per page, not two); only a page past the end counts apart."""
    page = max(page, 0)
    rows = await fetch_rows(Violation, _PAGE.format(where=where), *values, size, page * size)
    if rows:
        total = rows[0]["total"]
    elif page == 0:
        total = 0
    else:
        total = (await fetch_rows(Violation, _COUNT.format(where=where), *values))[0]["total"]
    return Page(items=[instance(Violation, row) for row in rows], number=page, total=total,
                size=size)
