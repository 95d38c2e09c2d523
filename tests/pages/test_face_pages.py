"""The face check as a driver's phone does it: a real headless chromium opens the link the
chat sent, reads the sandbox Alipay certify page (bot/sandbox/alipay.py), presses a button
and follows the redirect to our return page (handlers/face.py), against the app on a real
port, with SQLite and PostgreSQL and a real Redis."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from bot.config import Settings
from models.user import User
from models.verification import Outcome, Verification
from tests.support.face import certify_id_of
from tests.support.privacy import ScannedUser, assert_masked
from tests.support.records import id_number, make_licence
from tests.support.registration import (
    FACE_PASSED,
    PHONE_CODE_PROMPT,
    REGISTERED,
    link_in,
    prove_phone,
    pushes,
    start,
)

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page

NAME = "张三丰"
ID = id_number(502)
TYPED_PHONE = "13700000002"
PHONE_WIDTH = 390


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Only the browser coming back settles a check here, not the polling job.
    return settings.with_overrides(face={"poll_interval": 60.0})


@pytest.fixture
async def alice(harness) -> ScannedUser:
    await make_licence(number=ID, holder_name=NAME, holder_phone="13900000002")
    return ScannedUser(harness.user("openid-alice"), secrets=(NAME, ID, TYPED_PHONE))


async def face_link(alice: ScannedUser) -> str:
    """Registration in chat up to the reply that carries the face link."""
    return link_in(await start(alice, NAME, ID, TYPED_PHONE))


async def open_certify_page(page: Page, link: str) -> str:
    """Open the link like the phone's browser; returns the text a user reads, which must
    show the person only masked."""
    response = await page.goto(link)
    assert response.status == 200
    shown = await page.inner_text("body")
    assert "张**" in shown and f"5001**********{ID[-4:]}" in shown
    html = await page.content()
    assert NAME not in html and ID not in html
    assert_masked(shown, (NAME, ID, TYPED_PHONE))
    return shown


def button(page: Page, label: str) -> Locator:
    return page.get_by_role("button", name=label, exact=True)  # "通过" is inside "不通过"


async def press(page: Page, label: str) -> str:
    """Press 通过 or 不通过 and land on our return page; returns its heading."""
    await button(page, label).click()
    await page.wait_for_url("**/face/return?**")
    return await page.inner_text("h1")


async def test_passing_on_the_certify_page_registers_and_the_chat_carries_on(
        harness, alice, page):
    await open_certify_page(page, await face_link(alice))

    assert await press(page, "通过") == "认证完成"
    assert "请返回微信继续" in await page.inner_text("body")
    [pushed] = await pushes(harness, "openid-alice", 1)
    assert FACE_PASSED in pushed and PHONE_CODE_PROMPT in pushed
    assert REGISTERED in await prove_phone(harness, alice, TYPED_PHONE, 0)
    assert (await User.get(id_number=ID)).phone == TYPED_PHONE


async def test_failing_on_the_certify_page_tells_the_user_in_chat(harness, alice, page):
    link = await face_link(alice)
    await open_certify_page(page, link)

    assert await press(page, "不通过") == "认证未通过"
    assert "按提示重试" in await page.inner_text("body")
    [pushed] = await pushes(harness, "openid-alice", 1)
    assert "刷脸认证未通过（第1次），请重新认证" in pushed
    assert link_in(pushed) != link  # a new check to try again with
    check = await Verification.get(provider_id=certify_id_of(link))
    assert check.outcome is Outcome.FAILED
    assert not await User.exists()


def _with_query(link: str, **changes: str) -> str:
    parts = urlsplit(link)
    query = dict(parse_qsl(parts.query)) | changes
    return parts._replace(query=urlencode(query)).geturl()


@pytest.mark.parametrize("tamper", ["certify_id", "sign"])
async def test_a_tampered_link_shows_an_error_page_and_verifies_nothing(
        harness, alice, page, tamper):
    link = await face_link(alice)
    certify_id = certify_id_of(link)
    if tamper == "certify_id":
        other = ("0" if certify_id[0] != "0" else "1") + certify_id[1:]
        tampered = _with_query(link, biz_content=json.dumps({"certify_id": other}))
    else:
        sign = dict(parse_qsl(urlsplit(link).query))["sign"]
        tampered = _with_query(link, sign=("A" if sign[0] != "A" else "B") + sign[1:])

    response = await page.goto(tampered)

    assert response.status == 400
    assert await page.inner_text("h1") == "链接无效"
    assert "请返回重新发起" in await page.inner_text("body")
    assert "Traceback" not in await page.content()
    assert await page.get_by_role("button").count() == 0
    await _nothing_verified(harness, alice, link)


async def test_a_certify_id_changed_in_the_page_form_verifies_nothing(harness, alice, page):
    link = await face_link(alice)
    await open_certify_page(page, link)
    await page.locator("input[name=certify_id]").evaluate("input => input.value = 'f'.repeat(32)")

    await button(page, "通过").click()

    assert await page.inner_text("h1") == "认证单据不存在"
    assert "Traceback" not in await page.content()
    await _nothing_verified(harness, alice, link)


async def _nothing_verified(harness, alice: ScannedUser, link: str) -> None:
    check = await Verification.get(provider_id=certify_id_of(link))
    assert check.outcome is Outcome.PENDING
    assert await pushes(harness, "openid-alice", 0) == []
    assert "尚未收到刷脸认证结果" in await alice.send("好了")
    assert not await User.exists()


async def test_the_pages_fit_a_phone_screen(harness, alice, page, tmp_path: Path):
    await open_certify_page(page, await face_link(alice))
    await page.screenshot(path=tmp_path / "certify.png", full_page=True)
    await _fits_the_phone(page)
    for label in ("通过", "不通过"):
        box = await button(page, label).bounding_box()
        assert await button(page, label).is_visible()
        assert box["height"] >= 44, f"{label}: a thumb needs 44 px, got {box}"
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE_WIDTH

    await press(page, "通过")
    await page.screenshot(path=tmp_path / "return.png", full_page=True)
    await _fits_the_phone(page)


async def _fits_the_phone(page: Page) -> None:
    """Laid out at the phone's width (meta viewport honoured), no sideways scrolling, and
    the heading within the first screen."""
    width, scroll_width = await page.evaluate(
        "[window.innerWidth, document.documentElement.scrollWidth]")
    assert width == PHONE_WIDTH and scroll_width <= PHONE_WIDTH
    heading = await page.locator("h1").bounding_box()
    assert heading["y"] + heading["height"] <= 844
