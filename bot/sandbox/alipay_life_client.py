"""The Alipay life-account platform (生活号) for one user, as it talks to our gateway.

Like ``WeChatUser`` for WeChat: it builds the forms Alipay POSTs, ``service``, ``charset``,
``sign_type``, ``biz_content`` (XML) and ``sign``, signs them with the platform's private
key (the simulator's, whose public half we hold as alipay_public_key) and checks our signed
acknowledgement with our public key. Alipay's rule (rsaCheckV2): every field but ``sign``,
``sign_type`` included, sorted, ``name=value`` joined by ``&``, raw values, in the form's
charset; the form is percent-encoded in that charset too, GBK unless told UTF-8. A character
the charset lacks (𠮷 in GBK) travels as "?", as Java's GBK encoder writes it, in the signed
text and the form alike; ``codec="gb18030"`` plays a platform that writes GBK's superset
under the GBK label instead.

Replies are pushed, not returned: ``send`` and ``click`` wait for what arrives in the sandbox
outbox for the user since its last look (``GET /sandbox/outbox``) until the user's turn is
over (``GET /sandbox/turns``: nothing of the user's in flight or queued to push), and return
it as text. The platform's record of followers lives with the simulated push API
(bot/sandbox/alipay.py): ``follow`` and ``unfollow`` tell it first, as Alipay knows before it
notifies us.

This is deliberately separate code from the gateway's verifier (bot/channels/alipay_life.py):
a shared bug in signing and checking would otherwise hide itself.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from bot.channels.alipay_life import CHANNEL
from bot.sandbox.alipay import FOLLOW_PATH

GATEWAY_PATH = "/alipay/gateway"
OUTBOX_PATH = "/sandbox/outbox"
TURNS_PATH = "/sandbox/turns"
NOTIFY = "alipay.mobile.public.message.notify"
CHECK = "alipay.service.check"
PUSH_KINDS = ("alipay.text", "alipay.image_text", "alipay.template")
POLL_INTERVAL = 0.03  # seconds between looks at the outbox
# MsgIds unique across processes too (a chat beside a test run): milliseconds, then a random
# three-digit start, counting up.
_msg_ids = itertools.count(int(time.time() * 1000) * 1000 + secrets.randbelow(1000))
_RESPONSE = re.compile(r"<response>(.*)</response>", re.DOTALL)
_SIGN = re.compile(r"<sign>([^<]*)</sign>")
_SIGN_TYPE = re.compile(r"<sign_type>([^<]*)</sign_type>")
_ENCODING = re.compile(r'<\?xml[^>]*encoding="([^"]+)"')


class AckError(AssertionError):
    """Our gateway's answer is not an acknowledgement Alipay would accept."""

    def __init__(self, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.status = status  # the gateway's HTTP status


@dataclass
class Ack:
    status: int
    body: bytes
    response: str = ""  # the signed text between <response> and </response>, once checked


@dataclass
class Pushed:
    """One message pushed to the user, and how a phone shows it as text."""

    kind: str
    body: dict[str, Any]
    id: int = 0
    text: str = field(init=False)

    def __post_init__(self) -> None:
        self.text = as_text(self.kind, self.body)


def as_text(kind: str, body: dict[str, Any]) -> str:
    """A pushed message as text; an article's link as an anchor, as WeChat text carries
    links, so the same readers (link_in, plain) serve both channels."""
    if kind == "alipay.text":
        return body["text"]
    if kind == "alipay.image_text":
        return "\n".join(_article_text(article) for article in body["articles"])
    if kind == "alipay.template":
        context = body["context"]
        lines = [f"{name}：{value['value']}" for name, value in context.items()
                 if isinstance(value, dict) and "value" in value]
        if context.get("url"):
            lines.append(f'<a href="{context["url"]}">{context.get("action_name") or "详情"}</a>')
        return "\n".join(lines)
    return str(body)


def _article_text(article: dict[str, str]) -> str:
    lines = [text for text in (article.get("title"), article.get("desc")) if text]
    if article.get("url"):
        label = article.get("action_name") or article.get("title") or "查看详情"
        lines.append(f'<a href="{article["url"]}">{label}</a>')
    return "\n".join(lines)


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


class AlipayLifeUser:
    """One Alipay user of the life account ``appid``, posting to the service at ``base_url``.

    ``platform_key`` is the simulator's private key (PEM), ``service_public_key`` ours (PEM).
    """

    def __init__(self, http: aiohttp.ClientSession, base_url: str, appid: str, user_id: str,
                 platform_key: str, service_public_key: str, *, charset: str = "GBK",
                 codec: str = "") -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.appid = appid
        self.user_id = user_id
        self.charset = charset
        self.codec = codec or charset  # the bytes written under the declared charset
        self._key = serialization.load_pem_private_key(platform_key.encode(), password=None)
        self._service_key = serialization.load_pem_public_key(service_public_key.encode())
        # The newest outbox id already returned. Every push to the user counts, from the
        # first: one that lands before the user first looks is theirs too (a cursor started
        # at the first look skipped it, and the test waited for a push that had come).
        # ``pushes(0)`` takes what came so far, to count only later ones.
        self._seen = 0
        self._last_event = 0

    @property
    def gateway_url(self) -> str:
        return self.base_url + GATEWAY_PATH

    # What a user does; each returns the pushed reply as text (several joined by newlines).
    async def send(self, text: str, *, replies: int = 1) -> str:
        return await self._and_replies(self.text_xml(text), replies)

    async def click(self, key: str, *, replies: int = 1) -> str:
        return await self._and_replies(self.event_xml("click", key), replies)

    async def follow(self, *, replies: int = 1) -> str:
        await self.set_following(True)
        return await self._and_replies(self.event_xml("follow"), replies)

    async def unfollow(self) -> None:
        await self.set_following(False)
        await self.notify(self.event_xml("unfollow"))

    async def enter(self, *, replies: int = 0) -> str:
        return await self._and_replies(self.event_xml("enter"), replies)

    async def verify_gateway(self) -> str:
        """The console's gateway check (verifygw): returns the public key our gateway shows,
        after checking its answer is signed by that key."""
        ack = await self.notify(self.event_xml("verifygw"), service=CHECK)
        return _element(ack.response, "biz_content")

    async def set_following(self, follows: bool) -> None:
        async with self.http.post(self.base_url + FOLLOW_PATH, data={
                "user_id": self.user_id, "follows": "T" if follows else "F"}) as response:
            response.raise_for_status()

    # Forms
    def text_xml(self, text: str, msg_id: str | None = None) -> str:
        msg_id = str(next(_msg_ids)) if msg_id is None else msg_id
        return self._xml("text", f"<MsgId>{cdata(msg_id)}</MsgId>"
                                 f"<Text><Content>{cdata(text)}</Content></Text>")

    def event_xml(self, event: str, action_param: str = "",
                  create_time: int | None = None) -> str:
        """An event; CreateTime in milliseconds, never the same twice from this user."""
        if create_time is None:
            create_time = max(self._last_event + 1, int(time.time() * 1000))
            self._last_event = create_time
        return self._xml("event", f"<EventType>{cdata(event)}</EventType>"
                                  f"<ActionParam>{cdata(action_param)}</ActionParam>"
                                  "<AgreementId></AgreementId><AccountNo></AccountNo>",
                         create_time)

    def _xml(self, kind: str, inner: str, create_time: int | None = None) -> str:
        create_time = int(time.time() * 1000) if create_time is None else create_time
        return (f"<XML><AppId>{cdata(self.appid)}</AppId>"
                f"<FromUserId>{cdata(self.user_id)}</FromUserId>"
                f"<CreateTime>{create_time}</CreateTime><MsgType>{cdata(kind)}</MsgType>"
                f"{inner}</XML>")

    def form(self, biz_content: str, *, service: str = NOTIFY) -> dict[str, str]:
        """The fields Alipay posts, signed; values as the codec can carry them."""
        fields = {"service": service, "sign_type": "RSA2", "charset": self.charset,
                  "biz_content": biz_content}
        fields = {name: value.encode(self.codec, "replace").decode(self.codec)
                  for name, value in fields.items()}
        return {**fields, "sign": self.sign(fields)}

    def sign(self, fields: dict[str, str]) -> str:
        content = "&".join(f"{name}={value}" for name, value in sorted(fields.items())
                           if name != "sign")
        signature = self._key.sign(content.encode(self.codec, "replace"), padding.PKCS1v15(),
                                   hashes.SHA256())
        return base64.b64encode(signature).decode()

    def body(self, form: dict[str, str]) -> bytes:
        """The form percent-encoded in the codec, as Alipay posts it."""
        return urlencode(form, encoding=self.codec, errors="replace").encode("ascii")

    # Delivery
    async def post(self, form: dict[str, str]) -> Ack:
        """POST a form to our gateway; the answer unchecked (for tests of refusals)."""
        headers = {"Content-Type": f"application/x-www-form-urlencoded; charset={self.charset}"}
        async with self.http.post(self.gateway_url, data=self.body(form),
                                  headers=headers) as response:
            return Ack(response.status, await response.read())

    async def notify(self, biz_content: str, *, service: str = NOTIFY) -> Ack:
        """Deliver a message and check the acknowledgement as Alipay would: HTTP 200, signed
        by our key over the text inside <response>, and for a message, an ack to this user."""
        ack = await self.post(self.form(biz_content, service=service))
        ack.response = self.check_ack(ack)
        if service == NOTIFY and not (
                _element(ack.response, "MsgType") == "ack"
                and _element(ack.response, "ToUserId") == self.user_id
                and _element(ack.response, "AppId") == self.appid):
            raise AckError(f"not an acknowledgement for this user: {ack.response!r}")
        return ack

    def check_ack(self, ack: Ack) -> str:
        """The signed response text of our gateway's answer; AckError if Alipay would not
        take it."""
        if ack.status != 200:
            raise AckError(f"gateway answered HTTP {ack.status}: {ack.body[:200]!r}",
                           ack.status)
        declared = _ENCODING.search(ack.body[:100].decode("ascii", "replace"))
        text = ack.body.decode(declared[1] if declared else "utf-8")
        response, sign = _RESPONSE.search(text), _SIGN.search(text)
        sign_type = _SIGN_TYPE.search(text)
        if not (response and sign and sign_type and sign_type[1] == "RSA2"):
            raise AckError(f"not a signed Alipay answer: {text[:300]!r}")
        try:
            self._service_key.verify(base64.b64decode(sign[1]),
                                     response[1].encode(declared[1] if declared else "utf-8"),
                                     padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError) as exc:
            raise AckError("answer not signed by the service's key") from exc
        return response[1]

    # Pushed replies
    async def pushes(self, count: int = 1, *, timeout: float = 15) -> list[Pushed]:
        """The next ``count`` or more messages pushed to this user (templates included), in
        order: once ``count`` have come, the rest of the user's turn too (so ``pushes(0)``
        is whatever the turn in flight still pushes)."""
        found: list[Pushed] = []
        async with asyncio.timeout(timeout):
            while True:
                # Idle first: every push made before the turn was over is in the outbox then.
                idle = len(found) >= count and await self._idle()
                found += await self._new_pushes()
                if idle and len(found) >= count:
                    return found
                await asyncio.sleep(POLL_INTERVAL)

    async def _and_replies(self, biz_content: str, replies: int) -> str:
        await self.notify(biz_content)
        return "\n".join(pushed.text for pushed in await self.pushes(replies)) if replies else ""

    async def _idle(self) -> bool:
        """Whether nothing of this user's is in flight or queued to push (the sandbox's word)."""
        params = {"conversation": f"{CHANNEL}:{self.user_id}"}
        async with self.http.get(self.base_url + TURNS_PATH, params=params) as response:
            response.raise_for_status()
            return (await response.json())["idle"]

    async def _new_pushes(self) -> list[Pushed]:
        return [Pushed(message["kind"], message["body"], message["id"])
                for message in await self._fetch() if message["kind"] in PUSH_KINDS]

    async def _fetch(self) -> list[dict[str, Any]]:
        """The user's outbox entries after the cursor, which moves past them."""
        params = {"recipient": self.user_id, "after": str(self._seen)}
        async with self.http.get(self.base_url + OUTBOX_PATH, params=params) as response:
            response.raise_for_status()
            messages = (await response.json())["messages"]
        if messages:
            self._seen = messages[-1]["id"]
        return messages


def _element(xml: str, name: str) -> str:
    """One element's text (CDATA or plain) from a small, trusted-shape XML fragment."""
    match = re.search(rf"<{name}>(?:<!\[CDATA\[(.*?)\]\]>|([^<]*))</{name}>", xml, re.DOTALL)
    return "" if match is None else (match[1] if match[1] is not None else match[2])
