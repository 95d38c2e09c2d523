"""The face page a vehicle owner who is not a user opens from our SMS: GET and POST
/process/owner/{token} (DOMAIN.md "Processing a violation online").

Someone who follows the owner's vehicle asks to process one of its point violations; the
owner's face verification must come first. The page shows who asks (masked name), which
vehicle (masked plate) and the violation, and offers 同意并刷脸认证, which starts the owner's
face check (``Processing.start_owner_check``) and links to the provider's certify page, or
拒绝. Opening the link does nothing by itself (a link preview fetching it
starts no check): only the page's own POST acts, and only with an Origin of ours when the
browser sends one. The link's token is the only way in; it is cut in every log line
(bot.masking.loggable_path) and the page is private (no cache, no frame, no Referer out). A
used, expired, unknown or malformed link gets a page saying so, never an error.
"""

from __future__ import annotations

import re
from html import escape
from urllib.parse import urlsplit

from aiohttp import web

from bot.integrations.face import FaceUnavailable
from bot.pages import mobile_page
from bot.processing import OwnerView, Processing, ProcessingRefused
from bot.services import SERVICES
from handlers.bodies import read_form

routes = web.RouteTableDef()

PATH = "/process/owner/{token}"
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")  # secrets.token_urlsafe; nothing else looked up
STYLE = ("p.what{font-size:17px;margin:8px 0 16px}"
         "p.note{font-size:13px;color:#666;text-align:left}"
         "a.go{display:block;margin:12px 0;padding:12px;font-size:17px;border-radius:6px;"
         "color:#fff;background:#1677ff;text-decoration:none}")
UNKNOWN = ("链接无效", "链接无效或不完整，请核对短信中的链接。", 404)
STALE = ("页面已失效", "页面已失效，本次操作未生效。请重新打开短信中的链接后再操作。", 403)


def _page(title: str, text: str, status: int = 200) -> web.Response:
    return mobile_page(title, f"<p>{escape(text)}</p>", status=status, style=STYLE,
                       private=True)


async def _waiting(request: web.Request) -> tuple[Processing, OwnerView] | web.Response:
    """The link's case while it waits for the owner, or the page to show instead."""
    processing: Processing = request.app[SERVICES].processing
    token = request.match_info["token"]
    view = await processing.owner_view(token) if TOKEN.fullmatch(token) else None
    if view is None:
        return _page(*UNKNOWN)
    if not view.waiting:
        return _page("无需操作", view.words + "。", 410 if view.expired else 200)
    return processing, view


@routes.get(PATH)
async def owner_page(request: web.Request) -> web.Response:
    found = await _waiting(request)
    if isinstance(found, web.Response):
        return found
    _, view = found
    body = (
        f"<p>{escape(view.processor)} 申请在线处理您名下车辆 {escape(view.plate)} "
        "的一条交通违法：</p>"
        f'<p class="what">{escape(view.what)}</p>'
        '<p class="note">记分将记在对方的驾驶证上，罚款由对方缴纳。同意需要您本人刷脸认证；'
        "如果您不认识对方，请点“拒绝”。</p>"
        '<form method="post">'
        '<button type="submit" name="decision" value="agree">同意并刷脸认证</button>'
        '<button type="submit" name="decision" value="refuse" class="secondary">拒绝</button>'
        "</form>"
        f'<p class="note">请在 {view.until:%m月%d日 %H:%M} 前处理，逾期自动失效。</p>'
    )
    return mobile_page("车主刷脸认证", body, style=STYLE, private=True)


@routes.post(PATH)
async def owner_answer(request: web.Request) -> web.Response:
    origin = request.headers.get("Origin")
    base = urlsplit(request.app[SERVICES].settings.server.base_url)
    if origin is not None and origin != f"{base.scheme}://{base.netloc}":
        return _page(*STALE)
    found = await _waiting(request)
    if isinstance(found, web.Response):
        return found
    processing, view = found
    posted = await read_form(request, request.app[SERVICES].settings.server.read_timeout)
    if isinstance(posted, web.Response):
        return posted
    decision = posted.get("decision")
    if decision == "refuse":
        await processing.owner_refuses(view.case)
        return _page("已拒绝", "您已拒绝该申请，对方将收到通知。")
    if decision != "agree":
        return _page(*STALE)
    try:
        link = await processing.start_owner_check(view.case)
    except ProcessingRefused as refused:
        return _page("无需操作", f"{refused}。")
    except FaceUnavailable:
        return _page("暂时无法认证", "刷脸认证服务暂时不可用，请稍后重新打开短信中的链接。", 503)
    # A link, not a redirect: the page's CSP (form-action 'self') would stop the form's
    # redirect to the provider's own site.
    body = ("<p>请点击下方按钮，由您本人完成刷脸认证。认证结果将通知对方。</p>"
            f'<a href="{escape(link)}" class="go">前往刷脸认证</a>')
    return mobile_page("车主刷脸认证", body, style=STYLE, private=True)
