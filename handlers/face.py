"""The face check's return URL: where the provider sends the user's browser afterwards.

The visit only prompts us to ask the provider; the page tells the user to go back to the
chat, where the journey has already moved on (a customer-service message). An unknown
reference, or a certify id that is not the check's own, gets the neutral page.
"""

import re

from aiohttp import web

from bot.face_checks import Outcome
from bot.pages import mobile_page
from bot.services import SERVICES

routes = web.RouteTableDef()

PAGES = {  # {app}: the title of the channel the check was asked from, e.g. 微信
    Outcome.PASSED: ("认证完成", "认证完成，请返回{app}继续。"),
    Outcome.FAILED: ("认证未通过", "刷脸认证未通过，请返回{app}，按提示重试或选择其他方式。"),
    Outcome.EXPIRED: ("认证已超时", "本次认证已超时，请返回{app}重新发起。"),
}
NEUTRAL = ("请返回{app}", "请返回{app}继续办理，认证结果将在对话中告知您。")
ANY_APP = "对话"  # a reference we do not know names no app
# FaceChecks.begin's references (uuid4().hex): anything else is made up and is not looked
# up at all (a value too long for the column would fail the query).
REFERENCE = re.compile("[0-9a-f]{32}")


@routes.get("/face/return")
async def face_return(request: web.Request) -> web.Response:
    services, reference = request.app[SERVICES], request.query.get("ref", "")
    outcome, app = None, ANY_APP
    if REFERENCE.fullmatch(reference):
        outcome = await services.face.came_back(reference, request.query.get("certify_id"))
        requester = await services.face.requester_of(reference)
        if requester is not None and requester.channel in services.channels:
            app = services.channels[requester.channel].title
    title, text = (part.format(app=app) for part in PAGES.get(outcome, NEUTRAL))
    return mobile_page(title, f"<p>{text}</p>", private=True)  # its link names a check
