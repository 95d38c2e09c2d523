"""What journeys may use, as typed parts: ``Context.deps`` is a ``Deps``.

Built once at the composition root (bot/services.py) from the app's long-lived parts; flows
see only these protocols and values, never the composition root, so a flow's needs are
visible here and a test can hand a journey its own parts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from bot.integrations.traffic import TrafficPlatform
from bot.messages import Conversation, Reply

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.face_checks import FaceChecks
    from bot.follows import Follows
    from bot.identity_attempts import IdentityAttempts
    from bot.integrations.sms.codes import CodeCheck, CodeRequest
    from bot.lockout import PendingPause, Target
    from bot.processing import Processing
    from payments.service import Payments


class QueryLockout(Protocol):
    """Failed matches of the query journeys and of typed decision numbers: who (a
    conversation, a registered person) and which target is paused until when."""

    async def paused_until(self, who: str, *, person: str | None = None,
                           prefetched: Mapping[str, Any] | None = None) -> datetime | None: ...

    def target_paused_until(self, target: Target) -> PendingPause:
        """Sent at once; awaited for the end of the target's pause, or None."""

    async def record(self, who: str, target: Target | None, *,
                     person: str | None = None) -> datetime | None: ...


class SmsCodeService(Protocol):
    """One-time codes sent by SMS for a purpose, and their checking."""

    async def request(self, *, purpose: str, subject: str, phone: str,
                      subject_id_number: str) -> CodeRequest: ...

    async def verify(self, *, purpose: str, subject: str, phone: str,
                     code: str) -> CodeCheck: ...


class ChannelTitles(Protocol):
    """How users call each channel, for wording such as "本支付宝账号"."""

    def title(self, name: str) -> str: ...


class Messages(Protocol):
    """Messages to another conversation (an account whose binding ended), pushed by a job
    that retries."""

    async def push_later(self, conversation: Conversation, reply: Reply,
                         job_id: str | None = None) -> None: ...


@dataclass(frozen=True)
class JourneyLimits:
    """The configured numbers journeys apply."""

    page_size: int  # violations per page
    face_failures: int  # failed face checks before registration falls back to an SMS code
    bindings_per_channel: int  # a person's bound accounts per channel

    @classmethod
    def from_settings(cls, settings: Settings) -> JourneyLimits:
        return cls(settings.query.page_size, settings.face.max_failures,
                   settings.register.bindings_per_channel)


@dataclass(frozen=True)
class Deps:
    """The parts journeys use: no settings object, no Redis, no composition root."""

    traffic: TrafficPlatform
    failed_matches: QueryLockout
    face: FaceChecks
    sms_codes: SmsCodeService
    identity_attempts: IdentityAttempts  # identity checks started per ID number per day
    limits: JourneyLimits
    channels: ChannelTitles
    messages: Messages
    follows: Follows  # following a friend's vehicle: quotas, the owner's consent
    processing: Processing  # processing violations online: cases, the decision, notices
    payments: Payments  # paying fines through Alipay: quotes, orders, their outcome
