"""Forms as Alipay's life-account platform signs and posts them, for the gateway's tests."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Mapping
from urllib.parse import quote_from_bytes

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

_msg_ids = itertools.count(1)


def biz_content(appid: str, user_id: str, created_ms: int, *, text: str | None = None,
                event: str = "", action: str = "", msg_id: str | None = None) -> str:
    """A notify's XML: a text message when ``text`` is given, else an event."""
    parts = [f"<XML><AppId><![CDATA[{appid}]]></AppId>",
             f"<FromUserId><![CDATA[{user_id}]]></FromUserId>",
             f"<CreateTime>{created_ms}</CreateTime>"]
    if text is not None:
        msg_id = msg_id or f"test-{next(_msg_ids)}"
        parts += ["<MsgType><![CDATA[text]]></MsgType>",
                  f"<MsgId><![CDATA[{msg_id}]]></MsgId>",
                  f"<Text><Content><![CDATA[{text}]]></Content></Text>"]
    else:
        parts += ["<MsgType><![CDATA[event]]></MsgType>",
                  f"<EventType><![CDATA[{event}]]></EventType>",
                  f"<ActionParam><![CDATA[{action}]]></ActionParam>",
                  "<AgreementId></AgreementId><AccountNo></AccountNo>"]
    return "".join(parts) + "</XML>"


def sign_fields(fields: Mapping[str, str], private_pem: str, charset: str = "GBK") -> str:
    """Alipay's signature over rsaCheckV2's content, written independently of the gateway."""
    content = "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "sign")
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    signature = key.sign(content.encode(_codec(charset)), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def form(fields: Mapping[str, str], charset: str = "GBK") -> bytes:
    """x-www-form-urlencoded, percent-encoded in ``charset``."""
    return "&".join(f"{k}={quote_from_bytes(v.encode(_codec(charset)))}"
                    for k, v in fields.items()).encode()


def signed_form(biz: str, private_pem: str, *, charset: str = "GBK",
                service: str = "alipay.mobile.public.message.notify",
                sign_type: str = "RSA2") -> tuple[dict[str, str], bytes]:
    fields = {"service": service, "sign_type": sign_type, "charset": charset,
              "biz_content": biz}
    fields["sign"] = sign_fields(fields, private_pem, charset)
    return fields, form(fields, charset)


def _codec(charset: str) -> str:
    return "utf-8" if charset.lower().replace("-", "") == "utf8" else "gb18030"
