"""`python -m bot payments` as operators run it: a separate process on the app's database and
Redis, refunding through the simulated Alipay the app serves (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from models.payment import PaymentRecord, PaymentState, RecordSource
from tests.support.payments import daytime_clock, flagged_payment

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def payments(harness):
    payments = harness.services.payments
    payments.clock = daytime_clock()
    return payments


async def bot(harness, *args: str) -> tuple[int, str, str]:
    settings = harness.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")} | {
        "BOT__SERVER__DATA_DIR": settings.server.data_dir,
        "BOT__SERVER__PORT": str(settings.server.port),
        "BOT__DATABASE__URL": settings.database.url,
        "BOT__DATABASE__SEED_DEMO_WHEN_EMPTY": "false",
        "BOT__REDIS__URL": settings.redis.url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_operators_list_and_refund_a_flagged_payment(harness, payments):
    payment = await flagged_payment(harness, payments)

    code, out, _ = await bot(harness, "payments", "flagged")
    assert code == 0 and payment.out_trade_no in out and "重复付款" in out
    code, out, err = await bot(harness, "payments", "refund", payment.out_trade_no,
                               "--operator", "王警官", "--reason", "已在窗口缴款")
    assert (code, out.strip()) == (0, f"refunded 200.00 yuan of {payment.out_trade_no}"), err
    await payment.refresh_from_db()
    assert payment.state is PaymentState.REFUNDED
    record = await PaymentRecord.get(payment_id=payment.id, source=RecordSource.REFUND)
    assert (record.operator, record.body["reason"]) == ("王警官", "已在窗口缴款")

    code, _, err = await bot(harness, "payments", "refund", payment.out_trade_no,
                             "--operator", "王警官", "--reason", "again")
    assert code == 1 and err.startswith("refund refused: only flagged")
    code, _, err = await bot(harness, "payments", "refund", "F-none", "--operator", "x",
                             "--reason", "y")
    assert code == 1 and "no such payment" in err
