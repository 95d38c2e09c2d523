"""The WeChat wire format, without I/O: signatures, safe mode, parsing and rendering.
Requests are built with wechatpy's own crypto and signature code, as WeChat builds them."""

import base64
import os
import random

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto

from bot.channels.wechat import Envelope, Forbidden, Malformed, WeChatChannel, reply_text
from bot.messages import InboundKind, Link, Reply
from bot.sandbox.wechat_client import ACCOUNT
from tests.support.wechat_requests import AES_KEY, encrypt, envelope, signed
from tests.support.wechat_requests import message as wechat_message

TOKEN = "test-token"
APPID = "wx-test"
OPENID = "openid-1"
CREATED = 1700000000

channel = WeChatChannel(TOKEN, AES_KEY, APPID)
crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)


def message(kind: str, inner: str = "") -> str:
    return wechat_message(OPENID, kind, inner, CREATED)


TEXT = message("text", "<Content><![CDATA[你好]]></Content><MsgId>1234567890123456</MsgId>")
BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol2;</Content><MsgId>1</MsgId></xml>"""


def parse(xml: str | bytes) -> Envelope:
    return channel.parse(signed(TOKEN), xml.encode() if isinstance(xml, str) else xml)


def test_the_handshake_echoes_only_when_signed():
    assert channel.handshake(signed(TOKEN) | {"echostr": "4711"}) == "4711"
    with pytest.raises(Forbidden):
        channel.handshake(signed("another-token") | {"echostr": "4711"})


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


@pytest.mark.parametrize(("xml", "kind"), [
    (event("subscribe"), InboundKind.SUBSCRIBE),
    (event("subscribe", "qrscene_42"), InboundKind.SUBSCRIBE),
    (event("unsubscribe"), InboundKind.UNSUBSCRIBE),
    (event("CLICK", "GUIDE"), InboundKind.CLICK),
    (event("VIEW", "https://example.com/"), InboundKind.OTHER),
    (event("TEMPLATESENDJOBFINISH"), InboundKind.OTHER),
])
def test_events_are_deduped_by_sender_and_create_time(xml: str, kind: InboundKind):
    inbound = parse(xml).inbound
    assert inbound.kind is kind
    assert inbound.dedupe_key == f"{OPENID}:{CREATED}"


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
        channel.parse(query, TEXT.encode())


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
    wechat_message(OPENID, "text", "<Content>x</Content>", "①").encode(),
    message("text", "<MsgType><a>nested</a></MsgType>").encode(),
    TEXT.encode("utf-16"),
])
def test_unreadable_bodies_are_malformed(body: bytes):
    with pytest.raises(Malformed):
        parse(body)


def test_safe_mode_decrypts_and_answers_encrypted():
    query, body = envelope(TOKEN, encrypt(crypto, TEXT))
    parsed = channel.parse(query, body)
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
        channel.parse(query | {"msg_signature": "0" * 40}, body)


@pytest.mark.parametrize("encrypted", [
    "",
    "!!! not base64 !!!",
    base64.b64encode(bytes(16)).decode(),  # one block: decrypts to garbage without a length
    base64.b64encode(os.urandom(48)).decode(),
    base64.b64encode(bytes(15)).decode(),  # not a whole AES block
    encrypt(WeChatCrypto(TOKEN, AES_KEY, "wx-other-app"), TEXT),  # for another account
    encrypt(crypto, BILLION_LAUGHS),  # the trick hidden inside the ciphertext
    encrypt(crypto, "not xml"),
])
def test_signed_but_undecryptable_messages_are_malformed(encrypted: str):
    with pytest.raises(Malformed):
        channel.parse(*envelope(TOKEN, encrypted))


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
        channel.parse(query, body)


def test_an_encrypted_message_without_a_configured_key_is_malformed():
    with pytest.raises(Malformed):
        WeChatChannel(TOKEN).parse(*envelope(TOKEN, encrypt(crypto, TEXT)))


def test_plaintext_replies_address_the_sender_and_show_links_as_anchors():
    parsed = parse(TEXT)
    reply = Reply("请刷脸", link=Link("开始认证", "https://example.com/face?id=1"))
    answer = xmltodict.parse(channel.render(parsed, reply))["xml"]
    assert (answer["ToUserName"], answer["FromUserName"]) == (OPENID, ACCOUNT)
    assert answer["Content"] == reply_text(reply)
    assert answer["Content"].endswith('<a href="https://example.com/face?id=1">开始认证</a>')


@pytest.mark.parametrize("encrypted", [False, True], ids=["plaintext", "safe mode"])
def test_mangled_messages_are_parsed_or_malformed_never_an_error(encrypted: bool):
    """Bytes of a real message cut, swapped, dropped and replaced at random (seeded)."""
    rng = random.Random(20261121)
    original = TEXT.encode()
    for _ in range(2000):
        body = bytearray(original)
        for _ in range(rng.randint(1, 4)):
            if not body:
                break
            at = rng.randrange(len(body))
            match rng.randrange(4):
                case 0:
                    del body[at:at + rng.randint(1, 8)]
                case 1:
                    body[at] = rng.randrange(256)
                case 2:
                    body.insert(at, rng.choice(b"<>/&;![]x0\xe4\xff"))
                case _:
                    body = body[:at]
        try:
            if encrypted:
                channel.parse(*envelope(TOKEN, encrypt(crypto, body.decode("latin-1"))))
            else:
                parse(bytes(body))
        except Malformed:
            pass
