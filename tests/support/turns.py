"""Waiting for a conversation to go quiet, instead of a fixed pause, before asserting that
something was not pushed (the sandbox's word, bot/sandbox/turns.py)."""

from __future__ import annotations

import asyncio

from bot.messages import Conversation
from bot.sandbox.turns import busy


async def turn_over(harness, conversation: Conversation, seconds: float = 15) -> None:
    """Wait until nothing of the conversation's is in flight, queued to push, or due in the
    job queue: a push that has not come by then is not coming from what happened so far."""
    services = harness.services
    async with asyncio.timeout(seconds):
        while await busy(services.inbox, services.redis, conversation):
            await asyncio.sleep(0.02)
