"""Alipay life account (生活号) gateway wire format: signed forms in, signed XML answers out.

Everything here is pure (no I/O, the clock passed in), like bot/channels/wechat.py. Alipay
POSTs a form (``service``, ``sign_type``, ``charset``, ``biz_content`` XML, ``sign``),
percent-encoded in the form's own charset (GBK unless it says UTF-8). The signature is
Alipay's ``rsaCheckV2`` rule: every field but ``sign`` (``sign_type`` and empty values
kept), sorted by name, ``name=value`` joined by ``&``, in that charset, SHA256withRSA by
Alipay's key. We answer with ``encryptAndSign``'s unencrypted shape: ``<alipay><response>
INNER</response><sign>..</sign><sign_type>RSA2</sign_type></alipay>`` signed over INNER by
our application key. Replies are never returned here: the channel pushes them later.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes
from xml.etree import ElementTree

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bot.messages import Inbound, InboundKind, Reply

CHANNEL = "alipay"
TITLE = "支付宝"
CHECK = "alipay.service.check"  # the console's gateway check (EventType verifygw)
NOTIFY = "alipay.mobile.public.message.notify"  # user messages and events
SIGN_TYPE = "RSA2"
DEFAULT_CHARSET = "GBK"
# GBK has no 𠮷 (U+20BB7); GB18030 is its superset, byte-identical for every GBK character,
# so a declared GBK form is read (and our answer to it written) as GB18030.
_CODECS = {"gbk": "gb18030", "gb2312": "gb18030", "gb18030": "gb18030",
           "utf-8": "utf-8", "utf8": "utf-8"}
_DTD = re.compile(r"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_USER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # 2088... user ids, or the newer open_ids
MAX_MILLIS = 10**15
UNSUPPORTED = Reply("暂时只能处理文字消息，请发送文字或点击下方菜单。")

# Events acted on; any other (unfollow, enter, ...) is acknowledged and dropped (_inbound).
_EVENTS = {"follow": InboundKind.SUBSCRIBE, "click": InboundKind.CLICK}


class Forbidden(Exception):
    """Not from Alipay as configured (signature, sign_type, AppId, a stale CreateTime):
    refuse, process nothing."""


class Malformed(Exception):
    """Unreadable (form, charset, XML, a DTD) or a service we do not serve: refuse clearly."""


@dataclass(frozen=True)
class Envelope:
    """A verified request: what to act on (None: acknowledge only) and how to answer."""

    service: str
    charset: str  # as declared, for the answer's XML declaration and Content-Type
    user_id: str  # FromUserId; "" for the gateway check
    inbound: Inbound | None

    @property
    def is_check(self) -> bool:
        return self.service == CHECK


def codec(charset: str) -> str:
    """The Python codec for a form's declared charset; Malformed for one Alipay never uses."""
    try:
        return _CODECS[charset.strip().lower()]
    except KeyError:
        raise Malformed(f"unsupported charset {charset[:20]!r}") from None


def signing_content(fields: Mapping[str, str]) -> str:
    """rsaCheckV2's content: every field but ``sign``, sorted, raw values, empties kept."""
    return "&".join(f"{name}={fields[name]}" for name in sorted(fields) if name != "sign")


def decode_form(body: bytes) -> tuple[dict[str, str], str]:
    """The form's fields and declared charset. Its ``charset`` field (ASCII) says how the
    percent-encoded bytes of every value are to be read; a field given twice is refused."""
    pairs = []
    for part in body.split(b"&"):
        if part:
            name, _, value = part.partition(b"=")
            pairs.append((_unquote(name), _unquote(value)))
    names = [name for name, _ in pairs]
    if len(set(names)) < len(names):
        raise Malformed("a form field given twice")
    raw = dict(pairs)
    try:
        fields = {name.decode("ascii"): value for name, value in raw.items()}
        declared = fields.get("charset", DEFAULT_CHARSET.encode()).decode("ascii")
    except UnicodeDecodeError:
        raise Malformed("a non-ASCII field name or charset") from None
    name_codec = codec(declared)
    try:
        return {name: value.decode(name_codec) for name, value in fields.items()}, declared
    except UnicodeDecodeError:
        raise Malformed(f"a value that is not {declared}") from None


class AlipayLifeGateway:
    """Verifies Alipay's forms with Alipay's public key and signs our answers with our
    application key. ``window``: seconds a message's CreateTime may differ from ``now``; it
    must stay below the inbox's dedupe TTL, so a signed form replayed later is either stale
    (403) or a duplicate the inbox drops."""

    def __init__(self, appid: str, app_private_key: str, alipay_public_key: str, *,
                 window: int) -> None:
        self.appid = appid
        self._window = window
        key = serialization.load_pem_private_key(app_private_key.encode(), password=None)
        alipay_key = serialization.load_pem_public_key(alipay_public_key.encode())
        if not (isinstance(key, rsa.RSAPrivateKey) and isinstance(alipay_key, rsa.RSAPublicKey)):
            raise ValueError("the life account's keys must be RSA keys")
        self._key: rsa.RSAPrivateKey = key
        self._alipay_key: rsa.RSAPublicKey = alipay_key
        der = key.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
        self.public_key_base64 = base64.b64encode(der).decode()

    def parse(self, body: bytes, now: float) -> Envelope:
        """Verify the form, then read its biz_content; Forbidden or Malformed otherwise."""
        fields, charset = decode_form(body)
        self.verify(fields, charset)
        service = fields.get("service", "")
        if service not in (CHECK, NOTIFY):
            raise Malformed("unknown service")
        xml = _fields(fields.get("biz_content", ""))
        if xml.get("AppId") != self.appid:
            raise Forbidden("AppId is not ours")
        event = xml.get("EventType", "").lower()
        if service == CHECK:
            if event != "verifygw":
                raise Malformed("alipay.service.check without EventType verifygw")
            return Envelope(service, charset, "", None)
        user_id = xml.get("FromUserId", "")
        if not _USER_ID.fullmatch(user_id):
            raise Malformed("no FromUserId, or a malformed one")
        created = _created_ms(xml.get("CreateTime", ""))
        if abs(created / 1000 - now) > self._window:
            raise Forbidden("CreateTime outside the window")
        return Envelope(service, charset, user_id, _inbound(user_id, created, event, xml))

    def verify(self, fields: Mapping[str, str], charset: str) -> None:
        """rsaCheckV2 in the declared charset, and sign_type exactly RSA2."""
        if fields.get("sign_type") != SIGN_TYPE:
            raise Forbidden("sign_type is not RSA2")
        try:
            signature = base64.b64decode(fields.get("sign", ""), validate=True)
            content = signing_content(fields).encode(codec(charset))
            self._alipay_key.verify(signature, content, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):  # binascii and codec errors are ValueErrors
            raise Forbidden("bad or missing signature") from None

    def check_answer(self, charset: str) -> bytes:
        """The gateway check's answer: our public key, signed."""
        return self._signed(f"<success>true</success><biz_content>{self.public_key_base64}"
                            "</biz_content>", charset)

    def ack(self, user_id: str, charset: str, now: float) -> bytes:
        """AlipayMsgBuildUtil.buildBaseAckMsg, signed: the message was received."""
        return self._signed(f"<XML><ToUserId><![CDATA[{user_id}]]></ToUserId>"
                            f"<AppId><![CDATA[{self.appid}]]></AppId>"
                            f"<CreateTime>{int(now * 1000)}</CreateTime>"
                            "<MsgType><![CDATA[ack]]></MsgType></XML>", charset)

    def _signed(self, inner: str, charset: str) -> bytes:
        name = codec(charset)
        data = inner.encode(name)
        signature = base64.b64encode(self._key.sign(data, padding.PKCS1v15(),
                                                    hashes.SHA256())).decode()
        declared = "UTF-8" if name == "utf-8" else DEFAULT_CHARSET
        return (f'<?xml version="1.0" encoding="{declared}"?><alipay><response>{inner}'
                f"</response><sign>{signature}</sign><sign_type>{SIGN_TYPE}</sign_type>"
                "</alipay>").encode(name)


def reply_text(reply: Reply) -> str:
    """A reply as Alipay text: links written out (a text message shows no anchors)."""
    text = reply.as_text()
    return f"{text}\n{reply.link.title}：{reply.link.url}" if reply.link else text


def content_type(charset: str) -> str:
    """The answer's Content-Type, in the charset it is written in."""
    return f"text/xml; charset={'UTF-8' if codec(charset) == 'utf-8' else DEFAULT_CHARSET}"


def _unquote(text: bytes) -> bytes:
    return unquote_to_bytes(text.replace(b"+", b" "))


def _fields(biz_content: str) -> dict[str, str]:
    """The flat fields of ``<XML>``, plus ``Text/Content`` as "Content". No DTD: Alipay never
    sends one, and entities are an expansion attack."""
    if _DTD.search(biz_content):
        raise Malformed("XML with a DTD")
    try:
        root = ElementTree.fromstring(biz_content)
    except ElementTree.ParseError:
        raise Malformed("unreadable biz_content XML") from None
    if root.tag.upper() != "XML":
        raise Malformed(f"root element <{root.tag[:20]}>, not <XML>")
    if len({child.tag for child in root}) < len(root):
        raise Malformed("a field given twice")
    fields = {child.tag: (child.text or "").strip() for child in root if not len(child)}
    content = root.find("Text/Content")
    if content is not None:
        fields["Content"] = content.text or ""
    return fields


def _created_ms(text: str) -> int:
    """CreateTime in milliseconds; a 10-digit value is read as seconds."""
    if not (0 < len(text) <= 16 and text.isascii() and text.isdigit()):
        raise Malformed("no CreateTime, or a malformed one")
    value = int(text)
    return value * 1000 if value < 10**11 else value


def _inbound(user_id: str, created: int, event: str, xml: Mapping[str, str]) -> Inbound | None:
    """None for events acknowledged and dropped: unfollow (nothing to say to someone gone),
    enter (sent each time the user opens the account: a greeting each time is noise) and
    events we do not know."""
    kind = xml.get("MsgType", "").lower()
    if not kind:
        raise Malformed("no MsgType")
    by_time = f"{user_id}:{created}"
    if kind == "event":
        if event not in _EVENTS:
            return None
        action = xml.get("ActionParam", "")
        # Two clicks in one second are two: a redelivery repeats all four parts.
        return Inbound(CHANNEL, user_id, _EVENTS[event], f"{by_time}:{event}:{action}",
                       event_key=action)
    msg_id = xml.get("MsgId", "")
    if len(msg_id) > 64:
        raise Malformed("MsgId too long")
    key = f"msg:{msg_id}" if msg_id else by_time
    if kind == "text":
        return Inbound(CHANNEL, user_id, InboundKind.TEXT, key, text=xml.get("Content", ""))
    return Inbound(CHANNEL, user_id, InboundKind.OTHER, key)
