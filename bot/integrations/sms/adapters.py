"""SMS senders behind one interface: the sandbox outbox and Aliyun SendSms (RPC signature v1).

Also the message the ``send_sms`` job carries to them (``OutgoingSms``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import string
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import aiohttp
from yarl import URL

from bot.config import ConfigError, Settings
from bot.masking import mask_phone
from models.outbox import OutboxMessage

log = logging.getLogger(__name__)

class SmsError(Exception):
    """A message that was not sent; ``code`` is the provider's (Aliyun's) error code."""

    def __init__(self, code: str, message: str = "", *, transient: bool = False) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.transient = transient  # worth retrying (network, provider busy)


class SmsSender(ABC):
    @abstractmethod
    async def send(self, phone: str, template_code: str, params: dict[str, str],
                   out_id: str) -> None:
        """Send one templated message or raise SmsError. Not idempotent: call once per out_id."""


def render(templates: Mapping[str, str], sign_name: str, template_code: str,
           params: Mapping[str, str]) -> str:
    """The text a phone shows, as Aliyun renders it: 【sign】 + template with ${name} filled."""
    text = templates.get(template_code)
    if text is None:
        raise SmsError("isv.SMS_TEMPLATE_ILLEGAL", f"unknown template {template_code}")
    try:
        body = string.Template(text).substitute(params)
    except (KeyError, ValueError) as exc:
        raise SmsError("isv.TEMPLATE_MISSING_PARAMETERS", f"template needs {exc}") from None
    return f"【{sign_name}】{body}" if sign_name else body


class SandboxSmsSender(SmsSender):
    """Records messages in the sandbox outbox (GET /sandbox/outbox, `python -m bot chat`)."""

    def __init__(self, templates: Mapping[str, str], sign_name: str = "") -> None:
        self._templates = dict(templates)
        self._sign_name = sign_name

    async def send(self, phone: str, template_code: str, params: dict[str, str],
                   out_id: str) -> None:
        text = render(self._templates, self._sign_name, template_code, params)
        await OutboxMessage.create(kind="sms", recipient=phone, body={
            "template": template_code, "params": params, "text": text, "out_id": out_id})


def percent_encode(value: str) -> str:
    """Aliyun's RFC 3986 encoding: only A-Z a-z 0-9 - _ . ~ stay as they are; space is %20."""
    return quote(value, safe="~")


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def rpc_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """Aliyun RPC signature v1: METHOD&%2F&percent-encoded canonical query (sans Signature)."""
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def rpc_signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    """Base64 HMAC-SHA1 keyed with the AccessKey secret followed by "&"."""
    digest = hmac.new(f"{secret}&".encode(), rpc_string_to_sign(method, params).encode(),
                      hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# Aliyun answers worth another try later; anything else is a refusal that will not change.
ALIYUN_TRANSIENT = frozenset({"isp.SYSTEM_ERROR", "InternalError", "ServiceUnavailable",
                              "Throttling", "Throttling.User", "Throttling.Api"})


class AliyunSmsSender(SmsSender):
    """Aliyun SendSms (dysmsapi 2017-05-25) over aiohttp, signed per the RPC signature v1."""

    def __init__(self, http: aiohttp.ClientSession, *, endpoint: str, access_key_id: str,
                 access_key_secret: str, sign_name: str) -> None:
        self._http = http
        self._endpoint = endpoint
        self._key_id = access_key_id
        self._secret = access_key_secret
        self._sign_name = sign_name

    async def send(self, phone: str, template_code: str, params: dict[str, str],
                   out_id: str) -> None:
        url = self.signed_url({
            "Action": "SendSms",
            "Version": "2017-05-25",
            "RegionId": "cn-hangzhou",
            "PhoneNumbers": phone,
            "SignName": self._sign_name,
            "TemplateCode": template_code,
            "TemplateParam": json.dumps(params, ensure_ascii=False, separators=(",", ":")),
            "OutId": out_id,
        })
        try:
            async with self._http.get(url) as response:
                status = response.status
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SmsError("NetworkError", type(exc).__name__, transient=True) from None
        except ValueError:
            raise SmsError("InvalidResponse", f"HTTP {status}, not JSON",
                           transient=status >= 500) from None
        code = str(answer.get("Code", f"HTTP{status}"))
        if code != "OK":
            log.warning("Aliyun SendSms to %s refused: %s", mask_phone(phone), code)
            raise SmsError(code, str(answer.get("Message", "")),
                           transient=code in ALIYUN_TRANSIENT or status >= 500)
        log.info("Aliyun SendSms to %s accepted, BizId %s", mask_phone(phone),
                 answer.get("BizId"))

    def signed_url(self, params: dict[str, str]) -> URL:
        """The GET URL of one call: common parameters added, then the Signature."""
        params = {
            **params,
            "AccessKeyId": self._key_id,
            "Format": "JSON",
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": uuid.uuid4().hex,
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        signature = rpc_signature(self._secret, "GET", params)
        query = f"{canonical_query(params)}&Signature={percent_encode(signature)}"
        return URL(f"{self._endpoint}?{query}", encoded=True)


def build_sender(settings: Settings, http: aiohttp.ClientSession) -> SmsSender:
    """The sender chosen by ``sms.provider``; the sandbox outbox only in sandbox mode (in
    production its codes would never reach a phone, yet be readable at /sandbox/outbox)."""
    config = settings.sms
    if config.provider == "aliyun":
        return AliyunSmsSender(http, endpoint=config.endpoint, access_key_id=config.access_key_id,
                               access_key_secret=config.access_key_secret,
                               sign_name=config.sign_name)
    if not settings.sandbox:
        raise ConfigError("sms.provider: must not be sandbox in production mode")
    templates = {config.code_template: config.template_text,
                 settings.follow.template: settings.follow.sms_template_text,
                 settings.processing.template: settings.processing.sms_template_text}
    return SandboxSmsSender(templates, config.sign_name)


@dataclass(frozen=True)
class OutgoingSms:
    """One message for the ``send_sms`` job; its repr (which arq logs) hides phone and code."""

    phone: str
    template_code: str
    params: dict[str, str]
    out_id: str
    purpose: str
    subject: str

    def __repr__(self) -> str:
        return f"OutgoingSms({self.purpose}, to {mask_phone(self.phone)}, out_id={self.out_id})"
