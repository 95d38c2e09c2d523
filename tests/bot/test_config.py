"""Settings: config.toml defaults, a BOT_CONFIG file, BOT__SECTION__KEY variables, and errors
that name the key in one line without ever showing a secret."""

from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings
from tests.support.production import production_environ

SECRET = "do-not-print-me-0123456789"


def config_error(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_defaults_load_from_config_toml():
    settings = load_settings({})
    assert settings.server.port == 8080
    assert settings.wechat.reply_budget == 4.0
    assert settings.wechat.max_body_bytes == 65536
    assert settings.session.ttl == 1800
    assert settings.wechat.sandbox


def test_a_bot_config_file_overrides_some_keys(tmp_path: Path):
    override = tmp_path / "prod.toml"
    override.write_text('[server]\nport = 9001\n[wechat]\nreply_budget = 3\n', encoding="utf-8")
    settings = load_settings({"BOT_CONFIG": str(override)})
    assert settings.server.port == 9001
    assert settings.wechat.reply_budget == 3.0
    assert settings.server.host == "127.0.0.1"  # untouched keys keep their defaults


def test_environment_overrides_are_coerced_to_the_declared_types(tmp_path: Path):
    override = tmp_path / "prod.toml"
    override.write_text("[server]\nport = 9001\n", encoding="utf-8")
    settings = load_settings({"BOT_CONFIG": str(override), "BOT__SERVER__PORT": "9002",
                              "BOT__JOBS__IN_PROCESS": "false",
                              "BOT__WECHAT__REPLY_BUDGET": "1.5",
                              "BOT__WECHAT__ENCODING_AES_KEY": "k" * 43})
    assert settings.server.port == 9002  # the environment wins over the file
    assert settings.jobs.in_process is False
    assert settings.wechat.reply_budget == 1.5
    assert settings.wechat.encoding_aes_key == "k" * 43


@pytest.mark.parametrize(("environ", "named"), [
    ({"BOT__SERVER__PORT": "eighty"}, "BOT__SERVER__PORT"),
    ({"BOT__SERVER__PORT": "70000"}, "server.port"),
    ({"BOT__JOBS__IN_PROCESS": "maybe"}, "BOT__JOBS__IN_PROCESS"),
    ({"BOT__WECHAT__REPLY_BUDGET": "6"}, "wechat.reply_budget"),
    ({"BOT__SESSION__TURN_LEASE": "30"}, "session.turn_lease"),
    ({"BOT__REDIS__TIMEOUT": "0"}, "redis.timeout"),
    ({"BOT__WECHAT__TOKNE": "x"}, "wechat.tokne"),
    ({"BOT__WEBCHAT__TOKEN": "x"}, "[webchat]"),
    ({"BOT__TOKEN": "x"}, "BOT__TOKEN"),
])
def test_invalid_values_and_unknown_keys_name_the_key(environ: dict[str, str], named: str):
    assert named in config_error(environ)


@pytest.mark.parametrize(("content", "named"), [
    ('[wechat]\ntoken = 42\n', "wechat.token"),
    ('[wechat]\nsecrett = "x"\n', "wechat.secrett"),
    ('wechat = "not a table"\n', "wechat"),
    (f'[wechat]\ntoken = {SECRET}\n', "line 2"),  # not TOML: an unquoted string
])
def test_a_bad_override_file_is_one_line(tmp_path: Path, content: str, named: str):
    override = tmp_path / "bad.toml"
    override.write_text(content, encoding="utf-8")
    message = config_error({"BOT_CONFIG": str(override)})
    assert named in message
    assert SECRET not in message


def test_a_missing_override_file_is_named(tmp_path: Path):
    missing = tmp_path / "absent.toml"
    assert str(missing) in config_error({"BOT_CONFIG": str(missing)})


@pytest.mark.parametrize(("key", "value", "named"), [
    ("BOT__WECHAT__ENCODING_AES_KEY", SECRET, "wechat.encoding_aes_key"),  # wrong length
    ("BOT__WECHAT__SECRET", SECRET, "wechat.secret"),  # a secret without its appid
    ("BOT__ALIPAY__APPID", "2021000000000000", "alipay.app_private_key"),  # key missing
    ("BOT__DATABASE__URL", f"mysql://root:{SECRET}@db/traffic", "database.url"),
    ("BOT__REDIS__URL", f"http://:{SECRET}@cache", "redis.url"),
])
def test_errors_about_secrets_never_show_them(key: str, value: str, named: str):
    message = config_error({key: value})
    assert named in message
    assert SECRET not in message


def test_secrets_are_absent_from_the_settings_repr():
    settings = load_settings({
        "BOT__WECHAT__APPID": "wx1234567890", "BOT__WECHAT__SECRET": SECRET + "1",
        "BOT__WECHAT__TOKEN": SECRET + "2", "BOT__WECHAT__ENCODING_AES_KEY": "s" * 43,
        "BOT__DATABASE__URL": f"postgres://bot:{SECRET}3@db/traffic",
        "BOT__REDIS__URL": f"redis://:{SECRET}4@cache:6379/0",
    })
    shown = repr(settings) + str(settings)
    assert "wx1234567890" in shown  # the appid is not a secret
    assert SECRET not in shown
    assert "s" * 43 not in shown


def test_with_overrides_validates_like_the_file():
    settings = load_settings({})
    assert isinstance(settings.with_overrides(server={"port": 9003}), Settings)
    with pytest.raises(ConfigError, match=r"server\.port"):
        settings.with_overrides(server={"port": "not a port"})


# ---- modes: production takes no sandbox provider and no embedded store ----------------------

SIMULATOR = "http://127.0.0.1:8080/sandbox"


@pytest.mark.parametrize(("mode", "wechat_appid", "face", "sms", "refused"), [
    ("sandbox", "", "sandbox", "sandbox", None),
    ("sandbox", "wx0123456789abcdef", "sandbox", "sandbox", None),
    ("sandbox", "", "alipay", "sandbox", None),
    ("sandbox", "", "sandbox", "aliyun", None),
    ("sandbox", "wx0123456789abcdef", "alipay", "aliyun", None),
    ("production", "wx0123456789abcdef", "alipay", "aliyun", None),
    ("production", "", "alipay", "aliyun", "wechat.appid"),
    ("production", "wx0123456789abcdef", "sandbox", "aliyun", "face.provider"),
    ("production", "wx0123456789abcdef", "alipay", "sandbox", "sms.provider"),
    ("production", "", "sandbox", "sandbox", "wechat.appid"),
])
def test_the_provider_and_mode_matrix(mode: str, wechat_appid: str, face: str, sms: str,
                                      refused: str | None):
    environ = production_environ(BOT__SERVER__MODE=mode, BOT__WECHAT__APPID=wechat_appid,
                                 BOT__WECHAT__SECRET="test-wechat-secret" if wechat_appid else "",
                                 BOT__FACE__PROVIDER=face, BOT__SMS__PROVIDER=sms)
    if refused is None:
        settings = load_settings(environ)
        assert (settings.server.mode, settings.sandbox) == (mode, mode == "sandbox")
        assert (settings.face.provider, settings.sms.provider) == (face, sms)
    else:
        message = config_error(environ)
        assert message.startswith(f"{refused}: ")
        assert "production mode" in message


@pytest.mark.parametrize(("overrides", "named"), [
    ({"BOT__WECHAT__TOKEN": "sandbox-token"}, "wechat.token"),
    ({"BOT__WECHAT__API_BASE": f"{SIMULATOR}/wechat"}, "wechat.api_base"),
    ({"BOT__ALIPAY__GATEWAY": f"{SIMULATOR}/alipay/gateway.do"}, "alipay.gateway"),
    ({"BOT__SMS__ENDPOINT": f"{SIMULATOR}/aliyun-sms/"}, "sms.endpoint"),
    ({"BOT__DATABASE__URL": ""}, "database.url"),
    ({"BOT__DATABASE__URL": "sqlite:///srv/bot/traffic.sqlite3"}, "database.url"),
    ({"BOT__REDIS__URL": ""}, "redis.url"),
    ({"BOT__SERVER__PUBLIC_URL": ""}, "server.public_url"),
    ({"BOT__SERVER__PUBLIC_URL": "http://jiaojing.example.test"}, "server.public_url"),
    ({"BOT__ALIPAY__APPID": ""}, "alipay.appid"),
    ({"BOT__SMS__CODE_PEPPER": ""}, "sms.code_pepper"),
    ({"BOT__SERVER__MODE": "staging"}, "server.mode"),
])
def test_production_names_each_missing_key_and_sandbox_fallback(overrides: dict[str, str],
                                                                named: str):
    message = config_error(production_environ(**overrides))
    assert message.startswith(f"{named}: ")
    assert "test-password" not in message  # the database URL's password


@pytest.mark.parametrize(("overrides", "named"), [
    ({"BOT__ALIPAY__GATEWAY": "https://openapi-sandbox.dl.alipaydev.com/gateway.do"},
     "alipay.gateway"),
    ({"BOT__ALIPAY__GATEWAY": "http://openapi.alipay.com/gateway.do"}, "alipay.gateway"),
    ({"BOT__SMS__ENDPOINT": "http://dysmsapi.aliyuncs.com/"}, "sms.endpoint"),
])
def test_regression_production_refuses_alipays_sandbox_and_plain_http_endpoints(
        overrides: dict[str, str], named: str):
    """Production started with Alipay's own sandbox gateway, whose face checks prove nothing,
    and with outside endpoints over plain http (keys and codes in clear, answers forgeable)."""
    assert config_error(production_environ(**overrides)).startswith(f"{named}: ")
    real = production_environ(BOT__ALIPAY__GATEWAY="https://openapi.alipay.com/gateway.do",
                              BOT__SMS__ENDPOINT="https://dysmsapi.aliyuncs.com/")
    assert load_settings(real).server.production


def test_regression_face_provider_alipay_without_keys_is_refused_in_sandbox_mode_too():
    """It used to pass the check, start Redis, seed demo data and then die with a traceback."""
    assert config_error({"BOT__FACE__PROVIDER": "alipay"}).startswith("alipay.appid: ")


# ---- the Alipay life account ----------------------------------------------------------------

def test_alipay_life_sandbox_provider_is_refused_in_production():
    message = config_error(production_environ(BOT__ALIPAY_LIFE__PROVIDER="sandbox"))
    assert message.startswith("alipay_life.provider: ")


def test_alipay_life_provider_alipay_needs_the_alipay_application():
    message = config_error({"BOT__ALIPAY_LIFE__PROVIDER": "alipay"})
    assert message.startswith("alipay.appid: ")


def test_regression_freshness_window_at_or_over_the_dedupe_ttl_is_refused():
    """A signed form replayed after the inbox forgot its message id but within the window
    would be acted on again."""
    message = config_error({"BOT__ALIPAY_LIFE__FRESHNESS_WINDOW": "600",
                            "BOT__WECHAT__DEDUPE_TTL": "600"})
    assert message.startswith("alipay_life.freshness_window: ")
