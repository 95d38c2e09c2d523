"""The embedded traffic platform over real SQLite and PostgreSQL tables."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, date, timedelta

import pytest
from tortoise.models import Model

from bot.db import is_postgres
from bot.integrations.traffic import EmbeddedTrafficPlatform
from models.enums import PlateType
from models.violation import Violation
from tests.support.records import (
    local,
    make_licence,
    make_vehicle,
    make_violation,
    make_violations,
)

pytestmark = pytest.mark.usefixtures("database")
platform = EmbeddedTrafficPlatform()


async def test_vehicle_matches_plate_and_last_six_or_full_vin() -> None:
    car = await make_vehicle(plate_number="渝AD12345", plate_type=PlateType.SMALL_NEW_ENERGY)
    for vin in (car.vin[-6:], car.vin[-6:].lower(), car.vin):
        found = await platform.vehicle(PlateType.SMALL_NEW_ENERGY, "渝AD12345", vin)
        assert found is not None, vin
        assert (found.id, found.plate_type, found.vin, found.owner_kind) == \
            (car.id, car.plate_type, car.vin, car.owner_kind)


@pytest.mark.parametrize("case", ["wrong vin", "short vin", "wrong type", "bad plate"])
async def test_vehicle_near_misses_find_nothing(case: str) -> None:
    car = await make_vehicle()
    plate_type, plate, vin = car.plate_type, car.plate_number, car.vin[-6:]
    if case == "wrong vin":
        vin = "999999" if vin != "999999" else "888888"
    elif case == "short vin":
        vin = car.vin[-5:]  # a suffix, but not the 6 characters drivers prove a vehicle with
    elif case == "wrong type":
        plate_type = PlateType.LARGE
    else:
        plate = "渝I12345"
    assert await platform.vehicle(plate_type, plate, vin) is None


async def test_licence_needs_name_number_and_file_number() -> None:
    licence = await make_licence(holder_name="王小明")
    assert (await platform.licence("王小明", licence.number.lower(), licence.file_number)).id \
        == licence.id
    assert await platform.licence("王小明", licence.number, "500199999999") is None
    assert await platform.licence("王晓明", licence.number, licence.file_number) is None
    assert (await platform.licence_of(licence.number)).id == licence.id


async def test_vehicles_of_an_owner() -> None:
    mine = [await make_vehicle(owner_id_number="50010319900307421X") for _ in range(2)]
    await make_vehicle()
    found = await platform.vehicles_of("50010319900307421x")
    assert [vehicle.id for vehicle in found] == [vehicle.id for vehicle in mine]


async def test_vehicle_violations_newest_first_in_pages() -> None:
    car = await make_vehicle()
    other_type = await make_vehicle(plate_type=PlateType.LARGE, plate_number=car.plate_number)
    await make_violation(other_type)
    created = await make_violations(car, 7)  # newest first
    twin = await make_violation(car, occurred_at=created[0].occurred_at)  # same time: id decides

    first = await platform.vehicle_violations(car, 0, 5)
    assert [v.id for v in first.items] == [twin.id, *(v.id for v in created[:4])]
    assert (first.total, first.has_next, first.has_previous) == (8, True, False)
    shown, stored = first.items[1], created[0]
    assert (shown.occurred_at, shown.fine, shown.state, shown.place) == \
        (stored.occurred_at, stored.fine, stored.state, stored.place)
    last = await platform.vehicle_violations(car, 1, 5)
    assert [v.id for v in last.items] == [v.id for v in created[4:]]
    assert (last.has_next, last.has_previous) == (False, True)


async def test_a_page_past_the_end_is_empty_but_still_counts() -> None:
    car = await make_vehicle()
    await make_violations(car, 3)
    past = await platform.vehicle_violations(car, 1, 5)
    assert (past.items, past.total, past.has_previous) == ([], 3, True)
    nothing = await platform.vehicle_violations(await make_vehicle(), 0, 5)
    assert (nothing.items, nothing.total, nothing.has_next) == ([], 0, False)


async def test_licence_violations_are_those_whose_points_it_took() -> None:
    licence = await make_licence()
    car = await make_vehicle()
    taken = await make_violation(car, licence_number=licence.number,
                                 occurred_at=local(2026, 5, 1))
    newer = await make_violation(await make_vehicle(), licence_number=licence.number,
                                 occurred_at=local(2026, 5, 2))
    await make_violation(car)  # nobody's points yet
    page = await platform.licence_violations(licence, 0, 5)
    assert [v.id for v in page.items] == [newer.id, taken.id]


async def test_violation_and_decision_lookups() -> None:
    violation = await make_violation(await make_vehicle(), decision_number="5001030000000001")
    assert (await platform.violation(violation.id)).id == violation.id
    assert (await platform.decision("5001030000000001")).id == violation.id
    assert await platform.violation(violation.id + 1) is None
    assert await platform.decision("5001030000000002") is None


async def test_page_rows_read_as_tortoise_reads_them() -> None:
    """A page's rows are turned into models without Tortoise's date parser (on SQLite they
    are ISO text): every field, time zones included, equals Tortoise's own read."""
    car = await make_vehicle()
    await make_violation(car, processed_at=local(2026, 6, 2, 10, 15), decision_number="1",
                         decided_on=date(2026, 6, 2))
    await make_violation(car, occurred_at=local(2026, 5, 1))  # decided_on ... paid_at: NULL
    page = await platform.vehicle_violations(car, 0, 10)
    assert len(page.items) == 2
    for item in page.items:
        await _assert_read_as_tortoise_reads(item)


async def _assert_read_as_tortoise_reads(item: Model) -> None:
    """Every field of ``item`` equals Tortoise's own read of its row, types and zones too."""
    expected = await type(item).get(id=item.id)
    meta = type(item)._meta
    # Reverse relations (a vehicle's follows) are queries, not values of the row.
    for name in meta.fields_map.keys() - meta.backward_fk_fields - meta.backward_o2o_fields:
        ours, theirs = getattr(item, name), getattr(expected, name)
        assert (ours, type(ours), getattr(ours, "tzinfo", None)) == \
            (theirs, type(theirs), getattr(theirs, "tzinfo", None)), name


async def test_regression_concurrent_reads_each_get_their_own_rows(
        database_url: str, statements: list[str]) -> None:
    """Reads made together (on PostgreSQL: one statement for all of them) give each caller
    exactly what it would read alone: its vehicle or none, its page in order, its total."""
    cars = [await make_vehicle() for _ in range(4)]
    for car, count in zip(cars, (0, 3, 7, 12), strict=True):
        await make_violations(car, count)
    licence = await make_licence()
    await make_violation(cars[3], licence_number=licence.number)
    expected = [await Violation.filter(plate_type=car.plate_type, plate_number=car.plate_number)
                .order_by("-occurred_at", "-id").values_list("id", flat=True) for car in cars]
    asks = [(car, page) for car in cars for page in (0, 1)]
    statements.clear()
    found = await asyncio.gather(
        *(platform.vehicle(car.plate_type, car.plate_number, car.vin[-6:]) for car in cars),
        platform.vehicle(cars[0].plate_type, cars[0].plate_number, "999999"))
    pages = await asyncio.gather(*(platform.vehicle_violations(car, page, 5)
                                   for car, page in asks),
                                 platform.licence_violations(licence, 0, 5))
    sent = list(statements)
    assert [vehicle and vehicle.id for vehicle in found] == [*(car.id for car in cars), None]
    for vehicle in found[:-1]:
        await _assert_read_as_tortoise_reads(vehicle)
    for (car, number), page in zip(asks, pages[:-1], strict=True):
        ids = expected[cars.index(car)]
        assert ([v.id for v in page.items], page.number, page.total) == \
            (ids[number * 5:number * 5 + 5], number, len(ids)), (car.id, number)
        for item in page.items:
            await _assert_read_as_tortoise_reads(item)
    assert [v.id for v in pages[-1].items] == [ids[0] for ids in expected[3:] if ids][:1]
    if is_postgres(database_url):  # one per statement and loop pass, not one per call:
        # the vehicles, the vehicles' pages, the licence's page, the pages past the end
        assert len(sent) == 4 and all("unnest" in sql for sql in sent[:2]), sent


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """The SQL statements Tortoise sends while the test runs (its db_client debug log)."""
    sent: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.msg == "%s: %s" and isinstance(record.args, tuple):
                sent.append(str(record.args[0]))

    handler, log = Collect(logging.DEBUG), logging.getLogger("tortoise.db_client")
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    yield sent
    log.removeHandler(handler)
    log.setLevel(level)


async def test_a_vehicle_and_a_page_are_one_statement_each(
        statements: list[str]) -> None:
    car = await make_vehicle()
    await make_violations(car, 7)
    statements.clear()
    found = await platform.vehicle(car.plate_type, car.plate_number, car.vin[-6:])
    assert found is not None and len(statements) == 1
    page = await platform.vehicle_violations(found, 1, 5)
    assert len(page.items) == 2 and len(statements) == 2


async def test_a_vehicle_with_its_first_page_reads_as_the_two_reads_do(
        database_url: str, statements: list[str]) -> None:
    """The VIN step's one read gives what ``vehicle`` and page 0 give, for a vehicle with no
    violations, fewer than a page and more; a near miss finds nothing. Made together (on
    PostgreSQL: one batched statement), each caller still gets its own."""
    cars = [await make_vehicle() for _ in range(3)]
    for car, count in zip(cars, (0, 3, 12), strict=True):
        await make_violations(car, count)
    asks = [(car.plate_type, car.plate_number, car.vin[-6:]) for car in cars]
    asks += [(cars[1].plate_type, cars[1].plate_number, "999999"),  # wrong VIN
             (PlateType.LARGE, cars[1].plate_number, cars[1].vin[-6:]),  # wrong type
             (cars[1].plate_type, "渝I12345", cars[1].vin[-6:])]  # no such plate
    statements.clear()
    together = await asyncio.gather(*(platform.vehicle_with_first_page(*ask, 5)
                                      for ask in asks))
    sent = list(statements)
    alone = [await platform.vehicle_with_first_page(*ask, 5) for ask in asks]
    for found in (together, alone):
        assert [item and item[0].id for item in found] == [car.id for car in cars] + [None] * 3
        for car, (vehicle, page) in zip(cars, found, strict=False):
            await _assert_read_as_tortoise_reads(vehicle)
            expected = await platform.vehicle_violations(car, 0, 5)
            assert ([v.id for v in page.items], page.number, page.total, page.size) == \
                ([v.id for v in expected.items], 0, expected.total, 5)
            for item in page.items:
                await _assert_read_as_tortoise_reads(item)
    assert [len(item[1].items) for item in alone[:3]] == [0, 3, 5]
    assert [item[1].total for item in alone[:3]] == [0, 3, 12]
    if is_postgres(database_url):
        assert len(sent) == 1 and "unnest" in sent[0], sent
    else:  # in process: the vehicle, then its page if it matched
        assert len(sent) == len(asks) + 3, sent


async def test_points_since_leaves_out_earlier_point_violations_in_the_query(
        database_url: str, statements: list[str]) -> None:
    """The 12123 profile's follower: violations with points before the follow started are
    not counted or paged; those without points, and those from that moment on, are. The
    moment comes in UTC, as a clock gives it; on SQLite it is compared as stored text."""
    car = await make_vehicle()
    since = local(2026, 5, 20, 9, 0)
    before = await make_violations(car, 12)  # 2026-06-01 back to 2026-05-21, 3 points each
    await make_violation(car, occurred_at=since)  # the very moment: shown
    old_points = [await make_violation(car, occurred_at=since - timedelta(minutes=n))
                  for n in (1, 60 * 24 * 30)]
    old_free = await make_violation(car, occurred_at=local(2026, 1, 2, 8, 0), points=0)
    shown = len(before) + 2
    utc_since = since.astimezone(UTC)

    statements.clear()
    pages = await asyncio.gather(*(platform.vehicle_violations(car, number, 5,
                                                               points_since=utc_since)
                                   for number in range(4)))

    ids = [v.id for page in pages for v in page.items]
    assert [page.total for page in pages] == [shown] * 4
    assert [len(page.items) for page in pages] == [5, 5, 4, 0]
    assert pages[2].has_next is False and ids[-1] == old_free.id
    assert not {v.id for v in old_points} & set(ids) and len(set(ids)) == shown
    everything = await platform.vehicle_violations(car, 0, 50)
    assert everything.total == shown + len(old_points)
    if is_postgres(database_url):  # still one statement for the calls made together
        assert "unnest" in statements[0] and "timestamptz" in statements[0], statements
