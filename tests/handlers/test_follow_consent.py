"""The owner's consent page over real HTTP (handlers/follow_consent.py): a follow request
asked by SMS of an owner who is not a user, the link and code read from the sandbox SMS
outbox, and the page answered as a phone's browser would, with SQLite and PostgreSQL and a
real Redis. The requester is told in chat (pushes in the sandbox outbox)."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

import pytest
from aiohttp import ClientResponse
from yarl import URL

from bot import events
from bot.config import Settings
from bot.events import Event
from bot.follows import EXPIRED
from bot.messages import Conversation
from models.follow import ConsentChannel, ConsentEvidence, Follow, FollowRequest, RequestState
from models.user import User
from tests.support.follow_consent import (
    LINK,
    OPENID,
    OWNER_NAME,
    OWNER_PHONE,
    SECRETS,
    Asked,
    ask_by_sms,
    registered_requester,
    sms_to,
    told,
)
from tests.support.records import make_licence, make_vehicle

AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0"
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


@pytest.fixture
async def requester(harness) -> User:
    return await registered_requester()


@pytest.fixture
async def asked(harness, requester: User) -> Asked:
    return await ask_by_sms(harness, requester)


async def open_page(harness, asked: Asked, **headers: str) -> tuple[ClientResponse, str]:
    async with harness.client.session.get(asked.link, headers={"User-Agent": AGENT} | headers
                                          ) as response:
        return response, await response.text()


async def answer(harness, asked: Asked, decision: str, code: str = "", *,
                 csrf: str | None = None, headers: dict[str, str] | None = None
                 ) -> tuple[int, str]:
    """POST the form as the page's 同意 / 拒绝 buttons do, with the CSRF field the page
    gave unless ``csrf`` is given."""
    if csrf is None:
        _, page = await open_page(harness, asked)
        csrf = _CSRF.search(page)[1]
    origin = str(URL(asked.link).origin())
    async with harness.client.session.post(
            asked.link, data={"csrf": csrf, "code": code, "decision": decision},
            headers={"Origin": origin, "User-Agent": AGENT} | (headers or {})) as response:
        return response.status, await response.text()


async def state_of(asked: Asked) -> RequestState:
    return (await FollowRequest.get(id=asked.request_id)).state


def heading(page: str) -> str:
    return re.search(r"<h1>(.*?)</h1>", page)[1]


async def test_the_page_shows_who_asks_and_which_vehicle_masked(harness, asked):
    response, page = await open_page(harness, asked)

    assert response.status == 200
    assert heading(page) == "车辆关注确认"
    assert "王** 请求关注您名下的车辆" in page and "渝A***34" in page
    for secret in (*SECRETS, asked.vehicle.vin):
        assert secret not in page
    assert "同意</button>" in page and "拒绝</button>" in page


async def test_a_licence_holder_sees_the_licence_masked_and_approves_with_the_code(
        harness, requester):
    licence = await make_licence(holder_name=OWNER_NAME, holder_phone=OWNER_PHONE)
    asked = await ask_by_sms(harness, requester, target=licence)

    response, page = await open_page(harness, asked)

    assert response.status == 200 and heading(page) == "驾驶证关注确认"
    masked = f"驾驶证{licence.number[:4]}{'*' * 10}{licence.number[-4:]}"
    assert "王** 请求关注您的驾驶证" in page and masked in page and "该驾驶证的" in page
    for secret in (*SECRETS, licence.number, licence.file_number):
        assert secret not in page
    status, page = await answer(harness, asked, "approve", asked.code)
    assert status == 200 and heading(page) == "已同意"
    assert (await Follow.get(request_id=asked.request_id)).licence_id == licence.id


async def test_approving_with_the_code_follows_and_keeps_the_evidence(harness, asked):
    status, page = await answer(harness, asked, "approve", asked.code)

    assert status == 200 and heading(page) == "已同意"
    follow = await Follow.get(request_id=asked.request_id)
    assert follow.consent is ConsentChannel.PAGE and follow.ended_at is None
    assert follow.valid_until is not None
    [evidence] = await ConsentEvidence.filter(request_id=asked.request_id)
    assert evidence.channel is ConsentChannel.PAGE and evidence.approved
    assert evidence.client_address == "127.0.0.1" and evidence.user_agent == AGENT
    assert evidence.code_hash and asked.code not in evidence.code_hash
    assert any("同意" in text for text in await told(harness))


async def test_refusing_needs_no_code_and_tells_the_requester(harness, asked):
    status, page = await answer(harness, asked, "refuse")

    assert status == 200 and heading(page) == "已拒绝"
    assert await state_of(asked) is RequestState.REFUSED
    assert not await Follow.exists()
    [evidence] = await ConsentEvidence.filter(request_id=asked.request_id)
    assert evidence.channel is ConsentChannel.PAGE and not evidence.approved
    assert any("拒绝" in text for text in await told(harness))


async def test_a_wrong_code_shows_the_form_again_with_the_tries_left(harness, asked):
    status, page = await answer(harness, asked, "approve", asked.wrong_code)

    assert status == 200 and heading(page) == "车辆关注确认"
    assert re.search(r"还可.*4", page), page
    assert await state_of(asked) is RequestState.PENDING

    status, page = await answer(harness, asked, "approve", asked.code)
    assert heading(page) == "已同意"


async def test_a_code_not_of_six_digits_costs_no_try(harness, asked):
    for typed in ("", "12345", "12345a", "１２３４５６"):
        status, page = await answer(harness, asked, "approve", typed)
        assert status == 200 and "请输入短信中的 6 位数字验证码" in page
    assert (await FollowRequest.get(id=asked.request_id)).code_tries == 0


async def test_five_wrong_codes_lock_the_request(harness, settings: Settings, asked):
    _, page = await open_page(harness, asked)
    csrf = _CSRF.search(page)[1]
    for tried in range(1, settings.follow.code_max_tries):
        _, page = await answer(harness, asked, "approve", asked.wrong_code, csrf=csrf)
        assert f"还可尝试 {settings.follow.code_max_tries - tried} 次" in page
    _, page = await answer(harness, asked, "approve", asked.wrong_code, csrf=csrf)
    assert heading(page) == "无法完成" and "错误次数过多" in page and 'name="code"' not in page

    _, page = await answer(harness, asked, "approve", asked.code, csrf=csrf)

    assert heading(page) == "该请求已失效" and "错误次数过多" in page
    assert not await Follow.exists()
    assert await state_of(asked) is RequestState.FAILED
    assert any("未能关注" in text for text in await told(harness))


async def test_an_expired_link_gets_a_clear_page(harness, asked):
    _, page = await open_page(harness, asked)
    csrf = _CSRF.search(page)[1]
    await FollowRequest.filter(id=asked.request_id).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1))

    response, page = await open_page(harness, asked)  # past the deadline, the job not yet run
    assert response.status == 410 and heading(page) == "链接已过期"
    status, page = await answer(harness, asked, "approve", asked.code, csrf=csrf)
    assert status == 410 and heading(page) == "链接已过期"

    # The expiry job (deferred to the deadline at the request) runs.
    await events.handle(Event(EXPIRED, str(asked.request_id)), harness.services.conversations)
    assert await state_of(asked) is RequestState.EXPIRED
    response, page = await open_page(harness, asked)
    assert response.status == 410 and heading(page) == "链接已过期"
    for decision in ("approve", "refuse"):
        status, page = await answer(harness, asked, decision, asked.code, csrf=csrf)
        assert status == 410 and heading(page) == "链接已过期"
    assert not await Follow.exists() and not await ConsentEvidence.exists()


async def test_a_used_link_cannot_answer_again(harness, asked):
    _, before = await open_page(harness, asked)
    csrf = _CSRF.search(before)[1]  # the form still open in another tab
    status, page = await answer(harness, asked, "approve", asked.code, csrf=csrf)
    assert heading(page) == "已同意"

    response, page = await open_page(harness, asked)
    assert response.status == 200 and heading(page) == "该请求已处理"
    assert "已同意" in page and 'name="code"' not in page
    for decision in ("approve", "refuse"):
        status, page = await answer(harness, asked, decision, asked.code, csrf=csrf)
        assert status == 200 and heading(page) == "该请求已处理"
    assert await state_of(asked) is RequestState.APPROVED
    assert await Follow.filter(request_id=asked.request_id).count() == 1
    assert await ConsentEvidence.filter(request_id=asked.request_id).count() == 1
    assert len(await told(harness)) == 1


@pytest.mark.parametrize("token", [
    # the shape of a real token, made up (an id of its own: the same in every test worker)
    pytest.param(secrets.token_urlsafe(24), id="made-up"),
    "short",
    "x" * 2000,
    "%2e%2e%2f%2e%2e%2fetc",
    "%E6%B8%9DA12345",
    "%00",
])
async def test_regression_a_forged_token_gets_a_clear_page_not_an_error(harness, asked, token):
    url = str(URL(asked.link).origin()) + "/follow/consent/" + token
    for method in ("GET", "POST"):
        async with harness.client.session.request(
                method, URL(url, encoded=True), data={"decision": "approve", "code": asked.code}
        ) as response:
            page = await response.text()
            assert response.status in (403, 404), (method, response.status)
            assert "Traceback" not in page and heading(page) in ("链接无效", "页面已失效")
    assert await state_of(asked) is RequestState.PENDING


@pytest.mark.parametrize("forgery", ["no cookie", "no field", "another cookie",
                                     "another link's field", "field of another browser"])
async def test_regression_a_form_without_its_csrf_token_changes_nothing(
        harness, requester, asked, forgery):
    _, page = await open_page(harness, asked)
    csrf = _CSRF.search(page)[1]
    jar = harness.client.session.cookie_jar
    if forgery == "no cookie":
        jar.clear()
    elif forgery == "no field":
        csrf = ""
    elif forgery == "another cookie":
        planted = SimpleCookie({"consent_form": secrets.token_urlsafe(24)})
        planted["consent_form"]["path"] = asked.path
        jar.clear()
        jar.update_cookies(planted, URL(asked.link))
    elif forgery == "another link's field":
        other = await make_vehicle(plate_number="渝A71299", owner_phone="13800000799")
        await harness.services.follows.request(requester, Conversation("wechat", OPENID),
                                               other)
        other_link = LINK.search(await sms_to("13800000799"))[0]
        async with harness.client.session.get(other_link) as response:
            csrf = _CSRF.search(await response.text())[1]
    else:
        jar.clear()
        await open_page(harness, asked)  # this browser's cookie; the field was another's
        assert _CSRF.search((await open_page(harness, asked))[1])[1] != csrf

    for decision in ("approve", "refuse"):
        status, page = await answer(harness, asked, decision, asked.code, csrf=csrf)
        assert status == 403 and heading(page) == "页面已失效"
    assert await state_of(asked) is RequestState.PENDING
    assert not await ConsentEvidence.exists()
    assert (await FollowRequest.get(id=asked.request_id)).code_tries == 0


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1:1"])
async def test_regression_a_post_from_another_origin_changes_nothing(harness, asked, origin):
    _, page = await open_page(harness, asked)
    status, page = await answer(harness, asked, "approve", asked.code,
                                csrf=_CSRF.search(page)[1], headers={"Origin": origin})

    assert status == 403 and heading(page) == "页面已失效"
    assert await state_of(asked) is RequestState.PENDING


@pytest.mark.parametrize("content_type, body", [
    ("multipart/form-data", b"--x\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n"),
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-da"),
    ("application/x-www-form-urlencoded", b"decision=approve&code=%FF%FE"),
    ("application/x-www-form-urlencoded", "decision=同意".encode()),
    ("application/x-www-form-urlencoded", b"code=" + b"1" * 5000),
    ("text/plain", b"decision=approve"),
], ids=["multipart without boundary", "broken multipart", "not UTF-8", "raw non-ASCII",
        "too large", "not a form"])
async def test_regression_a_malformed_form_gets_a_clear_answer_not_a_500(
        harness, asked, caplog, content_type, body):
    """aiohttp's request.post() raised on these (500, an ERROR with a traceback)."""
    await open_page(harness, asked)  # the browser holds the form cookie, as a real one would
    async with harness.client.session.post(
            asked.link, data=body, headers={"Content-Type": content_type,
                                            "Origin": str(URL(asked.link).origin())}) as response:
        assert response.status in (400, 413)
    assert await state_of(asked) is RequestState.PENDING
    assert not [record for record in caplog.records
                if record.levelno >= logging.ERROR or record.exc_info]


async def test_the_page_is_private(harness, asked):
    response, _ = await open_page(harness, asked)

    headers = response.headers
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    policy = headers["Content-Security-Policy"]
    for directive in ("default-src 'none'", "form-action 'self'", "frame-ancestors 'none'"):
        assert directive in policy
    assert "script-src" not in policy and "unsafe-inline" not in policy
    cookie = response.cookies["consent_form"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert cookie["path"] == asked.path  # sent back to this link only


async def test_regression_the_links_token_is_not_in_the_access_log(harness, asked, caplog):
    token = asked.path.rsplit("/", 1)[1]
    def access() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]

    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        await open_page(harness, asked)
        await answer(harness, asked, "approve", asked.wrong_code)
        async with asyncio.timeout(10):  # access lines are written after the response
            while not all(any(f'"{method} ' in line for line in access())
                          for method in ("GET", "POST")):
                await asyncio.sleep(0.02)
    lines = access()
    assert any(f'"GET /follow/consent/{token[:4]}***"' in line for line in lines), lines
    assert any(f'"POST /follow/consent/{token[:4]}***"' in line for line in lines), lines
    assert not any(token in line for line in lines)


class TestBehindAProxy:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.with_overrides(server={"forwarded_hops": 1})

    async def test_the_evidence_keeps_the_address_our_proxy_saw(self, harness, asked):
        # The client wrote the first address itself; our one proxy appended the second.
        await answer(harness, asked, "refuse",
                     headers={"X-Forwarded-For": "10.9.9.9, 203.0.113.7"})

        [evidence] = await ConsentEvidence.filter(request_id=asked.request_id)
        assert evidence.client_address == "203.0.113.7"


async def test_without_a_trusted_proxy_the_header_is_ignored(harness, asked):
    await answer(harness, asked, "refuse", headers={"X-Forwarded-For": "203.0.113.7"})

    [evidence] = await ConsentEvidence.filter(request_id=asked.request_id)
    assert evidence.client_address == "127.0.0.1"
