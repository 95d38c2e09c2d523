"""The Aliyun SendSms adapter: its signer against Aliyun's documented examples, and the whole
adapter over real HTTP against the local fake, which recomputes every signature.
"""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.integrations.sms import (
    AliyunSmsSender,
    SmsError,
    rpc_signature,
    rpc_string_to_sign,
)
from models.outbox import OutboxMessage
from models.verification import Outcome, Verification
from tests.support.harness import Harness
from tests.support.sms import code_of

PHONE = "13812345678"
ALICE = "wechat:openid-alice"
ID_NUMBER = "11010519491231002X"


def test_signature_of_the_rpc_documentation_example():
    # Aliyun's RPC signature document (ECS DescribeRegions), AccessKey testid / testsecret.
    params = {"TimeStamp": "2016-02-23T12:46:24Z", "Format": "XML", "AccessKeyId": "testid",
              "Action": "DescribeRegions", "SignatureMethod": "HMAC-SHA1",
              "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "Version": "2014-05-26",
              "SignatureVersion": "1.0"}
    assert rpc_string_to_sign("GET", params) == (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML"
        "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"
        "%26SignatureVersion%3D1.0%26TimeStamp%3D2016-02-23T12%253A46%253A24Z"
        "%26Version%3D2014-05-26")
    assert rpc_signature("testsecret", "GET", params) == "CT9X0VtwR86fNWSnsc6v8YGOjuE="


def test_signature_of_the_sendsms_documentation_example():
    # Aliyun SMS "HTTP protocol and signature" example, AccessKey testId / testSecret.
    params = {"AccessKeyId": "testId", "Timestamp": "2017-07-12T02:42:19Z", "Format": "XML",
              "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
              "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466", "Action": "SendSms",
              "Version": "2017-05-25", "RegionId": "cn-hangzhou", "PhoneNumbers": "15300000001",
              "SignName": "阿里云短信测试专用", "TemplateParam": '{"customer":"test"}',
              "TemplateCode": "SMS_71390007", "OutId": "123"}
    assert rpc_string_to_sign("GET", params) == (
        "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123"
        "%26PhoneNumbers%3D15300000001%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF"
        "%25E9%2587%258C%25E4%25BA%2591%25E7%259F%25AD%25E4%25BF%25A1%25E6%25B5%258B%25E8"
        "%25AF%2595%25E4%25B8%2593%25E7%2594%25A8%26SignatureMethod%3DHMAC-SHA1"
        "%26SignatureNonce%3D45e25e9b-0a6f-4070-8c85-2956eda1b466%26SignatureVersion%3D1.0"
        "%26TemplateCode%3DSMS_71390007%26TemplateParam%3D%257B%2522customer%2522%253A"
        "%2522test%2522%257D%26Timestamp%3D2017-07-12T02%253A42%253A19Z"
        "%26Version%3D2017-05-25")
    assert rpc_signature("testSecret", "GET", params) == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The app sends through the Aliyun adapter, pointed at its own fake."""
    return settings.with_overrides(sms={
        "provider": "aliyun", "access_key_id": "LTAI-test-id", "access_key_secret": "test-secret",
        "sign_name": "交管服务", "template_code": "SMS_270000001", "code_pepper": "test-pepper",
        "endpoint": f"http://127.0.0.1:{settings.server.port}/sandbox/aliyun-sms/"})


def sender(harness: Harness, **changes: str) -> AliyunSmsSender:
    sms = harness.settings.sms
    options = {"endpoint": sms.endpoint, "access_key_id": sms.access_key_id,
               "access_key_secret": sms.access_key_secret, "sign_name": sms.sign_name,
               **changes}
    return AliyunSmsSender(harness.services.http, **options)


async def test_the_fake_accepts_a_signed_send(harness: Harness):
    assert isinstance(harness.services.sms_sender, AliyunSmsSender)
    await harness.services.sms_sender.send(PHONE, "SMS_270000001", {"code": "012345"}, "out-1")
    [sms] = await harness.outbox(PHONE)
    assert sms.kind == "sms" and sms.body["out_id"] == "out-1"
    assert sms.body["params"] == {"code": "012345"}
    assert sms.body["text"] == (
        "【交管服务】您的验证码为012345，用于交管业务身份验证，请勿泄露给他人。")


@pytest.mark.parametrize(("changes", "code"), [
    ({"access_key_secret": "wrong-secret"}, "SignatureDoesNotMatch"),
    ({"access_key_id": "LTAI-unknown"}, "InvalidAccessKeyId.NotFound"),
    ({"sign_name": "别的签名"}, "isv.SMS_SIGNATURE_ILLEGAL"),
])
async def test_the_fake_refuses_like_aliyun(harness: Harness, changes: dict, code: str):
    with pytest.raises(SmsError) as refused:
        await sender(harness, **changes).send(PHONE, "SMS_270000001", {"code": "1"}, "out-1")
    assert refused.value.code == code and not refused.value.transient
    assert not await OutboxMessage.exists()


@pytest.mark.parametrize(("template", "params", "code"), [
    ("SMS_999", {"code": "1"}, "isv.SMS_TEMPLATE_ILLEGAL"),
    ("SMS_270000001", {}, "isv.TEMPLATE_MISSING_PARAMETERS"),
])
async def test_unknown_template_or_missing_parameter(harness: Harness, template: str,
                                                    params: dict, code: str):
    with pytest.raises(SmsError) as refused:
        await sender(harness).send(PHONE, template, params, "out-1")
    assert refused.value.code == code


async def test_aliyun_flow_control_is_an_sms_error(harness: Harness):
    aliyun = sender(harness)
    await aliyun.send(PHONE, "SMS_270000001", {"code": "111111"}, "out-1")
    with pytest.raises(SmsError) as refused:
        await aliyun.send(PHONE, "SMS_270000001", {"code": "222222"}, "out-2")
    assert refused.value.code == "isv.BUSINESS_LIMIT_CONTROL" and not refused.value.transient


async def test_missing_fields_and_replayed_nonce(harness: Harness):
    url = sender(harness).signed_url({"Action": "SendSms", "Version": "2017-05-25",
                                      "SignName": "交管服务", "TemplateCode": "SMS_270000001"})
    async with harness.services.http.get(url) as response:
        assert response.status == 400
        assert (await response.json())["Code"] == "MissingPhoneNumbers"
    async with harness.services.http.get(url) as response:
        assert (await response.json())["Code"] == "SignatureNonceUsed"


async def test_a_code_goes_out_through_aliyun(harness: Harness):
    codes = harness.services.sms_codes
    asked = await codes.request(purpose="register", subject=ALICE, phone=PHONE,
                                subject_id_number=ID_NUMBER)
    code = await code_of(asked.out_id)
    assert (await codes.verify(purpose="register", subject=ALICE, phone=PHONE,
                                   code=code)).ok
    assert (await Verification.get(reference=asked.out_id)).outcome == Outcome.PASSED
