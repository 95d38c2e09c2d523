"""The owner's (or licence holder's) consent page for a follow request asked by SMS: GET and POST
/follow/consent/{token} (DOMAIN.md "Following a friend's vehicle").

The SMS to the owner's phone on record carries a 6-digit code and this link. The page shows
who asks (masked name) and which vehicle (masked plate) or licence (masked number). 同意
needs the code (``Follows.enter_code``: its tries, lock and expiry are the domain's); 拒绝
does not (the link reached the owner's phone, and refusing grants nothing). A used,
expired, unknown or forged link gets a page saying so, never an error. What the owner did is
kept as evidence with the client's address and browser (``Evidence("page", ...)``).

The link's token is the only credential: it is never logged whole (bot.masking.loggable_path),
and the page is private (bot.pages.mobile_page): not cached, not framed, no Referer to another
site.

CSRF: a signed double-submit cookie, no state kept per form. GET sets a random cookie for
this link's path only (HttpOnly, SameSite=Strict, Secure over https) and puts
HMAC(key, link token, cookie) in the form; a POST needs the cookie, the field and their
match, and an Origin of our own when the browser sends one (browsers do for every POST). A
cookie planted by a sibling site cannot be paired with a field without the key, and a field
from one link or one browser fits no other. The key is derived from ``sms.code_pepper`` (the
secret SMS codes are hashed with, required in production) under a label of its own: no
second secret to provision, and neither use can stand in for the other.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from html import escape
from urllib.parse import urlsplit

from aiohttp import web
from tortoise import timezone

from bot.config import Settings
from bot.follows import NOT_PENDING, Evidence, FollowRequest, Follows, RequestState, target_of
from bot.masking import mask_name
from bot.pages import mobile_page
from bot.rules import BEIJING
from bot.services import SERVICES
from handlers.bodies import read_form

routes = web.RouteTableDef()

PATH = "/follow/consent/{token}"
# Link tokens are URL-safe base64 (secrets.token_urlsafe); anything else is not looked up.
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")
CODE = re.compile(r"[0-9]{6}")
COOKIE = "consent_form"
COOKIE_LIFETIME = 24 * 3600  # a request lives 24 h; the cookie need not outlive it
# Evidence columns (models.follow.ConsentEvidence): a longer header is cut, not refused.
ADDRESS_LENGTH, AGENT_LENGTH = 64, 256

STYLE = ("p.who{font-size:17px;margin:8px 0 0}p.plate{font-size:26px;font-weight:600;"
         "letter-spacing:2px;margin:4px 0 16px}"
         "p.note{font-size:13px;color:#666;text-align:left}p.error{color:#d93026}"
         "label{display:block;text-align:left;font-size:15px;margin-top:16px}"
         "input.code{display:block;width:100%;box-sizing:border-box;margin:8px 0 4px;"
         "padding:12px;font-size:22px;letter-spacing:6px;text-align:center;"
         "border:1px solid #bbb;border-radius:6px}")

UNKNOWN_PAGE = ("链接无效", "链接无效或不完整，请核对短信中的链接。", 404)
EXPIRED_PAGE = ("链接已过期", "该关注请求已超过处理期限，已自动失效，无需操作。对方如仍需关注，"
                "需要重新发起请求。", 410)
STALE_FORM_PAGE = ("页面已失效", "页面已失效，本次操作未生效。请重新打开短信中的链接后再操作。",
                   403)


def _page(title: str, text: str, status: int = 200) -> web.Response:
    return mobile_page(title, f"<p>{escape(text)}</p>", status=status, style=STYLE,
                       private=True)


def _expired(request: FollowRequest) -> bool:
    """Expired, or past its deadline while the expiry job has yet to run."""
    return request.state is RequestState.EXPIRED or (
        request.state is RequestState.PENDING and request.expires_at <= timezone.now())


def _done_page(request: FollowRequest) -> web.Response:
    """A request no longer waiting for the owner: what became of it."""
    if _expired(request):
        return _page(*EXPIRED_PAGE)
    if request.state in (RequestState.APPROVED, RequestState.REFUSED):
        return _page("该请求已处理", f"{NOT_PENDING[request.state]}，无需再次操作。")
    return _page("该请求已失效", f"{request.reason or NOT_PENDING[request.state]}，无需再次操作。")


def _form_key(settings: Settings) -> bytes:
    return hmac.new(settings.sms.pepper, b"follow-consent-form", hashlib.sha256).digest()


def _form_token(settings: Settings, link_token: str, cookie: str) -> str:
    message = f"{link_token}\n{cookie}".encode()
    return hmac.new(_form_key(settings), message, hashlib.sha256).hexdigest()


def _own_origin(settings: Settings) -> str:
    parts = urlsplit(settings.server.base_url)
    return f"{parts.scheme}://{parts.netloc}"


def client_address(request: web.Request, forwarded_hops: int) -> str:
    """The client as the outermost of our ``forwarded_hops`` proxies saw it, or the peer.
    Addresses left of that one in X-Forwarded-For are the client's own say and not used."""
    if forwarded_hops:
        chain = [address.strip() for header in request.headers.getall("X-Forwarded-For", [])
                 for address in header.split(",")]
        if len(chain) >= forwarded_hops:
            return chain[-forwarded_hops]
    return request.remote or ""


def _evidence(request: web.Request, settings: Settings) -> Evidence:
    return Evidence("page",
                    client_address(request, settings.server.forwarded_hops)[:ADDRESS_LENGTH],
                    request.headers.get("User-Agent", "")[:AGENT_LENGTH])


async def _pending(request: web.Request, follows: Follows) -> FollowRequest | web.Response:
    """The link's request while it waits for the owner, or the page to show instead."""
    token = request.match_info["token"]
    if not TOKEN.fullmatch(token):
        return _page(*UNKNOWN_PAGE)
    follow_request = await follows.by_token(token)
    if follow_request is None:
        return _page(*UNKNOWN_PAGE)
    if follow_request.state is not RequestState.PENDING or _expired(follow_request):
        return _done_page(follow_request)
    return follow_request


async def _form(request: web.Request, follow_request: FollowRequest, *, cookie: str,
                error: str = "") -> web.Response:
    settings: Settings = request.app[SERVICES].settings
    who = mask_name(follow_request.requester.real_name)
    target = target_of(follow_request)
    whose = "您名下的车辆" if target.is_vehicle else "您的驾驶证"
    until = follow_request.expires_at.astimezone(BEIJING)
    days = settings.follow.sms_consent_valid_days
    csrf = _form_token(settings, request.match_info["token"], cookie)
    body = (
        f'<p class="who">{escape(who)} 请求关注{whose}</p>'
        f'<p class="plate">{escape(target.masked)}</p>'
        f'<p class="note">同意后，对方可查看该{target.kind.words.noun}的交通违法记录，'
        f"授权 {days} 天后自动失效；不同意请点“拒绝”，对方只会收到“车主已拒绝”。</p>"
        + (f'<p class="error" role="alert">{escape(error)}</p>' if error else "")
        + '<form method="post">'
        f'<input type="hidden" name="csrf" value="{csrf}">'
        '<label for="code">短信验证码</label>'
        '<input class="code" id="code" name="code" inputmode="numeric" pattern="[0-9]{6}" '
        'maxlength="6" autocomplete="one-time-code" required>'
        '<button type="submit" name="decision" value="approve">同意</button>'
        '<button type="submit" name="decision" value="refuse" class="secondary" '
        "formnovalidate>拒绝</button></form>"
        f'<p class="note">请在 {until:%m月%d日 %H:%M} 前处理，逾期自动失效。'
        "如果您不认识对方，请点“拒绝”。</p>"
    )
    response = mobile_page(f"{target.kind.words.noun}关注确认", body, style=STYLE, private=True)
    response.set_cookie(COOKIE, cookie, path=request.path, max_age=COOKIE_LIFETIME,
                        httponly=True, samesite="Strict",
                        secure=settings.server.base_url.startswith("https://"))
    return response


@routes.get(PATH)
async def consent_page(request: web.Request) -> web.Response:
    found = await _pending(request, request.app[SERVICES].follows)
    if isinstance(found, web.Response):
        return found
    cookie = request.cookies.get(COOKIE) or secrets.token_urlsafe(24)
    return await _form(request, found, cookie=cookie)


def _form_is_ours(request: web.Request, settings: Settings, fields: dict[str, str]) -> bool:
    """Posted by our own page in this browser: same origin, the cookie and its signed twin."""
    origin = request.headers.get("Origin")
    if origin is not None and origin != _own_origin(settings):
        return False
    cookie = request.cookies.get(COOKIE, "")
    expected = _form_token(settings, request.match_info["token"], cookie)
    return bool(cookie) and hmac.compare_digest(fields.get("csrf", ""), expected)


@routes.post(PATH)
async def consent_answer(request: web.Request) -> web.Response:
    settings: Settings = request.app[SERVICES].settings
    fields = await read_form(request, settings.server.read_timeout)
    if isinstance(fields, web.Response):
        return fields
    if not _form_is_ours(request, settings, fields):
        return _page(*STALE_FORM_PAGE)
    follows = request.app[SERVICES].follows
    found = await _pending(request, follows)
    if isinstance(found, web.Response):
        return found
    cookie = request.cookies[COOKIE]
    evidence = _evidence(request, settings)
    if fields.get("decision") == "refuse":
        decided = await follows.decide(found.id, False, evidence=evidence)
        if not decided.done:
            return _done_page(await follows.by_token(request.match_info["token"]))
        return _page("已拒绝", "您已拒绝该关注请求，对方将收到“车主已拒绝”的通知。")
    if fields.get("decision") != "approve":
        return await _form(request, found, cookie=cookie, error="请选择“同意”或“拒绝”。")
    code = fields.get("code", "").strip()
    if not CODE.fullmatch(code):
        return await _form(request, found, cookie=cookie, error="请输入短信中的 6 位数字验证码。")
    result = await follows.enter_code(found.id, code, evidence=evidence)
    if result.approved:
        days = settings.follow.sms_consent_valid_days
        return _page("已同意", f"您已同意该关注请求，对方将收到通知。授权 {days} 天后自动失效。")
    after = await follows.by_token(request.match_info["token"])
    if after.state is RequestState.PENDING and not _expired(after):
        return await _form(request, after, cookie=cookie, error=result.message)
    return _page("无法完成", result.message)
