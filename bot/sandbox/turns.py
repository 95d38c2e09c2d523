"""Whether a simulated user's turn is over (sandbox mode only): GET /sandbox/turns.

A user who posts a message is acknowledged at once and sees the replies as they are pushed
(Alipay), so a simulated user needs to know when to stop looking. Nothing of the user's is in
flight once nobody holds or awaits the conversation's turn (the message, its deferred reply's
push, an event's step: bot/inbox.py), no ``send_reply`` job of the user's is queued (news
from a step, or a push that failed in its turn, retried later) and no job is due: any due job
may push to the user in turn (an event's step, a payment's settlement), so the word errs on
the side of waiting, for as long as the worker takes to run what is due.
"""

from __future__ import annotations

import time

from arq.connections import ArqRedis
from arq.constants import default_queue_name, job_key_prefix
from arq.jobs import deserialize_job

from bot.inbox import Inbox
from bot.jobs import send_reply
from bot.messages import Conversation


async def busy(inbox: Inbox, redis: ArqRedis, conversation: Conversation) -> bool:
    """True while a step, push or queued push of ``conversation`` may still reach the user."""
    if await inbox.busy(conversation.key):
        return True
    if await redis.zcount(default_queue_name, "-inf", time.time() * 1000):
        return True  # due, or running
    for raw_id in await redis.zrange(default_queue_name, 0, -1):  # deferred: retries, later
        raw = await redis.get(job_key_prefix + raw_id.decode())
        if raw is None:  # finished meanwhile
            continue
        job = deserialize_job(raw)
        if job.function == send_reply.__name__ and \
                tuple(job.args[:2]) == (conversation.channel, conversation.user_id):
            return True
    return False
