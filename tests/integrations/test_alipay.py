"""The Alipay SDK client with OpenSSL signing: the SDK's own signatures, byte for byte."""

from __future__ import annotations

import pytest
from alipay import AliPay

from bot.integrations.alipay import OpenSslAliPay, new_private_key, public_key_of

CONTENT = 'app_id=2021&biz_content={"to_user_id":"2088","text":"渝A12345 𠮷"}&sign_type=RSA2'


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    private = new_private_key()
    return private, public_key_of(private)


def clients(keys: tuple[str, str]) -> tuple[AliPay, OpenSslAliPay]:
    private, public = keys
    return tuple(kind("2021", app_private_key_string=private, alipay_public_key_string=public,
                      sign_type="RSA2") for kind in (AliPay, OpenSslAliPay))


def test_signatures_are_the_sdks_own(keys):
    sdk, ours = clients(keys)
    assert ours._sign(CONTENT) == sdk._sign(CONTENT)


def test_answers_are_checked_as_the_sdk_checks_them(keys):
    sdk, ours = clients(keys)
    signature = sdk._sign(CONTENT)
    assert ours._verify(CONTENT, signature) and sdk._verify(CONTENT, signature)
    assert not ours._verify(CONTENT + "x", signature)
    other = OpenSslAliPay("2021", app_private_key_string=new_private_key(),
                          alipay_public_key_string=keys[1], sign_type="RSA2")
    assert not ours._verify(CONTENT, other._sign(CONTENT))
    assert not ours._verify(CONTENT, "not base64!")
