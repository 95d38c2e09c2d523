"""The local Alipay gateway speaks Alipay's protocol to the unmodified python-alipay-sdk."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import pytest
from alipay import AliPay
from alipay.exceptions import AliPayException
from Cryptodome.PublicKey import RSA

from bot.config import load_settings
from bot.integrations.alipay import (
    alipay_client,
    new_private_key,
    pem,
    public_key_of,
    sandbox_app_key,
    sandbox_gateway_key,
)
from bot.sandbox.alipay import FakeAlipay
from tests.support.face import ID_NUMBER, NAME, open_page, press

INITIALIZE = "alipay.user.certify.open.initialize"
QUERY = "alipay.user.certify.open.query"


def initialize_biz(return_url: str = "http://127.0.0.1/face/return?ref=x") -> dict[str, Any]:
    return {"outer_order_no": "a" * 32, "biz_code": "FACE",
            "identity_param": {"identity_type": "CERT_INFO", "cert_type": "IDENTITY_CARD",
                               "cert_name": NAME, "cert_no": ID_NUMBER},
            "merchant_config": {"return_url": return_url}}


async def call(client: AliPay, method: str, biz: dict[str, Any]) -> dict[str, Any]:
    """The SDK is blocking; the gateway is served by this event loop."""
    return await asyncio.get_running_loop().run_in_executor(
        None, partial(client.server_api, method, biz))


@pytest.fixture
def client(harness) -> AliPay:
    return alipay_client(harness.settings, sandbox=True)


def test_generated_keys_stay_in_the_data_dir(tmp_path):
    settings = load_settings({}).with_overrides(server={"data_dir": str(tmp_path)})
    app_key, gateway_key = sandbox_app_key(settings), sandbox_gateway_key(settings)
    assert app_key != gateway_key
    assert (sandbox_app_key(settings), sandbox_gateway_key(settings)) == (app_key, gateway_key)
    assert FakeAlipay.for_settings(settings).appid == alipay_client(settings, sandbox=True).appid


def test_console_keys_are_wrapped_as_pem():
    private = new_private_key()
    bare = "".join(line for line in private.splitlines() if not line.startswith("-----"))
    wrapped = pem(bare, private=True)
    assert all(len(line) <= 64 for line in wrapped.splitlines())
    assert RSA.import_key(wrapped) == RSA.import_key(private)
    public_bare = "".join(public_key_of(private).splitlines()[1:-1])
    assert RSA.import_key(pem(public_bare, private=False)) == RSA.import_key(private).public_key()
    assert pem(private, private=True) == private.strip()


async def test_initialize_and_query_answers_pass_the_sdk_signature_check(client):
    started = await call(client, INITIALIZE, initialize_biz())
    assert started["code"] == "10000" and len(started["certify_id"]) == 32
    answer = await call(client, QUERY, {"certify_id": started["certify_id"]})
    assert answer["code"] == "10000" and answer["passed"] == "F"  # not done yet: Alipay says F


async def test_request_signed_with_another_key_is_refused(harness, client):
    impostor = AliPay(client.appid, app_private_key_string=new_private_key(),
                      alipay_public_key_string=public_key_of(sandbox_gateway_key(harness.settings)))
    impostor._gateway = client._gateway
    with pytest.raises(AliPayException, match=r"isv\.invalid-signature"):
        await call(impostor, INITIALIZE, initialize_biz())


async def test_unknown_app_id_is_refused(harness, client):
    stranger = AliPay("2021999999999999", app_private_key_string=sandbox_app_key(harness.settings),
                      alipay_public_key_string=public_key_of(sandbox_gateway_key(harness.settings)))
    stranger._gateway = client._gateway
    with pytest.raises(AliPayException, match=r"isv\.invalid-app-id"):
        await call(stranger, QUERY, {"certify_id": "0" * 32})


async def test_bad_arguments_and_unknown_certify_id_get_signed_business_errors(client):
    assert (await call(client, INITIALIZE, {**initialize_biz(), "biz_code": "SMART_FACE"}))[
        "sub_code"] == "isv.invalid-parameter"
    answer = await call(client, QUERY, {"certify_id": "0" * 32})
    assert (answer["code"], answer["sub_code"]) == ("40004", "OPEN_CERTIFY_BILL_NOT_EXIST")


async def test_certify_page_shows_masked_identity_and_records_the_first_press(harness, client):
    http = harness.client.session
    started = await call(client, INITIALIZE, initialize_biz("http://127.0.0.1/face/return?ref=r"))
    certify_id = started["certify_id"]
    link = client._gateway + "?" + client.client_api("alipay.user.certify.open.certify",
                                                     {"certify_id": certify_id})
    page = await open_page(http, link)
    assert "张*" in page and "1101**********002X" in page
    assert NAME not in page and ID_NUMBER not in page
    assert "通过" in page and "不通过" in page

    back = await press(http, link, page, "T")
    assert back == f"http://127.0.0.1/face/return?ref=r&certify_id={certify_id}"
    assert (await call(client, QUERY, {"certify_id": certify_id}))["passed"] == "T"

    await press(http, link, page, "F")  # a second press, from a second copy of the page
    assert (await call(client, QUERY, {"certify_id": certify_id}))["passed"] == "T"
    assert "本次认证已完成" in await open_page(http, link)


async def test_fail_reason_is_reported_only_when_the_extension_is_enabled(harness, client):
    http = harness.client.session
    for enabled in (False, True):
        harness.fake_alipay.fail_reason_enabled = enabled
        certify_id = (await call(client, INITIALIZE, initialize_biz()))["certify_id"]
        link = client._gateway + "?" + client.client_api("alipay.user.certify.open.certify",
                                                         {"certify_id": certify_id})
        await press(http, link, await open_page(http, link), "F")
        answer = await call(client, QUERY, {"certify_id": certify_id})
        assert answer["passed"] == "F"
        assert ("fail_reason" in answer) is enabled


async def test_tampered_certify_link_is_refused(harness, client):
    certify_id = (await call(client, INITIALIZE, initialize_biz()))["certify_id"]
    link = client._gateway + "?" + client.client_api("alipay.user.certify.open.certify",
                                                     {"certify_id": certify_id})
    async with harness.client.session.get(link.replace(certify_id, "f" * 32)) as response:
        assert response.status == 400
        assert "链接无效" in await response.text()
