"""The face check's return URL: where the provider sends the user's browser afterwards.

The visit only prompts us to ask the provider; the page tells the person where to go now.
Someone whose own journey asked for the check goes back to that chat, where the journey has
already moved on (a customer-service message). A vehicle owner verifying for someone else's
processing has nothing more to do: the result goes to the requester, so the page says so; an
owner reached by SMS has no chat to go back to. An unknown reference, or a certify id that
is not the check's own, gets the neutral page.
"""

import re

from aiohttp import web

from bot.face_checks import Outcome
from bot.pages import mobile_page
from bot.services import SERVICES, Services

routes = web.RouteTableDef()

PAGES = {  # {app}: the title of the channel the check was asked from, e.g. 微信
    Outcome.PASSED: ("认证完成", "认证完成，请返回{app}继续。"),
    Outcome.FAILED: ("认证未通过", "刷脸认证未通过，请返回{app}，按提示重试或选择其他方式。"),
    Outcome.EXPIRED: ("认证已超时", "本次认证已超时，请返回{app}重新发起。"),
}
NEUTRAL = ("请返回{app}", "请返回{app}继续办理，认证结果将在对话中告知您。")
ANY_APP = "对话"  # a reference we do not know names no app
# A vehicle owner's check for someone processing a violation of their vehicle. {close}:
# what is left to do; {again}: how to try again within the request's time.
OWNER_PAGES = {
    Outcome.PASSED: ("认证完成", "认证完成，结果将通知申请人。{close}"),
    Outcome.FAILED: ("认证未通过", "刷脸认证未通过，本次申请已结束，结果将通知申请人。{close}"),
    Outcome.EXPIRED: ("认证已超时", "本次认证已超时。如仍同意，请在申请有效期内{again}。"),
}
OWNER_NEUTRAL = ("认证已提交", "认证结果将通知申请人。{close}")
SMS_CLOSE, SMS_AGAIN = "您可以关闭本页面。", "重新打开短信中的链接"
CHAT_CLOSE, CHAT_AGAIN = "您可以关闭本页面，返回{app}。", "在{app}的“待处理”中重新打开处理申请"
# FaceChecks.begin's references (uuid4().hex): anything else is made up and is not looked
# up at all (a value too long for the column would fail the query).
REFERENCE = re.compile("[0-9a-f]{32}")


@routes.get("/face/return")
async def face_return(request: web.Request) -> web.Response:
    services, reference = request.app[SERVICES], request.query.get("ref", "")
    title, text = (part.format(app=ANY_APP) for part in NEUTRAL)
    if REFERENCE.fullmatch(reference):
        outcome = await services.face.came_back(reference, request.query.get("certify_id"))
        title, text = await _words(services, reference, outcome)
    return mobile_page(title, f"<p>{text}</p>", private=True)  # its link names a check


async def _words(services: Services, reference: str,
                 outcome: Outcome | None) -> tuple[str, str]:
    """The page's title and text for whoever's check this is."""
    owner = await services.processing.owner_channels(reference)
    if owner is None:  # the requester's own check: back to their chat
        requester = await services.face.requester_of(reference)
        app = (services.channels[requester.channel].title
               if requester is not None and requester.channel in services.channels
               else ANY_APP)
        title, text = PAGES.get(outcome, NEUTRAL)
        return title.format(app=app), text.format(app=app)
    app = "或".join(services.channels[name].title for name in owner
                   if name in services.channels)
    close, again = (CHAT_CLOSE, CHAT_AGAIN) if app else (SMS_CLOSE, SMS_AGAIN)
    title, text = OWNER_PAGES.get(outcome, OWNER_NEUTRAL)
    return title, text.format(close=close.format(app=app), again=again.format(app=app))
