"""What journeys may use, as typed parts: ``Context.deps`` is a ``Deps``.

Built once at the composition root (bot/services.py) from the app's long-lived parts; flows
see only these protocols and values, never the composition root, so a flow's needs are
visible here and a test can hand a journey its own parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bot.integrations.traffic import TrafficPlatform

if TYPE_CHECKING:
    from arq.connections import ArqRedis

    from bot.config import Settings
    from bot.face_checks import FaceChecks
    from bot.integrations.sms.codes import CodeCheck, CodeRequest
    from bot.lockout import Target


class QueryLockout(Protocol):
    """Failed matches of the query journeys: who and which target is paused until when."""

    async def paused_until(self, who: str) -> datetime | None: ...

    async def target_paused_until(self, target: Target) -> datetime | None: ...

    async def record(self, who: str, target: Target) -> datetime | None: ...


class SmsCodeService(Protocol):
    """One-time codes sent by SMS for a purpose, and their checking."""

    async def request(self, *, purpose: str, subject: str, phone: str,
                      subject_id_number: str) -> CodeRequest: ...

    async def verify(self, *, purpose: str, subject: str, code: str) -> CodeCheck: ...


class ChannelTitles(Protocol):
    """How users call each channel, for wording such as "本支付宝账号"."""

    def title(self, name: str) -> str: ...


class Jobs(Protocol):
    """Work queued for the job workers (a push to another account, later)."""

    async def enqueue_job(self, function: str, *args: object, **kwargs: object) -> object: ...


@dataclass(frozen=True)
class Deps:
    """The parts journeys use. ``redis`` serves the per-ID identity-check limit and queued
    jobs; ``settings`` gives the flows their limits (page size, face failures, bindings)."""

    traffic: TrafficPlatform
    failed_matches: QueryLockout
    face: FaceChecks
    sms_codes: SmsCodeService
    redis: ArqRedis
    settings: Settings
    channels: ChannelTitles
