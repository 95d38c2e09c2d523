"""A complete production configuration made of test values, for tests of production mode."""

from __future__ import annotations


def production_environ(**overrides: str) -> dict[str, str]:
    """BOT__ variables that production mode accepts; ``overrides`` replace or add some.

    The Alipay keys are placeholders (configuration checks only that they are set); a test
    that builds the Alipay client overrides them with real PEM keys.
    """
    return {
        "BOT__SERVER__MODE": "production",
        "BOT__SERVER__PUBLIC_URL": "https://jiaojing.example.test",
        "BOT__DATABASE__URL": "postgres://bot:test-password@127.0.0.1:5432/traffic",
        "BOT__REDIS__URL": "redis://127.0.0.1:6379/0",
        "BOT__WECHAT__APPID": "wx0123456789abcdef",
        "BOT__WECHAT__SECRET": "test-wechat-secret",
        "BOT__WECHAT__TOKEN": "test-console-token",
        "BOT__FACE__PROVIDER": "alipay",
        "BOT__ALIPAY_LIFE__PROVIDER": "alipay",
        "BOT__ALIPAY__APPID": "2021000000000001",
        "BOT__ALIPAY__APP_PRIVATE_KEY": "test-app-private-key",
        "BOT__ALIPAY__ALIPAY_PUBLIC_KEY": "test-alipay-public-key",
        "BOT__SMS__PROVIDER": "aliyun",
        "BOT__SMS__ACCESS_KEY_ID": "test-access-key-id",
        "BOT__SMS__ACCESS_KEY_SECRET": "test-access-key-secret",
        "BOT__SMS__SIGN_NAME": "交警服务",
        "BOT__SMS__TEMPLATE_CODE": "SMS_000000001",
        "BOT__SMS__CODE_PEPPER": "test-code-pepper",
        "BOT__FOLLOW__SMS_TEMPLATE_CODE": "SMS_000000002",
        "BOT__PROCESSING__SMS_TEMPLATE_CODE": "SMS_000000003",
        "BOT__PAYMENT__PROVIDER": "alipay",
        "BOT__PAYMENT__SELLER_ID": "2088000000000009",
    } | overrides
