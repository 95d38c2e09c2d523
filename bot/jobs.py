"""Background jobs on arq: outbound work that must never hold up a chat reply."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from arq.connections import ArqRedis
from arq.cron import cron
from arq.worker import Retry, Worker, func
from redis.exceptions import RedisError

from bot import events, follows, processing
from bot.integrations.sms import OutgoingSms, SmsError
from bot.messages import Conversation, Reply
from bot.sandbox import alipay_pay
from bot.services import Services

log = logging.getLogger(__name__)
SHUTDOWN_GRACE = 10.0  # seconds that jobs in progress get to finish when the app stops
REDIS_RETRY_DELAY = 1.0  # seconds before the embedded worker tries a lost Redis again
SMS_TRIES = 4  # about 30 s of retries: a code lives only minutes
REPLY_TRIES = 5
# A deferred message is looked at every two turn leases until it is settled; the marker it
# lives in (wechat.dedupe_ttl, 10 minutes) ends the looks long before this many.
RECOVERY_LOOKS = 1000


async def send_reply(ctx: dict[str, Any], channel: str, user_id: str, reply: dict) -> None:
    """Push a message outside a request (news from an event, a deferred reply whose push in
    its own turn failed, or one a dead process left); retry while the channel is busy. A user
    the channel cannot reach now is not an error. The push is made in the user's turn: jobs
    run concurrently, and a channel that pushes every reply (Alipay) would otherwise show a
    quick second reply before the first."""
    services: Services = ctx["services"]
    conversation = Conversation(channel, user_id)
    async with services.inbox.hold(conversation.key):
        delivered = await services.push_now(conversation, Reply.from_json(reply))
    if not delivered:
        if ctx["job_try"] < REPLY_TRIES:
            raise Retry(defer=ctx["job_try"])
        log.warning("a pushed message could not be delivered in %d tries", REPLY_TRIES)


async def recover_deferred(ctx: dict[str, Any], marker: str) -> None:
    """Make sure a message answered "success" gets its reply, even if the process that
    deferred it died (bot.inbox explains how)."""
    services: Services = ctx["services"]
    try:
        settled = await services.inbox.recover(marker)
    except RedisError as exc:
        raise Retry(defer=services.inbox.recheck_after) from exc
    if not settled:
        raise Retry(defer=services.inbox.recheck_after)


async def send_sms(ctx: dict[str, Any], message: OutgoingSms) -> None:
    """Send one SMS; transient failures are retried, a refusal voids the code it carried."""
    services: Services = ctx["services"]
    try:
        await services.sms_sender.send(message.phone, message.template_code, message.params,
                                       message.out_id)
    except SmsError as exc:
        if exc.transient and ctx["job_try"] < SMS_TRIES:
            raise Retry(defer=5 * ctx["job_try"]) from exc
        if message.purpose == follows.SMS_PURPOSE:  # an owner's follow request, no code row
            await services.follows.undeliverable(message, exc)
        elif message.purpose == processing.SMS_PURPOSE:  # an owner asked to verify, no code
            await services.processing.undeliverable(message, exc)
        else:
            await services.sms_codes.undeliverable(message, exc)


async def expire_sms_code(ctx: dict[str, Any], purpose: str, subject: str, out_id: str) -> None:
    """Runs when a code's lifetime is over: an unused code is dropped and its audit settled."""
    services: Services = ctx["services"]
    await services.sms_codes.expire(purpose, subject, out_id)


async def poll_face(ctx: dict[str, Any], reference: str) -> None:
    """Settle a pending face check without waiting for the user's browser to come back."""
    services: Services = ctx["services"]
    await services.face.poll(reference)


async def handle_event(ctx: dict[str, Any], kind: str, reference: str, data: dict) -> None:
    """An outside event: its domain handler moves the durable record, then the journey."""
    services: Services = ctx["services"]
    await events.handle(events.Event(kind, reference, data), services.conversations)


async def expire_face(ctx: dict[str, Any], reference: str) -> None:
    """A face check's deadline: abandoned if still pending (the session may be long gone)."""
    services: Services = ctx["services"]
    await services.face.expire(reference)


async def lapse_follows(ctx: dict[str, Any]) -> None:
    """Daily: follows consented by SMS lapse after their year; followers are told."""
    services: Services = ctx["services"]
    await services.follows.lapse_consents()


async def sweep_follow_requests(ctx: dict[str, Any]) -> None:
    """Every minute: owners of requests a dead process left unasked are asked, and requests
    past their deadline whose expiry event was lost expire."""
    services: Services = ctx["services"]
    await services.follows.ask_unasked()
    await services.follows.expire_overdue()


async def make_processing_notice(ctx: dict[str, Any], notice_id: int) -> None:
    """A processing notice's delay is over: make it and tell the processor."""
    services: Services = ctx["services"]
    await services.processing.make_notice(notice_id)


async def sweep_processing(ctx: dict[str, Any]) -> None:
    """Every ten minutes: notices and owners' deadlines whose deferred job or event was lost
    (a process killed right after the commit)."""
    services: Services = ctx["services"]
    await services.processing.make_due_notices()
    await services.processing.expire_overdue()


async def settle_payment(ctx: dict[str, Any], payment_id: int) -> None:
    """The buyer came back from Alipay: ask Alipay now rather than at the next round."""
    services: Services = ctx["services"]
    await services.payments.settle(payment_id)


async def reconcile_payments(ctx: dict[str, Any]) -> None:
    """Every minute: open payments asked of Alipay (lost notifies), expired ones closed,
    paid ones whose payer a dead process left untold told."""
    services: Services = ctx["services"]
    await services.payments.reconcile()


async def remind_payments(ctx: dict[str, Any]) -> None:
    """Hourly through the day: reminders of fines due soon or late (each sent once)."""
    services: Services = ctx["services"]
    await services.payments.reminders.send_due()


async def sandbox_pay_notify(ctx: dict[str, Any], out_trade_no: str, attempt: int) -> None:
    """Sandbox mode: the simulated Alipay's notify of a paid trade, and its retries."""
    services: Services = ctx["services"]
    await alipay_pay.send_notify(services.settings, services.redis, services.http,
                                 out_trade_no, attempt)


async def recount_pending(ctx: dict[str, Any], conversation: str) -> None:
    """A pending item's expiry: the mirrored count drops it."""
    services: Services = ctx["services"]
    await services.pending.recount(Conversation.parse(conversation))


JOBS = [
    # Its result, kept an hour (arq's default), keeps the job id too: a deferred reply handed
    # over a second time (the recovery job's, after a crash) within that is dropped, and so is
    # a second Alipay hint for one unsupported message. Only pushes that failed in their own
    # turn, outside events' news and hints come here: a deferred reply is pushed at once.
    func(send_reply, max_tries=REPLY_TRIES),
    func(recover_deferred, max_tries=RECOVERY_LOOKS, keep_result=0),
    # keep_result=0: arq would otherwise keep the job's arguments (the code) for an hour.
    func(send_sms, max_tries=SMS_TRIES, keep_result=0),
    func(expire_sms_code, max_tries=5),
    # keep_result=0: a check is polled every few seconds; its results are of no use.
    func(poll_face, max_tries=3, keep_result=0),
    # The result (kept an hour by default) also keeps the job id, which drops duplicates.
    func(handle_event, name=events.JOB, max_tries=5),
    func(expire_face, max_tries=3, keep_result=0),
    func(recount_pending, max_tries=3, keep_result=0),
    func(make_processing_notice, name=processing.NOTICE_JOB, max_tries=5),
    func(settle_payment, max_tries=3, keep_result=0),
    # A retry after a crash posts the same notify (same notify_id), as Alipay's would.
    func(sandbox_pay_notify, name=alipay_pay.NOTIFY_JOB, max_tries=3, keep_result=0),
]


# Once a day at 03:00 (the worker's clock); arq runs a cron job once per time across workers.
CRON_JOBS = [cron(lapse_follows, hour={3}, minute={0}, run_at_startup=False, max_tries=3),
             cron(sweep_processing, minute=set(range(0, 60, 10)), run_at_startup=True,
                  max_tries=3),
             cron(sweep_follow_requests, run_at_startup=True, max_tries=3),
             cron(reconcile_payments, run_at_startup=True, max_tries=3),
             cron(remind_payments, hour=set(range(9, 21)), minute={5}, run_at_startup=False,
                  max_tries=3)]


def build_worker(services: Services, *, burst: bool = False) -> Worker:
    """A worker with its own Redis pool (arq closes the pool it is given when it stops)."""
    return Worker(
        functions=JOBS,
        cron_jobs=CRON_JOBS,
        redis_pool=ArqRedis.from_url(services.redis_url),
        ctx={"services": services},
        handle_signals=False,
        poll_delay=services.settings.jobs.poll_delay,
        burst=burst,
        max_jobs=20,
    )


@contextlib.asynccontextmanager
async def worker_running(services: Services) -> AsyncIterator[Worker]:
    """Run a worker as a task of this process (the embedded default)."""
    worker = build_worker(services)
    task = asyncio.create_task(_run_through_outages(worker))
    try:
        yield worker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # Let jobs already started finish first: arq's close() cancels them, and a cancelled
        # job runs again later (an SMS twice) or, cancelled before it began, makes close() raise.
        running = [job for job in worker.tasks.values() if not job.done()]
        if running:
            await asyncio.wait(running, timeout=SHUTDOWN_GRACE)
        with contextlib.suppress(RedisError):  # Redis down: nothing left to tidy up there
            await worker.close()


async def _run_through_outages(worker: Worker) -> None:
    """arq's worker stops at its first Redis error; the embedded one waits and starts again."""
    while True:
        try:
            await worker.async_run()
        except RedisError as exc:
            log.warning("job worker lost Redis (%s); retrying in %.0f s", type(exc).__name__,
                        REDIS_RETRY_DELAY)
            await asyncio.sleep(REDIS_RETRY_DELAY)
