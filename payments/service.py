"""Paying fines (DOMAIN.md "Paying fines"): orders, notifies, reconciliation, refunds.

The amount is the server's: principal plus the late fee to date (bot.rules.late_fee), fixed
when the order is made. Every change to a decision's payments locks the violation row first
(``select_for_update``), so they happen one at a time per decision; ``Payment.live_key``
(unique) is the database's own guarantee of at most one open or paid payment per decision.

A payment is settled by Alipay's notify (signature, our order, the same amount, our app_id
and seller_id; only TRADE_SUCCESS / TRADE_FINISHED mean paid), or, when no notify came, by
the reconciliation job asking Alipay (trade.query) and closing orders past their expiry
(trade.close). An open order whose outcome cannot be learnt becomes unknown and keeps the
decision until Alipay answers. The payer is told in the conversation they paid from; a
sweep tells those a dead process left untold. Money taken for a decision paid already is
flagged for operators and refunded only by ``python -m bot payments refund``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from tortoise import timezone
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot.config import PaymentConfig
from bot.messages import Conversation, Reply
from bot.processing import yuan
from bot.rules import BEIJING, days_overdue, late_fee, payment_due, payments_reopen
from models.enums import ViolationState
from models.follow import Follow
from models.payment import OPEN_STATES, Payment, PaymentRecord, PaymentState, RecordSource
from models.user import User
from models.vehicle import Vehicle
from models.violation import Violation
from payments.gateway import PAID_STATUSES, GatewayUnavailable, PayGateway, money
from payments.reminders import Reminders

log = logging.getLogger(__name__)
CLOCK_SKEW = timedelta(seconds=60)  # Alipay's clock against ours, before we close an order
TOLD_JOB = "payment-paid"
BAD_SIGNATURE = "signature is not Alipay's"

Clock = Callable[[], datetime]
Push = Callable[..., Awaitable[None]]


class PaymentRefused(Exception):
    """No order now; ``str(exc)`` is what the user reads."""


@dataclass(frozen=True)
class Quote:
    """What a decision costs today, as the server computes it."""

    principal: Decimal
    late_fee: Decimal
    days_overdue: int
    pay_by: date

    @property
    def amount(self) -> Decimal:
        return self.principal + self.late_fee


@dataclass(frozen=True)
class Order:
    payment: Payment
    url: str  # the wap-pay link


class Payments:
    """The payment domain (``deps.payments``); built once at the composition root."""

    def __init__(self, config: PaymentConfig, gateway: PayGateway, *, push: Push,
                 clock: Clock = timezone.now) -> None:
        self.config = config
        self.gateway = gateway
        self._push = push
        self.clock = clock  # tests set another
        self.reminders = Reminders(config, push, lambda: self.clock())

    def _now(self) -> datetime:
        """The clock's time in the database's zone (SQLite compares datetimes as text)."""
        return timezone.localtime(self.clock())

    # -- what is owed ---------------------------------------------------------------------------

    def reopens_at(self) -> datetime | None:
        """None while payments are open; in the maintenance window, when they open again."""
        start, end = self.config.maintenance
        return payments_reopen(self.clock(), start=start, end=end)

    def quote(self, violation: Violation) -> Quote:
        assert violation.decided_on is not None  # adjudicated records only
        today = self.clock().astimezone(BEIJING).date()
        grace = self.config.grace_days
        return Quote(violation.fine,
                     late_fee(violation.fine, violation.decided_on, today, grace_days=grace,
                              daily_rate=self.config.late_rate),
                     days_overdue(violation.decided_on, today, grace_days=grace),
                     payment_due(violation.decided_on, grace_days=grace))

    @staticmethod
    async def unpaid_of(user: User) -> list[Violation]:
        """Processed-unpaid decisions of the user's own and followed vehicles and of their
        own licence, oldest decision first (the late fee grows on those)."""
        own = await Vehicle.filter(owner_id_number=user.id_number)
        followed = [follow.vehicle for follow in await Follow.filter(
            follower_id=user.id, ended_at=None, vehicle_id__isnull=False,
        ).prefetch_related("vehicle")]
        found = {v.id: v for v in await Violation.filter(
            licence_number=user.id_number, state=ViolationState.PROCESSED_UNPAID)}
        for vehicle in {v.id: v for v in [*own, *followed]}.values():
            found |= {v.id: v for v in await Violation.filter(
                plate_type=vehicle.plate_type, plate_number=vehicle.plate_number,
                state=ViolationState.PROCESSED_UNPAID)}
        return sorted(found.values(), key=lambda v: (v.decided_on or date.min, v.id))

    @staticmethod
    async def by_out_trade_no(out_trade_no: str) -> Payment | None:
        return await Payment.get_or_none(out_trade_no=out_trade_no)

    @staticmethod
    async def decision(number: str) -> Violation | None:
        """Any adjudicated record by its decision number (online, on-site, general)."""
        return await Violation.get_or_none(decision_number=number)

    # -- an order -------------------------------------------------------------------------------

    async def order(self, decision_number: str, payer: User | None,
                    conversation: Conversation) -> Order:
        """The pay link of this decision: a new order, or the conversation's own open one
        again. Raises PaymentRefused (maintenance, paid, another payment under way or of
        unknown outcome, which Alipay is asked about first)."""
        reopens = self.reopens_at()
        if reopens is not None:
            raise PaymentRefused(f"每日{self.config.maintenance_start}至次日"
                                 f"{self.config.maintenance_end}为系统维护时间，暂停缴款，"
                                 f"请于 {reopens:%H:%M} 后再试")
        for _ in range(2):
            try:
                payment, live = await self._open(decision_number, payer, conversation)
            except IntegrityError:  # a concurrent order took the slot: look again
                continue
            if payment is not None:
                return Order(payment, self.gateway.pay_url(
                    payment.out_trade_no, payment.amount, payment.expires_at))
            assert live is not None
            await self.settle(live.id)  # unknown or past its expiry: ask Alipay first
        raise PaymentRefused("该罚款有一笔支付的结果尚在确认中，请稍后再试。"
                             "如您已付款，请勿重复缴纳")

    async def _open(self, number: str, payer: User | None,
                    conversation: Conversation) -> tuple[Payment | None, Payment | None]:
        """(the order to pay, None), or (None, a live payment Alipay must be asked about)."""
        now = self._now()
        async with in_transaction() as conn:
            violation = await (Violation.filter(decision_number=number).using_db(conn)
                               .select_for_update().first())
            if violation is None:
                raise PaymentRefused("未找到该处罚决定书编号，请核对后重新输入")
            if violation.state is ViolationState.PAID:
                raise PaymentRefused("该处罚决定的罚款已缴纳，无需重复缴纳")
            if violation.state is not ViolationState.PROCESSED_UNPAID:
                raise PaymentRefused(f"该记录状态为“{violation.state.label}”，不能缴款")
            live = await Payment.filter(live_key=violation.id).using_db(conn).first()
            if live is None:
                return await self._create(violation, payer, conversation, now, conn), None
            if live.state is PaymentState.PAID:  # paid, the violation not yet cleared
                raise PaymentRefused("该罚款已付款，正在销账，请勿重复缴纳")
            if live.state is PaymentState.UNKNOWN or live.expires_at <= now:
                return None, live
            if live.conversation != conversation.key:
                raise PaymentRefused(f"该罚款正在缴纳中，请于 "
                                     f"{live.expires_at.astimezone(BEIJING):%H:%M} 后再试")
            return live, None

    async def _create(self, violation: Violation, payer: User | None,
                      conversation: Conversation, now: datetime,
                      conn: BaseDBAsyncClient) -> Payment:
        quote = self.quote(violation)
        payment = await Payment.create(
            out_trade_no=f"F{now.astimezone(BEIJING):%Y%m%d%H%M%S}{secrets.token_hex(8)}",
            violation_id=violation.id, decision_number=violation.decision_number,
            payer=payer, conversation=conversation.key, principal=quote.principal,
            late_fee=quote.late_fee, days_overdue=quote.days_overdue, amount=quote.amount,
            live_key=violation.id, created_at=now,
            expires_at=now + timedelta(seconds=self.config.order_lifetime), using_db=conn)
        log.info("payment %d ordered", payment.id)
        return payment

    # -- Alipay's notify ------------------------------------------------------------------------

    async def notify(self, form: dict[str, str]) -> bool:
        """Act on a notify, once per notify_id; True once the result is stored (then, and
        only then, Alipay is answered "success")."""
        if not self.gateway.verified(form):
            await self._record(None, RecordSource.NOTIFY, form, False, BAD_SIGNATURE)
            log.warning("payment notify refused: bad signature")
            return False
        notify_id = form.get("notify_id", "")
        payment = await Payment.get_or_none(out_trade_no=form.get("out_trade_no", ""))
        refusal = self.gateway.foreign(form)
        if refusal is None and payment is None:
            refusal = "out_trade_no is not an order of ours"
        if refusal is None and _amount(form.get("total_amount")) != payment.amount:
            refusal = "total_amount differs from the order's"
        if refusal is None and not notify_id:
            refusal = "no notify_id"
        if refusal is not None:
            await self._record(payment, RecordSource.NOTIFY, form, False, refusal)
            log.warning("payment notify refused: %s", refusal)
            return False
        assert payment is not None
        try:
            await self._apply(payment, RecordSource.NOTIFY, form, notify_id)
        except IntegrityError:  # Alipay's repeat of a notify stored already: acted on once
            return await PaymentRecord.filter(notify_id=notify_id).exists()
        return True

    # -- settling -------------------------------------------------------------------------------

    async def _apply(self, payment: Payment, source: RecordSource, body: dict[str, Any],
                     notify_id: str | None = None) -> Payment:
        """Move a payment by what Alipay says of its trade (a notify or a query answer) and
        store that, in one transaction."""
        status = str(body.get("trade_status", ""))
        now = self._now()
        async with in_transaction() as conn:
            await Violation.filter(id=payment.violation_id).using_db(conn).select_for_update()
            current = await Payment.filter(id=payment.id).using_db(conn).select_for_update().get()
            if status in PAID_STATUSES:
                outcome = await self._paid(current, body, now, conn)
            elif status == "TRADE_CLOSED" and current.state in OPEN_STATES:
                await _move(current, conn, state=PaymentState.CLOSED, live_key=None,
                            closed_at=now)
                outcome = "交易已关闭"
            elif status == "WAIT_BUYER_PAY" and current.state is PaymentState.CREATED:
                await _move(current, conn, state=PaymentState.PAYING,
                            trade_no=str(body.get("trade_no", "")))
                outcome = "等待付款"
            else:
                outcome = f"无需变更（{current.state.label}）"
            await PaymentRecord.create(
                payment_id=current.id, source=source, out_trade_no=current.out_trade_no,
                notify_id=notify_id, trade_status=status, accepted=True, outcome=outcome,
                body=body, at=now, using_db=conn)
        if current.state is PaymentState.PAID and current.told_at is None:
            await self._tell(current)
        return current

    async def _paid(self, payment: Payment, body: dict[str, Any], now: datetime,
                    conn: BaseDBAsyncClient) -> str:
        """Money taken: the payment is paid and the decision cleared; or, when the decision
        was paid otherwise (or another payment holds it), flagged for operators."""
        if payment.state in (PaymentState.PAID, PaymentState.REFUNDED):
            return f"已处理过（{payment.state.label}）"
        paid = {"state": PaymentState.PAID, "paid_at": now,
                "trade_no": str(body.get("trade_no", "")) or payment.trade_no}
        if _amount(body.get("total_amount")) != payment.amount:
            flag = "到账金额与订单金额不符"
        elif payment.live_key is None and await Payment.filter(
                live_key=payment.violation_id).using_db(conn).exists():
            flag = "订单关闭后到账，另有支付占用该决定"
        elif not await Violation.filter(
                id=payment.violation_id, state=ViolationState.PROCESSED_UNPAID,
        ).using_db(conn).update(state=ViolationState.PAID, paid_at=now):
            flag = "该决定已缴款，重复付款"
        else:
            await _move(payment, conn, live_key=payment.violation_id, **paid)
            log.info("payment %d paid, decision cleared", payment.id)
            return "已支付，违法记录已缴款"
        await _move(payment, conn, live_key=None, flagged=flag, **paid)
        log.warning("payment %d flagged for operators: money taken, its decision not cleared "
                    "by it (python -m bot payments flagged)", payment.id)
        return f"已支付，需人工处理：{flag}"

    async def settle(self, payment_id: int) -> Payment:
        """Ask Alipay about an open payment and act on the answer; past its expiry, close it
        at Alipay. Unanswered past its expiry, it becomes unknown (asked again later)."""
        payment = await Payment.get(id=payment_id)
        if payment.state not in OPEN_STATES:
            return payment
        try:
            answer = await self.gateway.query(payment.out_trade_no)
        except GatewayUnavailable as exc:
            return await self._unanswered(payment, RecordSource.QUERY, exc)
        if answer.get("code") == "10000":
            payment = await self._apply(payment, RecordSource.QUERY, answer)
        else:
            await self._record(payment, RecordSource.QUERY, answer, True,
                               str(answer.get("sub_code", answer.get("code", ""))))
        if payment.state in OPEN_STATES and payment.expires_at + CLOCK_SKEW <= self._now():
            return await self._close_at_alipay(payment)
        return payment

    async def _close_at_alipay(self, payment: Payment) -> Payment:
        try:
            answer = await self.gateway.close(payment.out_trade_no)
        except GatewayUnavailable as exc:
            return await self._unanswered(payment, RecordSource.CLOSE, exc)
        code, sub_code = answer.get("code"), answer.get("sub_code", "")
        closed = code == "10000" or sub_code == "ACQ.TRADE_NOT_EXIST"  # never opened
        await self._record(payment, RecordSource.CLOSE, answer, True,
                           "交易已关闭" if closed else str(sub_code or code))
        if closed:
            async with in_transaction() as conn:
                current = await (Payment.filter(id=payment.id).using_db(conn)
                                 .select_for_update().get())
                if current.state in OPEN_STATES:
                    await _move(current, conn, state=PaymentState.CLOSED, live_key=None,
                                closed_at=self._now())
            log.info("payment %d closed after its expiry", payment.id)
        else:  # e.g. ACQ.TRADE_STATUS_ERROR: paid meanwhile; the next query settles it
            await Payment.filter(id=payment.id, state__in=OPEN_STATES).update(
                state=PaymentState.UNKNOWN)
        return await Payment.get(id=payment.id)

    async def _unanswered(self, payment: Payment, source: RecordSource,
                          error: GatewayUnavailable) -> Payment:
        await self._record(payment, source, {}, False, f"支付宝无应答：{error}")
        log.warning("payment %d: Alipay not reached (%s)", payment.id, error)
        if payment.expires_at + CLOCK_SKEW <= self._now():
            await Payment.filter(id=payment.id, state__in=OPEN_STATES).update(
                state=PaymentState.UNKNOWN)
        return await Payment.get(id=payment.id)

    async def reconcile(self) -> int:
        """The job's round: every open payment older than ``reconcile_after`` is asked of
        Alipay (closed past its expiry); paid ones nobody told are told. Returns how many
        were asked."""
        since = self._now() - timedelta(seconds=self.config.reconcile_after)
        due = await Payment.filter(state__in=OPEN_STATES, created_at__lte=since).values_list(
            "id", flat=True)
        for payment_id in due:
            await self.settle(payment_id)
        for payment in await Payment.filter(state=PaymentState.PAID, told_at=None):
            await self._tell(payment)
        return len(due)

    # -- telling the payer ---------------------------------------------------------------------

    async def _tell(self, payment: Payment) -> None:
        """Tell the payer, in the conversation they paid from, once (the job's id)."""
        conversation = Conversation.parse(payment.conversation)
        await self._push(conversation, Reply(paid_words(payment)),
                         job_id=f"{TOLD_JOB}:{payment.id}")
        await Payment.filter(id=payment.id, told_at=None).update(told_at=self._now())

    # -- operators ------------------------------------------------------------------------------

    @staticmethod
    async def flagged() -> list[Payment]:
        return await Payment.filter(state=PaymentState.PAID).exclude(flagged="").order_by("id")

    async def refund(self, out_trade_no: str, *, operator: str, reason: str) -> str:
        """Refund a flagged payment in full (alipay.trade.refund), recorded with the operator
        and reason; what happened, for the operator. Raises PaymentRefused otherwise."""
        payment = await Payment.get_or_none(out_trade_no=out_trade_no)
        if payment is None:
            raise PaymentRefused("no such payment")
        if payment.state is not PaymentState.PAID or not payment.flagged:
            raise PaymentRefused(f"only flagged paid payments are refunded (this one: "
                                 f"{payment.state.value}, flagged: {payment.flagged or 'no'})")
        audit = {"reason": reason, "amount": money(payment.amount)}
        try:
            answer = await self.gateway.refund(out_trade_no, payment.amount, f"R{payment.id}")
        except GatewayUnavailable as exc:
            await self._record(payment, RecordSource.REFUND, audit, False, str(exc), operator)
            raise PaymentRefused(f"Alipay not reached: {exc}; try again") from exc
        if answer.get("code") != "10000":
            await self._record(payment, RecordSource.REFUND, audit | {"answer": answer}, False,
                               str(answer.get("sub_code", "")), operator)
            raise PaymentRefused(f"Alipay refused: {answer.get('sub_msg', answer.get('msg'))}")
        async with in_transaction() as conn:
            await Payment.filter(id=payment.id, state=PaymentState.PAID).using_db(conn).update(
                state=PaymentState.REFUNDED, refunded_at=self._now())
            await PaymentRecord.create(
                payment_id=payment.id, source=RecordSource.REFUND, out_trade_no=out_trade_no,
                accepted=True, outcome="已退款", operator=operator,
                body=audit | {"answer": answer}, at=self._now(), using_db=conn)
        log.info("payment %d refunded by an operator", payment.id)
        return f"refunded {money(payment.amount)} yuan of {out_trade_no}"

    async def _record(self, payment: Payment | None, source: RecordSource,
                      body: dict[str, Any], accepted: bool, outcome: str,
                      operator: str = "") -> None:
        await PaymentRecord.create(
            payment_id=payment.id if payment else None, source=source,
            out_trade_no=str(body.get("out_trade_no", payment.out_trade_no if payment
                                      else ""))[:64],
            trade_status=str(body.get("trade_status", ""))[:32], accepted=accepted,
            outcome=outcome[:128], operator=operator, body=body, at=self._now())


@dataclass(frozen=True)
class ReturnPage:
    """What the return URL shows ({app}: the channel's title); ``settling``: ask Alipay."""

    title: str
    text: str
    settling: bool = False


RETURN_PAGES = {
    PaymentState.PAID: ReturnPage("缴款成功",
                                  "已收到您的付款，违法记录已缴款。请返回{app}查看缴款结果。"),
    PaymentState.CLOSED: ReturnPage("订单已关闭",
                                    "该订单已关闭，未扣款。如需缴款，请返回{app}重新办理。"),
    PaymentState.REFUNDED: ReturnPage("已退款", "该笔付款已原路退回。"),
}
SETTLING = ReturnPage("正在确认支付结果",
                      "支付结果以支付宝通知为准，确认后将在{app}中告知您，请勿重复付款。",
                      settling=True)
UNPAID = ReturnPage("未完成支付", "本次未付款。如需缴款，请返回{app}重新打开缴款链接。")
FLAGGED = ReturnPage("付款已到账", "该罚款已缴纳过，请勿再次付款，多付的款项将原路退回。")


def return_page(payment: Payment, *, paid_back: bool) -> ReturnPage:
    """The return URL is for display only: what we know now. An open payment the browser
    says was paid (Alipay's sync parameters name a trade_no) is asked of Alipay, as the
    browser may come back before the notify; without them the buyer left unpaid."""
    if payment.state is PaymentState.PAID and payment.flagged:
        return FLAGGED
    return RETURN_PAGES.get(payment.state, SETTLING if paid_back else UNPAID)


async def _move(payment: Payment, conn: BaseDBAsyncClient, **changes: Any) -> None:
    """Change a payment row locked in ``conn``, and its instance alike (nothing re-read)."""
    await Payment.filter(id=payment.id).using_db(conn).update(**changes)
    for name, value in changes.items():
        setattr(payment, name, value)


def paid_words(payment: Payment) -> str:
    """What the payer reads once the money is taken."""
    if payment.flagged:
        return (f"您为处罚决定书 {payment.decision_number} 支付的 {yuan(payment.amount)} 元"
                "已到账，但该罚款已经缴纳过（或另有一笔支付在处理中）。请勿再次缴纳，"
                "我们已转交工作人员核实，多付的款项将原路退回。")
    fee = f"，滞纳金 {yuan(payment.late_fee)} 元" if payment.late_fee else ""
    return (f"缴款成功！处罚决定书 {payment.decision_number}，已缴 {yuan(payment.amount)} 元"
            f"（罚款 {yuan(payment.principal)} 元{fee}）。该违法记录已缴款，无需再缴。")


def _amount(value: object) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None
