"""WeChat official-account wire format: signatures, safe-mode AES and message XML.

Everything here is pure (no I/O): the handler reads the request, this module turns it into
an ``Inbound`` or says why it cannot, and turns a ``Reply`` back into the XML WeChat wants.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from xml.parsers.expat import ExpatError

from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from bot.messages import Inbound, InboundKind, Reply

CHANNEL = "wechat"
NO_REPLY = b"success"
UNSUPPORTED = Reply("暂时只能处理文字消息，请发送文字或回复“菜单”。")

_EVENTS = {
    "subscribe": InboundKind.SUBSCRIBE,
    "subscribe_scan": InboundKind.SUBSCRIBE,
    "unsubscribe": InboundKind.UNSUBSCRIBE,
    "click": InboundKind.CLICK,
}


class Forbidden(Exception):
    """The request is not from WeChat (bad or missing signature): answer 403, do nothing."""


class Malformed(Exception):
    """Signed but unreadable (broken XML, entity tricks, bad ciphertext): answer "success"."""


@dataclass(frozen=True)
class Envelope:
    """A decoded request: the inbound message plus what is needed to answer it."""

    inbound: Inbound
    sender: str
    recipient: str
    encrypted: bool


class WeChatChannel:
    def __init__(self, token: str, encoding_aes_key: str = "", appid: str = "") -> None:
        self._token = token
        self._crypto = WeChatCrypto(token, encoding_aes_key, appid) if encoding_aes_key else None

    def handshake(self, query: Mapping[str, str]) -> str:
        """The echostr to return for the console's URL check, if the signature is right."""
        self._check_signature(query)
        return query.get("echostr", "")

    def parse(self, query: Mapping[str, str], body: bytes) -> Envelope:
        self._check_signature(query)
        encrypted = query.get("encrypt_type") == "aes"
        _refuse_entities(body)
        if encrypted:
            body = self._decrypt(query, body)
            _refuse_entities(body)
        try:
            message = parse_message(body)
            if message is None or not message.source:
                raise Malformed("empty message")
            # wechatpy converts fields when read: a non-numeric MsgId fails here, not above.
            inbound = _inbound(message)
        except (ExpatError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise Malformed(f"unreadable message XML: {type(exc).__name__}") from None
        return Envelope(inbound, message.source, message.target, encrypted)

    def render(self, envelope: Envelope, reply: Reply) -> bytes:
        # Addressed here: create_reply(message=...) ignores anything but wechatpy's own messages.
        xml = TextReply(source=envelope.recipient, target=envelope.sender,
                        content=reply_text(reply)).render()
        if envelope.encrypted and self._crypto is not None:
            xml = self._crypto.encrypt_message(xml, uuid.uuid4().hex[:16], str(int(time.time())))
        return xml.encode() if isinstance(xml, str) else xml

    def _check_signature(self, query: Mapping[str, str]) -> None:
        try:
            check_signature(self._token, query.get("signature", ""), query.get("timestamp", ""),
                            query.get("nonce", ""))
        except InvalidSignatureException:
            raise Forbidden("bad signature") from None

    def _decrypt(self, query: Mapping[str, str], body: bytes) -> bytes:
        if self._crypto is None:
            raise Malformed("encrypted message but no EncodingAESKey configured")
        try:
            plain = self._crypto.decrypt_message(body, query.get("msg_signature", ""),
                                                 query.get("timestamp", ""),
                                                 query.get("nonce", ""))
        except InvalidSignatureException:
            raise Forbidden("bad msg_signature") from None
        except Exception as exc:  # wechatpy's decoder also raises IndexError, struct.error...
            raise Malformed(f"cannot decrypt: {type(exc).__name__}") from None
        return plain.encode() if isinstance(plain, str) else plain


def reply_text(reply: Reply) -> str:
    """WeChat text messages show links as HTML anchors."""
    text = reply.as_text()
    if reply.link:
        text += f'\n<a href="{reply.link.url}">{reply.link.title}</a>'
    return text


def _refuse_entities(body: bytes) -> None:
    """WeChat never sends DTDs; any DOCTYPE/ENTITY is an expansion attack."""
    head = body.upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise Malformed("XML with a DTD")


def _inbound(message) -> Inbound:
    by_time = f"{message.source}:{message.time}"
    if message.type == "event":
        kind = _EVENTS.get(message.event, InboundKind.OTHER)
        key = getattr(message, "key", "") or ""
        return Inbound(CHANNEL, message.source, kind, by_time, event_key=key)
    key = f"msg:{message.id}" if message.id else by_time
    if message.type == "text":
        return Inbound(CHANNEL, message.source, InboundKind.TEXT, key, text=message.content or "")
    return Inbound(CHANNEL, message.source, InboundKind.OTHER, key)
