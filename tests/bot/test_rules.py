from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.rules import (
    LicenceFacts,
    RecordHolder,
    Refusal,
    Reminder,
    ViolationFacts,
    days_overdue,
    late_fee,
    maintenance_window,
    on_record,
    online_processing_refusal,
    owner_face_required,
    payment_due,
    payments_reopen,
    phone_on_record,
    points_class_of,
    processing_refusal,
    reminders_due,
    reopens_at,
    sms_fallback_allowed,
)
from models.enums import LicenceClass, LicenceStatus, Procedure, ViolationKind, ViolationState

# An unprocessed camera-recorded violation that qualifies for online processing.
ELIGIBLE = ViolationFacts(
    code="1625",
    kind=ViolationKind.NON_ON_SITE,
    procedure=Procedure.SIMPLE,
    fine_yuan=Decimal(200),
    points=6,
    state=ViolationState.UNPROCESSED,
)
NO_POINTS = replace(ELIGIBLE, code="1039", fine_yuan=Decimal(150), points=0)
C1 = LicenceFacts(LicenceClass.C1, LicenceStatus.NORMAL, points=0)


# ---- points class ----


@pytest.mark.parametrize(
    ("code", "points"),
    [("1039", 0), ("1101", 1), ("1208", 2), ("1344", 3), ("1625", 6), ("1711", 12), ("17110", 12)],
)
def test_points_class_is_the_second_digit(code, points):
    assert points_class_of(code) == points


@pytest.mark.parametrize("code", ["1411", "1511", "1811", "123", "123456", "12A4", "１６２５"])
def test_points_class_rejects_unknown_codes(code):
    with pytest.raises(ValueError):
        points_class_of(code)


# ---- the general gate ----


def test_eligible_violation_passes_the_gate():
    assert online_processing_refusal(ELIGIBLE) is None


def test_fine_boundary_is_200_yuan_inclusive():
    assert online_processing_refusal(replace(ELIGIBLE, fine_yuan=Decimal("200.00"))) is None
    refusal = online_processing_refusal(replace(ELIGIBLE, fine_yuan=Decimal("200.01")))
    assert refusal is not None and "200" in refusal.reason and "窗口" in refusal.where


def test_max_fine_comes_from_config():
    violation = replace(ELIGIBLE, fine_yuan=Decimal(300))
    assert online_processing_refusal(violation, max_fine=Decimal(300)) is None
    assert online_processing_refusal(ELIGIBLE, max_fine=Decimal(100)) is not None


@pytest.mark.parametrize(
    "change",
    [
        {"kind": ViolationKind.ON_SITE},
        {"kind": ViolationKind.GENERAL},
        {"procedure": Procedure.GENERAL},
    ],
)
def test_only_non_on_site_simple_procedure_violations_pass(change):
    refusal = online_processing_refusal(replace(ELIGIBLE, **change))
    assert refusal is not None and "窗口" in refusal.where


@pytest.mark.parametrize(
    ("state", "where"),
    [
        (ViolationState.PROCESSED_UNPAID, "缴纳罚款"),
        (ViolationState.PAID, "无需"),
        (ViolationState.HANDLED_ELSEWHERE, "咨询"),
    ],
)
def test_processed_records_point_elsewhere(state, where):
    refusal = online_processing_refusal(replace(ELIGIBLE, state=state))
    assert isinstance(refusal, Refusal) and where in refusal.where


# ---- the full rule ----


def test_processing_applies_the_general_gate_first():
    refusal = processing_refusal(replace(ELIGIBLE, procedure=Procedure.GENERAL), C1)
    assert refusal == online_processing_refusal(replace(ELIGIBLE, procedure=Procedure.GENERAL))


def test_points_after_processing_must_stay_below_12():
    assert processing_refusal(ELIGIBLE, replace(C1, points=5)) is None  # 5 + 6 = 11
    refusal = processing_refusal(ELIGIBLE, replace(C1, points=6))  # 6 + 6 = 12
    assert refusal is not None and "12" in refusal.reason
    assert processing_refusal(replace(ELIGIBLE, points=12), C1) is not None


def test_point_limit_comes_from_config():
    assert processing_refusal(ELIGIBLE, replace(C1, points=6), point_limit=13) is None


@pytest.mark.parametrize("licence_class", ["A1", "A2", "A3", "B1", "B2"])
def test_a_and_b_classes_cannot_take_points_online(licence_class):
    licence = replace(C1, licence_class=LicenceClass(licence_class))
    refusal = processing_refusal(ELIGIBLE, licence)
    assert refusal is not None and "A、B" in refusal.reason
    assert processing_refusal(NO_POINTS, licence) is None


@pytest.mark.parametrize("licence_class", ["C1", "C2", "D", "E"])
def test_other_classes_can_take_points_online(licence_class):
    licence = replace(C1, licence_class=LicenceClass(licence_class))
    assert processing_refusal(ELIGIBLE, licence) is None


@pytest.mark.parametrize("status", [s for s in LicenceStatus if s is not LicenceStatus.NORMAL])
def test_taking_points_needs_a_licence_in_normal_status(status):
    licence = replace(C1, status=status)
    refusal = processing_refusal(ELIGIBLE, licence)
    assert refusal is not None and status.label in refusal.reason
    assert processing_refusal(NO_POINTS, licence) is None


def test_without_a_licence_only_violations_without_points():
    assert processing_refusal(NO_POINTS, None) is None
    assert processing_refusal(ELIGIBLE, None) is not None


def test_violation_without_points_ignores_the_points_already_held():
    assert processing_refusal(NO_POINTS, replace(C1, points=11)) is None


def test_owner_face_only_for_points_on_someone_elses_vehicle():
    assert owner_face_required(ELIGIBLE, own_vehicle=False)
    assert not owner_face_required(ELIGIBLE, own_vehicle=True)
    assert not owner_face_required(NO_POINTS, own_vehicle=False)
    assert not owner_face_required(NO_POINTS, own_vehicle=True)


# ---- late fee ----

DECIDED = date(2024, 3, 1)


@pytest.mark.parametrize(
    ("days_after", "fee"),
    [
        (0, "0.00"),
        (15, "0.00"),  # last day of grace
        (16, "6.00"),  # first late day: 3% of 200
        (17, "12.00"),
        (48, "198.00"),  # 33 days late: 99%
        (49, "200.00"),  # 34 days late: 102%, capped at the fine
        (400, "200.00"),
    ],
)
def test_late_fee_starts_on_day_16_and_is_capped(days_after, fee):
    today = DECIDED + timedelta(days=days_after)
    assert late_fee(Decimal(200), DECIDED, today) == Decimal(fee)


@pytest.mark.parametrize(
    ("days_after", "overdue", "fee"),
    [(15, 0, "0.00"), (16, 1, "1.50"), (48, 33, "49.50"), (100, 85, "50.00")],
)
def test_late_fee_on_the_days_the_payment_issue_lists(days_after, overdue, fee):
    # A 50-yuan fine: 1.50 a day from day 16, capped at the 50 yuan of the fine.
    today = DECIDED + timedelta(days=days_after)
    assert days_overdue(DECIDED, today) == overdue
    assert late_fee(Decimal(50), DECIDED, today) == Decimal(fee)


def test_late_fee_is_rounded_once_on_the_total_not_per_day():
    # 3% of 0.10 is 0.003 a day: 5 days are 0.015 -> 0.02, not 5 x 0.00.
    assert late_fee(Decimal("0.10"), DECIDED, DECIDED + timedelta(days=20)) == Decimal("0.02")


@pytest.mark.parametrize(
    ("days_after", "due"),
    [
        (11, []),
        (12, [Reminder.DUE_SOON]),  # 3 days before the 15th day
        (15, [Reminder.DUE_SOON]),  # caught up until the last day to pay
        (16, [Reminder.LATE_FEES]),  # late fees start
        (22, [Reminder.LATE_FEES]),  # a week of catching up
        (23, []),
    ],
)
def test_payment_reminders_are_due_around_the_last_day(days_after, due):
    assert reminders_due(DECIDED, DECIDED + timedelta(days=days_after)) == due


def test_the_last_day_to_pay_is_the_last_day_without_a_late_fee():
    due = payment_due(DECIDED)
    assert due == DECIDED + timedelta(days=15)
    assert late_fee(Decimal(200), DECIDED, due) == Decimal("0.00")
    assert late_fee(Decimal(200), DECIDED, due + timedelta(days=1)) == Decimal("6.00")


def test_late_fee_before_the_decision_is_zero():
    assert late_fee(Decimal(200), DECIDED, DECIDED - timedelta(days=1)) == Decimal("0.00")


def test_late_fee_rounds_half_up_to_the_fen():
    # 3% of 50.50 = 1.515 yuan per day
    assert late_fee(Decimal("50.50"), DECIDED, DECIDED + timedelta(days=16)) == Decimal("1.52")
    # 3% of 0.50 = 0.015
    assert late_fee(Decimal("0.50"), DECIDED, DECIDED + timedelta(days=16)) == Decimal("0.02")


def test_late_fee_parameters_come_from_config():
    today = DECIDED + timedelta(days=11)
    fee = late_fee(Decimal(100), DECIDED, today, grace_days=10, daily_rate=Decimal("0.05"))
    assert fee == Decimal("5.00")


# ---- maintenance window ----


@pytest.mark.parametrize(
    ("moment", "closed"),
    [
        (time(21, 59, 59), False),
        (time(22, 0), True),
        (time(23, 59, 59), True),
        (time(0, 0), True),
        (time(0, 29, 59), True),
        (time(0, 30), False),
        (time(12, 0), False),
    ],
)
def test_maintenance_window_spans_midnight(moment, closed):
    assert maintenance_window(moment) is closed
    assert maintenance_window(datetime.combine(DECIDED, moment)) is closed


def test_maintenance_window_within_one_day():
    window = {"start": time(2, 0), "end": time(3, 0)}
    assert not maintenance_window(time(1, 59), **window)
    assert maintenance_window(time(2, 0), **window)
    assert not maintenance_window(time(3, 0), **window)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2024, 3, 1, 22, 0), datetime(2024, 3, 2, 0, 30)),
        (datetime(2024, 3, 1, 23, 45), datetime(2024, 3, 2, 0, 30)),
        (datetime(2024, 3, 31, 23, 45), datetime(2024, 4, 1, 0, 30)),
        (datetime(2024, 3, 2, 0, 10), datetime(2024, 3, 2, 0, 30)),
        (datetime(2024, 3, 2, 12, 0), datetime(2024, 3, 2, 12, 0)),  # open now
    ],
)
def test_reopens_at(now, expected):
    assert reopens_at(now) == expected


SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("local", "reopens"),
    [
        (datetime(2024, 3, 1, 21, 59, 59), None),
        (datetime(2024, 3, 1, 22, 0, 0), datetime(2024, 3, 2, 0, 30)),
        (datetime(2024, 3, 2, 0, 29, 59), datetime(2024, 3, 2, 0, 30)),
        (datetime(2024, 3, 2, 0, 30, 0), None),
    ],
)
def test_payments_reopen_at_the_maintenance_edges_in_shanghai_time(local, reopens):
    # Given in UTC, as the server's clock is: the window is Asia/Shanghai's.
    now = local.replace(tzinfo=SHANGHAI).astimezone(ZoneInfo("UTC"))
    expected = None if reopens is None else reopens.replace(tzinfo=SHANGHAI)
    assert payments_reopen(now) == expected


def test_reopens_at_keeps_the_time_zone():
    shanghai = ZoneInfo("Asia/Shanghai")
    now = datetime(2024, 3, 1, 23, 0, tzinfo=shanghai)
    assert reopens_at(now) == datetime(2024, 3, 2, 0, 30, tzinfo=shanghai)


# ---- registration ----

LICENCE = RecordHolder("张三", "13800000001")
CAR = RecordHolder("张三", "13900000002")


def test_on_record_needs_a_record_naming_the_person():
    assert on_record("张三", [CAR])
    assert not on_record("李四", [LICENCE, CAR])
    assert not on_record("张三", [])


def test_phone_on_record_prefers_the_licence_then_vehicles():
    assert phone_on_record("张三", [LICENCE, CAR]) == "13800000001"
    assert phone_on_record("张三", [replace(LICENCE, phone=""), CAR]) == "13900000002"
    assert phone_on_record("张三", [RecordHolder("李四", "13700000003"), CAR]) == "13900000002"
    assert phone_on_record("张三", [replace(LICENCE, phone="")]) is None


@pytest.mark.parametrize(("failures", "phone", "allowed"),
                         [(2, "13800000001", False), (3, "13800000001", True),
                          (4, "13800000001", True), (3, None, False)])
def test_sms_fallback_after_three_face_failures_to_a_phone_on_record(failures, phone, allowed):
    assert sms_fallback_allowed(failures, phone) is allowed
