"""A fake of the Alipay open-platform gateway (openapi.alipay.com/gateway.do) for the methods
we call, served at /sandbox/alipay/gateway.do in sandbox mode.

It does what Alipay does: checks each request's RSA2 signature with our public key, answers
server calls as ``{"<method>_response": {...}, "sign": ...}`` signed over that exact JSON
text with its own private key, and serves the certify page of
alipay.user.certify.open.certify. There a tester presses 通过 or 不通过; the result is kept
and the browser goes back to our return URL with the certify id. Checks live in Redis for
Alipay's 23 hours, so they survive a restart of the app.

It is also the life account's (生活号) push API: custom.send (text, image-text), single.send
(template) and menu.create/modify record what they carry in the sandbox outbox, addressed to
the Alipay user id (a menu to the app id). A user who unfollowed, as the platform's side
(bot/sandbox/alipay_life_client.py) tells it at /sandbox/alipay/life/follow, gets Alipay's
40004 PUB.MSG_SD_NOFOLLOW; ``busy``, ``unreachable`` and ``slow`` script the next pushes.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html import escape
from typing import Any

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from yarl import URL

from bot.config import Settings
from bot.integrations.alipay import (
    SANDBOX_GATEWAY_PATH,
    public_key_of,
    sandbox_app_key,
    sandbox_appid,
    sandbox_gateway_key,
)
from bot.masking import mask_id_number, mask_name
from bot.pages import mobile_page
from bot.services import SERVICES
from models.outbox import OutboxMessage

INITIALIZE = "alipay.user.certify.open.initialize"
CERTIFY = "alipay.user.certify.open.certify"
QUERY = "alipay.user.certify.open.query"
PRESS_PATH = "/sandbox/alipay/certify"
CERTIFY_LIFETIME = 23 * 3600  # Alipay: a certify_id is valid for 23 hours
FAIL_REASON = "人脸比对未通过"

# The life account's push API
CUSTOM_SEND = "alipay.open.public.message.custom.send"
SINGLE_SEND = "alipay.open.public.message.single.send"
MENU_CREATE = "alipay.open.public.menu.create"
MENU_MODIFY = "alipay.open.public.menu.modify"
FOLLOW_PATH = "/sandbox/alipay/life/follow"
UNFOLLOWED = "sandbox:alipay:life:unfollowed"  # Redis set of user ids
MENU_ACTIONS = frozenset({"out", "link", "tel", "map", "consumption"})  # ButtonObject
MENU_BUTTONS, MENU_SUB_BUTTONS, MENU_NAME_LENGTH = 4, 5, 9  # text menus, Alipay's limits
ARTICLE_FIELDS = ("title", "desc", "image_url", "url", "action_name")
SUCCESS = {"code": "10000", "msg": "Success"}
BUSY = {"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "isp.unknow-error",
        "sub_msg": "系统繁忙"}
NOT_FOLLOWING = {"code": "40004", "msg": "Business Failed", "sub_code": "PUB.MSG_SD_NOFOLLOW",
                 "sub_msg": "没有关注者,发送消息失败"}
BAD_ARGUMENTS = {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-parameter",
                 "sub_msg": "参数有误"}


@dataclass(frozen=True)
class Scripted:
    """What the next push call does instead of (or before) its work: a signed error answer,
    or a delay after which the call runs, unless its caller gave up meanwhile."""

    answer: dict[str, str] | None = None
    delay: float = 0.0


class FakeAlipay:
    def __init__(self, appid: str, app_public_key: str, private_key: str) -> None:
        self.appid = appid
        self._app_key = serialization.load_pem_public_key(app_public_key.encode())
        self.sign_answers_with(private_key)
        # Alipay's fail_reason is an extension field it leaves out unless enabled.
        self.fail_reason_enabled = False
        self.menu: dict[str, Any] | None = None
        self._script: list[Scripted] = []
        self._push_methods: dict[str, Callable[[web.Request, dict[str, Any]],
                                               Awaitable[dict[str, str]]]] = {
            CUSTOM_SEND: self._custom_send, SINGLE_SEND: self._single_send,
            MENU_CREATE: self._menu, MENU_MODIFY: self._menu}
        # Methods other simulators add (bot/sandbox/alipay_pay.py): pages a browser opens,
        # and server calls answered signed.
        self.pages: dict[str, Callable[[web.Request, dict[str, str], tuple[str, str] | None],
                                       Awaitable[web.Response]]] = {}
        self.server_methods: dict[str, Callable[[web.Request, dict[str, Any]],
                                                Awaitable[dict[str, Any]]]] = {}

    @classmethod
    def for_settings(cls, settings: Settings) -> FakeAlipay:
        return cls(sandbox_appid(settings), public_key_of(sandbox_app_key(settings)),
                   sandbox_gateway_key(settings))

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(SANDBOX_GATEWAY_PATH, self.gateway),
            web.post(SANDBOX_GATEWAY_PATH, self.gateway),
            web.post(PRESS_PATH, self.press),
            web.post(FOLLOW_PATH, self.follow),
        ]

    def busy(self, calls: int) -> None:
        """Answer the next ``calls`` push calls with 20000, Alipay's "try again later"."""
        self._script = [Scripted(BUSY)] * calls

    def unreachable(self, calls: int) -> None:
        """Answer the next ``calls`` push calls as if their user had unfollowed."""
        self._script = [Scripted(NOT_FOLLOWING)] * calls

    def slow(self, calls: int, seconds: float) -> None:
        """Answer the next ``calls`` push calls after ``seconds``; a call whose caller hung up
        meanwhile is dropped, not delivered (so a retry after a timeout sends it once)."""
        self._script = [Scripted(delay=seconds)] * calls

    def sign_answers_with(self, private_key: str) -> None:
        """The key answers are signed with; another than the configured one plays an
        impostor gateway, whose answers our side must refuse."""
        self._key = serialization.load_pem_private_key(private_key.encode(), password=None)

    async def gateway(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        if request.method == "POST":
            params.update((await request.post()).items())
        method = params.get("method", "")
        refusal = self._refusal(params)
        if method == CERTIFY:
            return await self._certify_page(request, params, refusal)
        if method in self.pages:
            return await self.pages[method](request, params, refusal)
        if refusal:
            return _gateway_error(*refusal)
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except ValueError:
            biz = None
        if not isinstance(biz, dict):
            return _gateway_error("isv.invalid-parameter", "biz_content 不是 JSON 对象")
        if method == INITIALIZE:
            return self._answer(method, await self._initialize(request, biz))
        if method == QUERY:
            return self._answer(method, await self._query(request, biz))
        if method in self._push_methods:
            return self._answer(method, await self._push(request, method, biz))
        if method in self.server_methods:
            return self._answer(method, await self.server_methods[method](request, biz))
        return _gateway_error("isv.invalid-method", "不存在的方法名")

    async def press(self, request: web.Request) -> web.Response:
        """The tester's choice on the certify page; the first one counts."""
        form = await request.post()
        certify_id, passed = str(form.get("certify_id", "")), form.get("passed")
        redis = request.app[SERVICES].redis
        record = await redis.hgetall(_key(certify_id))
        if not record or passed not in ("T", "F"):
            return mobile_page("认证单据不存在", "<p>认证单据不存在或已过期。</p>", status=404)
        await redis.hsetnx(_key(certify_id), "passed", passed)
        back = URL(record[b"return_url"].decode()).update_query(certify_id=certify_id)
        raise web.HTTPFound(str(back))

    async def follow(self, request: web.Request) -> web.Response:
        """The platform's own record of who follows the life account: ``follows`` T or F for
        ``user_id``. Everyone is a follower until they unfollow."""
        form = await request.post()
        user_id, follows = str(form.get("user_id", "")), form.get("follows")
        if not user_id or follows not in ("T", "F"):
            raise web.HTTPBadRequest(text="user_id and follows=T|F required")
        redis = request.app[SERVICES].redis
        await (redis.srem if follows == "T" else redis.sadd)(UNFOLLOWED, user_id)
        return web.Response(status=204)

    async def _push(self, request: web.Request, method: str,
                    biz: dict[str, Any]) -> dict[str, str]:
        if self._script:
            scripted = self._script.pop(0)
            if scripted.answer:
                return scripted.answer
            await asyncio.sleep(scripted.delay)
            if request.transport is None or request.transport.is_closing():
                return BUSY  # nobody reads it: the caller timed out and will retry
        return await self._push_methods[method](request, biz)

    async def _custom_send(self, request: web.Request, biz: dict[str, Any]) -> dict[str, str]:
        user_id, kind = str(biz.get("to_user_id") or ""), biz.get("msg_type")
        text, articles = biz.get("text"), biz.get("articles")
        if kind == "text" and isinstance(text, dict) and _nonempty(text.get("content")):
            body: dict[str, Any] = {"text": text["content"]}
        elif kind == "image-text" and isinstance(articles, list) and articles and all(
                map(_valid_article, articles)):
            body = {"articles": [{field: article[field] for field in ARTICLE_FIELDS
                                  if field in article} for article in articles]}
        else:
            return BAD_ARGUMENTS
        return await self._deliver(request, f"alipay.{kind.replace('-', '_')}", user_id, body)

    async def _single_send(self, request: web.Request, biz: dict[str, Any]) -> dict[str, str]:
        template = biz.get("template")
        if not (isinstance(template, dict) and _nonempty(template.get("template_id"))
                and isinstance(template.get("context"), dict)):
            return BAD_ARGUMENTS
        return await self._deliver(request, "alipay.template", str(biz.get("to_user_id") or ""),
                                   {"template_id": template["template_id"],
                                    "context": template["context"]})

    async def _deliver(self, request: web.Request, kind: str, user_id: str,
                       body: dict[str, Any]) -> dict[str, str]:
        if not user_id:
            return BAD_ARGUMENTS
        if await request.app[SERVICES].redis.sismember(UNFOLLOWED, user_id):
            return NOT_FOLLOWING
        await OutboxMessage.create(kind=kind, recipient=user_id, body=body)
        return SUCCESS

    async def _menu(self, request: web.Request, biz: dict[str, Any]) -> dict[str, str]:
        if not _valid_menu(biz.get("button")):
            return BAD_ARGUMENTS
        self.menu = {"button": biz["button"]}
        await OutboxMessage.create(kind="alipay.menu", recipient=self.appid, body=self.menu)
        return SUCCESS

    def _refusal(self, params: dict[str, str]) -> tuple[str, str] | None:
        """Why Alipay would refuse this request, as (sub_code, sub_msg), or None."""
        if params.get("app_id") != self.appid:
            return "isv.invalid-app-id", "无效的AppID参数"
        if params.get("sign_type") != "RSA2" or not self._signed_by_app(params):
            return "isv.invalid-signature", "验签出错，请检查签名私钥与应用公钥是否匹配"
        return None

    def _signed_by_app(self, params: dict[str, str]) -> bool:
        """Alipay's rule: every non-empty parameter but ``sign``, sorted, joined k=v by &."""
        content = "&".join(f"{k}={v}" for k, v in sorted(params.items())
                           if k != "sign" and v != "")
        try:
            self._app_key.verify(base64.b64decode(params.get("sign", "")), content.encode(),
                                 padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True

    async def _initialize(self, request: web.Request, biz: dict[str, Any]) -> dict[str, Any]:
        identity = biz.get("identity_param") or {}
        return_url = (biz.get("merchant_config") or {}).get("return_url", "")
        order_no = str(biz.get("outer_order_no", ""))
        if not (0 < len(order_no) <= 32 and biz.get("biz_code") == "FACE"
                and identity.get("identity_type") == "CERT_INFO"
                and identity.get("cert_type") == "IDENTITY_CARD"
                and identity.get("cert_name") and identity.get("cert_no")
                and return_url.startswith(("http://", "https://"))):
            return _business_error("40002", "Invalid Arguments", "isv.invalid-parameter",
                                   "参数有误")
        certify_id = secrets.token_hex(16)
        redis = request.app[SERVICES].redis
        # Only masked values are kept: the page shows no more than that.
        await redis.hset(_key(certify_id), mapping={
            "outer_order_no": order_no, "return_url": return_url,
            "name": mask_name(str(identity["cert_name"])),
            "id_number": mask_id_number(str(identity["cert_no"]))})
        await redis.expire(_key(certify_id), CERTIFY_LIFETIME)
        return {"code": "10000", "msg": "Success", "certify_id": certify_id}

    async def _query(self, request: web.Request, biz: dict[str, Any]) -> dict[str, Any]:
        """Like Alipay: "F" both before the check is done and after it failed."""
        record = await request.app[SERVICES].redis.hgetall(_key(str(biz.get("certify_id", ""))))
        if not record:
            return _business_error("40004", "Business Failed", "OPEN_CERTIFY_BILL_NOT_EXIST",
                                   "无效的certify_id")
        passed = record.get(b"passed", b"F").decode()
        answer = {"code": "10000", "msg": "Success", "passed": passed}
        if passed == "F" and b"passed" in record and self.fail_reason_enabled:
            answer["fail_reason"] = FAIL_REASON
        return answer

    async def _certify_page(self, request: web.Request, params: dict[str, str],
                            refusal: tuple[str, str] | None) -> web.Response:
        if refusal:
            return mobile_page("链接无效", "<p>认证链接无效，请返回重新发起。</p>", status=400)
        try:
            certify_id = str(json.loads(params.get("biz_content", ""))["certify_id"])
        except (ValueError, KeyError, TypeError):
            certify_id = ""
        record = await request.app[SERVICES].redis.hgetall(_key(certify_id))
        if not record:
            return mobile_page("认证单据不存在", "<p>认证单据不存在或已过期。</p>", status=404)
        if b"passed" in record:
            back = URL(record[b"return_url"].decode()).update_query(certify_id=certify_id)
            return mobile_page("本次认证已完成", f'<p>本次认证已完成，无需重复操作。</p>'
                               f'<p><a href="{escape(str(back))}">返回</a></p>')
        name, id_number = (escape(record[field].decode()) for field in (b"name", b"id_number"))
        return mobile_page("支付宝身份验证（沙箱）", (
            f"<p>姓名：{name}<br>证件号码：{id_number}</p>"
            "<p>这是本地沙箱，不采集人脸。请选择本次刷脸认证的结果：</p>"
            f'<form method="post" action="{PRESS_PATH}">'
            f'<input type="hidden" name="certify_id" value="{escape(certify_id)}">'
            '<button name="passed" value="T">通过</button>'
            '<button class="secondary" name="passed" value="F">不通过</button></form>'))

    def _answer(self, method: str, inner: dict[str, Any]) -> web.Response:
        """The signed answer: the signature covers exactly the inner JSON text."""
        content = json.dumps(inner, ensure_ascii=False, separators=(",", ":"))
        signature = self._key.sign(content.encode(), padding.PKCS1v15(), hashes.SHA256())
        name = method.replace(".", "_") + "_response"
        body = (f'{{"{name}":{content},'
                f'"sign":"{base64.b64encode(signature).decode()}"}}')
        return web.Response(text=body, content_type="application/json")


def _nonempty(value: object) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _valid_article(article: object) -> bool:
    """An image-text article: a title or description, and a link if any that is a URL."""
    if not isinstance(article, dict):
        return False
    url = article.get("url", "")
    return ((_nonempty(article.get("title")) or _nonempty(article.get("desc")))
            and isinstance(url, str) and (url == "" or url.startswith(("http://", "https://"))))


def _valid_menu(buttons: object, *, limit: int = MENU_BUTTONS, nested: bool = True) -> bool:
    """ButtonObject's rules: 1 to 4 buttons, 1 to 5 under each; names of at most 9 characters;
    a button without sub-buttons has an action type and (but for consumption) a parameter."""
    if not isinstance(buttons, list) or not 0 < len(buttons) <= limit:
        return False
    for button in buttons:
        if not isinstance(button, dict) or not _nonempty(button.get("name")) or len(
                button["name"]) > MENU_NAME_LENGTH:
            return False
        if nested and button.get("sub_button"):
            if not _valid_menu(button["sub_button"], limit=MENU_SUB_BUTTONS, nested=False):
                return False
            continue
        action, param = button.get("action_type"), button.get("action_param")
        if action not in MENU_ACTIONS or (action != "consumption" and not _nonempty(param)):
            return False
    return True


def _key(certify_id: str) -> str:
    return f"sandbox:alipay:certify:{certify_id}"


def _business_error(code: str, msg: str, sub_code: str, sub_msg: str) -> dict[str, str]:
    return {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}


def _gateway_error(sub_code: str, sub_msg: str) -> web.Response:
    """Refused before any method ran: Alipay answers an unsigned error_response."""
    return web.json_response(
        {"error_response": _business_error("40002", "Invalid Arguments", sub_code, sub_msg)},
        dumps=lambda data: json.dumps(data, ensure_ascii=False))
