"""The eligibility table of online processing (DOMAIN.md "Processing a violation online"):
one row per rule and boundary, through ``bot.rules.eligibility`` alone."""

from dataclasses import replace
from decimal import Decimal

import pytest

from bot.rules import (
    Eligibility,
    LicenceFacts,
    Refusal,
    Relation,
    Verifications,
    ViolationFacts,
    eligibility,
    points_after,
    windows,
)
from models.enums import LicenceClass, LicenceStatus, Procedure, ViolationKind, ViolationState

POINTS = ViolationFacts("1352", ViolationKind.NON_ON_SITE, Procedure.SIMPLE, Decimal(200), 3,
                        ViolationState.UNPROCESSED)
ONE_POINT = replace(POINTS, code="1101", fine_yuan=Decimal(50), points=1)
NO_POINTS = replace(POINTS, code="1039", fine_yuan=Decimal(150), points=0)
C1 = LicenceFacts(LicenceClass.C1, LicenceStatus.NORMAL, 0)
AUTHORITY, PLACE = "重庆市公安局交通巡逻警察总队渝中支队", "重庆市渝中区"
WINDOW = (f"请到违法发生地（{AUTHORITY}）或机动车登记地（{PLACE}）"
          "的公安交管部门窗口处理")
PROCESSOR = Eligibility(None, Verifications.PROCESSOR)
OWNER_FIRST = Eligibility(None, Verifications.OWNER_THEN_PROCESSOR)


def refused(reason: str, where: str = WINDOW) -> Eligibility:
    return Eligibility(Refusal(reason, where))


OWN, FOLLOWED, OTHER = Relation.OWN, Relation.FOLLOWED, Relation.OTHER
STATUS_WORDS = {LicenceStatus.EXPIRED: "超过有效期", LicenceStatus.DETAINED: "扣押",
                LicenceStatus.SUSPENDED: "暂扣", LicenceStatus.REVOKED: "吊销",
                LicenceStatus.OVERDUE_EXAM: "逾期未换证",
                LicenceStatus.OVERDUE_REVIEW: "逾期未审验"}
AB = "A、B类驾驶证不能在线处理记分违法"
TABLE = [
    # relation
    ("own vehicle, points", POINTS, C1, OWN, PROCESSOR),
    ("own vehicle, no points", NO_POINTS, C1, OWN, PROCESSOR),
    ("followed vehicle, no points: processor only", NO_POINTS, C1, FOLLOWED, PROCESSOR),
    ("followed vehicle, points: owner first", POINTS, C1, FOLLOWED, OWNER_FIRST),
    ("another's vehicle, not followed", NO_POINTS, C1, OTHER,
     refused("只能在线处理本人名下或已关注车辆的违法")),
    # fine principal
    ("200 yuan", replace(NO_POINTS, fine_yuan=Decimal("200.00")), C1, OWN, PROCESSOR),
    ("200.01 yuan", replace(NO_POINTS, fine_yuan=Decimal("200.01")), C1, OWN,
     refused("罚款超过200元的违法不能在线处理")),
    # kind and procedure
    ("on-site", replace(NO_POINTS, kind=ViolationKind.ON_SITE), C1, OWN,
     refused("仅非现场违法可以在线处理")),
    ("general kind", replace(NO_POINTS, kind=ViolationKind.GENERAL), C1, OWN,
     refused("仅非现场违法可以在线处理")),
    ("general procedure", replace(NO_POINTS, procedure=Procedure.GENERAL), C1, OWN,
     refused("一般程序违法不能在线处理")),
    # state
    ("processed, unpaid", replace(POINTS, state=ViolationState.PROCESSED_UNPAID), C1, OWN,
     refused("该违法已处理，尚未缴款", "请在“罚款缴纳”中缴纳罚款")),
    ("paid", replace(POINTS, state=ViolationState.PAID), C1, OWN,
     refused("该违法已处理并已缴款", "无需再次处理")),
    ("handled elsewhere", replace(POINTS, state=ViolationState.HANDLED_ELSEWHERE), C1, OWN,
     refused("该违法已在其他渠道处理", "如有疑问请咨询处理地交管部门")),
    # the 12-point boundary (刘洋 holds 11)
    ("8 + 3 = 11 points", POINTS, replace(C1, points=8), OWN, PROCESSOR),
    ("9 + 3 = 12 points", POINTS, replace(C1, points=9), OWN,
     refused("处理后累积记分将达到12分，不能在线处理")),
    ("11 + 1 = 12 points", ONE_POINT, replace(C1, points=11), OWN,
     refused("处理后累积记分将达到12分，不能在线处理")),
    ("10 + 1 = 11 points", ONE_POINT, replace(C1, points=10), FOLLOWED, OWNER_FIRST),
    ("11 points, no points to add", NO_POINTS, replace(C1, points=11), OWN, PROCESSOR),
    ("9 + 3 = 12 points, followed vehicle", POINTS, replace(C1, points=9), FOLLOWED,
     refused("处理后累积记分将达到12分，不能在线处理")),
    # no licence on record
    ("no licence, points", POINTS, None, OWN,
     refused("记分违法需用本人驾驶证处理，未查到您的驾驶证")),
    ("no licence, no points", NO_POINTS, None, FOLLOWED, PROCESSOR),
    # every licence class with points (A/B refused), and without points (all allowed)
    *[(f"class {c.value}, points", POINTS, replace(C1, licence_class=c), OWN,
       refused(AB) if c.value[0] in "AB" else PROCESSOR) for c in LicenceClass],
    *[(f"class {c.value}, no points", NO_POINTS, replace(C1, licence_class=c), OWN, PROCESSOR)
      for c in LicenceClass],
    # every status with points (only normal allowed), and without points (all allowed)
    *[(f"status {s.value}, points", POINTS, replace(C1, status=s), OWN,
       PROCESSOR if s is LicenceStatus.NORMAL
       else refused(f"驾驶证状态为“{STATUS_WORDS[s]}”，不能在线记分")) for s in LicenceStatus],
    *[(f"status {s.value}, no points", NO_POINTS, replace(C1, status=s), FOLLOWED, PROCESSOR)
      for s in LicenceStatus],
]


@pytest.mark.parametrize(("violation", "licence", "relation", "expected"),
                         [row[1:] for row in TABLE], ids=[row[0] for row in TABLE])
def test_eligibility_table(violation, licence, relation, expected):
    assert eligibility(violation, licence, relation, authority=AUTHORITY,
                       registration_place=PLACE) == expected


def test_limits_come_from_config():
    over = replace(NO_POINTS, fine_yuan=Decimal(300))
    assert eligibility(over, C1, OWN, max_fine=Decimal(300)).allowed
    assert eligibility(POINTS, replace(C1, points=9), OWN, point_limit=13).allowed


def test_window_names_what_it_knows():
    assert windows(AUTHORITY, "") == f"请到违法发生地（{AUTHORITY}）的公安交管部门窗口处理"
    assert windows("", "") == "请到违法发生地或机动车登记地的公安交管部门窗口处理"


def test_points_forecast():
    assert points_after(replace(C1, points=6), POINTS) == 9
    assert points_after(None, NO_POINTS) == 0
