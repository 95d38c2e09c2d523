"""`python -m bot import`: good files load, a file with any bad row loads nothing."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.records_import import ImportRejected, import_files
from models.enums import LicenceStatus, PlateType, ViolationState
from models.licence import DriverLicence
from models.vehicle import Vehicle
from models.violation import Violation
from tests.support.records import id_number, make_vehicle, vin

Row = dict[str, str]
OWNER = id_number(901)


def good_rows() -> list[Row]:
    """A licence, its holder's car and a violation: lines 2, 3 and 4 of a CSV file."""
    return [
        {"record": "licence", "number": OWNER, "file_number": "500100123456",
         "holder_name": "王小明", "holder_phone": "13800138000", "licence_class": "c1",
         "issuing_authority": "重庆市公安局交通巡逻警察总队", "valid_from": "2020-05-01",
         "valid_to": "2030-05-01", "status": "暂扣", "points": "3", "cycle_start": "2026-05-01"},
        {"record": "vehicle", "plate_type": "小型汽车", "plate_number": "渝a 12345",
         "vin": vin(901), "kind": "small_car", "owner_name": "王小明",
         "owner_id_number": OWNER, "owner_phone": "13800138000",
         "registration_place": "重庆市渝中区"},
        {"record": "violation", "plate_type": "02", "plate_number": "渝A12345",
         "occurred_at": "2026-06-01 08:30", "place": "重庆市渝中区解放碑民族路",
         "code": "1625", "description": "驾驶机动车违反道路交通信号灯通行的", "fine": "200",
         "points": "6", "kind": "non_on_site", "procedure": "simple",
         "state": "processed_unpaid", "authority": "重庆市公安局交通巡逻警察总队渝中区支队",
         "licence_number": OWNER, "decision_number": "5001030000000001",
         "decided_on": "2026-06-03", "processed_at": "2026-06-03T10:00:00+08:00"},
    ]


def write_csv(path: Path, rows: list[Row], *, drop: str = "") -> Path:
    header = [key for key in dict.fromkeys(k for row in rows for k in row) if key != drop]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


async def stored_counts() -> tuple[int, int, int]:
    return (await DriverLicence.all().count(), await Vehicle.all().count(),
            await Violation.all().count())


@pytest.mark.usefixtures("database")
async def test_a_good_csv_file_loads_every_kind(tmp_path: Path) -> None:
    counts = await import_files([write_csv(tmp_path / "rows.csv", good_rows())])

    assert counts == {"licence": 1, "vehicle": 1, "violation": 1}
    licence = await DriverLicence.get(number=OWNER)
    assert (licence.status, licence.points) == (LicenceStatus.SUSPENDED, 3)
    car = await Vehicle.get(plate_number="渝A12345")
    assert car.plate_type is PlateType.SMALL and car.owner_kind == "person"
    violation = await Violation.get(decision_number="5001030000000001")
    assert violation.state is ViolationState.PROCESSED_UNPAID
    assert violation.fine == Decimal(200)
    beijing = violation.occurred_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert (beijing.hour, beijing.minute) == (8, 30)  # a time without offset is Beijing time


@pytest.mark.usefixtures("database")
@pytest.mark.parametrize("layout", ["array", "lines"])
async def test_good_json_files_load(tmp_path: Path, layout: str) -> None:
    path = tmp_path / "rows.json"
    rows: list[dict[str, Any]] = good_rows()
    rows[0]["points"] = 3  # JSON numbers are welcome
    if layout == "array":
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    else:
        path.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in rows),
                        encoding="utf-8")
    assert await import_files([path]) == {"licence": 1, "vehicle": 1, "violation": 1}


@pytest.mark.usefixtures("database")
async def test_the_documented_example_imports(tmp_path: Path) -> None:
    docs = (Path(__file__).parents[2] / "docs" / "import.md").read_text(encoding="utf-8")
    example = tmp_path / "example.csv"
    example.write_text(docs.split("```csv\n")[1].split("```")[0], encoding="utf-8")
    assert await import_files([example]) == {"licence": 1, "vehicle": 1, "violation": 1}


def _miswrite(value: str, position: int) -> str:
    """``value`` with another digit at ``position``: a check character gone wrong."""
    return value[:position] + ("1" if value[position] != "1" else "2") + value[position + 1:]


def _bad_vin(rows: list[Row]) -> None:
    rows[1]["vin"] = _miswrite(rows[1]["vin"], 8)


def _second_car_same_plate(rows: list[Row]) -> None:
    rows.insert(2, rows[1] | {"vin": vin(902)})


BROKEN: dict[str, tuple[Callable[[list[Row]], None], str]] = {
    "vin check digit": (_bad_vin, "rows.csv line 3: vin: 车架号校验位（第9位）不符"),
    "unknown plate type": (lambda rows: rows[1].update(plate_type="99"),
                           "rows.csv line 3: plate_type: 没有这种号牌种类"),
    "id check character": (lambda rows: rows[0].update(number=_miswrite(OWNER, 17)),
                           "rows.csv line 2: number: 驾驶证号最后一位校验码不符"),
    "duplicate plate": (_second_car_same_plate,
                        "rows.csv line 4: plate_number: same as rows.csv line 3"),
    "unknown kind": (lambda rows: rows[2].update(record="ticket"),
                     "rows.csv line 4: record: must be one of licence, vehicle, violation"),
    "points of the code": (lambda rows: rows[2].update(points="3"),
                           "rows.csv line 4: points: code 1625 carries 6 points"),
    "paid without a time": (lambda rows: rows[2].update(state="paid"),
                            "rows.csv line 4: paid_at: is required when state is paid"),
    "bad date": (lambda rows: rows[0].update(valid_to="2030-02-30"),
                 "rows.csv line 2: valid_to: must be a date"),
    "organisation with an ID": (lambda rows: rows[1].update(owner_kind="单位"),
                                "rows.csv line 3: owner_id_number: must be empty"),
}


@pytest.mark.usefixtures("database")
@pytest.mark.parametrize("case", list(BROKEN))
async def test_a_bad_row_imports_nothing(tmp_path: Path, case: str) -> None:
    rows = good_rows()
    break_rows, expected = BROKEN[case]
    break_rows(rows)

    with pytest.raises(ImportRejected) as rejected:
        await import_files([write_csv(tmp_path / "rows.csv", rows)])

    assert any(problem.startswith(expected) for problem in rejected.value.problems), \
        rejected.value.problems
    assert await stored_counts() == (0, 0, 0)


@pytest.mark.usefixtures("database")
async def test_a_missing_column_is_named_on_every_row(tmp_path: Path) -> None:
    with pytest.raises(ImportRejected) as rejected:
        await import_files([write_csv(tmp_path / "rows.csv", good_rows(), drop="vin")])
    assert rejected.value.problems == ["rows.csv line 3: vin: missing"]


@pytest.mark.usefixtures("database")
async def test_records_already_stored_are_refused(tmp_path: Path) -> None:
    await make_vehicle(plate_number="渝A12345", vin=vin(901))
    with pytest.raises(ImportRejected) as rejected:
        await import_files([write_csv(tmp_path / "rows.csv", good_rows())])
    assert rejected.value.problems == ["rows.csv line 3: plate_number: already stored",
                                       "rows.csv line 3: vin: already stored"]
    assert await stored_counts() == (0, 1, 0)


@pytest.mark.usefixtures("database")
async def test_problems_across_files_and_json_lines(tmp_path: Path) -> None:
    licences = write_csv(tmp_path / "licences.csv", good_rows()[:1])
    lines = tmp_path / "cars.jsonl"
    lines.write_text("\n".join([json.dumps(good_rows()[1], ensure_ascii=False), "",
                                '["not", "an", "object"]']), encoding="utf-8")
    with pytest.raises(ImportRejected) as rejected:
        await import_files([licences, lines, tmp_path / "notes.txt"])
    assert rejected.value.problems == [
        "cars.jsonl line 3: not a JSON object",
        f"{tmp_path / 'notes.txt'}: the name must end in .csv, .json, .jsonl"]


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot` in its own process, on a SQLite file in ``tmp_path``."""
    env = os.environ | {"BOT__SERVER__DATA_DIR": str(tmp_path), "BOT__DATABASE__URL": ""}
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env, capture_output=True,
                          text=True, timeout=60, cwd=Path(__file__).parents[2])


def test_the_command_reports_by_line_and_exits_non_zero(tmp_path: Path) -> None:
    rows = good_rows()
    _bad_vin(rows)
    bad = run_cli(tmp_path, "import", str(write_csv(tmp_path / "bad.csv", rows)))
    assert bad.returncode == 1
    assert bad.stderr.splitlines() == [
        "bad.csv line 3: vin: 车架号校验位（第9位）不符，请核对后重新输入", "nothing imported"]

    good = run_cli(tmp_path, "import", str(write_csv(tmp_path / "good.csv", good_rows())))
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip() == "imported records: licence 1, vehicle 1, violation 1"
