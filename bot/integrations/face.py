"""Face verification behind one interface; Alipay's user certify service is the adapter.

A check has three steps: ``start`` registers the person with the provider and gets a
certify id, ``certify_url`` is the page the user opens on the phone, ``query`` asks the
provider for the result. In sandbox mode the same adapter talks to the local Alipay
simulator, so the production code path is the one that runs everywhere.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import partial
from typing import Any

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError

from bot.config import ConfigError, Settings
from bot.integrations.alipay import alipay_client

log = logging.getLogger(__name__)
SUCCESS = "10000"


class FaceUnavailable(Exception):
    """The provider could not be reached or gave an answer we cannot trust."""


@dataclass(frozen=True)
class FaceResult:
    """``passed`` is None while the provider has no final answer."""

    passed: bool | None
    reason: str = ""


class FaceVerifier(ABC):
    @abstractmethod
    async def start(self, *, reference: str, name: str, id_number: str,
                     return_url: str) -> str:
        """Register a check for this person; returns the provider's certify id."""

    @abstractmethod
    def certify_url(self, certify_id: str) -> str:
        """The page where the user does the check; it sends the browser to return_url."""

    @abstractmethod
    async def query(self, certify_id: str) -> FaceResult: ...


class AlipayFaceVerifier(FaceVerifier):
    """alipay.user.certify.open.* through python-alipay-sdk.

    The SDK is blocking (urllib), so server calls run in the default executor; signing the
    certify link is CPU only and runs inline. The SDK checks each answer's RSA2 signature
    with Alipay's public key and raises when it does not match.
    """

    def __init__(self, client: AliPay) -> None:
        self._client = client

    async def start(self, *, reference: str, name: str, id_number: str,
                    return_url: str) -> str:
        answer = await self._call("alipay.user.certify.open.initialize", {
            "outer_order_no": reference,
            "biz_code": "FACE",
            "identity_param": {"identity_type": "CERT_INFO", "cert_type": "IDENTITY_CARD",
                               "cert_name": name, "cert_no": id_number},
            "merchant_config": {"return_url": return_url},
        })
        if not answer.get("certify_id"):
            raise FaceUnavailable("alipay.user.certify.open.initialize: no certify_id")
        return answer["certify_id"]

    def certify_url(self, certify_id: str) -> str:
        query = self._client.client_api("alipay.user.certify.open.certify",
                                        {"certify_id": certify_id})
        return f"{self._client._gateway}?{query}"

    async def query(self, certify_id: str) -> FaceResult:
        """Alipay answers "F" both for a failed check and for one not done yet; only its
        optional ``fail_reason`` tells a failure apart, so "F" alone means no answer yet."""
        answer = await self._call("alipay.user.certify.open.query", {"certify_id": certify_id})
        if answer.get("passed") == "T":
            return FaceResult(True)
        reason = answer.get("fail_reason") or ""
        return FaceResult(False, reason) if reason else FaceResult(None)

    async def _call(self, method: str, biz_content: dict[str, Any]) -> dict[str, Any]:
        call = partial(self._client.server_api, method, biz_content)
        try:
            answer = await asyncio.get_running_loop().run_in_executor(None, call)
        except AliPayValidationError:
            raise FaceUnavailable(f"{method}: the answer's signature does not match") from None
        except AliPayException as exc:  # a gateway error (no signature to check)
            raise FaceUnavailable(f"{method}: {exc}") from None
        except (OSError, ValueError, LookupError, TypeError, AttributeError) as exc:
            # the network (URLError is an OSError), or an answer the SDK cannot parse
            raise FaceUnavailable(f"{method}: {type(exc).__name__}") from None
        if answer.get("code") != SUCCESS:
            raise FaceUnavailable(f"{method}: {answer.get('code')} {answer.get('sub_code')}")
        return answer


def face_verifier(settings: Settings) -> FaceVerifier:
    """The configured verifier: Alipay itself, or the local Alipay simulator (sandbox mode
    only: a simulator's pass button in production would let anyone register as anyone)."""
    sandbox = settings.face.provider == "sandbox"
    if sandbox and not settings.sandbox:
        raise ConfigError("face.provider: must not be sandbox in production mode")
    return AlipayFaceVerifier(alipay_client(settings, sandbox=sandbox))
