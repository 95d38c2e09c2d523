"""WeChat requests built by hand, for what WeChatUser (a well-behaved WeChat) never sends:
odd message types, crafted safe-mode ciphertexts. Signatures come from wechatpy's code."""

from __future__ import annotations

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


def signed(token: str) -> dict[str, str]:
    """The query string of a request signed as WeChat signs it."""
    timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
    return {"timestamp": timestamp, "nonce": nonce,
            "signature": signature(token, timestamp, nonce)}


def encrypt(crypto: WeChatCrypto, xml: str) -> str:
    """The Encrypt field WeChat would send for ``xml`` in safe mode."""
    return xmltodict.parse(crypto.encrypt_message(xml, "n0nce", "1700000000"))["xml"]["Encrypt"]


def envelope(token: str, encrypted: str) -> tuple[dict[str, str], bytes]:
    """A safe-mode request carrying any Encrypt value, with a valid msg_signature over it."""
    query = signed(token)
    signer = WeChatSigner()
    signer.add_data(token, query["timestamp"], query["nonce"], encrypted)
    query |= {"encrypt_type": "aes", "msg_signature": signer.signature}
    body = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
    return query, body.encode()
