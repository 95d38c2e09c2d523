import io
import logging

import pytest

from bot.masking import PersonalDataFilter, mask_id_number, mask_name, mask_phone, mask_vin, scrub

ID = "11010519491231002X"
VIN = "1M8GDM9AXKP042788"


def test_id_and_licence_numbers_keep_first_and_last_four():
    assert mask_id_number(ID) == "1101**********002X"
    assert len(mask_id_number(ID)) == 18


def test_phone_keeps_three_and_four():
    assert mask_phone("13812345678") == "138****5678"


def test_vin_keeps_only_the_last_six():
    assert mask_vin(VIN) == "***********042788"


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三", "张*"), ("欧阳娜娜", "欧***"), ("阿卜杜拉·买买提", "阿*******")],
)
def test_name_keeps_the_first_character(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("function", "value"),
    [
        (mask_id_number, "12345678"),
        (mask_phone, "1234567"),
        (mask_vin, "042788"),
        (mask_name, "张"),
    ],
)
def test_values_too_short_to_mask_are_hidden_entirely(function, value):
    assert function(value) == "*" * len(value)


def test_scrub_masks_every_kind_inside_chinese_text():
    text = f"用户张三（身份证{ID}，手机13812345678）关注了车架号{VIN}的车辆"
    assert scrub(text) == (
        "用户张三（身份证1101**********002X，手机138****5678）关注了车架号***********042788的车辆"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id=11010519491231002x", "id=1101**********002x"),
        ("vin=1m8gdm9axkp042788;", "vin=***********042788;"),
        ("tel +8613812345678", "tel +86138****5678"),
        ("tel 8613812345678", "tel 86138****5678"),
        ("13812345678,13987654321", "138****5678,139****4321"),
    ],
)
def test_scrub_finds_variants(text, expected):
    assert scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "decision 5001032000001234",  # 16-digit decision number
        "msg 23567891234567890",  # 17 digits, no letter: not a VIN
        "trade 2024010122001412345678901234",  # long numbers are not phones
        "order A1M8GDM9AXKP042788",  # 18 characters: not a VIN
        "plate 渝A12345 code 1625",
        "12812345678",  # not a mobile prefix
    ],
)
def test_scrub_leaves_other_numbers_alone(text):
    assert scrub(text) == text


def test_scrub_is_idempotent():
    once = scrub(f"{ID} {VIN} 13812345678")
    assert scrub(once) == once


def make_record(msg: object, args: tuple | None) -> logging.LogRecord:
    return logging.LogRecord("bot", logging.INFO, __file__, 1, msg, args, None)


def test_filter_scrubs_formatted_messages_and_keeps_the_record():
    record = make_record("follow request from %s to %s", ("13812345678", VIN))
    assert PersonalDataFilter().filter(record) is True
    assert record.getMessage() == "follow request from 138****5678 to ***********042788"


def test_filter_leaves_clean_records_untouched():
    args = ("渝A12345",)
    record = make_record("plate %s", args)
    PersonalDataFilter().filter(record)
    assert record.msg == "plate %s" and record.args == args


def test_filter_on_a_handler_masks_what_is_written():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PersonalDataFilter())
    logger = logging.getLogger("tests.bot.masking")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("registered %s phone %s", ID, "13812345678")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == "registered 1101**********002X phone 138****5678\n"
