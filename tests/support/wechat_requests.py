"""WeChat requests built by hand, for what WeChatUser (a well-behaved WeChat) never sends:
odd message types, crafted safe-mode ciphertexts, mangled bodies, old timestamps. Signatures
come from wechatpy's code. Used by the tests and by bench/adversarial.py."""

from __future__ import annotations

import random
import secrets
import time

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from bot.sandbox.wechat_client import ACCOUNT, signature

# A fixed 43-character EncodingAESKey (base64 of 32 bytes without the trailing "=").
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def message(openid: str, kind: str, inner: str = "", created: int | str = 1700000000) -> str:
    """A message or event body as WeChat sends it, for any MsgType and fields."""
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>"
            f"{inner}</xml>")


def signed(token: str, timestamp: int | str | None = None,
           nonce: str | None = None) -> dict[str, str]:
    """The query string of a request signed as WeChat signs it: now, with a fresh nonce,
    unless told otherwise."""
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = secrets.token_hex(5) if nonce is None else nonce
    return {"timestamp": timestamp, "nonce": nonce,
            "signature": signature(token, timestamp, nonce)}


def encrypt(crypto: WeChatCrypto, xml: str) -> str:
    """The Encrypt field WeChat would send for ``xml`` in safe mode."""
    return xmltodict.parse(crypto.encrypt_message(xml, "n0nce", "1700000000"))["xml"]["Encrypt"]


def mangle(original: bytes, rng: random.Random) -> bytes:
    """``original`` with 1 to 4 random edits: bytes cut, replaced, inserted, or the rest
    dropped (seed ``rng`` to repeat a run)."""
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
    return bytes(body)


def envelope(token: str, encrypted: str) -> tuple[dict[str, str], bytes]:
    """A safe-mode request carrying any Encrypt value, with a valid msg_signature over it."""
    query = signed(token)
    signer = WeChatSigner()
    signer.add_data(token, query["timestamp"], query["nonce"], encrypted)
    query |= {"encrypt_type": "aes", "msg_signature": signer.signature}
    body = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
    return query, body.encode()
