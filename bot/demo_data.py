"""`python -m bot seed-demo`: a realistic, deterministic traffic data set for Chongqing.

The same seed on the same day gives the same records. Dates are relative to the day it
runs, so late fees, expired licences and recent decisions show whenever it runs. The set
covers every case the rules of DOMAIN.md distinguish and holds a few fixed identities
(DEMO_PEOPLE, DEMO_VEHICLES, DEMO_VIOLATIONS; docs/demo-data.md) for developers to type in
the chat. `--vehicles/--violations` scale it up for benchmarks.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from bot.db import insert_rows
from bot.fields import id_check_char, vin_check_digit
from bot.rules import points_class_of
from models.enums import (
    LicenceClass,
    LicenceStatus,
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

log = logging.getLogger(__name__)
CHINA = ZoneInfo("Asia/Shanghai")
DEFAULT_SEED = 2024
ISSUING_AUTHORITY = "重庆市公安局交通巡逻警察总队"
Row = dict[str, Any]


@dataclass(frozen=True)
class DemoSize:
    licences: int = 200
    vehicles: int = 300
    violations: int = 2000

    @classmethod
    def scaled(cls, vehicles: int, violations: int) -> DemoSize:
        """Two licences for every three vehicles; never below the default set, whose coverage
        of every case the tests check."""
        if vehicles < cls.vehicles or violations < cls.violations:
            raise ValueError(f"at least {cls.vehicles} vehicles and {cls.violations} violations")
        return cls(max(cls.licences, vehicles * 2 // 3), vehicles, violations)


# ---- places ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    name: str
    authority: str  # where a window handles its violations
    area_code: str  # leads its decision numbers


@dataclass(frozen=True)
class District:
    area_code: str  # also the first 6 digits of ID numbers issued there
    name: str
    plate_letters: str
    roads: tuple[str, ...]

    def places(self) -> list[Place]:
        authority = f"{ISSUING_AUTHORITY}{self.name}支队"
        return [Place(f"重庆市{self.name}{road}", authority, self.area_code)
                for road in self.roads]


DISTRICTS = (
    District("500103", "渝中区", "ABD", ("解放碑民族路", "中山四路", "两路口", "菜园坝长江大桥")),
    District("500105", "江北区", "ABD", ("北滨一路", "观音桥步行街", "红旗河沟立交")),
    District("500106", "沙坪坝区", "ABD", ("三峡广场", "沙坪坝正街", "天星桥")),
    District("500107", "九龙坡区", "ABD", ("杨家坪步行街", "谢家湾正街", "石桥铺")),
    District("500108", "南岸区", "ABD", ("南滨路", "四公里立交", "弹子石")),
    District("500112", "渝北区", "ABD", ("金开大道", "新牌坊立交", "龙头寺")),
    District("500113", "巴南区", "ABD", ("龙洲湾", "鱼洞大道")),
    District("500101", "万州区", "F", ("北滨大道", "万州长江二桥")),
    District("500102", "涪陵区", "G", ("太白大道", "涪陵长江大桥")),
    District("500114", "黔江区", "H", ("城西大道",)),
    District("500118", "永川区", "C", ("人民大道", "兴龙大道")),
)
CHONGQING_PLACES = [place for district in DISTRICTS for place in district.places()]
# Chongqing vehicles and licences collect violations all over the country.
ELSEWHERE = (
    Place("四川省成都市武侯区天府大道北段", "成都市公安局交通管理局", "510100"),
    Place("贵州省贵阳市云岩区中华北路", "贵阳市公安交通管理局", "520100"),
    Place("湖北省武汉市江汉区解放大道", "武汉市公安局交通管理局", "420100"),
)
# Birthplaces of holders who moved to Chongqing (the first 6 digits of their ID numbers).
OTHER_BIRTHPLACES = ("510107", "520102", "420106", "430104")

# ---- violation codes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Code:
    """A violation code; its points follow its second digit (bot.rules.points_class_of)."""

    code: str
    description: str
    fine: int
    weight: int  # how often it occurs
    procedure: Procedure = Procedure.SIMPLE
    on_camera: bool = True  # may be recorded by a camera (非现场)

    @cached_property
    def points(self) -> int:
        return points_class_of(self.code)


CODES = {code.code: code for code in (
    Code("1039", "机动车违反规定停放、临时停车，驾驶人不在现场，妨碍其他车辆、行人通行的",
         150, 30),
    Code("10391", "机动车在人行道上违法停车，驾驶人不在现场的", 100, 8),
    Code("1019", "驾驶机动车违反禁止标线指示的", 100, 6),
    Code("6046", "驾驶机动车违反规定使用专用车道的", 200, 6),
    Code("1101", "驾驶机动车不按规定使用灯光的", 50, 5),
    Code("1240", "驾驶机动车在高速公路上行驶低于规定最低时速的", 200, 3),
    # A simple-procedure fine above 200 yuan, so the online fine limit has something to refuse.
    Code("1230", "驾驶载货汽车载物超过最大允许总质量未达30%的", 300, 2),
    Code("1301", "驾驶机动车逆向行驶的", 200, 4),
    Code("1344", "驾驶机动车违反禁令标志指示的", 100, 8),
    Code("1352", "驾驶机动车超过规定时速未达20%的", 200, 12),
    Code("1357", "驾驶机动车行经人行横道，不按规定减速、停车、避让行人的", 200, 5),
    Code("1625", "驾驶机动车违反道路交通信号灯通行的", 200, 8),
    Code("1636", "驾驶机动车超过规定时速20%以上未达到50%的", 500, 2, Procedure.GENERAL),
    Code("1721", "驾驶机动车超过规定时速50%以上的", 2000, 1, Procedure.GENERAL),
    Code("1711", "饮酒后驾驶机动车的", 1500, 1, Procedure.GENERAL, on_camera=False),
)}

# ---- people and vehicles --------------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵周吴徐孙马胡朱郭何罗高林谭冉向唐邓"
GIVEN_NAMES = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华建国红梅玲波辉鑫宇浩然欣怡涵俊"
PHONE_PREFIXES = ("138", "139", "135", "136", "150", "151", "152", "158", "159", "177",
                  "180", "181", "186", "187", "189", "199")
ORGANISATIONS = ("重庆两江公共交通有限公司", "重庆渝运物流有限公司", "重庆顺畅货运有限公司",
                 "重庆驰骋驾驶培训有限公司", "重庆悠途汽车租赁有限公司", "重庆山城建设工程有限公司",
                 "重庆江城出租汽车有限公司")
_PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ".replace("Q", "")  # no I or O on plates
_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # no I, O or Q in VINs
_MODEL_YEARS = "DEFGHJKLMNPRS"  # 2013..2025


@dataclass(frozen=True)
class VehicleType:
    plate_type: PlateType
    kinds: tuple[VehicleKind, ...]
    weight: int  # share of the random vehicles
    organisation_share: float
    makers: tuple[str, ...]  # VIN world manufacturer identifiers


VEHICLE_TYPES = (
    VehicleType(PlateType.SMALL, (VehicleKind.SMALL_CAR,), 62, 0.06,
                ("LSV", "LFV", "LVS", "LS5", "LGW", "LHG", "LVG")),
    VehicleType(PlateType.SMALL_NEW_ENERGY, (VehicleKind.SMALL_CAR,), 12, 0.05,
                ("LGX", "LRW", "LC0", "LNB")),
    VehicleType(PlateType.LARGE, (VehicleKind.TRUCK, VehicleKind.LARGE_CAR), 7, 0.5,
                ("LZZ", "LGA", "LFW")),
    VehicleType(PlateType.LARGE_NEW_ENERGY, (VehicleKind.LARGE_CAR,), 3, 1.0, ("LZY", "LKL")),
    VehicleType(PlateType.ORDINARY_MOTORCYCLE, (VehicleKind.MOTORCYCLE,), 9, 0.0,
                ("LC6", "LAE", "LBP")),
    VehicleType(PlateType.LIGHT_MOTORCYCLE, (VehicleKind.MOTORCYCLE,), 2, 0.0, ("LC6", "LAE")),
    VehicleType(PlateType.TRAILER, (VehicleKind.TRAILER,), 2, 1.0, ("LA9",)),
    VehicleType(PlateType.COACH, (VehicleKind.SMALL_CAR,), 3, 1.0, ("LSV", "LFV")),
)

# ---- the fixed identities -------------------------------------------------------------------


def with_id_check(first17: str) -> str:
    return first17 + id_check_char(first17)


def with_vin_check(vin: str) -> str:
    """The VIN with its position-9 check digit filled in."""
    return vin[:8] + vin_check_digit(vin) + vin[9:]


@dataclass(frozen=True)
class DemoPerson:
    name: str
    id_number: str  # also the licence number
    file_number: str
    phone: str
    licence_class: LicenceClass
    status: LicenceStatus
    points: int
    note: str


@dataclass(frozen=True)
class DemoVehicle:
    plate_type: PlateType
    plate_number: str
    vin: str
    kind: VehicleKind
    owner: DemoPerson | str  # a person, or an organisation's name
    phone: str
    note: str


@dataclass(frozen=True)
class DemoViolation:
    vehicle: DemoVehicle
    code: str
    kind: ViolationKind
    state: ViolationState
    days_ago: int
    decided_days_ago: int | None = None  # processed records only


ZHANG_WEI = DemoPerson("张伟", with_id_check("50010319900307421"), "500100123456", "13983001234",
                       LicenceClass.C1, LicenceStatus.NORMAL, 3, "own licence and own car")
LI_NA = DemoPerson("李娜", with_id_check("50011219880615322"), "500100234567", "13983002345",
                   LicenceClass.C1, LicenceStatus.NORMAL, 10, "10 points: 3 more are refused")
WANG_QIANG = DemoPerson("王强", with_id_check("50010619750211123"), "500100345678",
                        "13983003456", LicenceClass.A2, LicenceStatus.NORMAL, 6,
                        "A2 licence: no points online")
LIU_YANG = DemoPerson("刘洋", with_id_check("50010819920923451"), "500100456789", "13983004567",
                      LicenceClass.C1, LicenceStatus.NORMAL, 11, "11 points: 1 more reaches 12")
CHEN_JING = DemoPerson("陈静", with_id_check("50010519851130262"), "500100567890",
                       "13983005678", LicenceClass.C1, LicenceStatus.EXPIRED, 0,
                       "expired licence")
ZHAO_MIN = DemoPerson("赵敏", with_id_check("50010719930514282"), "500100678901", "13983006789",
                      LicenceClass.C1, LicenceStatus.SUSPENDED, 12, "suspended licence")
ZHOU_JIE = DemoPerson("周杰", with_id_check("50011319800808131"), "500100789012", "13983007890",
                      LicenceClass.C2, LicenceStatus.REVOKED, 0, "revoked licence")
DEMO_PEOPLE = (ZHANG_WEI, LI_NA, WANG_QIANG, LIU_YANG, CHEN_JING, ZHAO_MIN, ZHOU_JIE)

CAR = DemoVehicle(PlateType.SMALL, "渝A12345", with_vin_check("LSVAU2180N2123456"),
                  VehicleKind.SMALL_CAR, ZHANG_WEI, ZHANG_WEI.phone,
                  "8 violations of every state: two pages")
NEW_ENERGY_CAR = DemoVehicle(PlateType.SMALL_NEW_ENERGY, "渝AD12345",
                             with_vin_check("LGXCE4CB0P0654321"), VehicleKind.SMALL_CAR, LI_NA,
                             LI_NA.phone, "small new-energy plate")
TRUCK = DemoVehicle(PlateType.LARGE, "渝B23456", with_vin_check("LZZ1BLSJ0KA246810"),
                    VehicleKind.TRUCK, WANG_QIANG, WANG_QIANG.phone,
                    "fine above 200 yuan; general procedure decision")
LIU_YANG_CAR = DemoVehicle(PlateType.SMALL, "渝A6M789", with_vin_check("LFV2A21K0L3112233"),
                           VehicleKind.SMALL_CAR, LIU_YANG, LIU_YANG.phone,
                           "1 point would reach 12")
ZHAO_MIN_CAR = DemoVehicle(PlateType.SMALL, "渝A5N246", with_vin_check("LFV3A23K0M3864209"),
                           VehicleKind.SMALL_CAR, ZHAO_MIN, ZHAO_MIN.phone,
                           "drunk driving: 12 points, licence suspended")
MOTORCYCLE = DemoVehicle(PlateType.ORDINARY_MOTORCYCLE, "渝A8E321",
                         with_vin_check("LC6PCJ2X0M0135790"), VehicleKind.MOTORCYCLE, CHEN_JING,
                         CHEN_JING.phone, "motorcycle; owner's licence expired")
BUS = DemoVehicle(PlateType.LARGE_NEW_ENERGY, "渝A02345D", with_vin_check("LZYTBGBW0R1097531"),
                  VehicleKind.LARGE_CAR, "重庆两江公共交通有限公司", "13983009999",
                  "large new-energy plate, owned by a company")
DEMO_VEHICLES = (CAR, NEW_ENERGY_CAR, TRUCK, LIU_YANG_CAR, MOTORCYCLE, BUS, ZHAO_MIN_CAR)
# Every fixed licence's points cycle began this many days ago, so its points are the sum of
# its decisions since then (DEMO_VIOLATIONS; tests/bot/test_demo_data.py checks it).
DEMO_CYCLE_DAYS = 150

_N, _O, _G = ViolationKind.NON_ON_SITE, ViolationKind.ON_SITE, ViolationKind.GENERAL
_U, _P, _D = ViolationState.UNPROCESSED, ViolationState.PROCESSED_UNPAID, ViolationState.PAID
DEMO_VIOLATIONS = (
    DemoViolation(CAR, "1039", _N, _U, 5),
    DemoViolation(CAR, "1352", _N, _U, 12),
    DemoViolation(CAR, "1625", _N, _U, 20),
    DemoViolation(CAR, "1636", _N, _U, 40),  # general procedure, 500 yuan
    DemoViolation(CAR, "1301", _O, _P, 30, 30),  # unpaid 30 days: late fee
    DemoViolation(CAR, "1039", _N, _P, 10, 3),  # unpaid 3 days: no late fee yet
    DemoViolation(CAR, "1344", _O, _D, 200, 200),
    DemoViolation(CAR, "1039", _N, ViolationState.HANDLED_ELSEWHERE, 300),
    DemoViolation(NEW_ENERGY_CAR, "1352", _N, _U, 8),
    DemoViolation(NEW_ENERGY_CAR, "1101", _N, _U, 15),
    DemoViolation(NEW_ENERGY_CAR, "6046", _N, _U, 25),
    DemoViolation(TRUCK, "1352", _N, _U, 6),
    DemoViolation(TRUCK, "1230", _N, _U, 9),
    DemoViolation(TRUCK, "1636", _G, _P, 45, 20),
    DemoViolation(LIU_YANG_CAR, "1101", _N, _U, 4),
    DemoViolation(LIU_YANG_CAR, "1039", _N, _U, 11),
    DemoViolation(MOTORCYCLE, "1344", _N, _U, 7),
    DemoViolation(BUS, "1039", _N, _U, 3),
    DemoViolation(BUS, "1625", _N, _U, 14),
    # Decisions that make up the points of 李娜 (10), 刘洋 (11) and 赵敏 (12); after the
    # documented decision numbers, which therefore stay the same.
    DemoViolation(NEW_ENERGY_CAR, "1101", _N, _D, 40, 35),
    DemoViolation(NEW_ENERGY_CAR, "1344", _N, _D, 60, 55),
    DemoViolation(NEW_ENERGY_CAR, "1625", _N, _D, 100, 95),
    DemoViolation(LIU_YANG_CAR, "1240", _N, _D, 50, 45),
    DemoViolation(LIU_YANG_CAR, "1352", _N, _D, 70, 65),
    DemoViolation(LIU_YANG_CAR, "1625", _N, _D, 120, 110),
    DemoViolation(ZHAO_MIN_CAR, "1711", _G, _D, 90, 85),
)

# ---- generation -----------------------------------------------------------------------------

T = TypeVar("T")


class Weighted(Generic[T]):
    """A weighted choice whose cumulative weights are summed once: benchmarks draw millions."""

    def __init__(self, weights: dict[T, int]) -> None:
        self.items = list(weights)
        self.cumulative = list(itertools.accumulate(weights.values()))

    def draw(self, rng: random.Random) -> T:
        return self.items[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]


_LICENCE_CLASSES = Weighted({
    LicenceClass.C1: 55, LicenceClass.C2: 15, LicenceClass.A1: 3, LicenceClass.A2: 4,
    LicenceClass.A3: 1, LicenceClass.B1: 3, LicenceClass.B2: 6, LicenceClass.C3: 1,
    LicenceClass.D: 2, LicenceClass.E: 8, LicenceClass.F: 2})
_LICENCE_STATUSES = Weighted({
    LicenceStatus.NORMAL: 85, LicenceStatus.EXPIRED: 4, LicenceStatus.SUSPENDED: 3,
    LicenceStatus.REVOKED: 2, LicenceStatus.DETAINED: 2, LicenceStatus.OVERDUE_EXAM: 2,
    LicenceStatus.OVERDUE_REVIEW: 2})
_POINTS = Weighted({0: 50, **dict.fromkeys(range(1, 10), 4), 10: 4, 11: 4, 12: 2})
_VEHICLE_TYPES = Weighted({vehicle_type: vehicle_type.weight for vehicle_type in VEHICLE_TYPES})
_KINDS = Weighted({_N: 72, _O: 18, _G: 10})
_STATES = {
    _N: Weighted({_U: 55, _P: 15, _D: 25, ViolationState.HANDLED_ELSEWHERE: 5}),
    _O: Weighted({_P: 25, _D: 75}),
    _G: Weighted({_U: 30, _P: 20, _D: 50}),
}
# Cameras do not catch drunk drivers; officers on the spot decide only small fines.
_CODES = {
    _N: Weighted({code: code.weight for code in CODES.values() if code.on_camera}),
    _O: Weighted({code: code.weight for code in CODES.values()
                  if code.procedure is Procedure.SIMPLE and code.fine <= 200}),
    _G: Weighted({code: code.weight for code in CODES.values()}),
}


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class DemoData:
    """The rows of the demo set: ``licences`` and ``vehicles`` lists, ``violations()`` lazily.

    One random generator drives everything in a fixed order, so a seed and a day fix the
    result. Violations are generated lazily: a benchmark set has a million of them.
    """

    def __init__(self, seed: int, today: date, size: DemoSize = DemoSize()) -> None:
        self.rng, self.today, self.size = random.Random(seed), today, size
        self.taken: set[Any] = set()  # ID numbers, file numbers, plates and VINs in use
        self.decision_serials = itertools.count(1)
        # The fixed identities come first, so their decision numbers never change.
        self.licences = [self._demo_licence(person) for person in DEMO_PEOPLE]
        self.licences += [self._random_licence()
                          for _ in range(size.licences - len(self.licences))]
        # Random vehicles and violations leave the fixed identities alone, as documented.
        self.random_holders = self.licences[len(DEMO_PEOPLE):]
        self.holder_numbers = {row["number"] for row in self.random_holders}
        self.vehicles = [self._demo_vehicle(vehicle) for vehicle in DEMO_VEHICLES]
        self.vehicles += [self._random_vehicle()
                          for _ in range(size.vehicles - len(self.vehicles))]
        self.random_vehicles = self.vehicles[len(DEMO_VEHICLES):]
        self.demo_violations = [self._demo_violation(index, spec)
                                for index, spec in enumerate(DEMO_VIOLATIONS)]

    def violations(self) -> Iterator[Row]:
        yield from self.demo_violations
        for _ in range(self.size.violations - len(self.demo_violations)):
            yield self._random_violation()

    # -- licences

    def _licence(self, person: DemoPerson, cycle_start: date | None = None) -> Row:
        """A licence row; ``cycle_start``, when given, fixes the current points cycle (the
        validity then follows from it), else validity is drawn and the cycle follows."""
        period = self.rng.choice((6, 10))
        if cycle_start is not None:  # an anniversary of valid_from; an expired one is past
            years = period if person.status is LicenceStatus.EXPIRED else self.rng.randint(
                1, period - 1)
            valid_from = _add_years(cycle_start, -years)
            valid_to = _add_years(valid_from, period)
        elif person.status is LicenceStatus.EXPIRED:
            valid_to = self.today - timedelta(days=self.rng.randint(1, 400))
        else:
            valid_to = self.today + timedelta(days=self.rng.randint(30, period * 365 - 30))
        if cycle_start is None:
            valid_from = _add_years(valid_to, -period)
            # The 12-month points cycle restarts on every anniversary of the licence.
            cycle_start = _add_years(valid_from, self.today.year - valid_from.year)
            if cycle_start > self.today:
                cycle_start = _add_years(cycle_start, -1)
        return {"number": person.id_number, "file_number": person.file_number,
                "holder_name": person.name, "holder_phone": person.phone,
                "licence_class": person.licence_class, "issuing_authority": ISSUING_AUTHORITY,
                "valid_from": valid_from, "valid_to": valid_to, "status": person.status,
                "points": person.points, "cycle_start": cycle_start}

    def _demo_licence(self, person: DemoPerson) -> Row:
        self.taken.update((person.id_number, person.file_number))
        return self._licence(person, self.today - timedelta(days=DEMO_CYCLE_DAYS))

    def _random_licence(self) -> Row:
        rng = self.rng
        person = DemoPerson(self._name(), self._id_number(), self._unique(self._file_number),
                            self._phone(), _LICENCE_CLASSES.draw(rng),
                            _LICENCE_STATUSES.draw(rng), _POINTS.draw(rng), "")
        return self._licence(person)

    def _name(self) -> str:
        given = "".join(self.rng.choices(GIVEN_NAMES, k=self.rng.choice((1, 2, 2))))
        return self.rng.choice(SURNAMES) + given

    def _id_number(self) -> str:
        rng = self.rng
        area = (rng.choice(OTHER_BIRTHPLACES) if rng.random() < 0.1
                else rng.choice(DISTRICTS).area_code)

        def draw() -> str:
            born = date(1960, 1, 1) + timedelta(days=rng.randint(0, 44 * 365))
            return with_id_check(f"{area}{born:%Y%m%d}{rng.randint(1, 999):03d}")

        return self._unique(draw)

    def _file_number(self) -> str:
        return f"5001{self.rng.randint(0, 10**8 - 1):08d}"

    def _phone(self) -> str:
        return self.rng.choice(PHONE_PREFIXES) + f"{self.rng.randint(0, 10**8 - 1):08d}"

    def _unique(self, draw: Callable[[], T]) -> T:
        """Draw until the value is not taken yet, and take it."""
        while (value := draw()) in self.taken:
            pass
        self.taken.add(value)
        return value

    # -- vehicles

    def _demo_vehicle(self, vehicle: DemoVehicle) -> Row:
        self.taken.update(((vehicle.plate_type, vehicle.plate_number), vehicle.vin))
        if isinstance(vehicle.owner, DemoPerson):
            kind, name, id_number = OwnerKind.PERSON, vehicle.owner.name, vehicle.owner.id_number
        else:
            kind, name, id_number = OwnerKind.ORGANISATION, vehicle.owner, ""
        return {"plate_type": vehicle.plate_type, "plate_number": vehicle.plate_number,
                "vin": vehicle.vin, "kind": vehicle.kind, "owner_kind": kind,
                "owner_name": name, "owner_id_number": id_number, "owner_phone": vehicle.phone,
                "registration_place": "重庆市渝中区"}

    def _random_vehicle(self) -> Row:
        rng = self.rng
        vehicle_type = _VEHICLE_TYPES.draw(rng)
        district = rng.choice(DISTRICTS)
        letter = rng.choice(district.plate_letters)
        plate_type = vehicle_type.plate_type
        plate = self._unique(lambda: (plate_type, self._plate(plate_type, letter)))[1]
        vin = self._unique(lambda: self._vin(rng.choice(vehicle_type.makers)))
        if rng.random() < vehicle_type.organisation_share:
            owner_kind, name, id_number = OwnerKind.ORGANISATION, rng.choice(ORGANISATIONS), ""
            phone = self._phone()
        elif rng.random() < 0.85:  # most owners hold a licence of ours
            holder = rng.choice(self.random_holders)
            owner_kind, name, id_number = OwnerKind.PERSON, holder["holder_name"], holder["number"]
            phone = holder["holder_phone"]
        else:
            owner_kind, name, id_number = OwnerKind.PERSON, self._name(), self._id_number()
            phone = self._phone()
        return {"plate_type": plate_type, "plate_number": plate, "vin": vin,
                "kind": rng.choice(vehicle_type.kinds), "owner_kind": owner_kind,
                "owner_name": name, "owner_id_number": id_number, "owner_phone": phone,
                "registration_place": f"重庆市{district.name}"}

    def _plate(self, plate_type: PlateType, letter: str) -> str:
        """A plate of GA 36's shape: digits, often with one letter among them."""
        rng = self.rng
        serial = list(f"{rng.randrange(100000):05d}")
        if rng.random() < 0.6:
            serial[rng.randrange(5)] = rng.choice(_PLATE_CHARS)
        if plate_type is PlateType.SMALL_NEW_ENERGY:  # 渝AD12345: D or F first, digits last
            serial = [rng.choice("DDDFFABC"), serial[0], *f"{rng.randrange(10000):04d}"]
        elif plate_type is PlateType.LARGE_NEW_ENERGY:  # 渝A12345D
            serial = [*f"{rng.randrange(100000):05d}", rng.choice("DF")]
        elif plate_type is PlateType.TRAILER:
            serial[-1] = "挂"
        elif plate_type is PlateType.COACH:
            serial[-1] = "学"
        return f"渝{letter}{''.join(serial)}"

    def _vin(self, maker: str) -> str:
        rng = self.rng
        body = "".join(rng.choices(_VIN_CHARS, k=5))
        serial = f"{rng.randint(0, 999999):06d}"
        return with_vin_check(f"{maker}{body}0{rng.choice(_MODEL_YEARS)}"
                              f"{rng.choice(_VIN_CHARS)}{serial}")

    # -- violations

    def _violation(self, vehicle: Row, code: Code, kind: ViolationKind, state: ViolationState,
                   days_ago: int, decided_days_ago: int | None, driver: str,
                   place: Place) -> Row:
        rng = self.rng
        occurred_at = self._moment(days_ago, 7, 21)
        row = {"plate_type": vehicle["plate_type"], "plate_number": vehicle["plate_number"],
               "occurred_at": occurred_at, "place": place.name, "code": code.code,
               "description": code.description, "fine": Decimal(code.fine),
               "points": code.points, "kind": kind,
               "procedure": Procedure.GENERAL if kind is _G else code.procedure,
               "state": state, "authority": place.authority, "licence_number": "",
               "decision_number": None, "decided_on": None, "processed_at": None,
               "paid_at": None}
        if decided_days_ago is not None:
            processed_at = (occurred_at + timedelta(minutes=rng.randint(5, 40)) if kind is _O
                            else self._moment(decided_days_ago, 8, 18))
            row |= {"licence_number": driver, "processed_at": processed_at,
                    "decided_on": processed_at.date(),
                    "decision_number": f"{place.area_code}{next(self.decision_serials):010d}"}
        if state is _D:  # most pay within the 15 days, and never later than yesterday
            paid_at = row["processed_at"] + timedelta(days=rng.randint(0, 20),
                                                      hours=rng.randint(1, 4))
            row["paid_at"] = min(paid_at, datetime.combine(self.today, time(), tzinfo=CHINA))
        return row

    def _moment(self, days_ago: int, first_hour: int, last_hour: int) -> datetime:
        """A second between ``first_hour`` and the end of ``last_hour``, ``days_ago``."""
        start = datetime.combine(self.today - timedelta(days=days_ago), time(first_hour),
                                 tzinfo=CHINA)
        return start + timedelta(seconds=self.rng.randrange((last_hour - first_hour + 1) * 3600))

    def _demo_violation(self, index: int, spec: DemoViolation) -> Row:
        vehicle = self.vehicles[DEMO_VEHICLES.index(spec.vehicle)]
        district = DISTRICTS[index % len(DISTRICTS)]
        return self._violation(vehicle, CODES[spec.code], spec.kind, spec.state, spec.days_ago,
                               spec.decided_days_ago, vehicle["owner_id_number"],
                               district.places()[0])

    def _random_violation(self) -> Row:
        rng = self.rng
        vehicle = rng.choice(self.random_vehicles)
        kind = _KINDS.draw(rng)
        code = _CODES[kind].draw(rng)
        state = _STATES[kind].draw(rng)
        decided_days_ago = None
        if state is _P:  # some within the 15 days, most past them (late fees)
            decided_days_ago = rng.randint(1, 60)
        elif state is _D:
            decided_days_ago = rng.randint(1, 720)
        if decided_days_ago is None:
            days_ago = rng.randint(1, 365)
        else:
            days_ago = decided_days_ago + (0 if kind is _O else rng.randint(1, 30))
        owner = vehicle["owner_id_number"]  # the usual driver, when they hold a licence
        driver = (owner if owner in self.holder_numbers and rng.random() < 0.7
                  else rng.choice(self.random_holders)["number"])
        place = (rng.choice(ELSEWHERE) if rng.random() < 0.07
                 else rng.choice(CHONGQING_PLACES))
        return self._violation(vehicle, code, kind, state, days_ago, decided_days_ago, driver,
                               place)


# ---- loading --------------------------------------------------------------------------------


async def is_empty() -> bool:
    """No traffic records at all: seeding would not collide with anything."""
    return not any([await DriverLicence.exists(), await Vehicle.exists(),
                    await Violation.exists()])


async def seed_demo(seed: int = DEFAULT_SEED, size: DemoSize = DemoSize(),
                    today: date | None = None) -> DemoData:
    """Load the demo set into an empty database, all or nothing; returns what was loaded."""
    data = DemoData(seed, today or datetime.now(CHINA).date(), size)
    async with in_transaction() as connection:
        await insert_rows(connection, DriverLicence, data.licences)
        await insert_rows(connection, Vehicle, data.vehicles)
        await insert_rows(connection, Violation, data.violations())
    log.info("seeded demo data: %d licences, %d vehicles, %d violations",
             size.licences, size.vehicles, size.violations)
    return data


async def seed_demo_if_empty() -> None:
    """What `serve` does on an empty embedded database: a data set to try the journeys on."""
    if await is_empty():
        await seed_demo()


def identities_text(data: DemoData) -> str:
    """The fixed identities, as `seed-demo` prints them for developers."""
    lines = ["Demo identities (docs/demo-data.md):", "", "Licences (name / licence number / "
             "file number):"]
    lines += [f"  {p.name}  {p.id_number}  {p.file_number}  {p.licence_class} "
              f"{p.status.label} {p.points}分  — {p.note}" for p in DEMO_PEOPLE]
    lines += ["", "Vehicles (plate type / plate / VIN last 6):"]
    for v in DEMO_VEHICLES:
        owner = v.owner.name if isinstance(v.owner, DemoPerson) else v.owner
        lines.append(f"  {v.plate_type.value} {v.plate_type.label}  {v.plate_number}  "
                     f"{v.vin[-6:]}  owner {owner}  — {v.note}")
    lines += ["", "Decisions (unpaid, to pay by number):"]
    lines += [f"  {row['decision_number']}  {row['plate_number']}  {row['code']}  "
              f"{row['fine']}元  decided {row['decided_on']}"
              for row in data.demo_violations if row["state"] is _P]
    return "\n".join(lines)
