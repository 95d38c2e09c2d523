"""The Alipay life-account wire format, without I/O: Alipay's form signature (rsaCheckV2) in
GBK and UTF-8, freshness, biz_content parsing, and our signed answers. Forms are signed by
tests/support/alipay_life.py, written apart from the gateway's own verifier."""

import base64
import re

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from bot.channels.alipay_life import (
    CHECK,
    AlipayLifeGateway,
    Forbidden,
    Malformed,
    content_type,
    signing_content,
)
from bot.integrations.alipay import new_private_key, public_key_of
from bot.messages import InboundKind
from tests.support.alipay_life import biz_content, form, sign_fields, signed_form

APPID = "2021000000000000"
USER = "2088102122524333"
NOW = 1_700_000_000.0
CREATED = int(NOW * 1000)
ALIPAY_KEY = new_private_key()  # Alipay's: it signs forms
APP_KEY = new_private_key()  # ours: we sign answers
gateway = AlipayLifeGateway(APPID, APP_KEY, public_key_of(ALIPAY_KEY), window=300)


def text_form(text: str, *, charset: str = "GBK", created: int = CREATED,
              key: str = ALIPAY_KEY, msg_id: str | None = None) -> bytes:
    return signed_form(biz_content(APPID, USER, created, text=text, msg_id=msg_id), key,
                       charset=charset)[1]


@pytest.mark.parametrize("charset", ["GBK", "UTF-8", "utf-8", "gbk"])
def test_signed_text_in_either_charset_is_read_with_chinese_and_rare_characters(charset):
    text = "查询 渝A12345 𠮷野家 & a=b %"
    envelope = gateway.parse(text_form(text, charset=charset, msg_id="m-1"), NOW)
    inbound = envelope.inbound
    assert inbound is not None
    assert (inbound.channel, inbound.user_id, inbound.kind, inbound.text) == (
        "alipay", USER, InboundKind.TEXT, text)
    assert inbound.dedupe_key == "msg:m-1"
    assert envelope.charset == charset


def test_gbk_form_is_percent_encoded_in_gbk_bytes():
    """Not UTF-8 bytes under a GBK label: the same text read as UTF-8 would not verify."""
    body = text_form("你好", charset="GBK")
    assert "%C4%E3%BA%C3" in body.decode()  # 你好 in GBK
    with pytest.raises((Forbidden, Malformed)):
        gateway.parse(body.replace(b"charset=GBK", b"charset=UTF-8"), NOW)


def test_signature_keeps_sign_type_and_empty_fields():
    """rsaCheckV2: only ``sign`` is left out; python-alipay-sdk's verify() drops sign_type."""
    fields = {"b": "", "sign_type": "RSA2", "a": "1", "sign": "x"}
    assert signing_content(fields) == "a=1&b=&sign_type=RSA2"


def test_regression_a_form_signed_without_sign_type_is_refused():
    """Signed as payment notifies are (sign_type left out of the content): not Alipay's
    life-account rule, so not from Alipay."""
    biz = biz_content(APPID, USER, CREATED, text="hi")
    fields = {"service": "alipay.mobile.public.message.notify", "sign_type": "RSA2",
              "charset": "GBK", "biz_content": biz}
    content = {k: v for k, v in fields.items() if k != "sign_type"}
    fields["sign"] = sign_fields(content, ALIPAY_KEY)
    with pytest.raises(Forbidden):
        gateway.parse(form(fields), NOW)


def test_forged_missing_and_wrong_key_signatures_are_refused():
    fields, _ = signed_form(biz_content(APPID, USER, CREATED, text="hi"), ALIPAY_KEY)
    forged = dict(fields, biz_content=fields["biz_content"].replace("hi", "ho"))
    missing = {k: v for k, v in fields.items() if k != "sign"}
    garbage = dict(fields, sign="not base64!!")
    for bad in (forged, missing, garbage):
        with pytest.raises(Forbidden):
            gateway.parse(form(bad), NOW)
    with pytest.raises(Forbidden):
        gateway.parse(text_form("hi", key=new_private_key()), NOW)


@pytest.mark.parametrize("sign_type", ["RSA", "rsa2", ""])
def test_sign_type_tampered_is_refused(sign_type):
    fields, _ = signed_form(biz_content(APPID, USER, CREATED, text="hi"), ALIPAY_KEY)
    with pytest.raises(Forbidden):
        gateway.parse(form(dict(fields, sign_type=sign_type)), NOW)
    # Re-signed with the other sign_type by Alipay's key: still not RSA2, refused.
    resigned = signed_form(fields["biz_content"], ALIPAY_KEY, sign_type=sign_type)[1]
    with pytest.raises(Forbidden):
        gateway.parse(resigned, NOW)


def test_another_apps_message_is_refused():
    body = signed_form(biz_content("2021999999999999", USER, CREATED, text="hi"), ALIPAY_KEY)[1]
    with pytest.raises(Forbidden):
        gateway.parse(body, NOW)


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_stale_or_future_create_time_is_refused(offset):
    with pytest.raises(Forbidden):
        gateway.parse(text_form("hi", created=CREATED + offset * 1000), NOW)


def test_create_time_in_seconds_is_read_as_seconds():
    envelope = gateway.parse(text_form("hi", created=int(NOW)), NOW)
    assert envelope.inbound is not None


@pytest.mark.parametrize("biz", [
    "<XML><AppId>", "not xml", "<xml2/>",
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><XML><Text>&a;</Text></XML>',
    f"<XML><AppId>{APPID}</AppId><AppId>{APPID}</AppId></XML>",
    f"<XML><AppId>{APPID}</AppId><CreateTime>{CREATED}</CreateTime>"
    "<MsgType>text</MsgType></XML>",  # no FromUserId
    f"<XML><AppId>{APPID}</AppId><FromUserId>a]]>b</FromUserId>"
    f"<CreateTime>{CREATED}</CreateTime><MsgType>text</MsgType></XML>",
    f"<XML><AppId>{APPID}</AppId><FromUserId>{USER}</FromUserId>"
    f"<CreateTime>soon</CreateTime><MsgType>text</MsgType></XML>",
])
def test_signed_but_malformed_biz_content_is_refused(biz):
    with pytest.raises(Malformed):
        gateway.parse(signed_form(biz, ALIPAY_KEY)[1], NOW)


def test_malformed_forms_and_unknown_services_are_refused():
    with pytest.raises(Malformed):
        gateway.parse(b"charset=KOI8-R&sign_type=RSA2", NOW)
    with pytest.raises(Malformed):
        gateway.parse(b"a=1&a=2", NOW)
    with pytest.raises(Malformed):
        gateway.parse(b"charset=UTF-8&x=%FF%FE", NOW)
    unknown = signed_form(biz_content(APPID, USER, CREATED, text="hi"), ALIPAY_KEY,
                          service="alipay.open.other")[1]
    with pytest.raises(Malformed):
        gateway.parse(unknown, NOW)


@pytest.mark.parametrize(("event", "kind"), [("follow", InboundKind.SUBSCRIBE),
                                             ("click", InboundKind.CLICK)])
def test_follow_and_click_events_are_acted_on(event, kind):
    body = signed_form(biz_content(APPID, USER, CREATED, event=event, action="QUERY"),
                       ALIPAY_KEY)[1]
    inbound = gateway.parse(body, NOW).inbound
    assert inbound is not None and inbound.kind is kind
    if kind is InboundKind.CLICK:
        assert inbound.event_key == "QUERY"


@pytest.mark.parametrize("event", ["unfollow", "enter", "somethingnew"])
def test_unfollow_enter_and_unknown_events_are_acknowledged_only(event):
    body = signed_form(biz_content(APPID, USER, CREATED, event=event), ALIPAY_KEY)[1]
    envelope = gateway.parse(body, NOW)
    assert envelope.inbound is None and envelope.user_id == USER


def test_regression_two_clicks_in_one_millisecond_are_two():
    keys = {gateway.parse(signed_form(biz_content(APPID, USER, CREATED, event="click",
                                                  action=action), ALIPAY_KEY)[1],
                          NOW).inbound.dedupe_key
            for action in ("QUERY", "ACCOUNT")}
    assert len(keys) == 2


def test_a_redelivered_form_has_the_same_dedupe_key():
    body = text_form("hi", msg_id="same")
    assert gateway.parse(body, NOW).inbound == gateway.parse(body, NOW + 5).inbound


def test_other_message_types_are_marked_other():
    biz = (f"<XML><AppId>{APPID}</AppId><FromUserId>{USER}</FromUserId>"
           f"<CreateTime>{CREATED}</CreateTime><MsgType>image</MsgType>"
           "<MsgId>img-1</MsgId></XML>")
    inbound = gateway.parse(signed_form(biz, ALIPAY_KEY)[1], NOW).inbound
    assert inbound is not None and inbound.kind is InboundKind.OTHER


def _verify_answer(answer: bytes, charset: str) -> str:
    """Check our answer as Alipay does: the text inside <response>, with our public key."""
    codec = "utf-8" if charset == "UTF-8" else "gb18030"
    text = answer.decode(codec)
    assert text.startswith(f'<?xml version="1.0" encoding="{charset}"?><alipay><response>')
    inner = re.search(r"<response>(.*)</response>", text, re.S).group(1)
    signature = re.search(r"<sign>(.*)</sign>", text).group(1)
    assert "<sign_type>RSA2</sign_type>" in text
    public = serialization.load_pem_public_key(public_key_of(APP_KEY).encode())
    public.verify(base64.b64decode(signature), inner.encode(codec), padding.PKCS1v15(),
                  hashes.SHA256())
    return inner


@pytest.mark.parametrize("charset", ["GBK", "UTF-8"])
def test_gateway_check_is_answered_with_our_public_key_signed(charset):
    biz = (f"<XML><AppId><![CDATA[{APPID}]]></AppId><MsgType><![CDATA[event]]></MsgType>"
           "<EventType><![CDATA[verifygw]]></EventType></XML>")
    envelope = gateway.parse(signed_form(biz, ALIPAY_KEY, charset=charset, service=CHECK)[1],
                             NOW)
    assert envelope.is_check and envelope.inbound is None
    inner = _verify_answer(gateway.check_answer(envelope.charset), charset)
    der = serialization.load_pem_public_key(public_key_of(APP_KEY).encode()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert inner == (f"<success>true</success><biz_content>{base64.b64encode(der).decode()}"
                     "</biz_content>")
    assert content_type(charset) == f"text/xml; charset={charset}"


@pytest.mark.parametrize("charset", ["GBK", "UTF-8"])
def test_ack_is_signed_by_our_key(charset):
    inner = _verify_answer(gateway.ack(USER, charset, NOW), charset)
    assert inner == (f"<XML><ToUserId><![CDATA[{USER}]]></ToUserId><AppId><![CDATA[{APPID}]]>"
                     f"</AppId><CreateTime>{CREATED}</CreateTime><MsgType><![CDATA[ack]]>"
                     "</MsgType></XML>")
