"""Payment reminders: before the last day to pay a fine, and when late fees start
(bot.rules.reminders_due), to the vehicle's owner and the licence's holder when they are
registered users who did not switch reminders off (in 罚款缴纳).

A job (bot/jobs.py) runs it through the day; each reminder is stored before it is queued
(``PaymentReminder``, unique per decision, user and kind), so running again, on any worker,
sends nothing twice.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from tortoise import timezone
from tortoise.exceptions import IntegrityError

from bot.config import PaymentConfig
from bot.follows import conversations_of
from bot.messages import Reply
from bot.processing import registered, yuan
from bot.rules import BEIJING, Reminder, late_fee, payment_due, reminders_due
from models.enums import ViolationState
from models.payment import PaymentReminder, ReminderOptOut
from models.user import User
from models.vehicle import Vehicle
from models.violation import Violation

log = logging.getLogger(__name__)
DAYS_BEFORE, CATCH_UP_DAYS = 3, 7  # bot.rules.reminders_due's defaults

Push = Callable[..., Awaitable[None]]


class Reminders:
    def __init__(self, config: PaymentConfig, push: Push,
                 clock: Callable[[], datetime]) -> None:
        self._config = config
        self._push = push
        self._clock = clock

    @staticmethod
    async def enabled(user: User) -> bool:
        return not await ReminderOptOut.filter(user_id=user.id).exists()

    async def switch(self, user: User, *, on: bool) -> None:
        if on:
            await ReminderOptOut.filter(user_id=user.id).delete()
        elif not await ReminderOptOut.filter(user_id=user.id).exists():
            with contextlib.suppress(IntegrityError):  # switched off twice at once
                await ReminderOptOut.create(user=user, at=timezone.localtime(self._clock()))

    async def send_due(self) -> int:
        """Queue every reminder due today that was not sent; returns how many."""
        today = self._clock().astimezone(BEIJING).date()
        grace = self._config.grace_days
        decided = Violation.filter(
            state=ViolationState.PROCESSED_UNPAID,
            decided_on__gte=today - timedelta(days=grace + CATCH_UP_DAYS),
            decided_on__lte=today - timedelta(days=grace - DAYS_BEFORE))
        sent = 0
        for violation in await decided:
            assert violation.decided_on is not None  # processed
            kinds = reminders_due(violation.decided_on, today, grace_days=grace,
                                  days_before=DAYS_BEFORE, catch_up_days=CATCH_UP_DAYS)
            for user in await self._people(violation) if kinds else []:
                for kind in kinds:
                    sent += await self._send(violation, user, kind)
        return sent

    @staticmethod
    async def _people(violation: Violation) -> list[User]:
        """The registered owner of the vehicle and holder of the licence, reminders on."""
        vehicle = await Vehicle.get_or_none(plate_type=violation.plate_type,
                                            plate_number=violation.plate_number)
        numbers = {violation.licence_number, vehicle.owner_id_number if vehicle else ""}
        people = {}
        for number in numbers - {""}:
            user = await registered(number)
            if user is not None and await Reminders.enabled(user):
                people[user.id] = user
        return list(people.values())

    async def _send(self, violation: Violation, user: User, kind: Reminder) -> int:
        try:
            await PaymentReminder.create(violation=violation, user=user, kind=kind.value,
                                         sent_at=timezone.localtime(self._clock()))
        except IntegrityError:
            return 0
        reply = Reply(self._words(violation, kind))
        for conversation in await conversations_of(user.id):
            await self._push(conversation, reply,
                             job_id=f"remind:{kind.value}:{violation.id}:{conversation.key}")
        log.info("payment reminder %s sent for violation %d", kind.value, violation.id)
        return 1

    def _words(self, violation: Violation, kind: Reminder) -> str:
        assert violation.decided_on is not None
        grace = self._config.grace_days
        due = payment_due(violation.decided_on, grace_days=grace)
        named = f"{violation.plate_number}的处罚决定书 {violation.decision_number}"
        off = "（不需要提醒可在“罚款缴纳”中关闭缴款提醒）"
        if kind is Reminder.DUE_SOON:
            return (f"缴款提醒：{named}，罚款 {yuan(violation.fine)} 元，请于 "
                    f"{due:%Y年%m月%d日} 前缴纳，逾期每日按罚款的3%加处滞纳金。"
                    f"可在“罚款缴纳”中缴纳。{off}")
        today = self._clock().astimezone(BEIJING).date()
        fee = late_fee(violation.fine, violation.decided_on, today, grace_days=grace,
                       daily_rate=self._config.late_rate)
        return (f"缴款提醒：{named} 已超过缴款期限（{due:%Y年%m月%d日}），"
                f"每日按罚款的3%加处滞纳金，今日应缴 {yuan(violation.fine + fee)} 元"
                f"（含滞纳金 {yuan(fee)} 元）。可在“罚款缴纳”中缴纳。{off}")

