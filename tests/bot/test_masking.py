import io
import json
import logging
import sys
import traceback
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import pytest

from bot.masking import PersonalDataFilter, mask_id_number, mask_name, mask_phone, mask_vin, scrub

ID = "11010519491231002X"
VIN = "1M8GDM9AXKP042788"


@pytest.fixture
def masked_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose handler writes through the filter into a string."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PersonalDataFilter())
    logger = logging.getLogger("tests.bot.masking")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield logger, stream
    logger.removeHandler(handler)


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
        "用***（身**1101**********002X，手*138****5678）关****************042788的**"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id=11010519491231002x", "id=1101**********002x"),
        ("vin=1m8gdm9axkp042788;", "vin=***********042788;"),
        ("tel +8613812345678", "tel +86138****5678"),
        ("tel 8613812345678", "tel 86138****5678"),
        ("13812345678,13987654321", "138****5678,139****4321"),
        ("tel=%2B8613812345678", "tel=%2B86138****5678"),
        # after an escaped line break, as in a JSON string or a bytes repr
        ("b'\\r\\n11010519491231002X'", "b'\\r\\n1101**********002X'"),
        ('"\\u53f713812345678"', '"\\u53f7138****5678"'),
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
    once = scrub(f"{ID} {VIN} 13812345678 张三 %E5%BC%A0%E4%B8%89 <Content>hi</Content>")
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


def test_filter_on_a_handler_masks_what_is_written(masked_log):
    logger, stream = masked_log
    logger.info("registered %s phone %s", ID, "13812345678")
    assert stream.getvalue() == "registered 1101**********002X phone 138****5678\n"


NAME = "欧阳娜娜"
PHONE = "13812345678"
# How software writes a value into a log line.
FORMS = {
    "plain": lambda text: text,
    "quote": lambda text: quote(text, safe=""),
    "quote_plus": quote_plus,
    "json": lambda text: json.dumps(text),  # ensure_ascii: \uXXXX
    "bytes repr": lambda text: repr(text.encode()),  # aiohttp's parser errors
}


def encoded(form: str, text: str) -> str:
    return FORMS[form](text)


@pytest.mark.parametrize("form", FORMS)
def test_scrub_masks_every_kind_in_every_form(form):
    payload = json.dumps({"cert_name": NAME, "cert_no": ID, "phone": PHONE, "vin": VIN,
                          "memo": f"{NAME}（{ID}）"}, ensure_ascii=False)
    line = f"GET /gateway.do?biz_content={encoded(form, payload)} 200"
    scrubbed = scrub(line)
    for secret in (NAME, ID, PHONE, VIN):
        assert encoded(form, secret).strip("'\"b") not in scrubbed
    for masked in ("1101**********002X", "138****5678", "***********042788"):
        assert masked in scrubbed
    assert scrubbed.count(encoded(form, "欧").strip("'\"b") + "***") == 2


def test_regression_url_encoded_id_number_in_access_log_is_masked():
    """The face gateway's access log line: the lookbehind saw the 2 of %22 before the number."""
    line = ('127.0.0.1 "GET /sandbox/alipay/gateway.do?biz_content=%7B%22cert_no%22%3A%22'
            '500103199003074210%22%2C%22phone%22%3A%2213983001234%22%7D HTTP/1.1" 200')
    assert scrub(line) == (
        '127.0.0.1 "GET /sandbox/alipay/gateway.do?biz_content=%7B%22cert_no%22%3A%22'
        '5001**********4210%22%2C%22phone%22%3A%22139****1234%22%7D HTTP/1.1" 200')


def test_regression_json_escaped_name_is_masked():
    line = json.dumps({"identity_param": {"cert_name": "张伟", "cert_no": ID}})
    assert "\\u5f20\\u4f1f" in line
    assert scrub(line) == ('{"identity_param": {"cert_name": "\\u5f20*", '
                           '"cert_no": "1101**********002X"}}')


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("阿卜杜拉·买买提", "阿*******"),
        (quote("阿卜杜拉·买买提"), "%E9%98%BF*******"),
        (json.dumps("阿卜杜拉·买买提"), '"\\u963f*******"'),
        ("plate 渝A12345, 渝AD12345", "plate 渝A12345, 渝AD12345"),  # one character stays
        ("name=%E5%BC%A0 only", "name=%E5%BC%A0 only"),
    ],
)
def test_names_keep_the_first_character_in_every_form(text, expected):
    assert scrub(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<xml><FromUserName><![CDATA[oAbc]]></FromUserName><Content><![CDATA[file 500100123456"
         " vin 123456]]></Content></xml>",
         "<xml><FromUserName><![CDATA[oAbc]]></FromUserName><Content><![CDATA[***]]></Content>"
         "</xml>"),
        ("<Recognition>my code is 123456</Recognition>", "<Recognition>***</Recognition>"),
        # A body cut short in an error message: hidden to the end of the line.
        ("b'<Content><![CDATA[file 500100123456\n  ^", "b'<Content><![CDATA[***\n  ^"),
    ],
)
def test_what_users_type_is_hidden_whole(text, expected):
    """Typed text holds proofs of no fixed shape (a file number, the last 6 of a VIN)."""
    assert scrub(text) == expected


def test_regression_traceback_text_is_scrubbed(masked_log):
    logger, stream = masked_log
    try:
        raise ValueError(f"bad body b'<Content>{NAME}</Content>' from {NAME} {ID} {PHONE}")
    except ValueError:
        logger.exception("request failed")
    logger.warning("where %s was", PHONE, stack_info=True)
    written = stream.getvalue()
    assert "Traceback (most recent call last)" in written and "Stack (most recent" in written
    assert "ValueError: bad body b'<Content>***</Content>' from 欧*** 1101**********002X" in written
    for secret in (NAME, ID, PHONE):
        assert secret not in written


def test_filter_scrubs_a_traceback_formatted_before_it():
    """A handler earlier in line may have cached the exception text already."""
    try:
        raise KeyError(ID)
    except KeyError:
        record = logging.LogRecord("bot", logging.ERROR, __file__, 1, "failed", None,
                                   exc_info=sys.exc_info())
    record.exc_text = "".join(traceback.format_exception(*record.exc_info))
    PersonalDataFilter().filter(record)
    assert ID not in logging.Formatter().format(record)
