"""Background jobs on arq: outbound work that must never hold up a chat reply."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from arq.connections import ArqRedis
from arq.worker import Worker, func

from bot.messages import Reply
from bot.services import Services


async def send_reply(ctx: dict[str, Any], channel: str, user_id: str, reply: dict) -> None:
    """Deliver a reply that missed the passive-reply budget."""
    services: Services = ctx["services"]
    await services.send(channel, user_id, Reply.from_json(reply))


JOBS = [func(send_reply, max_tries=5)]


def build_worker(services: Services, *, burst: bool = False) -> Worker:
    """A worker with its own Redis pool (arq closes the pool it is given when it stops)."""
    return Worker(
        functions=JOBS,
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
    task = asyncio.create_task(worker.async_run())
    try:
        yield worker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await worker.close()
