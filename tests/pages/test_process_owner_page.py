"""The processing owner's face page as an owner's phone shows it: a real headless chromium
opens the link of the SMS in the sandbox outbox, presses 同意并刷脸认证, follows the link to
the simulated Alipay certify page and passes (handlers/process_owner.py), against the app on
a real port, SQLite and PostgreSQL, real Redis; the processor is told in chat."""

from __future__ import annotations

from typing import TYPE_CHECKING

from models.processing import CaseState, ProcessingCase
from tests.support.follows import OWNER, REQUESTER, REQUESTER_OPENID
from tests.support.processing import sms_owner_asked
from tests.support.registration import pushes

if TYPE_CHECKING:
    from playwright.async_api import Page

BLUE = "rgb(22, 119, 255)"  # bot/pages.py's button colour: the style passed the page's CSP


async def test_the_owner_agrees_and_passes_on_the_phone(harness, page: Page):
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    _user, violation, link = await sms_owner_asked(harness, "渝A31001")

    response = await page.goto(link)
    assert response.status == 200 and await page.inner_text("h1") == "车主刷脸认证"
    shown = await page.inner_text("body")
    assert "王** 申请在线处理您名下车辆 渝A***01" in shown and "记3分" in shown
    html = await page.content()
    assert REQUESTER.real_name not in html and REQUESTER.id_number not in html
    agree = page.get_by_role("button", name="同意并刷脸认证", exact=True)
    assert await agree.evaluate("b => getComputedStyle(b).backgroundColor") == BLUE
    await agree.click()
    await page.get_by_role("link", name="前往刷脸认证").click()
    await page.wait_for_url("**/sandbox/alipay/**")
    assert "李**" in await page.inner_text("body")  # the owner's certify page, masked
    assert OWNER.id_number not in await page.content()
    await page.get_by_role("button", name="通过", exact=True).click()
    await page.wait_for_url("**/face/return?**")
    back = await page.inner_text("body")  # no chat to go back to: the processor is told
    assert "认证完成，结果将通知申请人。您可以关闭本页面。" in back and "微信" not in back

    [told] = await pushes(harness, REQUESTER_OPENID, 1)
    assert "车主已通过刷脸认证，请您本人刷脸认证" in told
    case = await ProcessingCase.get(violation_id=violation.id)
    assert case.state is CaseState.AWAITING_PROCESSOR
    assert not refused
