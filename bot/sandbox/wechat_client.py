"""A WeChat server stand-in for one user: builds signed (optionally encrypted) XML requests
with wechatpy's own crypto and reads the replies, as WeChat would. Every request is signed
with the current time and a fresh nonce, as the service refuses stale and replayed ones.

Used by `python -m bot chat`, by the journey tests (send text, click menu keys) and by the
benchmark.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import time
from dataclasses import dataclass

import aiohttp
import xmltodict
from wechatpy.crypto import WeChatCrypto

ACCOUNT = "gh_sandbox_account"
_msg_ids = itertools.count(int(time.time() * 1000))


@dataclass
class Answer:
    status: int
    body: bytes
    text: str  # the reply's Content, "" when WeChat would show nothing ("success"/empty)


def _cdata(text: str) -> str:
    """As WeChat writes text: one CDATA section, split where the text itself holds "]]>"."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


class WeChatUser:
    def __init__(self, http: aiohttp.ClientSession, url: str, token: str, openid: str, *,
                 encoding_aes_key: str = "", appid: str = "") -> None:
        self.http = http
        self.url = url
        self.token = token
        self.openid = openid
        self.crypto = WeChatCrypto(token, encoding_aes_key, appid) if encoding_aes_key else None
        self._last_event: dict[tuple[str, str], int] = {}

    async def send(self, text: str) -> str:
        return (await self.post(self.text_xml(text))).text

    async def click(self, key: str) -> str:
        return (await self.post(self.event_xml("CLICK", key))).text

    async def subscribe(self) -> str:
        return (await self.post(self.event_xml("subscribe"))).text

    def text_xml(self, text: str, msg_id: int | None = None) -> str:
        msg_id = next(_msg_ids) if msg_id is None else msg_id
        return self._xml("text", f"<Content>{_cdata(text)}</Content><MsgId>{msg_id}</MsgId>")

    def event_xml(self, event: str, key: str = "", create_time: int | None = None) -> str:
        """An event; the same event and key again within a second gets the next second, since
        the service takes an event with the same CreateTime, Event and EventKey for a retry."""
        if create_time is None:
            create_time = max(self._last_event.get((event, key), 0) + 1, int(time.time()))
            self._last_event[event, key] = create_time
        body = f"<Event>{_cdata(event)}</Event><EventKey>{_cdata(key)}</EventKey>"
        return self._xml("event", body, create_time)

    async def post(self, xml: str | bytes, *, sign: bool = True) -> Answer:
        """Deliver a message body as WeChat does: signed query string, AES in safe mode."""
        params, body = self.request(xml, sign=sign)
        async with self.http.post(self.url, params=params, data=body) as response:
            raw = await response.read()
            return Answer(response.status, raw, self.content(raw) if response.ok else "")

    def request(self, xml: str | bytes, *, sign: bool = True) -> tuple[dict[str, str], bytes]:
        """The query parameters and body WeChat would POST for this message."""
        timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
        params = {"timestamp": timestamp, "nonce": nonce, "openid": self.openid,
                  "signature": signature(self.token, timestamp, nonce) if sign else "0" * 40}
        body = xml.encode() if isinstance(xml, str) else xml
        if self.crypto is not None:
            envelope = xmltodict.parse(self.crypto.encrypt_message(body.decode(), nonce,
                                                                   timestamp))["xml"]
            params.update(encrypt_type="aes", msg_signature=envelope["MsgSignature"])
            body = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                    f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>").encode()
        return params, body

    def _xml(self, kind: str, inner: str, create_time: int | None = None) -> str:
        """A message body; CreateTime is now unless given (text messages are told apart by
        their MsgId)."""
        create_time = int(time.time()) if create_time is None else create_time
        return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                f"<FromUserName>{_cdata(self.openid)}</FromUserName>"
                f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>"
                f"{inner}</xml>")

    def content(self, raw: bytes) -> str:
        """The Content of a reply body (decrypted in safe mode); "" for no reply."""
        if raw in (b"", b"success"):
            return ""
        xml = xmltodict.parse(raw)["xml"]
        if "Encrypt" in xml:
            if self.crypto is None:
                raise ValueError("encrypted reply without a key")
            plain = self.crypto.decrypt_message(raw.decode(), xml["MsgSignature"],
                                                xml["TimeStamp"], xml["Nonce"])
            xml = xmltodict.parse(plain)["xml"]
        return xml.get("Content") or ""
