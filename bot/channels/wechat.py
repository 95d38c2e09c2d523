"""WeChat official-account wire format: signatures, safe-mode AES and message XML.

Everything here is pure (no I/O, the clock passed in): the handler reads the request, this
module turns it into an ``Inbound`` or says why it cannot, and turns a ``Reply`` back into the
XML WeChat wants. Remembering (timestamp, nonce) pairs against replays needs Redis, so the
handler does that with the ``Stamp`` this module hands it.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from xml.etree import ElementTree

from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from bot.messages import Inbound, InboundKind, Reply

CHANNEL = "wechat"
NO_REPLY = b"success"
MODES = ("plain", "compatible", "safe")
MAX_NONCE = 64  # WeChat's nonces are about 10 digits; a long one would only bloat Redis keys
MAX_UINT64 = 2**64 - 1
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
UNSUPPORTED = Reply("暂时只能处理文字消息，请发送文字或回复“菜单”。")

_EVENTS = {
    "subscribe": InboundKind.SUBSCRIBE,
    "unsubscribe": InboundKind.UNSUBSCRIBE,
    "click": InboundKind.CLICK,
}


class Forbidden(Exception):
    """The request is not from WeChat as configured (bad or missing signature, a timestamp
    outside the window, a body in a mode the console does not use): answer 403, do nothing."""


class Malformed(Exception):
    """Signed but unreadable (broken XML, entity tricks, bad ciphertext): answer "success"."""


@dataclass(frozen=True)
class Stamp:
    """A signed request's (timestamp, nonce) and how long its timestamp stays acceptable:
    the handler remembers the pair for that long, to refuse it with another body."""

    timestamp: str
    nonce: str
    fresh_for: int  # seconds until the timestamp leaves the window, at least 1

    @property
    def key(self) -> str:
        return f"wechat:stamp:{self.timestamp}:{self.nonce}"


@dataclass(frozen=True)
class Envelope:
    """A decoded request: the inbound message plus what is needed to answer it."""

    inbound: Inbound
    sender: str
    recipient: str
    encrypted: bool
    stamp: Stamp


class WeChatChannel:
    """``mode`` is the console's message encryption mode: "plain" (明文) takes plaintext
    bodies only, "safe" (安全) AES bodies only, "compatible" (兼容) either. A body in a mode
    the console does not use is Forbidden (403), not Malformed ("success"): WeChat never
    sends one, and in safe mode a plaintext body is exactly what a forger sends, since the
    query signature covers only the token, timestamp and nonce, never the body. 403 also
    makes a mismatched console setting show at once (the console's URL check and WeChat's
    own error page) instead of a service that silently answers nothing.

    ``window``: seconds a request's timestamp may differ from ``now``; WeChat signs every
    request afresh, so an older (or newer) one is a replay or a forgery.
    """

    def __init__(self, token: str, encoding_aes_key: str = "", appid: str = "", *,
                 mode: str = "plain", window: int = 300) -> None:
        if mode not in MODES:
            raise ValueError(f"message mode {mode!r} is not one of {MODES}")
        if mode != "plain" and not encoding_aes_key:
            raise ValueError(f"{mode} message mode needs an EncodingAESKey")
        self._token = token
        self._crypto = _OneCipherCrypto(token, encoding_aes_key, appid) if encoding_aes_key \
            else None
        self._mode = mode
        self._window = window

    def parse(self, query: Mapping[str, str], body: bytes, now: float) -> Envelope:
        return self.open(query, body, self.authenticate(query, now))

    def open(self, query: Mapping[str, str], body: bytes, stamp: Stamp) -> Envelope:
        """The body of a request ``authenticate`` passed (its stamp)."""
        encrypted = query.get("encrypt_type") == "aes"
        if encrypted and self._mode == "plain":
            raise Forbidden("an encrypted body in plain message mode")
        if not encrypted and self._mode == "safe":
            raise Forbidden("a plaintext body in safe message mode")
        _refuse_entities(body)
        if encrypted:
            body = self._decrypt(query, body)
            _refuse_entities(body)
        fields = _fields(body)
        return Envelope(_inbound(fields), fields["FromUserName"], fields.get("ToUserName", ""),
                        encrypted, stamp)

    def render(self, envelope: Envelope, reply: Reply) -> bytes:
        now = str(int(time.time()))
        xml = _TEXT_REPLY.format(to=_cdata(envelope.sender), by=_cdata(envelope.recipient),
                                 now=now, text=_cdata(reply_text(reply)))
        if envelope.encrypted and self._crypto is not None:
            # The nonce only varies the reply's signature: no secret, so no system call.
            nonce = f"{random.getrandbits(64):016x}"
            xml = self._crypto.encrypt_message(xml, nonce, now)
        return xml.encode()

    def authenticate(self, query: Mapping[str, str], now: float) -> Stamp:
        """Signed by our token, with a timestamp within the window of ``now`` and a nonce
        (without both, the signature is sha1 of the token alone: valid forever). The handler
        remembers the stamp of every request that passes, the console's URL check (GET) and
        unreadable bodies too, so a signed query string is never reused with another body."""
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if not (_is_number(timestamp, 12) and 0 < len(nonce) <= MAX_NONCE):
            raise Forbidden("no timestamp or nonce, or a malformed one")
        try:
            check_signature(self._token, query.get("signature", ""), timestamp, nonce)
        except InvalidSignatureException:
            raise Forbidden("bad signature") from None
        if abs(int(timestamp) - now) > self._window:
            raise Forbidden("timestamp outside the window")
        return Stamp(timestamp, nonce, int(timestamp) + self._window - int(now) + 1)

    def _decrypt(self, query: Mapping[str, str], body: bytes) -> bytes:
        if self._crypto is None:
            raise Malformed("encrypted message but no EncodingAESKey configured")
        envelope = _fields(body)
        if not envelope.get("Encrypt"):
            raise Malformed("no Encrypt element in the envelope")
        try:
            plain = self._crypto.decrypt_message(envelope,  # wechatpy takes XML or its dict
                                                 query.get("msg_signature", ""),
                                                 query.get("timestamp", ""),
                                                 query.get("nonce", ""))
        except InvalidSignatureException:
            raise Forbidden("bad msg_signature") from None
        except Exception as exc:  # wechatpy's decoder also raises IndexError, struct.error...
            raise Malformed(f"cannot decrypt: {type(exc).__name__}") from None
        return plain.encode() if isinstance(plain, str) else plain


# A passive text reply, as WeChat documents it (wechatpy's TextReply renders the same fields,
# at 12 µs against 2, and leaves a "]]>" in the text to end its CDATA section early).
_TEXT_REPLY = """<xml>
<ToUserName><![CDATA[{to}]]></ToUserName>
<FromUserName><![CDATA[{by}]]></FromUserName>
<CreateTime>{now}</CreateTime>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[{text}]]></Content>
</xml>"""


def _cdata(text: str) -> str:
    """``text`` inside a CDATA section: a "]]>" in it is split over two sections."""
    return text.replace("]]>", "]]]]><![CDATA[>")


class _OneCipherCrypto(WeChatCrypto):
    """wechatpy's message crypto with its AES-CBC cipher made once, not twice per message
    (the key and IV never change; each message still gets its own encryptor and decryptor).
    The 16 random bytes before each reply's text come from ``random`` as in wechatpy, a word
    at a time rather than a character at a time (random.sample was 2 % of a message)."""

    def __init__(self, token: str, encoding_aes_key: str, appid: str) -> None:
        super().__init__(token, encoding_aes_key, appid)
        self._prp = _Prp(self.key)

    def encrypt_message(self, msg: str, nonce: str, timestamp: str | None = None) -> str:
        return self._encrypt_message(msg, nonce, timestamp, self._made)

    def decrypt_message(self, msg: object, signature: str, timestamp: str, nonce: str) -> str:
        return self._decrypt_message(msg, signature, timestamp, nonce, self._made)

    def _made(self, _key: bytes) -> PrpCrypto:
        return self._prp


class _Prp(PrpCrypto):
    def get_random_string(self) -> str:
        return f"{random.getrandbits(64):016x}"


def reply_text(reply: Reply) -> str:
    """WeChat text messages show links as HTML anchors."""
    text = reply.as_text()
    if reply.link:
        text += f'\n<a href="{reply.link.url}">{reply.link.title}</a>'
    return text


def _refuse_entities(body: bytes) -> None:
    """WeChat never sends DTDs; any DOCTYPE/ENTITY is an expansion attack."""
    if _DTD.search(body):
        raise Malformed("XML with a DTD")


def _fields(xml: bytes) -> dict[str, str]:
    """The fields of WeChat's flat ``<xml>`` element (envelope or message), as text.

    ElementTree's C parser reads them about 3 times faster than wechatpy's parse_message
    (xmltodict plus lazily converted fields), which was a tenth of a message's cost in
    bench/inbound.py. Nested elements (some menu events) are left out: nothing here reads
    them. A field given twice is refused. WeChat sends UTF-8 only.
    """
    try:
        root = ElementTree.fromstring(xml.decode("utf-8"))
    except (UnicodeDecodeError, ElementTree.ParseError):
        raise Malformed("unreadable XML") from None
    if root.tag != "xml":
        raise Malformed(f"root element <{root.tag}>, not <xml>")
    if len({child.tag for child in root}) < len(root):
        raise Malformed("a field given twice")
    return {child.tag: child.text or "" for child in root if not len(child)}


def _inbound(fields: dict[str, str]) -> Inbound:
    sender, kind, created = (fields.get(name, "") for name in
                             ("FromUserName", "MsgType", "CreateTime"))
    if not (sender and kind and _is_uint64(created)):
        raise Malformed("no sender, type or creation time")
    by_time = f"{sender}:{created}"
    if kind.lower() == "event":
        # Two events in one second (two menu clicks) are two: WeChat's retry of one repeats
        # all four fields. Subscribe by QR code: EventKey qrscene_<id>.
        event, event_key = fields.get("Event", "").lower(), fields.get("EventKey", "")
        return Inbound(CHANNEL, sender, _EVENTS.get(event, InboundKind.OTHER),
                       f"{by_time}:{event}:{event_key}", event_key=event_key)
    msg_id = fields.get("MsgId", "0")
    if not _is_uint64(msg_id):
        raise Malformed("MsgId is not a 64-bit number")
    key = f"msg:{int(msg_id)}" if int(msg_id) else by_time  # some message types have none
    if kind.lower() == "text":
        return Inbound(CHANNEL, sender, InboundKind.TEXT, key, text=fields.get("Content", ""))
    return Inbound(CHANNEL, sender, InboundKind.OTHER, key)


def _is_number(text: str, max_digits: int) -> bool:
    """ASCII digits only, and few enough for int() (which refuses over 4,300 digits with a
    ValueError): str.isdigit() also takes "²" and "①", which int() refuses too."""
    return 0 < len(text) <= max_digits and text.isascii() and text.isdigit()


def _is_uint64(text: str) -> bool:
    """WeChat's MsgId and CreateTime are unsigned 64-bit numbers."""
    return _is_number(text, 20) and int(text) <= MAX_UINT64
