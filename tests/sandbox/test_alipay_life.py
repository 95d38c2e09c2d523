"""The simulated Alipay life-account platform: its push API (custom.send, single.send, menu)
answers the unmodified python-alipay-sdk as Alipay does, and its side of the gateway
(AlipayLifeUser) signs forms and checks acknowledgements by Alipay's rules."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.error import URLError
from urllib.parse import parse_qsl

import pytest
from aiohttp import web
from alipay import AliPay
from alipay.exceptions import AliPayException
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from bot.integrations.alipay import (
    SANDBOX_GATEWAY_PATH,
    alipay_client,
    new_private_key,
    public_key_of,
    sandbox_app_key,
    sandbox_gateway_key,
)
from bot.sandbox.alipay import CUSTOM_SEND, MENU_CREATE, MENU_MODIFY, SINGLE_SEND
from bot.sandbox.alipay_life_client import Ack, AckError, as_text
from bot.services import SERVICES
from models.outbox import OutboxMessage
from tests.sandbox.test_alipay import call
from tests.support.servers import free_port

USER = "2088000000000001"
ARTICLE = {"title": "刷脸认证", "desc": "请在支付宝内完成刷脸认证",
           "url": "http://127.0.0.1/face?a=1&b=2", "action_name": "开始认证"}
MENU = {"button": [
    {"name": "查询", "sub_button": [
        {"name": "查询车辆违法", "action_type": "out", "action_param": "QUERY_VEHICLE"},
        {"name": "查询驾驶证", "action_type": "out", "action_param": "QUERY_LICENCE"}]},
    {"name": "实名注册", "action_type": "out", "action_param": "REGISTER"}]}


def text(user: str = USER, content: str = "您好，𠮷") -> dict[str, Any]:
    return {"to_user_id": user, "msg_type": "text", "text": {"content": content}}


@pytest.fixture
def client(harness) -> AliPay:
    return alipay_client(harness.settings, sandbox=True)


async def sent(kind: str = "") -> list[tuple[str, str, dict]]:
    query = OutboxMessage.all().order_by("id")
    return [(m.kind, m.recipient, m.body) for m in await (query.filter(kind=kind) if kind
                                                           else query)]


async def test_text_and_image_text_pushes_land_in_the_outbox(client):
    assert (await call(client, CUSTOM_SEND, text()))["code"] == "10000"
    image_text = {"to_user_id": USER, "msg_type": "image-text", "articles": [ARTICLE]}
    assert (await call(client, CUSTOM_SEND, image_text))["code"] == "10000"
    assert await sent() == [("alipay.text", USER, {"text": "您好，𠮷"}),
                            ("alipay.image_text", USER, {"articles": [ARTICLE]})]


async def test_template_push_lands_in_the_outbox(client):
    context = {"head_color": "#85be53", "url": "http://127.0.0.1/v", "action_name": "查看详情",
               "keyword1": {"color": "#000000", "value": "渝A12345"},
               "first": {"color": "#000000", "value": "您有新的交通违法"}}
    answer = await call(client, SINGLE_SEND, {"to_user_id": USER, "template": {
        "template_id": "TPL1", "context": context}})
    assert answer["code"] == "10000"
    assert await sent() == [("alipay.template", USER, {"template_id": "TPL1",
                                                       "context": context})]


async def test_malformed_pushes_get_signed_business_errors_and_send_nothing(client):
    for biz in (text(content=""), {**text(), "msg_type": "voice"}, text(user=""),
                {"to_user_id": USER, "msg_type": "image-text", "articles": []},
                {"to_user_id": USER, "msg_type": "image-text",
                 "articles": [{**ARTICLE, "url": "javascript:alert(1)"}]},
                {"to_user_id": USER, "template": {"template_id": "T"}}):
        method = SINGLE_SEND if "template" in biz else CUSTOM_SEND
        answer = await call(client, method, biz)
        assert (answer["code"], answer["sub_code"]) == ("40002", "isv.invalid-parameter"), biz
    assert await sent() == []


async def test_menu_is_recorded_for_the_account_and_checked_by_alipays_rules(harness, client):
    appid = client.appid
    assert (await call(client, MENU_CREATE, MENU))["code"] == "10000"
    changed = {"button": [*MENU["button"], {"name": "我的账户", "action_type": "out",
                                            "action_param": "ACCOUNT"}]}
    assert (await call(client, MENU_MODIFY, changed))["code"] == "10000"
    assert harness.fake_alipay.menu == changed
    assert await sent("alipay.menu") == [("alipay.menu", appid, MENU),
                                         ("alipay.menu", appid, changed)]
    too_many = {"button": [MENU["button"][1]] * 5}
    long_name = {"button": [{**MENU["button"][1], "name": "查询机动车交通违法记录"}]}
    no_param = {"button": [{"name": "注册", "action_type": "out"}]}
    six_below = {"button": [{"name": "查询", "sub_button": [MENU["button"][1]] * 6}]}
    for menu in (too_many, long_name, no_param, six_below, {"button": []}):
        assert (await call(client, MENU_CREATE, menu))["code"] == "40002", menu
    assert harness.fake_alipay.menu == changed


async def test_push_signed_with_another_key_is_refused_and_not_sent(harness, client):
    impostor = AliPay(client.appid, app_private_key_string=new_private_key(),
                      alipay_public_key_string=public_key_of(sandbox_gateway_key(harness.settings)))
    impostor._gateway = client._gateway
    with pytest.raises(AliPayException, match=r"isv\.invalid-signature"):
        await call(impostor, CUSTOM_SEND, text())
    assert await sent() == []


async def test_an_unfollowed_user_is_unreachable_until_they_follow_again(harness, client):
    user = harness.alipay_user(USER)
    await user.set_following(False)
    answer = await call(client, CUSTOM_SEND, text())
    assert (answer["code"], answer["sub_code"]) == ("40004", "PUB.MSG_SD_NOFOLLOW")
    template = {"to_user_id": USER, "template": {"template_id": "T", "context": {}}}
    assert (await call(client, SINGLE_SEND, template))["sub_code"] == "PUB.MSG_SD_NOFOLLOW"
    assert (await call(client, CUSTOM_SEND, text(user="2088000000000002")))["code"] == "10000"
    await user.set_following(True)
    assert (await call(client, CUSTOM_SEND, text()))["code"] == "10000"
    assert [recipient for _, recipient, _ in await sent()] == ["2088000000000002", USER]


async def test_scripted_busy_and_unreachable_answers_then_normal_service(harness, client):
    harness.fake_alipay.busy(2)
    for _ in range(2):
        answer = await call(client, CUSTOM_SEND, text())
        assert (answer["code"], answer["sub_code"]) == ("20000", "isp.unknow-error")
    harness.fake_alipay.unreachable(1)
    assert (await call(client, CUSTOM_SEND, text()))["sub_code"] == "PUB.MSG_SD_NOFOLLOW"
    assert (await call(client, CUSTOM_SEND, text()))["code"] == "10000"
    assert len(await sent()) == 1


async def test_face_verification_is_not_affected_by_scripted_push_failures(harness, client):
    from tests.sandbox.test_alipay import INITIALIZE, initialize_biz

    harness.fake_alipay.busy(1)
    assert (await call(client, INITIALIZE, initialize_biz()))["code"] == "10000"
    assert (await call(client, CUSTOM_SEND, text()))["code"] == "20000"


@contextlib.asynccontextmanager
async def served_as_serve_does(harness) -> AsyncIterator[str]:
    """The fake on a runner configured like `serve` (web.run_app): a handler whose client
    hung up runs on (the test server cancels it instead). Yields its gateway URL."""
    app = web.Application()
    app[SERVICES] = harness.services
    app.add_routes(harness.fake_alipay.routes())
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}{SANDBOX_GATEWAY_PATH}"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("runner", ["test server", "serve"])
async def test_slow_answer_timed_out_is_not_delivered_and_a_retry_is_once(harness, client,
                                                                         runner):
    async with contextlib.AsyncExitStack() as stack:
        if runner == "serve":
            client._gateway = await stack.enter_async_context(served_as_serve_does(harness))
        harness.fake_alipay.slow(1, 1.0)
        client._config.timeout = 0.3
        started = time.monotonic()
        with pytest.raises((TimeoutError, socket.timeout, URLError)):
            await call(client, CUSTOM_SEND, text())
        assert time.monotonic() - started < 0.9
        await asyncio.sleep(1.2)  # the gateway wakes up, finds its caller gone
        assert await sent() == []
        assert (await call(client, CUSTOM_SEND, text()))["code"] == "10000"
        assert len(await sent()) == 1


async def test_slow_answer_waited_for_is_delivered(harness, client):
    harness.fake_alipay.slow(1, 0.4)
    started = time.monotonic()
    assert (await call(client, CUSTOM_SEND, text()))["code"] == "10000"
    assert time.monotonic() - started >= 0.4
    assert len(await sent()) == 1


# The platform's side of the gateway: forms and acknowledgements.

def _verify(public_pem: str, signature: str, content: bytes) -> bool:
    key = serialization.load_pem_public_key(public_pem.encode())
    try:
        key.verify(base64.b64decode(signature), content, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("charset", ["GBK", "UTF-8"])
async def test_form_signs_every_field_but_sign_in_its_charset(harness, charset):
    user = harness.alipay_user(USER, charset=charset)
    form = user.form(user.text_xml("查询𠮷", msg_id="m1"))
    assert set(form) == {"service", "sign_type", "charset", "biz_content", "sign"}
    arrived = "查询?" if charset == "GBK" else "查询𠮷"  # GBK has no 𠮷: Java writes "?"
    assert f"<Content><![CDATA[{arrived}]]></Content>" in form["biz_content"]
    content = (f"biz_content={form['biz_content']}&charset={charset}"
               f"&service=alipay.mobile.public.message.notify&sign_type=RSA2")
    gateway_public = public_key_of(sandbox_gateway_key(harness.settings))
    assert _verify(gateway_public, form["sign"], content.encode(charset))
    without_sign_type = content.removesuffix("&sign_type=RSA2")
    assert not _verify(gateway_public, form["sign"], without_sign_type.encode(charset))

    body = user.body(form)
    assert body.isascii()
    assert ("%B2%E9%D1%AF" if charset == "GBK" else "%E6%9F%A5%E8%AF%A2").encode() in body
    decoded = dict(parse_qsl(body.decode(), encoding=charset, errors="strict"))
    assert decoded == form


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_events_in_one_millisecond_get_distinct_create_times(harness):
    user = harness.alipay_user(USER)
    times = {user.event_xml("click", "QUERY_VEHICLE").split("<CreateTime>")[1][:13]
             for _ in range(5)}
    assert len(times) == 5


def _ack(key_pem: str, response: str, *, sign_type: str = "RSA2") -> Ack:
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    signature = base64.b64encode(key.sign(response.encode("gbk"), padding.PKCS1v15(),
                                          hashes.SHA256())).decode()
    body = (f'<?xml version="1.0" encoding="GBK"?><alipay><response>{response}</response>'
            f"<sign>{signature}</sign><sign_type>{sign_type}</sign_type></alipay>")
    return Ack(200, body.encode("gbk"))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_acknowledgement_is_checked_with_the_services_public_key(harness):
    user = harness.alipay_user(USER)
    response = (f"<XML><ToUserId><![CDATA[{USER}]]></ToUserId><AppId><![CDATA[{user.appid}]]>"
                "</AppId><CreateTime>1700000000000</CreateTime>"
                "<MsgType><![CDATA[ack]]></MsgType></XML>")
    ours = sandbox_app_key(harness.settings)
    assert user.check_ack(_ack(ours, response)) == response
    for forged in (_ack(new_private_key(), response), _ack(ours, response, sign_type="RSA"),
                   Ack(200, b"success"), Ack(403, _ack(ours, response).body)):
        with pytest.raises(AckError):
            user.check_ack(forged)
    tampered = _ack(ours, response)
    tampered.body = tampered.body.replace(USER.encode(), b"2088000000000002")
    with pytest.raises(AckError):
        user.check_ack(tampered)


def test_pushed_messages_read_as_text_with_links_as_anchors():
    assert as_text("alipay.text", {"text": "您好"}) == "您好"
    assert as_text("alipay.image_text", {"articles": [ARTICLE]}) == (
        '刷脸认证\n请在支付宝内完成刷脸认证\n<a href="http://127.0.0.1/face?a=1&b=2">开始认证</a>')
    assert as_text("alipay.template", {"template_id": "T", "context": {
        "url": "http://x/y", "action_name": "查看", "first": {"value": "新违法"}}}) == (
        'first：新违法\n<a href="http://x/y">查看</a>')
