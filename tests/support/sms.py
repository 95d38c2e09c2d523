"""Reading what the SMS sandboxes sent: journeys' tests fetch codes here, as a phone would."""

from __future__ import annotations

import asyncio

from models.outbox import OutboxMessage


async def delivered(out_id: str, timeout: float = 5.0) -> OutboxMessage:
    """The outbox entry the send_sms job wrote for ``out_id`` (the worker runs in-process)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        for message in await OutboxMessage.filter(kind="sms"):
            if message.body.get("out_id") == out_id:
                return message
        await asyncio.sleep(0.025)
    raise AssertionError(f"sms {out_id} was not delivered within {timeout} s")


async def code_of(out_id: str) -> str:
    """The code carried by the SMS sent as ``out_id``."""
    return (await delivered(out_id)).body["params"]["code"]
