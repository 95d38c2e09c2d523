"""`seed-demo`: the demo set covers every case the rules distinguish, and serve loads it."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from bot.config import Settings, load_settings
from bot.demo_data import (
    CAR,
    DEFAULT_SEED,
    DEMO_PEOPLE,
    DEMO_VEHICLES,
    ZHANG_WEI,
    DemoData,
    DemoSize,
    seed_demo,
)
from bot.integrations.traffic import EmbeddedTrafficPlatform
from bot.records_import import import_files
from bot.rules import points_class_of
from bot.services import running_services
from models.enums import (
    LicenceClass,
    LicenceStatus,
    OwnerKind,
    PlateType,
    Procedure,
    ViolationKind,
    ViolationState,
)
from models.licence import DriverLicence
from models.vehicle import Vehicle
from models.violation import Violation

TODAY = date(2026, 11, 21)
LATE = TODAY - timedelta(days=15)  # decided before this: late fees run
AB = [LicenceClass.A1, LicenceClass.A2, LicenceClass.A3, LicenceClass.B1, LicenceClass.B2]
_ON_LINE = {"kind": ViolationKind.NON_ON_SITE, "procedure": Procedure.SIMPLE,
            "state": ViolationState.UNPROCESSED}

CASES: dict[str, Callable[[], QuerySet]] = {
    "points": lambda: Violation.filter(points__gt=0),
    "no points": lambda: Violation.filter(points=0),
    "12 points": lambda: Violation.filter(points=12),
    "fine above 200": lambda: Violation.filter(fine__gt=200),
    "fine below 200": lambda: Violation.filter(fine__lt=200),
    "fine of 200": lambda: Violation.filter(fine=200),
    "on-site": lambda: Violation.filter(kind=ViolationKind.ON_SITE),
    "non-on-site": lambda: Violation.filter(kind=ViolationKind.NON_ON_SITE),
    "general procedure kind": lambda: Violation.filter(kind=ViolationKind.GENERAL),
    "non-on-site, general procedure": lambda: Violation.filter(
        kind=ViolationKind.NON_ON_SITE, procedure=Procedure.GENERAL),
    "online with points": lambda: Violation.filter(**_ON_LINE, points__gt=0, fine__lte=200),
    "online without points": lambda: Violation.filter(**_ON_LINE, points=0, fine__lte=200),
    "simple procedure above 200": lambda: Violation.filter(**_ON_LINE, fine__gt=200),
    "unpaid past 15 days": lambda: Violation.filter(
        state=ViolationState.PROCESSED_UNPAID, decided_on__lt=LATE),
    "unpaid within 15 days": lambda: Violation.filter(
        state=ViolationState.PROCESSED_UNPAID, decided_on__gte=LATE),
    "paid": lambda: Violation.filter(state=ViolationState.PAID, paid_at__isnull=False),
    "handled elsewhere": lambda: Violation.filter(state=ViolationState.HANDLED_ELSEWHERE),
    "violation outside Chongqing": lambda: Violation.filter(~Q(place__startswith="重庆")),
    "A/B licence": lambda: DriverLicence.filter(licence_class__in=AB),
    "C licence": lambda: DriverLicence.filter(licence_class__in=[LicenceClass.C1,
                                                                  LicenceClass.C2]),
    "10 points": lambda: DriverLicence.filter(points=10, status=LicenceStatus.NORMAL),
    "11 points": lambda: DriverLicence.filter(points=11, status=LicenceStatus.NORMAL),
    "expired": lambda: DriverLicence.filter(status=LicenceStatus.EXPIRED, valid_to__lt=TODAY),
    "suspended": lambda: DriverLicence.filter(status=LicenceStatus.SUSPENDED),
    "revoked": lambda: DriverLicence.filter(status=LicenceStatus.REVOKED),
    "detained": lambda: DriverLicence.filter(status=LicenceStatus.DETAINED),
    "overdue exam": lambda: DriverLicence.filter(status=LicenceStatus.OVERDUE_EXAM),
    "overdue review": lambda: DriverLicence.filter(status=LicenceStatus.OVERDUE_REVIEW),
    "small new-energy": lambda: Vehicle.filter(plate_type=PlateType.SMALL_NEW_ENERGY),
    "large new-energy": lambda: Vehicle.filter(plate_type=PlateType.LARGE_NEW_ENERGY),
    "motorcycle": lambda: Vehicle.filter(plate_type=PlateType.ORDINARY_MOTORCYCLE),
    "trailer": lambda: Vehicle.filter(plate_type=PlateType.TRAILER),
    "coach": lambda: Vehicle.filter(plate_type=PlateType.COACH),
    "organisation-owned": lambda: Vehicle.filter(owner_kind=OwnerKind.ORGANISATION,
                                                 owner_id_number=""),
    "person-owned": lambda: Vehicle.filter(owner_kind=OwnerKind.PERSON,
                                           owner_id_number__not=""),
}


@pytest.mark.usefixtures("database")
async def test_the_demo_set_covers_every_case() -> None:
    await seed_demo(today=TODAY)

    assert (await DriverLicence.all().count(), await Vehicle.all().count(),
            await Violation.all().count()) == (200, 300, 2000)
    missing = [name for name, query in CASES.items() if not await query().exists()]
    assert missing == []
    codes = await Violation.all().distinct().values_list("code", "points")
    assert all(points_class_of(code) == points for code, points in codes)
    # Decisions exactly where a record is adjudicated.
    assert not await Violation.filter(state__in=[ViolationState.PROCESSED_UNPAID,
                                                 ViolationState.PAID],
                                      decision_number__isnull=True).exists()


@pytest.mark.usefixtures("database")
async def test_the_fixed_identities_can_be_typed_in() -> None:
    await seed_demo(today=TODAY)
    platform = EmbeddedTrafficPlatform()
    for vehicle in DEMO_VEHICLES:
        assert await platform.vehicle(vehicle.plate_type, vehicle.plate_number, vehicle.vin[-6:])
    for person in DEMO_PEOPLE:
        licence = await platform.licence(person.name, person.id_number, person.file_number)
        assert (licence.status, licence.points) == (person.status, person.points)
    car = await platform.vehicle(CAR.plate_type, CAR.plate_number, CAR.vin[-6:])
    assert len(await platform.vehicles_of(car.owner_id_number)) == 1
    page = await platform.vehicle_violations(car, 0, 5)
    assert (page.total, page.has_next) == (8, True)
    for number in ["5001080000000001", "5001120000000002", "5001060000000004"]:
        decision = await platform.decision(number)  # documented in docs/demo-data.md
        assert decision.state is ViolationState.PROCESSED_UNPAID


@pytest.mark.usefixtures("database")
async def test_regression_demo_licence_points_agree_with_their_decisions() -> None:
    """张伟's licence showed 3 points while he had two 3-point decisions in the cycle; 李娜
    and 刘洋 had 10 and 11 points without a single decision."""
    await seed_demo(today=TODAY)
    for person in DEMO_PEOPLE:
        licence = await DriverLicence.get(number=person.id_number)
        decided = await Violation.filter(
            licence_number=person.id_number, decided_on__gte=licence.cycle_start,
            state__in=[ViolationState.PROCESSED_UNPAID, ViolationState.PAID],
        ).values_list("points", flat=True)
        assert (person.name, licence.points) == (person.name, sum(decided))
    assert (await DriverLicence.get(number=ZHANG_WEI.id_number)).points == 3


def test_a_seed_and_a_day_fix_the_data() -> None:
    def rows(seed: int) -> list:
        data = DemoData(seed, TODAY)
        return [data.licences, data.vehicles, list(data.violations())]

    assert rows(DEFAULT_SEED) == rows(DEFAULT_SEED)
    assert rows(DEFAULT_SEED) != rows(DEFAULT_SEED + 1)


@pytest.mark.usefixtures("database")
async def test_the_demo_set_passes_the_import_checks(tmp_path: Path) -> None:
    """Every generated value is one the field types accept: written out and imported back."""
    data = DemoData(DEFAULT_SEED, TODAY)
    files = []
    for kind, rows in [("licence", data.licences), ("vehicle", data.vehicles),
                       ("violation", list(data.violations()))]:
        path = tmp_path / f"{kind}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, ["record", *rows[0]])
            writer.writeheader()
            writer.writerows({"record": kind} | row for row in rows)
        files.append(path)
    assert await import_files(files) == {"licence": 200, "vehicle": 300, "violation": 2000}


@pytest.mark.usefixtures("database")
async def test_a_scaled_set_grows_licences_with_vehicles() -> None:
    size = DemoSize.scaled(vehicles=600, violations=3000)
    await seed_demo(size=size, today=TODAY)
    assert (await DriverLicence.all().count(), await Vehicle.all().count(),
            await Violation.all().count()) == (400, 600, 3000)
    with pytest.raises(ValueError):
        DemoSize.scaled(vehicles=100, violations=3000)


@pytest.fixture
def embedded(tmp_path: Path, redis_url: str) -> Settings:
    """Settings of a fresh machine: the embedded SQLite database, demo seeding on."""
    return load_settings({}).with_overrides(
        server={"data_dir": str(tmp_path)}, redis={"url": redis_url},
        database={"url": "", "seed_demo_when_empty": True})


async def test_serve_seeds_an_empty_embedded_database_once(embedded: Settings) -> None:
    for _ in range(2):
        async with running_services(embedded):
            assert await Vehicle.all().count() == 300


async def test_serve_leaves_a_configured_database_alone(embedded: Settings,
                                                       tmp_path: Path) -> None:
    configured = f"sqlite://{tmp_path / 'configured.sqlite3'}"
    async with running_services(embedded.with_overrides(database={"url": configured})) as services:
        assert isinstance(services.traffic, EmbeddedTrafficPlatform)
        assert await Vehicle.all().count() == 0


def test_the_command_prints_the_identities_and_refuses_a_second_load(tmp_path: Path) -> None:
    env = os.environ | {"BOT__SERVER__DATA_DIR": str(tmp_path), "BOT__DATABASE__URL": ""}

    def seed(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", "seed-demo", *args], env=env,
                              capture_output=True, text=True, timeout=60,
                              cwd=Path(__file__).parents[2])

    first = seed()
    assert first.returncode == 0, first.stderr
    assert "渝A12345" in first.stdout and ZHANG_WEI.id_number in first.stdout
    assert seed().returncode == 1
    assert seed("--vehicles", "10").returncode == 2
