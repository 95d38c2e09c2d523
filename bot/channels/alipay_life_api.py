"""Outbound Alipay life-account messages, and the life account as a ``Channel``.

Alipay never takes a reply in the gateway's answer: every reply is pushed through the open
platform (``alipay.open.public.message.custom.send``; templates by ``.single.send``; the
menu by ``alipay.open.public.menu.create``) with python-alipay-sdk's ``server_api``, which
signs the request and checks the answer's RSA2 signature with Alipay's public key. The SDK
is blocking (urllib), so calls run in the default executor. Code 20000 (service
unavailable), network errors and timeouts are tried again a few times with a growing pause,
then raised as transient so the send_reply job retries later. Alipay has no idempotency key
for these methods: a call that timed out after Alipay sent the message is sent again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from functools import partial
from typing import Any

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError

from bot.channels.alipay_life import CHANNEL, TITLE, reply_text
from bot.channels.base import Pushed, PushError, PushResult, Unreachable
from bot.messages import Reply

log = logging.getLogger(__name__)

CUSTOM_SEND = "alipay.open.public.message.custom.send"
TEMPLATE_SEND = "alipay.open.public.message.single.send"
MENU_CREATE = "alipay.open.public.menu.create"
SUCCESS = "10000"
UNAVAILABLE = "20000"  # "Service Currently Unavailable": try again
BUSINESS_FAILED = "40004"
# 40004 sub_codes meaning the user cannot be reached (not an error: they unfollowed).
UNREACHABLE = frozenset({"PUB.MSG_SD_NOFOLLOW"})  # 没有关注者，发送消息失败
ACTION_NAME = "立即查看"  # the button under an image-text message


class AlipayLifeError(PushError):
    def __init__(self, method: str, code: str, sub_code: str = "", *,
                 transient: bool = False) -> None:
        super().__init__(f"{method}: {code} {sub_code}".rstrip())
        self.code = code
        self.sub_code = sub_code
        self.transient = transient

    @property
    def unreachable(self) -> bool:
        return self.code == BUSINESS_FAILED and self.sub_code in UNREACHABLE


class AlipayLifeAPI:
    """``tries`` calls at most per message, ``backoff`` seconds before the second (doubling)."""

    def __init__(self, client: AliPay, *, tries: int = 3, backoff: float = 0.5) -> None:
        self._client = client
        self._tries = tries
        self._backoff = backoff

    async def send(self, user_id: str, reply: Reply) -> None:
        """A reply as text, or as one image-text message when it carries a link (face and
        pay pages): its button opens the page."""
        biz: dict[str, Any] = {"to_user_id": user_id}
        if reply.link:
            biz |= {"msg_type": "image-text", "articles": [{
                "title": reply.link.title, "desc": reply.as_text(), "url": reply.link.url,
                "action_name": ACTION_NAME}]}
        else:
            biz |= {"msg_type": "text", "text": {"content": reply_text(reply)}}
        await self.call(CUSTOM_SEND, biz)

    async def send_template(self, user_id: str, template_id: str, data: Mapping[str, str],
                            url: str = "") -> None:
        """A template message: ``data`` fills the template's keywords (first, keyword1, ...,
        remark)."""
        context: dict[str, Any] = {"head_color": "#000000", "action_name": "查看详情"}
        if url:
            context["url"] = url
        context |= {name: {"color": "#000000", "value": value} for name, value in data.items()}
        await self.call(TEMPLATE_SEND, {"to_user_id": user_id,
                                        "template": {"template_id": template_id,
                                                     "context": context}})

    async def create_menu(self, menu: Mapping[str, Any]) -> None:
        await self.call(MENU_CREATE, dict(menu))

    async def call(self, method: str, biz_content: dict[str, Any]) -> dict[str, Any]:
        """The answer of a successful call; AlipayLifeError once tries are spent or for a
        refusal (not transient)."""
        for attempt in range(self._tries - 1):
            try:
                return await self._call_once(method, biz_content)
            except AlipayLifeError as exc:
                if not exc.transient:
                    raise
                log.info("Alipay busy or unreachable (%s); trying again", exc)
            await asyncio.sleep(self._backoff * 2**attempt)
        return await self._call_once(method, biz_content)

    async def _call_once(self, method: str, biz_content: dict[str, Any]) -> dict[str, Any]:
        call = partial(self._client.server_api, method, biz_content)
        try:
            answer = await asyncio.get_running_loop().run_in_executor(None, call)
        except AliPayValidationError:
            # Not Alipay's signature: nobody to trust, nothing to retry against.
            raise AlipayLifeError(method, "answer signature mismatch") from None
        except AliPayException as exc:  # an unsigned error answer of the gateway
            code, sub_code = _refusal(exc)
            raise AlipayLifeError(method, code, sub_code,
                                  transient=code == UNAVAILABLE) from None
        except (OSError, ValueError, LookupError, TypeError, AttributeError) as exc:
            # The network (URLError and socket timeouts are OSErrors), or an answer the SDK
            # cannot read (a proxy's error page): worth another try.
            raise AlipayLifeError(method, type(exc).__name__, transient=True) from None
        code = str(answer.get("code", ""))
        if code != SUCCESS:
            raise AlipayLifeError(method, code, str(answer.get("sub_code", "")),
                                  transient=code == UNAVAILABLE)
        return answer


def _refusal(exc: AliPayException) -> tuple[str, str]:
    """(code, sub_code) of an unsigned error answer; the SDK keeps the raw answer only in
    its exception's private message."""
    raw = getattr(exc, "_AliPayException__message", "")
    try:
        answer = json.loads(raw)
        inner = next(value for key, value in answer.items() if key.endswith("_response"))
        return str(inner.get("code", "")), str(inner.get("sub_code", ""))
    except (ValueError, TypeError, AttributeError, StopIteration):
        return str(getattr(exc, "_AliPayException__code", "") or "unknown"), ""


class AlipayLife:
    """The life account as a ``Channel``: every request is acknowledged at once
    (``reply_budget`` 0) and every reply pushed."""

    name = CHANNEL
    title = TITLE
    reply_budget = 0.0

    def __init__(self, api: AlipayLifeAPI) -> None:
        self.api = api

    def render_text(self, reply: Reply) -> str:
        return reply_text(reply)

    async def push(self, user_id: str, reply: Reply) -> PushResult:
        try:
            await self.api.send(user_id, reply)
        except AlipayLifeError as exc:
            if not exc.unreachable:
                raise
            log.info("an Alipay user is not reachable now (%s)", exc.sub_code)
            return Unreachable(f"Alipay {exc.code} {exc.sub_code}")
        return Pushed()
