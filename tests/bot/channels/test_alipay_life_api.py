"""The Alipay life-account push client against a real local HTTP server that speaks Alipay's
gateway: it checks our request signature and answers ``{"<method>_response": {...}, "sign":
...}`` signed with a test key. Scripted answers play 20000, slow answers, an unfollowed user
and an impostor's signature."""

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from alipay import AliPay
from alipay.utils import AliPayConfig
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from bot.channels.alipay_life_api import (
    CUSTOM_SEND,
    MENU_CREATE,
    TEMPLATE_SEND,
    AlipayLife,
    AlipayLifeAPI,
    AlipayLifeError,
)
from bot.channels.base import Pushed, Unreachable
from bot.integrations.alipay import new_private_key, public_key_of
from bot.messages import Link, Reply

APPID = "2021000000000009"
USER = "2088102122524333"
ALIPAY_KEY = new_private_key()
APP_KEY = new_private_key()
IMPOSTOR_KEY = new_private_key()
OK = {"code": "10000", "msg": "Success"}
BUSY = {"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "isp.unknow-error",
        "sub_msg": "系统繁忙"}
UNFOLLOWED = {"code": "40004", "msg": "Business Failed", "sub_code": "PUB.MSG_SD_NOFOLLOW",
              "sub_msg": "没有关注者，发送消息失败"}
TIMEOUT = 0.5


@dataclass
class Gateway:
    """Alipay's side: answers in order (then OK), the requests it accepted."""

    answers: list = field(default_factory=list)
    received: list[dict] = field(default_factory=list)
    refused: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        if not _signed_by_app(params):
            self.refused += 1
            return web.json_response({"error_response": {
                "code": "40002", "msg": "Invalid Arguments",
                "sub_code": "isv.invalid-signature", "sub_msg": "验签出错"}})
        answer = self.answers.pop(0) if self.answers else OK
        if answer == "slow":
            await asyncio.sleep(TIMEOUT * 3)
            answer = OK
        key = ALIPAY_KEY
        if answer == "impostor":
            answer, key = OK, IMPOSTOR_KEY
        self.received.append({"method": params["method"],
                              "biz": json.loads(params["biz_content"])})
        return _signed_answer(params["method"], answer, key)


def _signed_by_app(params: dict[str, str]) -> bool:
    content = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v)
    public = serialization.load_pem_public_key(public_key_of(APP_KEY).encode())
    try:
        public.verify(base64.b64decode(params.get("sign", "")), content.encode(),
                      padding.PKCS1v15(), hashes.SHA256())
    except Exception:
        return False
    return True


def _signed_answer(method: str, inner: dict, key_pem: str) -> web.Response:
    content = json.dumps(inner, ensure_ascii=False, separators=(",", ":"))
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    signature = base64.b64encode(key.sign(content.encode(), padding.PKCS1v15(),
                                          hashes.SHA256())).decode()
    name = method.replace(".", "_") + "_response"
    return web.Response(text=f'{{"{name}":{content},"sign":"{signature}"}}',
                        content_type="application/json")


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[Gateway, str]]:
    fake = Gateway()
    app = web.Application()
    app.router.add_get("/gateway.do", fake.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield fake, str(server.make_url("/gateway.do"))
    await server.close()


def client(url: str) -> AliPay:
    sdk = AliPay(APPID, app_private_key_string=APP_KEY,
                 alipay_public_key_string=public_key_of(ALIPAY_KEY), sign_type="RSA2",
                 config=AliPayConfig(timeout=TIMEOUT))
    sdk._gateway = url
    return sdk


def channel(url: str, tries: int = 3) -> AlipayLife:
    return AlipayLife(AlipayLifeAPI(client(url), tries=tries, backoff=0.01))


async def test_a_text_reply_is_pushed_as_custom_send_text(gateway):
    fake, url = gateway
    result = await channel(url).push(USER, Reply("请选择：", choices=("查询", "注册")))
    assert result == Pushed()
    text = {"content": "请选择：\n\n1. 查询\n2. 注册"}
    assert fake.received == [{"method": CUSTOM_SEND, "biz": {
        "to_user_id": USER, "msg_type": "text", "text": text}}]
    assert fake.refused == 0


async def test_a_reply_with_a_link_is_one_image_text_message(gateway):
    fake, url = gateway
    reply = Reply("请完成刷脸认证。", link=Link("开始刷脸认证", "https://example.test/face?x=1&y=2"))
    assert await channel(url).push(USER, reply) == Pushed()
    [sent] = fake.received
    assert sent["biz"] == {"to_user_id": USER, "msg_type": "image-text", "articles": [{
        "title": "开始刷脸认证", "desc": "请完成刷脸认证。",
        "url": "https://example.test/face?x=1&y=2", "action_name": "立即查看"}]}


async def test_service_unavailable_is_retried_then_pushed_once(gateway):
    fake, url = gateway
    fake.answers = [BUSY, BUSY]
    assert await channel(url).push(USER, Reply("好")) == Pushed()
    assert len(fake.received) == 3 and not fake.answers


async def test_service_unavailable_past_the_tries_raises_a_transient_error(gateway):
    fake, url = gateway
    fake.answers = [BUSY, BUSY, BUSY]
    with pytest.raises(AlipayLifeError) as raised:
        await channel(url).push(USER, Reply("好"))
    assert raised.value.transient and raised.value.code == "20000"
    assert len(fake.received) == 3


async def test_a_timeout_is_transient_and_retried(gateway):
    fake, url = gateway
    fake.answers = ["slow"]
    assert await channel(url).push(USER, Reply("好")) == Pushed()
    fake.answers = ["slow"]
    with pytest.raises(AlipayLifeError) as raised:
        await channel(url, tries=1).push(USER, Reply("好"))
    assert raised.value.transient


async def test_an_unfollowed_user_is_unreachable_not_an_error(gateway):
    fake, url = gateway
    fake.answers = [UNFOLLOWED]
    result = await channel(url).push(USER, Reply("好"))
    assert isinstance(result, Unreachable) and "PUB.MSG_SD_NOFOLLOW" in result.reason
    assert len(fake.received) == 1  # not retried


async def test_other_business_errors_raise_without_retry(gateway):
    fake, url = gateway
    fake.answers = [{"code": "40004", "msg": "Business Failed", "sub_code": "OTHER"}]
    with pytest.raises(AlipayLifeError) as raised:
        await channel(url).push(USER, Reply("好"))
    assert not raised.value.transient and len(fake.received) == 1


async def test_an_answer_signed_by_another_key_is_refused_not_retried(gateway):
    fake, url = gateway
    fake.answers = ["impostor"]
    with pytest.raises(AlipayLifeError) as raised:
        await channel(url).push(USER, Reply("好"))
    assert not raised.value.transient and len(fake.received) == 1


async def test_an_unsigned_gateway_error_keeps_its_code():
    """Nobody answers a request signed by another app key: the gateway's error_response."""
    fake = Gateway()
    app = web.Application()
    app.router.add_get("/gateway.do", fake.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        sdk = AliPay(APPID, app_private_key_string=new_private_key(),
                     alipay_public_key_string=public_key_of(ALIPAY_KEY), sign_type="RSA2")
        sdk._gateway = str(server.make_url("/gateway.do"))
        with pytest.raises(AlipayLifeError) as raised:
            await AlipayLifeAPI(sdk, backoff=0.01).send(USER, Reply("好"))
    finally:
        await server.close()
    assert (raised.value.code, raised.value.sub_code) == ("40002", "isv.invalid-signature")
    assert not raised.value.transient and fake.refused == 1


async def test_nobody_listening_is_transient():
    with pytest.raises(AlipayLifeError) as raised:
        await channel("http://127.0.0.1:9/gateway.do", tries=2).push(USER, Reply("好"))
    assert raised.value.transient


async def test_templates_and_the_menu_use_their_methods(gateway):
    fake, url = gateway
    api = AlipayLifeAPI(client(url), backoff=0.01)
    await api.send_template(USER, "tpl-1", {"first": "缴款成功", "keyword1": "200元"},
                            url="https://example.test/pay")
    await api.create_menu({"button": [{"name": "查询", "action_type": "out",
                                       "action_param": "QUERY"}]})
    template, menu = fake.received
    assert template["method"] == TEMPLATE_SEND
    assert template["biz"]["to_user_id"] == USER
    assert template["biz"]["template"]["template_id"] == "tpl-1"
    assert template["biz"]["template"]["context"]["keyword1"]["value"] == "200元"
    assert template["biz"]["template"]["context"]["url"] == "https://example.test/pay"
    assert menu == {"method": MENU_CREATE, "biz": {"button": [
        {"name": "查询", "action_type": "out", "action_param": "QUERY"}]}}
