"""Input field types for chat journeys: each turns what a driver typed into a clean value.

Drivers type on phones, so full-width characters, lower case, spaces and dots are normal,
and so is the letter O typed for the digit 0. Every field normalises first; when the text is
still wrong, ``parse`` raises ``InvalidInput`` whose hint tells the user, in Chinese, what to fix.
The formats are those of the platforms: ID numbers (GB 11643 check digit), VINs (ISO 3779
check digit), plates by plate type, violation codes and decision numbers.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from datetime import date
from typing import Generic, TypeVar

from models.enums import PlateType

T = TypeVar("T")

# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space, mapped onto plain ASCII.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_DOTS = ".。·・•‧"
_SEPARATORS = re.compile(rf"[\s{_DOTS}\-–—]+")


class InvalidInput(ValueError):
    """Raised by Field.parse; ``hint`` is a short Chinese sentence saying what is expected."""

    def __init__(self, hint: str) -> None:
        super().__init__(hint)
        self.hint = hint


class Field(ABC, Generic[T]):
    """One thing a journey asks for: a label and a hint for the prompt, and a parser."""

    label: str
    hint: str

    @abstractmethod
    def parse(self, text: str) -> T:
        """Normalise and validate what the user typed; raise InvalidInput when it is wrong."""


def _half_width(text: str) -> str:
    return text.translate(_HALF_WIDTH)


def _compact(text: str) -> str:
    """Half-width and upper case, without the spaces, dots and hyphens people type inside codes."""
    return _SEPARATORS.sub("", _half_width(text)).upper()


def _wrong_length(field: Field[str], value: str) -> InvalidInput:
    """Repeat the field's hint and say how many characters arrived, the usual slip."""
    return InvalidInput(f"{field.hint}，当前为{len(value)}位")


# ---- plates ---------------------------------------------------------------------------------

_PLATE_TYPE_NAMES: dict[str, PlateType] = {
    name: plate_type
    for plate_type in PlateType
    for name in (plate_type.value, plate_type.value.lstrip("0"), plate_type.label)
} | {
    "小车": PlateType.SMALL,
    "小型车": PlateType.SMALL,
    "小汽车": PlateType.SMALL,
    "大车": PlateType.LARGE,
    "大型车": PlateType.LARGE,
    "摩托": PlateType.ORDINARY_MOTORCYCLE,
    "摩托车": PlateType.ORDINARY_MOTORCYCLE,
    "教练车": PlateType.COACH,
    "新能源": PlateType.SMALL_NEW_ENERGY,
    "新能源车": PlateType.SMALL_NEW_ENERGY,
    "小型新能源": PlateType.SMALL_NEW_ENERGY,
    "大型新能源": PlateType.LARGE_NEW_ENERGY,
}

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# What follows the province: the issuing letter, then the serial (GA 36; I and O never used).
_PLATE_SERIALS = (
    re.compile(r"[A-HJ-NP-Z][A-HJ-NP-Z0-9]{4}[A-HJ-NP-Z0-9挂学]"),  # ordinary, trailer, coach
    re.compile(r"[A-HJ-NP-Z][DABCEFGHJK][A-HJ-NP-Z0-9][0-9]{4}"),  # small new-energy
    re.compile(r"[A-HJ-NP-Z][0-9]{5}[DABCEFGHJK]"),  # large new-energy
)


class PlateTypeField(Field[PlateType]):
    """号牌种类 by code ("02" or "2"), by label ("小型汽车") or by everyday name ("小车")."""

    label = "号牌种类"
    hint = "请输入号牌种类，如 02 或 小型汽车"

    def parse(self, text: str) -> PlateType:
        plate_type = _PLATE_TYPE_NAMES.get(_compact(text))
        if plate_type is None:
            raise InvalidInput(f"没有这种号牌种类。{self.hint}")
        return plate_type


class PlateNumberField(Field[str]):
    """号牌号码 such as 渝A12345, or 渝AD12345 / 渝A12345D for new-energy vehicles."""

    label = "号牌号码"
    hint = "请输入车牌号码，如 渝A12345"

    def parse(self, text: str) -> str:
        value = _compact(text)
        province, serial = value[:1], value[1:]
        if not province or province not in PROVINCES:
            raise InvalidInput("请以省份简称开头，如 渝A12345")
        if "I" in serial or "O" in serial:
            raise InvalidInput("车牌中不使用字母 I 和 O，是否应为数字 1 和 0？")
        if len(serial) not in (6, 7):
            raise InvalidInput("车牌号码应为7位，新能源车牌8位，如 渝A12345、渝AD12345")
        if not "A" <= serial[0] <= "Z":
            raise InvalidInput("省份简称后应为字母，如 渝A12345")
        if not any(pattern.fullmatch(serial) for pattern in _PLATE_SERIALS):
            if len(serial) == 7:
                raise InvalidInput("新能源车牌应如 渝AD12345（小型）或 渝A12345D（大型）")
            raise InvalidInput("车牌号码只能包含字母和数字，如 渝A12345")
        return value


def is_new_energy(plate: str) -> bool:
    """New-energy plates carry 6 characters after the issuing letter, ordinary plates 5."""
    return len(_compact(plate)) == 8


HOME_PROVINCE = "渝"
OUT_OF_SCOPE = ("本服务仅支持查询重庆市登记的机动车（“渝”字号牌）。外省市号牌请通过“交管12123”"
                "或号牌发证地的公安交管部门查询。")
_ORDINARY = (PlateType.LARGE, PlateType.SMALL, PlateType.ORDINARY_MOTORCYCLE,
             PlateType.LIGHT_MOTORCYCLE)


def _plate_types_of(plate: str) -> tuple[PlateType, ...]:
    """The plate types a plate of this shape can have (GA 36)."""
    if is_new_energy(plate):  # 渝A12345D is large, 渝AD12345 small
        return ((PlateType.LARGE_NEW_ENERGY,) if plate[-1].isalpha()
                else (PlateType.SMALL_NEW_ENERGY,))
    return {"挂": (PlateType.TRAILER,), "学": (PlateType.COACH,)}.get(plate[-1], _ORDINARY)


def plate_hint(plate_type: PlateType, plate: str) -> str | None:
    """Why a plate (as PlateNumberField returns it) cannot be of ``plate_type`` in our
    records, or None. Asked before the query runs, so a slip of the plate type or a plate
    from another province is said plainly and never counts as a failed match."""
    if not plate.startswith(HOME_PROVINCE):
        return OUT_OF_SCOPE
    shapes = _plate_types_of(plate)
    if plate_type in shapes:
        return None
    looks = (f"{shapes[0].label}号牌（{shapes[0].value}）" if len(shapes) == 1
             else "7位的普通号牌")
    return (f"{plate}是{looks}，与所选号牌种类“{plate_type.label}”不符。"
            f"请核对号牌号码，或回复“返回”重新选择号牌种类。")


# ---- VINs -----------------------------------------------------------------------------------

VIN_LENGTH = 17
_VIN_VALUES = {digit: int(digit) for digit in "0123456789"} | {
    letter: int(value)
    for letter, value in zip("ABCDEFGHJKLMNPRSTUVWXYZ", "12345678123457923456789", strict=True)
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_check_digit(vin: str) -> str:
    """The ISO 3779 check character of a 17-character upper-case VIN (position 9 is ignored)."""
    total = sum(_VIN_VALUES[char] * weight for char, weight in zip(vin, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


class _VinCharactersField(Field[str]):
    """Characters of a VIN, which never uses I, O or Q so they cannot be read as 1 and 0."""

    length: int

    def parse(self, text: str) -> str:
        value = _compact(text)
        if re.search("[IOQ]", value):
            raise InvalidInput("车架号中不使用字母 I、O、Q，是否应为数字 1 和 0？")
        if not re.fullmatch("[A-Z0-9]*", value):
            raise InvalidInput("车架号只能包含字母和数字")
        if len(value) != self.length:
            raise _wrong_length(self, value)
        return value


class VinField(_VinCharactersField):
    """车辆识别代号 (车架号), checked against its check digit at position 9."""

    label = "车架号"
    hint = "请输入17位车架号（车辆识别代号）"
    length = VIN_LENGTH

    def parse(self, text: str) -> str:
        vin = super().parse(text)
        if vin_check_digit(vin) != vin[8]:
            raise InvalidInput("车架号校验位（第9位）不符，请核对后重新输入")
        return vin


class Vin6Field(_VinCharactersField):
    """The last 6 VIN characters, the usual proof of a vehicle; a full VIN is accepted too."""

    label = "车架号后6位"
    hint = "请输入车架号后6位"
    length = 6

    def parse(self, text: str) -> str:
        if len(_compact(text)) == VIN_LENGTH:
            return VinField().parse(text)[-self.length :]
        return super().parse(text)


# ---- identity -------------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_FORM = re.compile(r"[0-9]{17}[0-9X]")


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of an ID number."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def _is_birth_date(digits: str) -> bool:
    """A real calendar date (YYYYMMDD) from 1900 on and not in the future."""
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return False
    return born.year >= 1900 and born <= date.today()


class IdNumberField(Field[str]):
    """18-character 居民身份证号码 (GB 11643): birth date and check character verified."""

    label = "身份证号码"
    hint = "请输入18位身份证号码"

    def parse(self, text: str) -> str:
        value = _compact(text)
        if len(value) != 18:
            raise _wrong_length(self, value)
        if not _ID_FORM.fullmatch(value):
            raise InvalidInput(f"{self.label}前17位应为数字，最后一位为数字或X")
        if not _is_birth_date(value[6:14]):
            raise InvalidInput(f"{self.label}中的出生日期（第7-14位）不正确，请核对")
        if id_check_char(value[:17]) != value[17]:
            raise InvalidInput(f"{self.label}最后一位校验码不符，请核对后重新输入")
        return value


class LicenceNumberField(IdNumberField):
    """驾驶证号: the holder's ID number, asked for under its own name."""

    label = "驾驶证号"
    hint = "请输入18位驾驶证号（即身份证号码）"


_CJK = r"[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f]"
_NAME = re.compile(rf"{_CJK}+(?:·{_CJK}+)*")


class NameField(Field[str]):
    """A Chinese personal name; minority names join their parts with "·"."""

    label = "姓名"
    hint = "请输入中文姓名，如 张三"

    def parse(self, text: str) -> str:
        name = re.sub(rf"[{_DOTS}]", "·", re.sub(r"\s+", "", _half_width(text)))
        if not _NAME.fullmatch(name):
            raise InvalidInput("姓名只能包含汉字，少数民族姓名用“·”分隔")
        if not 2 <= len(name) <= 20:
            raise InvalidInput("姓名应为2至20个字")
        return name


_MOBILE = re.compile(r"(?:(?:\+|00)?86)?(1[3-9][0-9]{9})")


class PhoneField(Field[str]):
    """A mainland mobile number, returned as 11 digits without the +86 prefix."""

    label = "手机号码"
    hint = "请输入11位手机号码"

    def parse(self, text: str) -> str:
        match = _MOBILE.fullmatch(_compact(text))
        if match is None:
            raise InvalidInput("手机号码应为1开头的11位数字，如 13812345678")
        return match[1]


# ---- choice numbers ---------------------------------------------------------------------------

_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_CHOICE_NUMBER = re.compile(r"[1-9][0-9]?")


def choice_number(text: str) -> int | None:
    """The number of a numbered option: 1 or 2 digits (half- or full-width) without a leading
    zero, an ending "." or "、" allowed. "000005" or "05" is no option: it is a code or a
    slip, and reading it as 5 started journeys nobody asked for."""
    number = text.strip().translate(_FULL_WIDTH_DIGITS).rstrip(".、")
    return int(number) if _CHOICE_NUMBER.fullmatch(number) else None


# ---- plain digit codes ----------------------------------------------------------------------


class _DigitsField(Field[str]):
    """A code made only of digits, whose length must be in ``lengths``."""

    lengths: range

    def parse(self, text: str) -> str:
        value = _compact(text)
        if not re.fullmatch("[0-9]+", value):
            raise InvalidInput(f"{self.label}只能包含数字")
        if len(value) not in self.lengths:
            raise _wrong_length(self, value)
        return value


class FileNumberField(_DigitsField):
    """档案编号 of a driving licence."""

    label = "档案编号"
    hint = "请输入驾驶证上的12位档案编号"
    lengths = range(12, 13)


class DecisionNumberField(_DigitsField):
    """处罚决定书编号, printed on the decision or the processing notice."""

    label = "处罚决定书编号"
    hint = "请输入15或16位处罚决定书编号"
    lengths = range(15, 17)


class SmsCodeField(_DigitsField):
    """One-time code sent by SMS (follow consent, registration)."""

    label = "验证码"
    hint = "请输入短信中的6位验证码"
    lengths = range(6, 7)
