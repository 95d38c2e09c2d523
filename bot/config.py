"""Settings: config.toml defaults, an optional BOT_CONFIG file, then BOT__SECTION__KEY variables.

Each section is a dataclass whose fields mirror config.toml, so a typo in an override file or
an environment variable is an error that names the key rather than a silently ignored value.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit

DEFAULTS_FILE = Path(__file__).resolve().parent.parent / "config.toml"
ENV_PREFIX = "BOT__"


class ConfigError(Exception):
    """One line naming the offending key; never includes a secret's value."""


def hidden() -> Any:
    """A field whose value must never be printed."""
    return field(repr=False, metadata={"secret": True})


@dataclass(frozen=True)
class ServerConfig:
    mode: str
    host: str
    port: int
    data_dir: str
    public_url: str
    log_level: str
    read_timeout: float
    drain_timeout: float
    forwarded_hops: int  # proxies appending to X-Forwarded-For; 0: trust the peer only

    def check(self) -> None:
        _require(self.mode in {"sandbox", "production"}, "server.mode",
                 "must be sandbox or production")
        _require(0 < self.port < 65536, "server.port", "must be between 1 and 65535")
        _require(self.read_timeout > 0, "server.read_timeout", "must be positive")
        _require(self.drain_timeout > 0, "server.drain_timeout", "must be positive")
        _require(self.forwarded_hops >= 0, "server.forwarded_hops", "must not be negative")
        levels = {"DEBUG", "INFO", "WARNING", "ERROR"}
        _require(self.log_level.upper() in levels, "server.log_level", f"must be one of {levels}")

    @property
    def production(self) -> bool:
        return self.mode == "production"

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = hidden()
    seed_demo_when_empty: bool
    pool_size: int  # PostgreSQL connections per process

    def check(self) -> None:
        _require(self.pool_size >= 1, "database.pool_size", "must be at least 1")
        if self.url:
            scheme = self.url.split("://", 1)[0]
            _require(scheme in {"sqlite", "postgres", "asyncpg"}, "database.url",
                     "must start with sqlite://, postgres:// or asyncpg://")


@dataclass(frozen=True)
class RedisConfig:
    timeout: float
    url: str = hidden()

    def check(self) -> None:
        _require(self.timeout > 0, "redis.timeout", "must be positive")
        if self.url:
            _require(self.url.startswith(("redis://", "rediss://", "unix://")), "redis.url",
                     "must start with redis://, rediss:// or unix://")


@dataclass(frozen=True)
class JobsConfig:
    in_process: bool
    poll_delay: float

    def check(self) -> None:
        _require(self.poll_delay > 0, "jobs.poll_delay", "must be positive")


@dataclass(frozen=True)
class WeChatConfig:
    appid: str
    secret: str = hidden()
    token: str = hidden()
    encoding_aes_key: str = hidden()
    message_mode: str
    timestamp_window: int
    api_base: str
    reply_budget: float
    max_body_bytes: int
    dedupe_ttl: int
    token_refresh_margin: int

    def check(self) -> None:
        _require(bool(self.token), "wechat.token", "must not be empty")
        _require(bool(self.appid) == bool(self.secret), "wechat.secret",
                 "appid and secret must be set together")
        if self.encoding_aes_key:
            _require(len(self.encoding_aes_key) == 43, "wechat.encoding_aes_key",
                     "must be 43 characters")
        _require(self.message_mode in {"plain", "compatible", "safe"}, "wechat.message_mode",
                 "must be plain, compatible or safe")
        if self.message_mode != "plain":
            _require(bool(self.encoding_aes_key), "wechat.encoding_aes_key",
                     f"is required in {self.message_mode} message mode")
        _require(self.timestamp_window > 0, "wechat.timestamp_window", "must be positive")
        _require(0 < self.reply_budget < 5, "wechat.reply_budget",
                 "must be between 0 and 5 seconds (WeChat gives up after 5 s)")
        _require(self.max_body_bytes > 0, "wechat.max_body_bytes", "must be positive")

    @property
    def sandbox(self) -> bool:
        return not self.appid

    @property
    def sandbox_appid(self) -> str:
        return self.appid or "wx-sandbox"


@dataclass(frozen=True)
class SessionConfig:
    ttl: int
    turn_lease: float
    pending_lifetime: int

    def check(self) -> None:
        _require(self.ttl > 0, "session.ttl", "must be positive")
        _require(self.pending_lifetime > 0, "session.pending_lifetime", "must be positive")
        _require(0 < self.turn_lease < 5, "session.turn_lease", "must be between 0 and 5 "
                 "seconds (a dead process's claim must lapse before WeChat's next try)")


@dataclass(frozen=True)
class QueryConfig:
    page_size: int
    failed_match_limit: int
    failed_match_window: int
    failed_match_pause: int
    target_failed_match_limit: int

    def check(self) -> None:
        _require(0 < self.page_size <= 20, "query.page_size", "must be between 1 and 20")
        _require(self.failed_match_limit > 0, "query.failed_match_limit", "must be positive")
        _require(self.target_failed_match_limit > 0, "query.target_failed_match_limit",
                 "must be positive")


@dataclass(frozen=True)
class SmsConfig:
    provider: str
    access_key_id: str = hidden()
    access_key_secret: str = hidden()
    sign_name: str
    template_code: str
    template_text: str
    endpoint: str
    per_minute: int
    per_hour: int
    per_day: int
    per_user_codes_per_day: int
    per_user_phones_per_day: int
    code_ttl: int
    max_attempts: int
    code_pepper: str = hidden()

    def check(self) -> None:
        _require(self.provider in {"sandbox", "aliyun"}, "sms.provider",
                 "must be sandbox or aliyun")
        if self.provider == "aliyun":
            for key in ("access_key_id", "access_key_secret", "sign_name", "template_code",
                        "code_pepper"):
                _require(bool(getattr(self, key)), f"sms.{key}", "is required for aliyun")
        _require(0 < self.per_minute <= self.per_hour <= self.per_day, "sms.per_day",
                 "limits must satisfy 0 < per_minute <= per_hour <= per_day")
        _require(self.per_user_codes_per_day > 0, "sms.per_user_codes_per_day",
                 "must be positive")
        _require(self.per_user_phones_per_day > 0, "sms.per_user_phones_per_day",
                 "must be positive")
        _require(self.code_ttl > 0, "sms.code_ttl", "must be positive")
        _require(self.max_attempts > 0, "sms.max_attempts", "must be positive")
        _require("${code}" in self.template_text, "sms.template_text", "must contain ${code}")

    @property
    def code_template(self) -> str:
        """The verification-code template; a stand-in name for the sandbox."""
        return self.template_code or "SMS_SANDBOX_CODE"

    @property
    def pepper(self) -> bytes:
        """Key for hashing codes; a fixed development value only where the check allows it."""
        return (self.code_pepper or "sandbox-pepper").encode()


@dataclass(frozen=True)
class RegisterConfig:
    attempts_per_id_per_day: int
    bindings_per_channel: int

    def check(self) -> None:
        _require(self.attempts_per_id_per_day > 0, "register.attempts_per_id_per_day",
                 "must be positive")
        _require(self.bindings_per_channel > 0, "register.bindings_per_channel",
                 "must be positive")


@dataclass(frozen=True)
class FaceConfig:
    provider: str
    max_failures: int
    poll_interval: float
    timeout: int

    def check(self) -> None:
        _require(self.provider in {"sandbox", "alipay"}, "face.provider",
                 "must be sandbox or alipay")
        _require(self.max_failures > 0, "face.max_failures", "must be positive")
        _require(self.poll_interval > 0, "face.poll_interval", "must be positive")
        _require(self.timeout > 0, "face.timeout", "must be positive")


@dataclass(frozen=True)
class AlipayConfig:
    appid: str
    app_private_key: str = hidden()
    alipay_public_key: str = hidden()
    gateway: str

    def check(self) -> None:
        if self.appid:
            for key in ("app_private_key", "alipay_public_key"):
                _require(bool(getattr(self, key)), f"alipay.{key}", "is required with appid")

    @property
    def sandbox(self) -> bool:
        return not self.appid


@dataclass(frozen=True)
class AlipayLifeConfig:
    provider: str
    freshness_window: int
    max_body_bytes: int
    push_tries: int
    push_timeout: float

    def check(self) -> None:
        _require(self.provider in {"sandbox", "alipay"}, "alipay_life.provider",
                 "must be sandbox or alipay")
        _require(self.freshness_window > 0, "alipay_life.freshness_window", "must be positive")
        _require(self.max_body_bytes > 0, "alipay_life.max_body_bytes", "must be positive")
        _require(self.push_tries > 0, "alipay_life.push_tries", "must be positive")
        _require(self.push_timeout > 0, "alipay_life.push_timeout", "must be positive")


@dataclass(frozen=True)
class FollowConfig:
    max_vehicles: int  # other people's vehicles a user follows at once
    attempts_per_year: int  # follow requests sent per calendar year (Asia/Shanghai)
    followers_per_vehicle: int  # users following one vehicle at once
    request_lifetime: int  # seconds an owner has to answer
    sms_consent_valid_days: int  # an SMS consent lapses after this many days
    code_max_tries: int  # wrong codes before a request's code is locked
    rule_profile: str  # "chongqing" or "12123" (DOMAIN.md: the 12123 app's binding rules)
    owners_ever: int  # 12123 profile: distinct owners a user may ever follow
    sms_template_code: str  # Aliyun template of the owner's SMS
    sms_template_text: str
    max_licences: int  # other people's driving licences a user follows at once
    ask_after: int  # seconds after which a request whose owner was not asked is asked again

    def check(self) -> None:
        for key in ("max_vehicles", "attempts_per_year", "followers_per_vehicle",
                    "request_lifetime", "sms_consent_valid_days", "code_max_tries",
                    "owners_ever", "max_licences"):
            _require(getattr(self, key) > 0, f"follow.{key}", "must be positive")
        _require(self.rule_profile in {"chongqing", "12123"}, "follow.rule_profile",
                 "must be chongqing or 12123")
        _require(self.ask_after >= 0, "follow.ask_after", "must not be negative")
        for name in ("${code}", "${link}"):
            _require(name in self.sms_template_text, "follow.sms_template_text",
                     f"must contain {name}")

    @property
    def template(self) -> str:
        """The owner's SMS template; a stand-in name for the sandbox."""
        return self.sms_template_code or "SMS_SANDBOX_FOLLOW"


@dataclass(frozen=True)
class ProcessingConfig:
    max_fine: int  # yuan: a larger fine is processed at a window only
    point_limit: int  # points a licence may not reach online (seed 004: 12)
    owner_lifetime: int  # seconds a vehicle owner has to verify their face
    notice_delay_min: int  # seconds after processing before the notice is made (random in)
    notice_delay_max: int
    sandbox_notice_delay_max: int  # sandbox mode: the notice comes within this many seconds
    decision_prefix: str  # the first digits of decision numbers made online
    sms_template_code: str  # Aliyun template of the SMS to an owner who is not a user
    sms_template_text: str

    def check(self) -> None:
        for key in ("max_fine", "point_limit", "owner_lifetime"):
            _require(getattr(self, key) > 0, f"processing.{key}", "must be positive")
        _require(0 <= self.notice_delay_min <= self.notice_delay_max,
                 "processing.notice_delay_min", "must be between 0 and notice_delay_max")
        _require(self.sandbox_notice_delay_max >= 0, "processing.sandbox_notice_delay_max",
                 "must not be negative")
        _require(self.decision_prefix.isdigit() and len(self.decision_prefix) == 6,
                 "processing.decision_prefix", "must be 6 digits")
        _require("${link}" in self.sms_template_text, "processing.sms_template_text",
                 "must contain ${link}")

    @property
    def template(self) -> str:
        """The owner's SMS template; a stand-in name for the sandbox."""
        return self.sms_template_code or "SMS_SANDBOX_PROCESS_OWNER"


@dataclass(frozen=True)
class PaymentConfig:
    provider: str  # "sandbox" (the local simulated Alipay) or "alipay" (the [alipay] app)
    seller_id: str  # our Alipay merchant id (PID, 2088...): notifies must name it
    subject: str  # what the buyer reads on Alipay's page
    order_lifetime: int  # seconds an order may be paid; then Alipay and we close it
    grace_days: int  # days after the decision without a late fee
    daily_late_rate: str  # of the principal, per day late (a decimal, "0.03")
    maintenance_start: str  # "HH:MM" Asia/Shanghai: no payments from then ...
    maintenance_end: str  # ... until then (may cross midnight)
    reconcile_after: int  # seconds after its creation before an order is asked of Alipay
    max_body_bytes: int  # largest notify body accepted
    sandbox_notify_delay: float  # sandbox: seconds before the first notify
    sandbox_notify_factor: float  # sandbox: Alipay's retry intervals multiplied by this
    sandbox_answer_loss: float  # sandbox: share of our answers to notifies taken as lost

    def check(self) -> None:
        _require(self.provider in {"sandbox", "alipay"}, "payment.provider",
                 "must be sandbox or alipay")
        for key in ("order_lifetime", "grace_days", "reconcile_after", "max_body_bytes"):
            _require(getattr(self, key) > 0, f"payment.{key}", "must be positive")
        try:
            rate = Decimal(self.daily_late_rate)
        except ArithmeticError:
            rate = Decimal(-1)
        _require(0 <= rate <= 1, "payment.daily_late_rate", "must be a decimal from 0 to 1")
        for key in ("maintenance_start", "maintenance_end"):
            _require(_clock_time(getattr(self, key)) is not None, f"payment.{key}",
                     "must be HH:MM")
        _require(self.sandbox_notify_delay >= 0, "payment.sandbox_notify_delay",
                 "must not be negative")
        _require(self.sandbox_notify_factor > 0, "payment.sandbox_notify_factor",
                 "must be positive")
        _require(0 <= self.sandbox_answer_loss < 1, "payment.sandbox_answer_loss",
                 "must be from 0 to below 1")
        _require(bool(self.subject.strip()), "payment.subject", "must not be empty")

    @property
    def late_rate(self) -> Decimal:
        return Decimal(self.daily_late_rate)

    @property
    def maintenance(self) -> tuple[time, time]:
        """(start, end) of the daily window without payments."""
        start, end = _clock_time(self.maintenance_start), _clock_time(self.maintenance_end)
        assert start is not None and end is not None  # check()
        return start, end


def _clock_time(text: str) -> time | None:
    try:
        return time.fromisoformat(text) if len(text) == 5 else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Settings:
    server: ServerConfig
    database: DatabaseConfig
    redis: RedisConfig
    jobs: JobsConfig
    wechat: WeChatConfig
    session: SessionConfig
    query: QueryConfig
    sms: SmsConfig
    register: RegisterConfig
    face: FaceConfig
    alipay: AlipayConfig
    alipay_life: AlipayLifeConfig
    follow: FollowConfig
    processing: ProcessingConfig
    payment: PaymentConfig

    def check(self) -> None:
        """Rules across sections: a real provider needs its keys; production uses no sandbox."""
        # A signed form replayed within the window must still be a duplicate to the inbox.
        _require(self.alipay_life.freshness_window < self.wechat.dedupe_ttl,
                 "alipay_life.freshness_window", "must be below wechat.dedupe_ttl (the inbox "
                 "remembers messages that long)")
        if self.alipay_life.provider == "alipay":
            _require(bool(self.alipay.appid), "alipay.appid", "is required with "
                     "alipay_life.provider = alipay")
        if self.face.provider == "alipay":
            _require(bool(self.alipay.appid), "alipay.appid", "is required with face.provider "
                     "= alipay")
        if self.payment.provider == "alipay":
            _require(bool(self.alipay.appid), "alipay.appid", "is required with "
                     "payment.provider = alipay")
            _require(self.payment.seller_id.startswith("2088"), "payment.seller_id",
                     "must be the merchant's PID (2088...) with payment.provider = alipay")
        if not self.server.production:
            return
        # Production: every outside system is the real one, every store is external.
        for key, value in (("wechat.appid", self.wechat.appid),
                           ("database.url", self.database.url),
                           ("redis.url", self.redis.url),
                           ("server.public_url", self.server.public_url),
                           ("alipay.appid", self.alipay.appid)):
            _require(bool(value), key, "is required in production mode")
        _require(is_postgres_url(self.database.url), "database.url",
                 "must be a PostgreSQL URL in production mode (SQLite is never migrated)")
        _require(self.server.public_url.startswith("https://"), "server.public_url",
                 "must be an https:// URL in production mode (users open links to it)")
        _require(self.wechat.token != "sandbox-token", "wechat.token",
                 "must be the token from WeChat's console in production mode")
        _require(self.face.provider != "sandbox", "face.provider",
                 "must not be sandbox in production mode")
        _require(self.alipay_life.provider != "sandbox", "alipay_life.provider",
                 "must not be sandbox in production mode")
        _require(self.sms.provider != "sandbox", "sms.provider",
                 "must not be sandbox in production mode")
        _require(self.payment.provider != "sandbox", "payment.provider",
                 "must not be sandbox in production mode")
        _require(bool(self.follow.sms_template_code), "follow.sms_template_code",
                 "is required in production mode (the owner's SMS of a follow request)")
        _require(bool(self.processing.sms_template_code), "processing.sms_template_code",
                 "is required in production mode (the owner's SMS of a processing)")
        _require(not self.wechat.api_base, "wechat.api_base",
                 "must be empty in production mode (WeChat's own API)")
        _require(not self.alipay.gateway or _real_endpoint(self.alipay.gateway, "alipaydev.com"),
                 "alipay.gateway", "must be an https:// URL of Alipay's own gateway, not a "
                 "sandbox, in production mode")
        _require(_real_endpoint(self.sms.endpoint), "sms.endpoint",
                 "must be an https:// URL, not a sandbox, in production mode")

    @property
    def sandbox(self) -> bool:
        """Sandbox mode: simulators served and demo data seeded."""
        return not self.server.production

    @property
    def data_dir(self) -> Path:
        return Path(self.server.data_dir)

    def with_overrides(self, **sections: dict[str, Any]) -> Settings:
        """A copy with some keys replaced (CLI options, tests), validated like the file."""
        raw = _as_dict(self)
        for section, values in sections.items():
            for key, value in values.items():
                _set(raw, section, key, value, source=f"{section}.{key}")
        return _build(raw)


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read config.toml, then BOT_CONFIG, then the environment; raise ConfigError on bad input."""
    environ = dict(os.environ if environ is None else environ)
    raw = _read_toml(DEFAULTS_FILE)
    override_file = environ.get("BOT_CONFIG")
    if override_file:
        for section, values in _read_toml(Path(override_file)).items():
            if not isinstance(values, dict):
                raise ConfigError(f"{section}: must be a [section] table")
            for key, value in values.items():
                _set(raw, section, key, value, source=f"{section}.{key}")
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX):].lower().split("__")
        if len(parts) != 2:
            raise ConfigError(f"{name}: must look like BOT__SECTION__KEY")
        _set(raw, parts[0], parts[1], value, source=name)
    return _build(raw)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def _section_types() -> dict[str, type]:
    return get_type_hints(Settings)


def _set(raw: dict[str, Any], section: str, key: str, value: Any, *, source: str) -> None:
    section_type = _section_types().get(section)
    if section_type is None:
        raise ConfigError(f"{source}: unknown section [{section}]")
    hints = get_type_hints(section_type)
    if key not in hints:
        raise ConfigError(f"{source}: unknown key {section}.{key}")
    raw.setdefault(section, {})[key] = _coerce(value, hints[key], source)


def _coerce(value: Any, kind: type, source: str) -> Any:
    """Turn a TOML or environment value into the declared type, or name the key."""
    if isinstance(value, str) and kind is not str:
        text = value.strip()
        if kind is bool:
            if text.lower() in {"1", "true", "yes", "on"}:
                return True
            if text.lower() in {"0", "false", "no", "off"}:
                return False
            raise ConfigError(f"{source}: must be true or false")
        try:
            return kind(text)
        except ValueError:
            raise ConfigError(f"{source}: must be {kind.__name__}") from None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{source}: must be {kind.__name__}")
    return value


def _build(raw: dict[str, Any]) -> Settings:
    sections = {}
    for name, section_type in _section_types().items():
        values = raw.get(name, {})
        hints = get_type_hints(section_type)
        for key in hints:
            if key not in values:
                raise ConfigError(f"{name}.{key}: missing")
        built = section_type(**{k: _coerce(values[k], hints[k], f"{name}.{k}") for k in hints})
        built.check()
        sections[name] = built
    settings = Settings(**sections)
    settings.check()
    return settings


def _as_dict(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        f.name: {g.name: getattr(getattr(settings, f.name), g.name)
                 for g in fields(getattr(settings, f.name))}
        for f in fields(settings)
    }


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgres://", "asyncpg://"))


def _real_endpoint(url: str, sandbox_domain: str = "") -> bool:
    """An https URL that is neither a simulator of ours (/sandbox/) nor the provider's own
    sandbox (Alipay's openapi-sandbox.dl.alipaydev.com, whose face checks prove nothing)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    provider_sandbox = bool(sandbox_domain) and (host == sandbox_domain
                                                 or host.endswith("." + sandbox_domain))
    return parts.scheme == "https" and "/sandbox/" not in parts.path and not provider_sandbox


def _require(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"{key}: {message}")


