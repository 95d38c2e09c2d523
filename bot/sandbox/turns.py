"""Whether a simulated user's turn is over (sandbox mode only): GET /sandbox/turns.

A user who posts a message is acknowledged at once and sees the replies as they are pushed
(Alipay), so a simulated user needs to know when to stop looking. Nothing of the user's is in
flight once nobody holds or awaits the conversation's turn (the message, its deferred reply's
push, an event's step: bot/inbox.py) and no job that pushes is queued for it: the user's own
``send_reply`` jobs (news from a step, a push that failed in its turn, retried later) and,
while due, the jobs that run outside events (an event's step pushes in the user's turn).
"""

from __future__ import annotations

import time

from arq.connections import ArqRedis
from arq.constants import default_queue_name, job_key_prefix
from arq.jobs import deserialize_job

from bot import events, processing
from bot.inbox import Inbox
from bot.jobs import send_reply
from bot.messages import Conversation

# Jobs that may push to someone once they run (bot/jobs.py): counted while due.
_DUE_PUSHERS = frozenset({events.JOB, processing.NOTICE_JOB})


async def busy(inbox: Inbox, redis: ArqRedis, conversation: Conversation) -> bool:
    """True while a step, push or queued push of ``conversation`` may still reach the user."""
    if await inbox.busy(conversation.key):
        return True
    now_ms = time.time() * 1000
    queued = await redis.zrange(default_queue_name, 0, -1, withscores=True)
    for raw_id, due_ms in queued:
        job_id = raw_id.decode()
        if job_id.startswith("recover:"):  # a deferred message's watch: pushes nothing itself
            continue
        raw = await redis.get(job_key_prefix + job_id)
        if raw is None:  # finished meanwhile
            continue
        job = deserialize_job(raw)
        if job.function == send_reply.__name__:
            if tuple(job.args[:2]) == (conversation.channel, conversation.user_id):
                return True
        elif job.function in _DUE_PUSHERS and due_ms <= now_ms:
            return True
    return False
