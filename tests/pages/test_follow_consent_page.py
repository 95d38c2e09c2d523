"""The owner's consent page as the owner's phone shows it: a real headless chromium opens the
link from the SMS in the sandbox outbox, the owner types the code and presses 同意 or 拒绝
(handlers/follow_consent.py), against the app on a real port, with SQLite and PostgreSQL and
a real Redis; the requester is told in chat (a push in the outbox)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from models.follow import ConsentChannel, ConsentEvidence, Follow, FollowRequest, RequestState
from models.user import User
from tests.support.follow_consent import (
    OWNER_NAME,
    OWNER_PHONE,
    SECRETS,
    Asked,
    ask_by_sms,
    registered_requester,
    told,
)
from tests.support.records import make_licence

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page

PHONE_WIDTH = 390
BLUE = "rgb(22, 119, 255)"  # bot/pages.py's button colour: the style passed the page's CSP


@pytest.fixture
async def requester(harness) -> User:
    return await registered_requester()


@pytest.fixture
async def asked(harness, requester: User) -> Asked:
    return await ask_by_sms(harness, requester)


@pytest.fixture
def refused_content(page: Page) -> list[str]:
    """What the page's Content-Security-Policy refused (reported on the console)."""
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    return refused


def button(page: Page, label: str) -> Locator:
    return page.get_by_role("button", name=label, exact=True)


async def open_link(page: Page, asked: Asked) -> str:
    """Open the SMS's link like the phone's browser; returns the text the owner reads."""
    response = await page.goto(asked.link)
    assert response.status == 200
    assert await page.inner_text("h1") == "车辆关注确认"
    shown = await page.inner_text("body")
    assert "王** 请求关注您名下的车辆" in shown and "渝A***34" in shown
    html = await page.content()
    for secret in (*SECRETS, asked.vehicle.vin):
        assert secret not in html
    return shown


async def test_the_owner_types_the_code_and_approves(harness, asked, page, refused_content):
    await open_link(page, asked)
    await page.get_by_label("短信验证码").fill(asked.code)

    await button(page, "同意").click()

    assert await page.inner_text("h1") == "已同意"
    follow = await Follow.get(request_id=asked.request_id)
    assert follow.consent is ConsentChannel.PAGE
    evidence = await ConsentEvidence.get(request_id=asked.request_id)
    assert evidence.approved and "HeadlessChrome" in evidence.user_agent
    assert any("车主已同意" in text for text in await told(harness))
    assert refused_content == []


async def test_a_licence_holder_types_the_code_and_approves(harness, requester, page,
                                                           refused_content):
    licence = await make_licence(holder_name=OWNER_NAME, holder_phone=OWNER_PHONE)
    asked = await ask_by_sms(harness, requester, target=licence)
    await page.goto(asked.link)
    assert await page.inner_text("h1") == "驾驶证关注确认"
    shown = await page.inner_text("body")
    assert "王** 请求关注您的驾驶证" in shown
    assert f"驾驶证{licence.number[:4]}{'*' * 10}{licence.number[-4:]}" in shown
    for secret in (*SECRETS, licence.number, licence.file_number):
        assert secret not in await page.content()
    await page.get_by_label("短信验证码").fill(asked.code)

    await button(page, "同意").click()

    assert await page.inner_text("h1") == "已同意"
    assert (await Follow.get(request_id=asked.request_id)).licence_id == licence.id
    assert any("持证人已同意" in text for text in await told(harness))
    assert refused_content == []


async def test_a_wrong_code_says_the_tries_left_and_the_right_one_then_approves(
        harness, asked, page):
    await open_link(page, asked)
    await page.get_by_label("短信验证码").fill(asked.wrong_code)
    await button(page, "同意").click()

    assert "验证码错误，还可尝试 4 次" in await page.get_by_role("alert").inner_text()
    assert await page.inner_text("h1") == "车辆关注确认"

    await page.get_by_label("短信验证码").fill(asked.code)
    await button(page, "同意").click()

    assert await page.inner_text("h1") == "已同意"


async def test_approve_without_a_code_is_held_by_the_browser(harness, asked, page):
    await open_link(page, asked)

    await button(page, "同意").click()

    assert await page.inner_text("h1") == "车辆关注确认"
    assert await page.get_by_label("短信验证码").evaluate("input => !input.validity.valid")
    assert (await FollowRequest.get(id=asked.request_id)).state is RequestState.PENDING


async def test_the_owner_refuses_without_a_code(harness, asked, page):
    await open_link(page, asked)

    await button(page, "拒绝").click()

    assert await page.inner_text("h1") == "已拒绝"
    assert (await FollowRequest.get(id=asked.request_id)).state is RequestState.REFUSED
    assert not await Follow.exists()
    assert any("车主已拒绝" in text for text in await told(harness))


async def test_an_expired_link_says_so(harness, asked, page):
    await FollowRequest.filter(id=asked.request_id).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1))

    response = await page.goto(asked.link)

    assert response.status == 410
    assert await page.inner_text("h1") == "链接已过期"
    assert "重新发起" in await page.inner_text("body")
    assert await page.get_by_role("button").count() == 0


async def test_the_page_fits_a_phone_and_its_style_passes_its_policy(
        harness, asked, page, refused_content, tmp_path: Path):
    await open_link(page, asked)
    await page.screenshot(path=tmp_path / "consent.png", full_page=True)

    width, scroll_width = await page.evaluate(
        "[window.innerWidth, document.documentElement.scrollWidth]")
    assert width == PHONE_WIDTH and scroll_width <= PHONE_WIDTH
    for label in ("同意", "拒绝"):
        box = await button(page, label).bounding_box()
        assert box["height"] >= 44, f"{label}: a thumb needs 44 px, got {box}"
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE_WIDTH
        assert box["y"] + box["height"] <= 844, f"{label} is below the first screen"
    assert await button(page, "同意").evaluate(
        "b => getComputedStyle(b).backgroundColor") == BLUE
    assert refused_content == []
