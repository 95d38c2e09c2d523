"""The WeChat wire format, without I/O: signatures, freshness, message modes, safe mode,
parsing and rendering. Requests are built with wechatpy's own crypto and signature code, as
WeChat builds them."""

import base64
import hashlib
import os
import random
import time

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto

from bot.channels.wechat import (
    Envelope,
    Forbidden,
    Malformed,
    Stamp,
    WeChatChannel,
    reply_text,
)
from bot.messages import InboundKind, Link, Reply
from bot.sandbox.wechat_client import ACCOUNT
from tests.support.wechat_requests import AES_KEY, encrypt, envelope, mangle, signed
from tests.support.wechat_requests import message as wechat_message

TOKEN = "test-token"
APPID = "wx-test"
OPENID = "openid-1"
CREATED = 1700000000

WINDOW = 300
channel = WeChatChannel(TOKEN, AES_KEY, APPID, mode="compatible", window=WINDOW)
crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)


def message(kind: str, inner: str = "") -> str:
    return wechat_message(OPENID, kind, inner, CREATED)


TEXT = message("text", "<Content><![CDATA[你好]]></Content><MsgId>1234567890123456</MsgId>")
BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol2;</Content><MsgId>1</MsgId></xml>"""


def parse(xml: str | bytes, on: WeChatChannel = channel) -> Envelope:
    return on.parse(signed(TOKEN), xml.encode() if isinstance(xml, str) else xml, time.time())


def test_only_requests_signed_with_our_token_are_authentic():
    query = signed(TOKEN)
    stamp = channel.authenticate(query, time.time())
    assert stamp.key == f"wechat:stamp:{query['timestamp']}:{query['nonce']}"
    with pytest.raises(Forbidden):
        channel.authenticate(signed("another-token"), time.time())


# ---- freshness ------------------------------------------------------------------------------

NOW = 1_800_000_000


@pytest.mark.parametrize("query", [
    signed(TOKEN, 1_000_000_000),  # 2001
    signed(TOKEN, NOW - WINDOW - 1),
    signed(TOKEN, NOW + WINDOW + 1),
    signed(TOKEN, 0),
])
def test_regression_timestamp_from_2001_is_refused(query: dict[str, str]):
    """Correctly signed, but outside the window: a copied query string, or a forgery."""
    with pytest.raises(Forbidden):
        channel.parse(query, TEXT.encode(), NOW)
    with pytest.raises(Forbidden):
        channel.authenticate(query, NOW)


@pytest.mark.parametrize("offset", [-WINDOW, -1, 0, 1, WINDOW])
def test_a_timestamp_within_the_window_either_way_is_accepted(offset: int):
    query = signed(TOKEN, NOW + offset)
    assert channel.parse(query, TEXT.encode(), NOW).inbound.text == "你好"
    assert channel.authenticate(query, NOW).fresh_for == WINDOW + offset + 1


def test_regression_empty_timestamp_and_nonce_is_refused():
    """With neither, the signature is sha1 of the token alone and would be valid forever."""
    query = {"timestamp": "", "nonce": "", "signature": hashlib.sha1(TOKEN.encode()).hexdigest()}
    for partial in (query, signed(TOKEN, NOW, ""), signed(TOKEN, "", "n0nce")):
        with pytest.raises(Forbidden):
            channel.parse(partial, TEXT.encode(), NOW)
        with pytest.raises(Forbidden):
            channel.authenticate(partial, NOW)


@pytest.mark.parametrize("timestamp", [
    "1.8e9", "-1800000000", " 1800000000", "１８００００００００", "18000000²", "0x6b49d200",
    "9" * 5000,  # int() would refuse it with a ValueError
])
def test_a_timestamp_that_is_not_ascii_digits_is_refused(timestamp: str):
    with pytest.raises(Forbidden):
        channel.parse(signed(TOKEN, timestamp), TEXT.encode(), NOW)


def test_a_nonce_over_64_characters_is_refused():
    assert channel.parse(signed(TOKEN, NOW, "n" * 64), TEXT.encode(), NOW)
    with pytest.raises(Forbidden):
        channel.parse(signed(TOKEN, NOW, "n" * 65), TEXT.encode(), NOW)


def test_the_stamp_lives_until_the_timestamp_leaves_the_window():
    """The handler remembers (timestamp, nonce) this long to refuse it with another body."""
    query = signed(TOKEN, NOW - 100, "abc")
    stamp = channel.parse(query, TEXT.encode(), NOW + 0.7).stamp
    assert stamp == Stamp(str(NOW - 100), "abc", WINDOW - 100 + 1)
    assert stamp.key == f"wechat:stamp:{NOW - 100}:abc"
    assert channel.parse(signed(TOKEN, NOW + WINDOW), TEXT.encode(), NOW).stamp.fresh_for == \
        2 * WINDOW + 1


# ---- message modes --------------------------------------------------------------------------

plain_mode = WeChatChannel(TOKEN, AES_KEY, APPID, mode="plain")
safe_mode = WeChatChannel(TOKEN, AES_KEY, APPID, mode="safe")


def test_regression_safe_mode_refuses_plaintext():
    with pytest.raises(Forbidden):
        parse(TEXT, on=safe_mode)
    assert safe_mode.parse(*envelope(TOKEN, encrypt(crypto, TEXT)), time.time()).encrypted


def test_plain_mode_refuses_encrypted_bodies_even_with_a_key():
    """WeChat sends no AES in plain mode: it is not from WeChat as configured."""
    assert not parse(TEXT, on=plain_mode).encrypted
    for plain in (plain_mode, WeChatChannel(TOKEN)):
        with pytest.raises(Forbidden):
            plain.parse(*envelope(TOKEN, encrypt(crypto, TEXT)), time.time())


def test_compatible_mode_takes_both():
    assert not parse(TEXT).encrypted
    assert channel.parse(*envelope(TOKEN, encrypt(crypto, TEXT)), time.time()).encrypted


@pytest.mark.parametrize(("mode", "key"), [("safe", ""), ("compatible", ""), ("secure", AES_KEY)])
def test_a_mode_needing_a_key_without_one_or_an_unknown_mode_is_an_error(mode: str, key: str):
    with pytest.raises(ValueError):
        WeChatChannel(TOKEN, key, APPID, mode=mode)


def test_a_text_message_is_deduped_by_its_msg_id():
    parsed = parse(TEXT)
    assert parsed.inbound.kind is InboundKind.TEXT
    assert parsed.inbound.text == "你好"
    assert parsed.inbound.user_id == OPENID
    assert parsed.inbound.dedupe_key == "msg:1234567890123456"
    assert (parsed.sender, parsed.recipient, parsed.encrypted) == (OPENID, ACCOUNT, False)


def event(name: str, key: str = "") -> str:
    return message("event", f"<Event><![CDATA[{name}]]></Event>"
                            f"<EventKey><![CDATA[{key}]]></EventKey>")


@pytest.mark.parametrize(("xml", "kind", "name", "key"), [
    (event("subscribe"), InboundKind.SUBSCRIBE, "subscribe", ""),
    (event("subscribe", "qrscene_42"), InboundKind.SUBSCRIBE, "subscribe", "qrscene_42"),
    (event("unsubscribe"), InboundKind.UNSUBSCRIBE, "unsubscribe", ""),
    (event("CLICK", "GUIDE"), InboundKind.CLICK, "click", "GUIDE"),
    (event("VIEW", "https://example.com/"), InboundKind.OTHER, "view", "https://example.com/"),
    (event("TEMPLATESENDJOBFINISH"), InboundKind.OTHER, "templatesendjobfinish", ""),
])
def test_events_are_deduped_by_sender_create_time_event_and_key(xml: str, kind: InboundKind,
                                                                 name: str, key: str):
    inbound = parse(xml).inbound
    assert inbound.kind is kind
    assert inbound.dedupe_key == f"{OPENID}:{CREATED}:{name}:{key}"


def test_regression_two_events_in_one_second_are_two():
    """CLICK QUERY_VEHICLE then CLICK GUIDE with one CreateTime: the second was taken for a
    retry of the first and got its reply."""
    keys = {parse(xml).inbound.dedupe_key for xml in
            (event("CLICK", "QUERY_VEHICLE"), event("CLICK", "GUIDE"), event("subscribe"))}
    assert len(keys) == 3
    assert parse(event("CLICK", "GUIDE")).inbound.dedupe_key in keys  # a retry: the same key


def test_a_click_carries_its_menu_key():
    assert parse(event("CLICK", "GUIDE")).inbound.event_key == "GUIDE"


@pytest.mark.parametrize("xml", [
    message("image", "<PicUrl>http://x/1.jpg</PicUrl><MediaId>m</MediaId><MsgId>7</MsgId>"),
    message("location", "<Location_X>29.5</Location_X><Location_Y>106.5</Location_Y>"
                        "<Scale>15</Scale><Label>重庆</Label><MsgId>8</MsgId>"),
    message("hologram", "<MsgId>9</MsgId>"),
])
def test_other_message_types_are_recognised_but_not_text(xml: str):
    assert parse(xml).inbound.kind is InboundKind.OTHER


@pytest.mark.parametrize("query", [
    {},
    {"timestamp": "1700000000", "nonce": "n"},
    {"timestamp": "1700000000", "nonce": "n", "signature": "0" * 40},
    signed("another-token"),
])
def test_a_bad_or_missing_signature_is_forbidden(query: dict[str, str]):
    with pytest.raises(Forbidden):
        channel.parse(query, TEXT.encode(), time.time())


@pytest.mark.parametrize("body", [
    b"",
    b"not xml at all",
    b"<xml><MsgType>text</MsgType>",
    BILLION_LAUGHS.encode(),
    b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><xml/>',
    b"<xml></xml>",
    b"<xml><MsgType>text</MsgType><Content>no sender</Content></xml>",
    message("text", "<Content>x</Content><MsgId>not-a-number</MsgId>").encode(),
    message("text", "<Content>x</Content><MsgId>²</MsgId>").encode(),  # isdigit(), not int
    message("text", f"<Content>x</Content><MsgId>{2**64}</MsgId>").encode(),
    message("text", f"<Content>x</Content><MsgId>{'0' * 21}1</MsgId>").encode(),
    wechat_message(OPENID, "text", "<Content>x</Content>", "①").encode(),
    wechat_message(OPENID, "text", "<Content>x</Content>", 2**64).encode(),
    message("text", "<MsgType><a>nested</a></MsgType>").encode(),
    TEXT.encode("utf-16"),
])
def test_unreadable_bodies_are_malformed(body: bytes):
    with pytest.raises(Malformed):
        parse(body)


def test_regression_5000_digit_msgid_is_malformed():
    """It passed the digits check, then int() raised ValueError (over 4,300 digits)."""
    with pytest.raises(Malformed):
        parse(message("text", f"<Content>x</Content><MsgId>{'7' * 5000}</MsgId>"))
    with pytest.raises(Malformed):
        parse(wechat_message(OPENID, "text", "<Content>x</Content><MsgId>1</MsgId>", "7" * 5000))


def test_the_largest_64_bit_msg_id_is_accepted():
    parsed = parse(message("text", f"<Content>x</Content><MsgId>{2**64 - 1}</MsgId>"))
    assert parsed.inbound.dedupe_key == f"msg:{2**64 - 1}"


def test_safe_mode_decrypts_and_answers_encrypted():
    query, body = envelope(TOKEN, encrypt(crypto, TEXT))
    parsed = channel.parse(query, body, time.time())
    assert parsed.encrypted and parsed.inbound.text == "你好"
    answer = channel.render(parsed, Reply("您好", choices=("查询",)))
    outer = xmltodict.parse(answer)["xml"]
    assert "你好" not in answer.decode() and "您好" not in answer.decode()
    plain = crypto.decrypt_message(answer, outer["MsgSignature"], outer["TimeStamp"],
                                   outer["Nonce"])
    reply = xmltodict.parse(plain)["xml"]
    assert reply["Content"] == "您好\n\n1. 查询"
    assert (reply["ToUserName"], reply["FromUserName"]) == (OPENID, ACCOUNT)


def test_a_bad_msg_signature_is_forbidden():
    query, body = envelope(TOKEN, encrypt(crypto, TEXT))
    with pytest.raises(Forbidden):
        channel.parse(query | {"msg_signature": "0" * 40}, body, time.time())


@pytest.mark.parametrize("encrypted", [
    "",
    "!!! not base64 !!!",
    base64.b64encode(bytes(16)).decode(),  # one block: decrypts to garbage without a length
    # random values get ids of their own: the same in every test worker
    pytest.param(base64.b64encode(os.urandom(48)).decode(), id="random-blocks"),
    base64.b64encode(bytes(15)).decode(),  # not a whole AES block
    pytest.param(encrypt(WeChatCrypto(TOKEN, AES_KEY, "wx-other-app"), TEXT),
                 id="another-account"),
    pytest.param(encrypt(crypto, BILLION_LAUGHS),  # the trick hidden inside the ciphertext
                 id="billion-laughs"),
    pytest.param(encrypt(crypto, "not xml"), id="not-xml"),
])
def test_signed_but_undecryptable_messages_are_malformed(encrypted: str):
    with pytest.raises(Malformed):
        channel.parse(*envelope(TOKEN, encrypted), time.time())


@pytest.mark.parametrize("body", [
    b"",
    b"not xml",
    b"<xml><ToUserName>gh_1</ToUserName></xml>",  # no Encrypt
    b"<xml><Encrypt></Encrypt></xml>",
    b"<xml><Encrypt>unclosed",
    BILLION_LAUGHS.replace("<Content>&lol2;</Content>", "<Encrypt>&lol2;</Encrypt>").encode(),
])
def test_unreadable_safe_mode_envelopes_are_malformed(body: bytes):
    query, _ = envelope(TOKEN, encrypt(crypto, TEXT))
    with pytest.raises(Malformed):
        channel.parse(query, body, time.time())


def test_plaintext_replies_address_the_sender_and_show_links_as_anchors():
    parsed = parse(TEXT)
    reply = Reply("请刷脸", link=Link("开始认证", "https://example.com/face?id=1"))
    answer = xmltodict.parse(channel.render(parsed, reply))["xml"]
    assert (answer["ToUserName"], answer["FromUserName"]) == (OPENID, ACCOUNT)
    assert answer["Content"] == reply_text(reply)
    assert answer["Content"].endswith('<a href="https://example.com/face?id=1">开始认证</a>')


@pytest.mark.parametrize("encrypted", [False, True], ids=["plaintext", "safe mode"])
def test_regression_a_cdata_end_in_a_reply_stays_text(encrypted: bool):
    """wechatpy's TextReply left a "]]>" in the text to close its CDATA section: the rest of
    the reply was read as XML, or made it unreadable. WeChat (wechatpy's parser here) now
    reads back exactly what was said."""
    if encrypted:
        query, body = envelope(TOKEN, encrypt(crypto, TEXT))
        parsed = channel.parse(query, body, time.time())
    else:
        parsed = parse(TEXT)
    said = "a]]><MsgType>image</MsgType>]]>]]>b<![CDATA[c"
    answer = channel.render(parsed, Reply(said))
    if encrypted:
        outer = xmltodict.parse(answer)["xml"]
        answer = crypto.decrypt_message(answer, outer["MsgSignature"], outer["TimeStamp"],
                                        outer["Nonce"]).encode()
    reply = xmltodict.parse(answer)["xml"]
    assert (reply["Content"], reply["MsgType"]) == (said, "text")
    assert (reply["ToUserName"], reply["FromUserName"]) == (OPENID, ACCOUNT)
    assert abs(int(reply["CreateTime"]) - time.time()) < 5


@pytest.mark.parametrize("encrypted", [False, True], ids=["plaintext", "safe mode"])
def test_mangled_messages_are_parsed_or_malformed_never_an_error(encrypted: bool):
    """Bytes of a real message cut, swapped, dropped and replaced at random (seeded)."""
    rng = random.Random(20261121)
    original = TEXT.encode()
    for _ in range(2000):
        body = mangle(original, rng)
        try:
            if encrypted:
                safe_mode.parse(*envelope(TOKEN, encrypt(crypto, body.decode("latin-1"))),
                                time.time())
            else:
                parse(body, on=plain_mode)
        except Malformed:
            pass
