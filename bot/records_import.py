"""`python -m bot import FILE...`: load licences, vehicles and violations from CSV or JSON.

Every row is checked with the chat's own field types (bot.fields) and against the records
already stored before anything is written; then all files load in one transaction. One bad
row imports nothing. The formats are documented in docs/import.md.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from bot.db import insert_rows
from bot.fields import (
    DecisionNumberField,
    FileNumberField,
    IdNumberField,
    InvalidInput,
    LicenceNumberField,
    NameField,
    PhoneField,
    PlateNumberField,
    PlateTypeField,
    VinField,
)
from bot.rules import points_class_of
from models.enums import (
    LabeledEnum,
    LicenceClass,
    LicenceStatus,
    OwnerKind,
    Procedure,
    VehicleKind,
    ViolationKind,
    ViolationState,
)
from models.licence import DriverLicence
from models.vehicle import Vehicle
from models.violation import Violation

CHINA = ZoneInfo("Asia/Shanghai")
RECORD = "record"  # the column (or JSON key) naming each row's kind
SUFFIXES = (".csv", ".json", ".jsonl")
QUERY_CHUNK = 500  # keys per "already stored?" query, well below every parameter limit


class ImportRejected(Exception):
    """The files hold bad rows; ``problems`` lists them, one line each, in file order."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problems")
        self.problems = problems


# ---- values ---------------------------------------------------------------------------------

Parse = Callable[[str], Any]


def _text(max_length: int) -> Parse:
    def parse(text: str) -> str:
        if len(text) > max_length:
            raise InvalidInput(f"at most {max_length} characters")
        return text

    return parse


def _choice(enum: type[LabeledEnum]) -> Parse:
    """An enum member by its stored value (any case) or its Chinese label."""
    names = {member.value.upper(): member for member in enum} | {m.label: m for m in enum}

    def parse(text: str) -> LabeledEnum:
        try:
            return names[text.upper()]
        except KeyError:
            raise InvalidInput(f"must be one of {', '.join(enum)}") from None

    return parse


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("must be a date like 2024-05-31") from None


def _datetime(text: str) -> datetime:
    """ISO 8601; without an offset the time is Beijing time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput("must be a time like 2024-05-31 08:30:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA)


def _yuan(text: str) -> Decimal:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidInput("must be an amount in yuan like 200 or 150.50") from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput("must be an amount in yuan like 200 or 150.50")
    return amount


def _points(text: str) -> int:
    if not (text.isascii() and text.isdigit() and int(text) <= 12):
        raise InvalidInput("must be a whole number from 0 to 12")
    return int(text)


def _code(text: str) -> str:
    try:
        points_class_of(text)
    except ValueError:
        raise InvalidInput("违法代码应为4或5位数字，第二位为记分类别（0 1 2 3 6 7）") from None
    return text


# ---- record kinds ---------------------------------------------------------------------------

REQUIRED = object()


@dataclass(frozen=True)
class Column:
    name: str  # the model field, and the CSV column or JSON key
    parse: Parse
    default: Any = REQUIRED  # for an empty or absent value


@dataclass(frozen=True)
class RecordKind:
    name: str
    model: type[Model]
    columns: tuple[Column, ...]
    unique: tuple[tuple[str, ...], ...]  # field groups unique in the table
    check: Callable[[dict[str, Any]], list[tuple[str, str]]]  # rules across columns


def _check_licence(row: dict[str, Any]) -> list[tuple[str, str]]:
    if row["valid_to"] <= row["valid_from"]:
        return [("valid_to", "must be after valid_from")]
    return []


def _check_vehicle(row: dict[str, Any]) -> list[tuple[str, str]]:
    if row["owner_kind"] is OwnerKind.ORGANISATION:
        if row["owner_id_number"]:
            return [("owner_id_number", "must be empty for an organisation")]
        return []
    if not row["owner_id_number"]:
        return [("owner_id_number", "is required for a person")]
    try:
        NameField().parse(row["owner_name"])
    except InvalidInput as exc:
        return [("owner_name", exc.hint)]
    return []


_ADJUDICATED = (ViolationState.PROCESSED_UNPAID, ViolationState.PAID)


def _check_violation(row: dict[str, Any]) -> list[tuple[str, str]]:
    problems = []
    expected = points_class_of(row["code"])
    if row["points"] != expected:
        problems.append(("points", f"code {row['code']} carries {expected} points"))
    needed = []
    if row["state"] in _ADJUDICATED:
        needed += ["decision_number", "decided_on", "processed_at"]
    if row["state"] is ViolationState.PAID:
        needed.append("paid_at")
    problems += [(name, f"is required when state is {row['state']}")
                 for name in needed if row[name] is None]
    return problems


KINDS = {kind.name: kind for kind in (
    RecordKind("licence", DriverLicence, (
        Column("number", LicenceNumberField().parse),
        Column("file_number", FileNumberField().parse),
        Column("holder_name", NameField().parse),
        Column("holder_phone", PhoneField().parse, ""),
        Column("licence_class", _choice(LicenceClass)),
        Column("issuing_authority", _text(64)),
        Column("valid_from", _date),
        Column("valid_to", _date),
        Column("status", _choice(LicenceStatus), LicenceStatus.NORMAL),
        Column("points", _points, 0),
        Column("cycle_start", _date),
    ), unique=(("number",),), check=_check_licence),
    RecordKind("vehicle", Vehicle, (
        Column("plate_type", PlateTypeField().parse),
        Column("plate_number", PlateNumberField().parse),
        Column("vin", VinField().parse),
        Column("kind", _choice(VehicleKind)),
        Column("owner_kind", _choice(OwnerKind), OwnerKind.PERSON),
        Column("owner_name", _text(64)),
        Column("owner_id_number", IdNumberField().parse, ""),
        Column("owner_phone", PhoneField().parse),
        Column("registration_place", _text(64)),
    ), unique=(("plate_type", "plate_number"), ("vin",)), check=_check_vehicle),
    RecordKind("violation", Violation, (
        Column("plate_type", PlateTypeField().parse),
        Column("plate_number", PlateNumberField().parse),
        Column("occurred_at", _datetime),
        Column("place", _text(128)),
        Column("code", _code),
        Column("description", _text(256)),
        Column("fine", _yuan),
        Column("points", _points),
        Column("kind", _choice(ViolationKind)),
        Column("procedure", _choice(Procedure)),
        Column("state", _choice(ViolationState), ViolationState.UNPROCESSED),
        Column("authority", _text(64)),
        Column("licence_number", LicenceNumberField().parse, ""),
        Column("decision_number", DecisionNumberField().parse, None),
        Column("decided_on", _date, None),
        Column("processed_at", _datetime, None),
        Column("paid_at", _datetime, None),
    ), unique=(("decision_number",),), check=_check_violation),
)}


# ---- reading --------------------------------------------------------------------------------


@dataclass
class Row:
    where: str  # "licences.csv line 7", for the operator
    kind: RecordKind
    values: dict[str, Any]


def _read(path: Path) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """(line or item, row) pairs of a CSV or JSON file; row None: not a JSON object."""
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            for row in reader:
                yield f"line {reader.line_num}", row
        return
    text = path.read_text(encoding="utf-8-sig")
    if text.lstrip().startswith("["):
        items = enumerate(json.loads(text), 1)
        yield from ((f"item {n}", item if isinstance(item, dict) else None) for n, item in items)
        return
    for number, line in enumerate(text.splitlines(), 1):  # JSON Lines: an object a line
        if line.strip():
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                item = None
            yield f"line {number}", item if isinstance(item, dict) else None


def _parse(raw: dict[str, Any]) -> tuple[RecordKind | None, dict[str, Any], list[tuple[str, str]]]:
    """The row's kind, its clean values, and (column, message) for whatever is wrong."""
    if None in raw:  # csv.DictReader's key for values beyond the header
        return None, {}, [(RECORD, "the row has more values than the header has columns")]
    texts = {key: "" if value is None else str(value).strip() for key, value in raw.items()}
    kind = KINDS.get(texts.get(RECORD, "").lower())
    if kind is None:
        return None, {}, [(RECORD, f"must be one of {', '.join(KINDS)}")]
    values, problems = {}, []
    known = {column.name for column in kind.columns} | {RECORD}
    problems += [(key, f"not a column of a {kind.name}")
                 for key, text in texts.items() if text and key not in known]
    for column in kind.columns:
        text = texts.get(column.name, "")
        if not text:
            if column.default is REQUIRED:
                problems.append((column.name, "missing"))
            values[column.name] = column.default
            continue
        try:
            values[column.name] = column.parse(text)
        except InvalidInput as exc:
            problems.append((column.name, exc.hint))
    if not problems:
        problems = kind.check(values)
    return kind, values, problems


def read_files(paths: Sequence[Path]) -> tuple[list[Row], list[str]]:
    """Every good row of the files, and a line per problem found (file order)."""
    rows, problems = [], []
    for path in paths:
        if path.suffix.lower() not in SUFFIXES:
            problems.append(f"{path}: the name must end in {', '.join(SUFFIXES)}")
            continue
        try:
            for where, raw in _read(path):
                where = f"{path.name} {where}"
                if raw is None:
                    problems.append(f"{where}: not a JSON object")
                    continue
                kind, values, found = _parse(raw)
                problems += [f"{where}: {column}: {message}" for column, message in found]
                if not found:
                    rows.append(Row(where, kind, values))
        except (OSError, UnicodeDecodeError, csv.Error, json.JSONDecodeError) as exc:
            problems.append(f"{path}: cannot be read ({exc})")
    return rows, problems


# ---- duplicates -----------------------------------------------------------------------------


async def _duplicates(rows: list[Row]) -> list[str]:
    """Rows whose unique keys repeat an earlier row or a stored record."""
    problems = []
    for kind in KINDS.values():
        for fields in kind.unique:
            first: dict[tuple, str] = {}  # each key, and the row that has it first
            for row in (row for row in rows if row.kind is kind):
                key = tuple(row.values[name] for name in fields)
                if None in key:
                    continue
                if key in first:
                    problems.append(f"{row.where}: {fields[-1]}: same as {first[key]}")
                else:
                    first[key] = row.where
            problems += [f"{first[key]}: {fields[-1]}: already stored"
                         for key in await _stored(kind.model, fields, list(first))]
    return problems


async def _stored(model: type[Model], fields: tuple[str, ...],
                  keys: list[tuple]) -> list[tuple]:
    """Those of ``keys`` (value tuples of ``fields``) that the table already holds."""
    found = []
    for start in range(0, len(keys), QUERY_CHUNK):
        chunk = keys[start:start + QUERY_CHUNK]
        # Narrow by the last field (the plate number, the VIN...), then match whole keys.
        candidates = await model.filter(**{f"{fields[-1]}__in": [key[-1] for key in chunk]}
                                        ).values_list(*fields)
        stored = {tuple(candidate) for candidate in candidates}
        found += [key for key in chunk if key in stored]
    return found


# ---- importing ------------------------------------------------------------------------------


async def import_files(paths: Sequence[Path]) -> dict[str, int]:
    """Import all files or nothing; returns the count of each record kind loaded."""
    rows, problems = read_files(paths)
    problems += await _duplicates(rows)
    if problems:
        raise ImportRejected(problems)
    counts = {}
    try:
        async with in_transaction() as connection:
            for kind in KINDS.values():
                counts[kind.name] = await insert_rows(
                    connection, kind.model, (row.values for row in rows if row.kind is kind))
    except IntegrityError:
        raise ImportRejected(["records with the same keys were stored meanwhile"]) from None
    return counts
