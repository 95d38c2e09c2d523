from datetime import date

import pytest

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
    SmsCodeField,
    Vin6Field,
    VinField,
    choice_number,
    id_check_char,
    is_new_energy,
    plate_hint,
    vin_check_digit,
)
from models.enums import PlateType


def reference_vin_check(vin: str) -> str:
    """Independent ISO 3779 check: a letter's value is its index here, modulo 10."""
    table = "0123456789.ABCDEFGH..JKLMN.P.R..STUVWXYZ"
    weights = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
    total = sum(table.index(char) % 10 * weight for char, weight in zip(vin, weights, strict=True))
    return "0123456789X"[total % 11]


def reference_id_check(first17: str) -> str:
    """Independent GB 11643 check, as ISO 7064 MOD 11-2 (weights are 2^k mod 11)."""
    total = sum(int(digit) * pow(2, 17 - i, 11) for i, digit in enumerate(first17))
    return "0123456789X"[(12 - total % 11) % 11]


def make_vin(template: str) -> str:
    """A valid VIN from 17 characters whose 9th is a placeholder."""
    return template[:8] + reference_vin_check(template) + template[9:]


def make_id(first17: str) -> str:
    return first17 + reference_id_check(first17)


def hint_of(field, text: str) -> str:
    with pytest.raises(InvalidInput) as caught:
        field.parse(text)
    return caught.value.hint


def test_invalid_input_is_a_value_error_carrying_its_hint():
    error = InvalidInput("请输入车牌号码")
    assert isinstance(error, ValueError)
    assert error.hint == str(error) == "请输入车牌号码"


def test_every_field_has_a_chinese_label_and_hint():
    fields = [
        PlateTypeField(),
        PlateNumberField(),
        VinField(),
        Vin6Field(),
        IdNumberField(),
        LicenceNumberField(),
        FileNumberField(),
        DecisionNumberField(),
        NameField(),
        PhoneField(),
        SmsCodeField(),
    ]
    for field in fields:
        assert field.label and field.hint.startswith("请输入")


# ---- plate type ----


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("02", PlateType.SMALL),
        ("2", PlateType.SMALL),
        ("０２", PlateType.SMALL),
        (" 小型汽车 ", PlateType.SMALL),
        ("小车", PlateType.SMALL),
        ("小型车", PlateType.SMALL),
        ("01", PlateType.LARGE),
        ("大车", PlateType.LARGE),
        ("摩托车", PlateType.ORDINARY_MOTORCYCLE),
        ("07", PlateType.ORDINARY_MOTORCYCLE),
        ("新能源", PlateType.SMALL_NEW_ENERGY),
        ("小型新能源", PlateType.SMALL_NEW_ENERGY),
        ("52", PlateType.SMALL_NEW_ENERGY),
        ("大型新能源", PlateType.LARGE_NEW_ENERGY),
        ("大型新能源汽车", PlateType.LARGE_NEW_ENERGY),
    ],
)
def test_plate_type_accepts_codes_labels_and_short_names(text, expected):
    assert PlateTypeField().parse(text) is expected


@pytest.mark.parametrize("text", ["", "03", "99", "飞机", "0"])
def test_plate_type_rejects_unknown(text):
    assert "02" in hint_of(PlateTypeField(), text)


# ---- plate number ----


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("渝A12345", "渝A12345"),
        ("渝a12345", "渝A12345"),
        ("渝ａ１２３４５", "渝A12345"),
        ("渝a 123.45", "渝A12345"),
        (" 渝A·12345 ", "渝A12345"),
        ("渝A-1B2C3", "渝A1B2C3"),
        ("京BZZ999", "京BZZ999"),
        ("渝AD12345", "渝AD12345"),  # small new-energy, letter first
        ("渝ak1234 5", "渝AK12345"),
        ("渝AFA1234", "渝AFA1234"),  # small new-energy: second may be a letter
        ("渝A12345D", "渝A12345D"),  # large new-energy, letter last
        ("渝A1234学", "渝A1234学"),  # coach
    ],
)
def test_plate_number_normalises_and_accepts(text, expected):
    assert PlateNumberField().parse(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("A12345", "省份简称"),
        ("", "省份简称"),
        ("重庆A12345", "省份简称"),
        ("台A12345", "省份简称"),
        ("渝AI2345", "I 和 O"),
        ("渝A1234O", "I 和 O"),
        ("渝a1234o", "I 和 O"),
        ("渝A1234", "7位"),
        ("渝A1234567", "7位"),
        ("渝112345", "字母"),
        ("渝A12#45", "字母和数字"),
        ("渝AD1234X", "新能源"),  # small new-energy ends in 4 digits
        ("渝AL12345", "新能源"),  # L is not a new-energy letter
        ("渝A1234LD", "新能源"),
    ],
)
def test_plate_number_rejects_with_specific_hint(text, fragment):
    assert fragment in hint_of(PlateNumberField(), text)


def test_is_new_energy():
    assert is_new_energy("渝AD12345")
    assert is_new_energy("渝A12345D")
    assert not is_new_energy("渝A12345")


# ---- VIN ----

KNOWN_VIN = "1M8GDM9AXKP042788"  # the classic published example, check digit X


def test_vin_check_digit_matches_the_published_example_and_the_reference():
    assert vin_check_digit(KNOWN_VIN) == "X"
    for template in ("LSVAU2180N2183294", "LFV2A21K6A3041234", "WVWZZZ1JZ3W386752"):
        assert vin_check_digit(template) == reference_vin_check(template)


def test_vin_accepts_valid_and_normalises():
    chinese_vin = make_vin("LSVAU2180N2183294")
    assert VinField().parse(KNOWN_VIN) == KNOWN_VIN
    assert VinField().parse(KNOWN_VIN.lower()) == KNOWN_VIN
    assert VinField().parse("1m8 gdm9ax-kp04.2788") == KNOWN_VIN
    assert VinField().parse("１Ｍ８ＧＤＭ９ＡＸＫＰ０４２７８８") == KNOWN_VIN
    assert VinField().parse(chinese_vin) == chinese_vin


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("1M8GDM9AXKP04278", "当前为16位"),
        ("1M8GDM9AXKP0427888", "当前为18位"),
        ("1M8GDM9AXKPO42788", "I、O、Q"),
        ("IM8GDM9AXKP042788", "I、O、Q"),
        ("1M8GDM9AXKQ042788", "I、O、Q"),
        ("1M8GDM9A#KP042788", "字母和数字"),
        ("1M8GDM9A1KP042788", "校验位"),
        ("1M8GDM9AXKP042789", "校验位"),
    ],
)
def test_vin_rejects_with_specific_hint(text, fragment):
    assert fragment in hint_of(VinField(), text)


def test_vin6_accepts_last_six_or_a_full_vin():
    assert Vin6Field().parse("042788") == "042788"
    assert Vin6Field().parse("ａｂ１２３４") == "AB1234"
    assert Vin6Field().parse(KNOWN_VIN) == "042788"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("04278", "5位"), ("0427881", "7位"), ("O42788", "I、O、Q"), ("04278!", "字母和数字")],
)
def test_vin6_rejects(text, fragment):
    assert fragment in hint_of(Vin6Field(), text)


def test_vin6_checks_a_full_vin():
    assert "校验位" in hint_of(Vin6Field(), "1M8GDM9A1KP042788")


# ---- ID numbers ----

KNOWN_ID = "11010519491231002X"  # the published GB 11643 example


def test_id_check_char_matches_the_published_example_and_the_reference():
    assert id_check_char(KNOWN_ID[:17]) == "X"
    for first17 in ("50010319900101123", "51010219851231456", "11010120000229001"):
        assert id_check_char(first17) == reference_id_check(first17)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (KNOWN_ID, KNOWN_ID),
        ("11010519491231002x", KNOWN_ID),
        ("１１０１０５１９４９１２３１００２ｘ", KNOWN_ID),
        ("110105 19491231 002X", KNOWN_ID),
        (make_id("50010320000229123"), make_id("50010320000229123")),  # leap day
    ],
)
def test_id_number_accepts_and_normalises(text, expected):
    assert IdNumberField().parse(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("11010519491231002", "当前为17位"),
        ("11010519491231002XX", "当前为19位"),
        ("1101051949123100X2", "前17位应为数字"),
        ("11010519491231002Y", "前17位应为数字"),
        ("110105194912310021", "校验码"),  # wrong check digit
        (make_id("50010319900230123"), "出生日期"),  # 30 February
        (make_id("50010319010229123"), "出生日期"),  # 1901 was not a leap year
        (make_id("50010318991231123"), "出生日期"),  # before 1900
        (make_id("50010329990101123"), "出生日期"),  # in the future
        (make_id("50010319901301123"), "出生日期"),  # month 13
    ],
)
def test_id_number_rejects_with_specific_hint(text, fragment):
    assert fragment in hint_of(IdNumberField(), text)


def test_id_number_accepts_someone_born_today():
    today = date.today().strftime("%Y%m%d")
    assert IdNumberField().parse(make_id(f"500103{today}123"))


def test_licence_number_is_an_id_number_under_its_own_label():
    field = LicenceNumberField()
    assert field.parse(KNOWN_ID.lower()) == KNOWN_ID
    assert field.label == "驾驶证号"
    assert hint_of(field, "110105194912310021").startswith("驾驶证号")


# ---- digit codes ----


def test_file_number_is_12_digits():
    assert FileNumberField().parse("5001 0012 3456") == "500100123456"
    assert FileNumberField().parse("５００１００１２３４５６") == "500100123456"
    assert "当前为11位" in hint_of(FileNumberField(), "50010012345")
    assert "只能包含数字" in hint_of(FileNumberField(), "50010012345A")


@pytest.mark.parametrize("text", ["500103200000123", "5001032000001234"])
def test_decision_number_is_15_or_16_digits(text):
    assert DecisionNumberField().parse(text) == text


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("50010320000012", "当前为14位"), ("50010320000012345", "当前为17位"), ("", "只能包含数字")],
)
def test_decision_number_rejects(text, fragment):
    assert fragment in hint_of(DecisionNumberField(), text)


def test_sms_code_is_exactly_6_digits():
    assert SmsCodeField().parse(" 123 456 ") == "123456"
    assert SmsCodeField().parse("０１２３４５") == "012345"
    assert "当前为5位" in hint_of(SmsCodeField(), "12345")
    assert "当前为7位" in hint_of(SmsCodeField(), "1234567")
    assert "只能包含数字" in hint_of(SmsCodeField(), "12345a")


# ---- names and phones ----


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("张三", "张三"),
        (" 张 三 ", "张三"),
        ("欧阳娜娜", "欧阳娜娜"),
        ("阿卜杜拉·买买提", "阿卜杜拉·买买提"),
        ("阿卜杜拉.买买提", "阿卜杜拉·买买提"),
        ("阿卜杜拉・买买提", "阿卜杜拉·买买提"),
        ("王䶮", "王䶮"),  # CJK extension A
    ],
)
def test_name_accepts(text, expected):
    assert NameField().parse(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("张", "2至20"),
        ("张" * 21, "2至20"),
        ("Zhang San", "只能包含汉字"),
        ("张3", "只能包含汉字"),
        ("·张三", "只能包含汉字"),
        ("张三·", "只能包含汉字"),
        ("", "只能包含汉字"),
    ],
)
def test_name_rejects(text, fragment):
    assert fragment in hint_of(NameField(), text)


@pytest.mark.parametrize(
    "text",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "8613812345678",
        "008613812345678",
        "１３８１２３４５６７８",
    ],
)
def test_phone_accepts_and_drops_the_country_code(text):
    assert PhoneField().parse(text) == "13812345678"


@pytest.mark.parametrize(
    "text", ["1381234567", "138123456789", "12812345678", "23812345678", "+8712812345678", "abc"]
)
def test_phone_rejects(text):
    assert "11位" in hint_of(PhoneField(), text)


ODD_TEXTS = ["", " ", "①②③④⑤⑥", "²³", "１２３４５６", "١٢٣٤٥٦", "😀" * 6, "\x00" * 6, "\u202e" * 6,
             "渝" * 20, "A" * 200, "-1", "1e5", "NaN", "渝Ａ１２３４５", "ⅫⅫⅫⅫⅫⅫ"]


@pytest.mark.parametrize("field", [
    PlateTypeField(), PlateNumberField(), VinField(), Vin6Field(), IdNumberField(),
    LicenceNumberField(), NameField(), PhoneField(), FileNumberField(), DecisionNumberField(),
    SmsCodeField(),
], ids=lambda field: type(field).__name__)
@pytest.mark.parametrize("text", ODD_TEXTS)
def test_odd_text_is_parsed_or_refused_with_a_hint(field, text):
    """Anything a user can type either parses or raises InvalidInput with a Chinese hint:
    another exception would reach the user as 系统繁忙."""
    try:
        field.parse(text)
    except InvalidInput as refusal:
        assert refusal.hint


@pytest.mark.parametrize(("text", "number"), [
    ("5", 5), ("12", 12), ("５", 5), ("3.", 3), ("2、", 2), (" 7 ", 7),
    ("000005", None), ("05", None), ("0", None), ("123", None), ("①", None), ("二", None),
])
def test_choice_numbers_have_one_or_two_digits_and_no_leading_zero(text, number):
    assert choice_number(text) == number


@pytest.mark.parametrize(("plate_type", "plate", "fits"), [
    (PlateType.SMALL, "渝A12345", True),
    (PlateType.SMALL_NEW_ENERGY, "渝AD12345", True),
    (PlateType.LARGE_NEW_ENERGY, "渝A12345D", True),
    (PlateType.TRAILER, "渝A1234挂", True),
    (PlateType.COACH, "渝A1234学", True),
    (PlateType.SMALL, "渝AD12345", False),
    (PlateType.LARGE_NEW_ENERGY, "渝AD12345", False),
    (PlateType.TRAILER, "渝A12345", False),
    (PlateType.SMALL, "渝A1234学", False),
    (PlateType.SMALL, "川A12345", False),
])
def test_plate_hint_only_when_the_shape_cannot_be_of_the_type(plate_type, plate, fits):
    assert (plate_hint(plate_type, PlateNumberField().parse(plate)) is None) == fits

