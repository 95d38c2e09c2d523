"""Alipay's side of a payment, through python-alipay-sdk: the signed wap-pay link, the server
calls (trade.query, trade.close, trade.refund) and the notify's signature.

The SDK is blocking (urllib): every server call runs in a thread, never on the event loop.
Signing and checking are CPU-only and run inline. The same code talks to the local simulated
Alipay (sandbox mode) and to Alipay's own gateways: only the gateway URL, keys and ids differ
(bot/integrations/alipay.py).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.error import URLError

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError

from bot.config import Settings
from bot.integrations.alipay import alipay_client, sandbox_appid
from bot.rules import BEIJING

log = logging.getLogger(__name__)
SANDBOX_SELLER_ID = "2088000000000000"
NOTIFY_PATH = "/payments/notify"
RETURN_PATH = "/payments/return"
PAID_STATUSES = frozenset({"TRADE_SUCCESS", "TRADE_FINISHED"})


class GatewayUnavailable(Exception):
    """Alipay could not be asked (network, timeout, an answer whose signature is not
    Alipay's): what it knows is unknown to us."""


@dataclass(frozen=True)
class Merchant:
    """Who we are to Alipay: a notify must name both."""

    app_id: str
    seller_id: str


def merchant_of(settings: Settings) -> Merchant:
    sandbox = settings.payment.provider == "sandbox"
    return Merchant(sandbox_appid(settings) if sandbox else settings.alipay.appid,
                    settings.payment.seller_id or SANDBOX_SELLER_ID)


def money(amount: Decimal) -> str:
    """Alipay's amount format: yuan with two decimals."""
    return f"{amount:.2f}"


class PayGateway:
    def __init__(self, client: AliPay, merchant: Merchant, *, base_url: str,
                 subject: str) -> None:
        self._client = client
        self.merchant = merchant
        self._notify_url = base_url + NOTIFY_PATH
        self._return_url = base_url + RETURN_PATH
        self._subject = subject

    @classmethod
    def for_settings(cls, settings: Settings) -> PayGateway:
        sandbox = settings.payment.provider == "sandbox"
        return cls(alipay_client(settings, sandbox=sandbox), merchant_of(settings),
                   base_url=settings.server.base_url, subject=settings.payment.subject)

    def pay_url(self, out_trade_no: str, amount: Decimal, expires_at: datetime) -> str:
        """The mobile pay page of this order (alipay.trade.wap.pay). ``time_expire`` is
        absolute: Alipay takes no payment after it, however late the page was opened."""
        order = self._client.api_alipay_trade_wap_pay(
            subject=self._subject, out_trade_no=out_trade_no, total_amount=money(amount),
            return_url=self._return_url, notify_url=self._notify_url,
            time_expire=expires_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
            quit_url=self._return_url)
        return f"{self._client._gateway}?{order}"

    def verified(self, form: dict[str, str]) -> bool:
        """A notify's RSA2 signature is Alipay's (all fields but sign and sign_type)."""
        data = dict(form)
        signature = data.pop("sign", "")
        try:
            return bool(signature) and self._client.verify(data, signature)
        except (AliPayException, ValueError, TypeError):  # another sign_type, bad base64
            return False

    def foreign(self, form: dict[str, str]) -> str | None:
        """Why a signed notify is not addressed to us, or None."""
        if form.get("app_id") != self.merchant.app_id:
            return "app_id is not ours"
        if form.get("seller_id") != self.merchant.seller_id:
            return "seller_id is not ours"
        return None

    async def query(self, out_trade_no: str) -> dict[str, Any]:
        return await self._call(self._client.api_alipay_trade_query, out_trade_no=out_trade_no)

    async def close(self, out_trade_no: str) -> dict[str, Any]:
        return await self._call(self._client.api_alipay_trade_close, out_trade_no=out_trade_no)

    async def refund(self, out_trade_no: str, amount: Decimal,
                     request_no: str) -> dict[str, Any]:
        """A refund of ``amount``; ``request_no`` makes a repeat of it a no-op at Alipay."""
        return await self._call(self._client.api_alipay_trade_refund, money(amount),
                                out_trade_no=out_trade_no, out_request_no=request_no)

    async def _call(self, method: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """A server call in a thread: the signed answer, business errors (code 40004 ...)
        included; GatewayUnavailable when there is no answer to trust."""
        try:
            return await asyncio.to_thread(method, *args, **kwargs)
        except AliPayValidationError as exc:
            raise GatewayUnavailable("answer not signed by Alipay") from exc
        except AliPayException as exc:  # an unsigned error_response (bad request, app id)
            raise GatewayUnavailable("Alipay refused the call") from exc
        except (URLError, OSError, ValueError) as exc:  # network, timeout, not JSON
            raise GatewayUnavailable(type(exc).__name__) from exc
