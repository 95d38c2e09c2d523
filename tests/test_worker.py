"""`python -m bot worker` as production runs it, next to an external Redis that goes away."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus

from bot.redis_server import RedisProcess

ROOT = Path(__file__).resolve().parent.parent


async def processed(redis: ArqRedis, name: str, timeout: float = 15.0) -> None:
    """Enqueue a job (one that only touches Redis and the database) and wait for its result."""
    job = await redis.enqueue_job("expire_sms_code", "register", "subject", name)
    assert job is not None
    deadline = time.monotonic() + timeout
    while await Job(job.job_id, redis).status() is not JobStatus.complete:
        assert time.monotonic() < deadline, f"job {name} not run in {timeout:.0f} s"
        await asyncio.sleep(0.05)


async def test_regression_worker_command_survives_a_redis_restart(tmp_path: Path):
    redis_server = RedisProcess(tmp_path / "redis")
    await redis_server.start()
    environ = {key: value for key, value in os.environ.items() if not key.startswith("BOT_")}
    environ |= {"BOT__REDIS__URL": redis_server.url, "BOT__SERVER__DATA_DIR": str(tmp_path),
                "BOT__DATABASE__SEED_DEMO_WHEN_EMPTY": "false", "BOT__JOBS__POLL_DELAY": "0.05"}
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen([sys.executable, "-m", "bot", "worker"], cwd=ROOT, env=environ,
                                  stdout=output, stderr=subprocess.STDOUT)
    redis = ArqRedis.from_url(redis_server.url)
    try:
        await processed(redis, "before")
        os.kill(redis_server.pid, signal.SIGKILL)
        await redis_server.stop()  # reaps it
        await asyncio.sleep(1.5)  # the worker polls a Redis that is gone
        assert worker.poll() is None, log.read_text()
        await redis_server.start()
        await processed(redis, "after")
        assert worker.poll() is None
    finally:
        await redis.aclose()
        worker.terminate()  # SIGTERM: jobs in progress finish, then it exits
        exit_code = worker.wait(timeout=30)
        await redis_server.stop()
    assert exit_code == 0
    assert "Traceback" not in log.read_text()
