"""Enumerations shared by the models and the pure business rules.

Values are the short codes stored in the database; ``label`` is what drivers read.
"""

from enum import StrEnum


class LabeledEnum(StrEnum):
    """A string enum whose members carry a Chinese label for replies."""

    label: str

    def __new__(cls, value: str, label: str) -> "LabeledEnum":
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


class PlateType(LabeledEnum):
    """号牌种类 as coded by GA 24.7 (the codes drivers see on 12123)."""

    LARGE = "01", "大型汽车"
    SMALL = "02", "小型汽车"
    ORDINARY_MOTORCYCLE = "07", "普通摩托车"
    LIGHT_MOTORCYCLE = "08", "轻便摩托车"
    TRAILER = "15", "挂车"
    COACH = "16", "教练汽车"
    LARGE_NEW_ENERGY = "51", "大型新能源汽车"
    SMALL_NEW_ENERGY = "52", "小型新能源汽车"


class VehicleKind(LabeledEnum):
    SMALL_CAR = "small_car", "小型汽车"
    LARGE_CAR = "large_car", "大型汽车"
    MOTORCYCLE = "motorcycle", "摩托车"
    TRUCK = "truck", "货车"
    TRAILER = "trailer", "挂车"


class OwnerKind(LabeledEnum):
    PERSON = "person", "个人"
    ORGANISATION = "organisation", "单位"


class LicenceClass(LabeledEnum):
    """准驾车型."""

    A1 = "A1", "大型客车"
    A2 = "A2", "重型牵引挂车"
    A3 = "A3", "城市公交车"
    B1 = "B1", "中型客车"
    B2 = "B2", "大型货车"
    C1 = "C1", "小型汽车"
    C2 = "C2", "小型自动挡汽车"
    C3 = "C3", "低速载货汽车"
    C4 = "C4", "三轮汽车"
    C5 = "C5", "残疾人专用小型自动挡载客汽车"
    C6 = "C6", "轻型牵引挂车"
    D = "D", "普通三轮摩托车"
    E = "E", "普通二轮摩托车"
    F = "F", "轻便摩托车"
    M = "M", "轮式自行机械车"
    N = "N", "无轨电车"
    P = "P", "有轨电车"


class LicenceStatus(LabeledEnum):
    NORMAL = "normal", "正常"
    EXPIRED = "expired", "超过有效期"
    DETAINED = "detained", "扣押"
    SUSPENDED = "suspended", "暂扣"
    REVOKED = "revoked", "吊销"
    OVERDUE_EXAM = "overdue_exam", "逾期未换证"
    OVERDUE_REVIEW = "overdue_review", "逾期未审验"


class ViolationKind(LabeledEnum):
    NON_ON_SITE = "non_on_site", "非现场"
    ON_SITE = "on_site", "当场处罚"
    GENERAL = "general", "一般程序"


class Procedure(LabeledEnum):
    SIMPLE = "simple", "简易程序"
    GENERAL = "general", "一般程序"


class ViolationState(LabeledEnum):
    UNPROCESSED = "unprocessed", "未处理"
    PROCESSED_UNPAID = "processed_unpaid", "已处理未缴款"
    PAID = "paid", "已缴款"
    HANDLED_ELSEWHERE = "handled_elsewhere", "已在其他渠道处理"
