"""A driver registering through the chat, with a phone's browser for the face check and an
eye on the sandbox outbox for pushed chat messages and SMS."""

from __future__ import annotations

import asyncio
import html
import re

from bot.sandbox.wechat_client import WeChatUser
from models.outbox import OutboxMessage
from tests.support.face import open_page, press
from tests.support.privacy import ScannedUser, assert_masked

REGISTERED = "实名注册成功"
FACE_PASSED = "刷脸认证通过"
PHONE_CODE_PROMPT = "以确认手机号码为本人使用"
_LINK = re.compile(r'<a href="([^"]+)">')


def link_in(reply: str) -> str:
    """The face certify link of a chat reply (WeChat shows links as anchors, unescaped)."""
    match = _LINK.search(reply)
    assert match, f"no link in {reply!r}"
    return match[1]


def link_on_page(page: str) -> str:
    """The first link of an HTML page, whose attributes are escaped."""
    return html.unescape(link_in(page))


async def face_check(harness, link: str, button: str) -> str:
    """Open the certify page, press 通过 ("T") or 不通过 ("F") and follow the redirect back to
    our return URL, like the phone's browser; returns the return page."""
    http = harness.client.session
    back = await press(http, link, await open_page(http, link), button)
    async with http.get(back) as response:
        assert response.status == 200
        return await response.text()


async def pushes(harness, openid: str, count: int, seconds: float = 15) -> list[str]:
    """Wait for ``count`` customer-service messages to the user; returns their texts, each
    checked for unmasked personal data."""
    for _ in range(int(seconds / 0.05)):
        messages = await OutboxMessage.filter(kind="wechat.text", recipient=openid).order_by("id")
        if len(messages) >= count:
            texts = [message.body["text"] for message in messages]
            for text in texts:
                assert_masked(text)
            return texts
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} pushed messages to {openid}")


async def sms_code(harness, phone: str, count: int = 1, seconds: float = 10) -> str:
    """The code in the ``count``-th SMS to ``phone``, read from the message text."""
    for _ in range(int(seconds / 0.05)):
        messages = await OutboxMessage.filter(kind="sms", recipient=phone).order_by("id")
        if len(messages) >= count:
            return re.search(r"[0-9]{6}", messages[count - 1].body["text"])[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no SMS number {count} to the phone")


async def start(user: ScannedUser | WeChatUser, name: str, id_number: str, phone: str) -> str:
    """From the menu button to the reply after the phone number (the face link, or why not)."""
    assert "请输入您的姓名" in await user.click("REGISTER")
    assert "请输入18位身份证号码" in await user.send(name)
    assert "请输入本人手机号码" in await user.send(id_number)
    return await user.send(phone)


async def prove_phone(harness, user: ScannedUser, phone: str, sent_before: int) -> str:
    """Enter the code of the SMS that follows ``sent_before`` earlier ones to ``phone``;
    returns the reply."""
    return await user.send(await sms_code(harness, phone, count=sent_before + 1))


async def register_by_face(harness, user: ScannedUser, name: str, id_number: str,
                           phone: str) -> str:
    """A whole registration with a passed face check and the typed phone proven by its code;
    returns the reply that says it is done."""
    before = await OutboxMessage.filter(kind="wechat.text", recipient=user.user.openid).count()
    sent_before = len(await harness.outbox(phone))
    await face_check(harness, link_in(await start(user, name, id_number, phone)), "T")
    texts = await pushes(harness, user.user.openid, before + 1)
    assert FACE_PASSED in texts[-1] and PHONE_CODE_PROMPT in texts[-1]
    done = await prove_phone(harness, user, phone, sent_before)
    assert REGISTERED in done
    return done
