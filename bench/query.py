"""The vehicle query journey over a large traffic database: server time of each step, and the
plans of the queries behind it.

Starts a throw-away PostgreSQL, loads the demo data scaled up (`python -m bot seed-demo
--vehicles 100000 --violations 1000000`), then runs `python -m bot serve` against it
(embedded Redis, jobs in process, safe mode) as a separate process. This process drives N
WeChat users through 查询车辆违法 over HTTP, each journey on the next of the vehicles with the
most violations: menu click, plate type, plate, VIN suffix (list page 1), 下一页 (page 2),
item 1 (detail), 返回列表 (page 2), 上一页 (page 1), and again. The server's own time of every reply
comes from its `Server-Timing` header; list steps must stay under 20 ms at p99.

Then it replays the traffic platform's calls in this process, captures the SQL Tortoise
sends, and prints EXPLAIN (ANALYZE, BUFFERS) of each: every one must use an index.

    .venv/bin/python -m bench.query [--quick] [--users 100] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from tortoise import Tortoise

from bench.inbound import (
    AES_KEY,
    APPID,
    CLIENT_CORE,
    PINNED,
    ROOT,
    SERVER_CORE,
    TOKEN,
    Connection,
    Load,
    _cpu_seconds,
    free_port,
    pin,
    process,
    wait_ready,
)
from bot.config import load_settings
from bot.db import tortoise_config
from bot.integrations.traffic import EmbeddedTrafficPlatform
from bot.masking import scrub
from bot.sandbox.wechat_client import WeChatUser
from flows import query_vehicle
from models.enums import PlateType
from tests.support.servers import postgres_missing, postgres_server

TARGET_LIST_P99_MS = 20.0
FULL, QUICK = (100_000, 1_000_000), (10_000, 100_000)  # (vehicles, violations)
INDEX_NODES = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")
SERVER_TIMING = "server-timing: app;dur="


@dataclass(frozen=True)
class Target:
    """A vehicle to query, and how many violations it has."""

    plate_type: str  # the code, as a user may type it
    plate_number: str
    vin6: str
    violations: int


@dataclass(frozen=True)
class Step:
    text: str  # what the user types, or the menu key they click
    expect: str  # a phrase the reply must contain
    is_list: bool = False  # the reply is a page of the violation list
    click: bool = False


def journey(target: Target) -> list[Step]:
    return [Step(query_vehicle.FLOW.click_key or "", "请选择号牌种类", click=True),
            Step(target.plate_type, "请输入号牌号码"),
            Step(target.plate_number, "请输入车架号"),
            Step(target.vin6, "，第1/", is_list=True),
            Step("下一页", "，第2/", is_list=True),
            Step("1", "违法详情"),
            Step("返回列表", "，第2/", is_list=True),
            Step("上一页", "，第1/", is_list=True)]


@dataclass
class Phase:
    """One measured window: client-side latency, and the server's own time of each reply."""

    name: str
    client: Load
    server: Load = field(default_factory=lambda: Load("server"))
    server_list: Load = field(default_factory=lambda: Load("list steps"))


@dataclass(frozen=True)
class Plan:
    call: str
    sql: str
    lines: list[str]

    @property
    def uses_index(self) -> bool:
        text = "\n".join(self.lines)
        return any(node in text for node in INDEX_NODES) and "Seq Scan" not in text


@dataclass(frozen=True)
class Options:
    vehicles: int
    violations: int
    users: int
    seconds: float
    warmup: float
    pace: float
    pool: int


# ---- the database -----------------------------------------------------------------------------


def seed(url: str, options: Options, data_dir: Path) -> float:
    """Load the scaled demo set with the real command; returns the seconds it took."""
    env = dict(os.environ, BOT__DATABASE__URL=url, BOT__SERVER__DATA_DIR=str(data_dir))
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "bot", "seed-demo",
                           "--vehicles", str(options.vehicles),
                           "--violations", str(options.violations)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"seed-demo failed:\n{done.stderr[-3000:]}")
    return time.monotonic() - started


async def prepare(url: str, pool: int) -> tuple[list[Target], tuple[str, str, str], int]:
    """Vacuum (as autovacuum soon would after a bulk load: statistics, and a visibility map for
    index-only scans); then the ``pool`` vehicles with the most violations, the licence with
    the most, and the size of the violation table."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("VACUUM (FREEZE, ANALYZE)")
        rows = await connection.fetch(
            "SELECT v.plate_type, v.plate_number, v.vin, c.n FROM (SELECT plate_type, "
            "plate_number, count(*) AS n FROM violation GROUP BY plate_type, plate_number "
            "ORDER BY n DESC LIMIT $1) AS c JOIN vehicle AS v USING (plate_type, plate_number) "
            "ORDER BY c.n DESC", pool)
        licence = await connection.fetchrow(
            "SELECT l.holder_name, l.number, l.file_number FROM (SELECT licence_number, "
            "count(*) AS n FROM violation WHERE licence_number <> '' GROUP BY licence_number "
            "ORDER BY n DESC LIMIT 1) AS c JOIN driver_licence AS l ON l.number = c.licence_number")
        size = await connection.fetchval("SELECT pg_total_relation_size('violation')")
    finally:
        await connection.close()
    targets = [Target(row["plate_type"], row["plate_number"], row["vin"][-6:], row["n"])
               for row in rows]
    return targets, (licence["holder_name"], licence["number"], licence["file_number"]), size


class _Statements(logging.Handler):
    """Collects the (SQL, parameters) Tortoise logs as it sends each statement."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.sent: list[tuple[str, list]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "%s: %s" and isinstance(record.args, tuple):  # "query: values"
            query, values = record.args
            self.sent.append((str(query), list(values or [])))


async def explain(url: str, target: Target, licence: tuple[str, str, str]) -> list[Plan]:
    """EXPLAIN (ANALYZE, BUFFERS) of exactly what the traffic platform sends for one vehicle
    query and one licence query."""
    platform = EmbeddedTrafficPlatform()
    size = load_settings().query.page_size
    statements = _Statements()
    tortoise_log = logging.getLogger("tortoise.db_client")
    tortoise_log.addHandler(statements)
    tortoise_log.setLevel(logging.DEBUG)
    calls: list[tuple[str, list[tuple[str, list]]]] = []

    async def record(call: str, work: Callable[[], Awaitable[object]]) -> object:
        statements.sent.clear()
        result = await work()
        calls.append((call, list(statements.sent)))
        return result

    await Tortoise.init(config=tortoise_config(url))
    try:
        vehicle = await record("vehicle by plate", lambda: platform.vehicle(
            PlateType(target.plate_type), target.plate_number, target.vin6))
        assert vehicle is not None, "the benchmark's vehicle does not match"
        for page in (0, 1):
            await record(f"vehicle violations, page {page + 1}",
                         lambda page=page: platform.vehicle_violations(vehicle, page, size))
        shown = await platform.vehicle_violations(vehicle, 0, size)
        await record("violation detail", lambda: platform.violation(shown.items[0].id))
        found = await record("licence by name + number + file number",
                             lambda: platform.licence(*licence))
        assert found is not None, "the benchmark's licence does not match"
        await record("licence violations, page 1",
                     lambda: platform.licence_violations(found, 0, size))
    finally:
        tortoise_log.removeHandler(statements)
        await Tortoise.close_connections()

    connection = await asyncpg.connect(url)
    try:
        plans = []
        for call, sent in calls:
            for number, (sql, values) in enumerate(sent, 1):
                rows = await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *values)
                label = call if len(sent) == 1 else f"{call}, statement {number} of {len(sent)}"
                plans.append(Plan(label, sql, [_placeholders(row[0], values) for row in rows]))
        return plans
    finally:
        await connection.close()


def _placeholders(line: str, values: list) -> str:
    """The plan line with the sample's values shown as $1, $2...: they are personal data."""
    for number, value in enumerate(values, 1):
        line = line.replace(f"'{value}'", f"${number}")
    return scrub(line)


# ---- the load ---------------------------------------------------------------------------------


async def drive(url: str, targets: list[Target], options: Options,
                server_pid: int) -> list[Phase]:
    """Warm up, then measure saturated (no think time) and paced (one message per user every
    ``options.pace`` seconds)."""
    pool = itertools.cycle(targets)

    def walk() -> Iterator[Step]:
        for target in pool:  # shared: each journey takes the next vehicle
            yield from journey(target)

    users = [WeChatUser(None, url, TOKEN, f"bench-query-{n:04d}",  # type: ignore[arg-type]
                        encoding_aes_key=AES_KEY, appid=APPID) for n in range(options.users)]
    walks = [walk() for _ in users]
    connections = [Connection(url) for _ in users]

    async def run_user(index: int, until: float, pace: float, phase: Phase | None) -> None:
        user, steps = users[index], walks[index]
        next_send = time.monotonic() + random.uniform(0, pace)
        while time.monotonic() < until:
            await asyncio.sleep(max(0.0, next_send - time.monotonic()))
            next_send += pace
            step, connection = next(steps), connections[index]
            started = time.perf_counter()
            try:
                xml = (user.event_xml("CLICK", step.text) if step.click
                       else user.text_xml(step.text))
                status, raw = await connection.post(*user.request(xml))
                ok = status == 200 and step.expect in user.content(raw)
                server = server_seconds(connection.head)
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                ok, server = False, None
                connection.close()
                connections[index] = Connection(url)
            elapsed = time.perf_counter() - started
            if phase is not None:
                phase.client.latencies.append(elapsed)
                phase.client.failures += not ok
                if server is not None:
                    phase.server.latencies.append(server)
                    if step.is_list:
                        phase.server_list.latencies.append(server)

    async def measure(name: str, seconds: float, pace: float, record: bool) -> Phase:
        phase = Phase(name, Load(name))
        cpu_before, started = _cpu_seconds(server_pid), time.perf_counter()
        until = time.monotonic() + seconds
        await asyncio.gather(*(run_user(n, until, pace, phase if record else None)
                               for n in range(options.users)))
        phase.client.seconds = time.perf_counter() - started
        phase.client.server_cpu = _cpu_seconds(server_pid) - cpu_before
        return phase

    try:
        await measure("warm-up", options.warmup, 0.0, record=False)
        return [await measure("saturated", options.seconds, 0.0, record=True),
                await measure("paced", options.seconds, options.pace, record=True)]
    finally:
        for connection in connections:
            connection.close()


def server_seconds(head: str) -> float | None:
    """The server's own time from `Server-Timing: app;dur=<ms>` (bot/app.py)."""
    if SERVER_TIMING not in head:
        return None
    return float(head.split(SERVER_TIMING, 1)[1].split("\r\n", 1)[0]) / 1000


# ---- the run ----------------------------------------------------------------------------------


def run(options: Options) -> int:
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-query-")))
        pin(0, SERVER_CORE)  # PostgreSQL inherits the server core
        database = stack.enter_context(postgres_server())
        pin(0, CLIENT_CORE)  # so do seed-demo and the load generator the client core
        print(f"loading {options.vehicles} vehicles and {options.violations} violations ...",
              flush=True)
        seeded = seed(database, options, tmp / "data")
        targets, licence, table_bytes = asyncio.run(prepare(database, options.pool))
        port = free_port()
        env = dict(os.environ,
                   BOT__DATABASE__URL=database,
                   BOT__DATABASE__SEED_DEMO_WHEN_EMPTY="false",
                   BOT__REDIS__URL="",  # embedded
                   BOT__WECHAT__TOKEN=TOKEN,
                   BOT__WECHAT__ENCODING_AES_KEY=AES_KEY,
                   BOT__WECHAT__MESSAGE_MODE="safe",
                   BOT__WECHAT__APPID="",
                   BOT__SERVER__LOG_LEVEL="WARNING",
                   BOT__JOBS__IN_PROCESS="true")
        service = stack.enter_context(process(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--data-dir", str(tmp / "data")], env, tmp / "service.log"))
        wait_ready(f"http://127.0.0.1:{port}/readyz", service, tmp / "service.log")
        phases = asyncio.run(drive(f"http://127.0.0.1:{port}/wechat", targets, options,
                                   service.pid))
        plans = asyncio.run(explain(database, targets[0], licence))
    print(f"loaded in {seeded:.1f} s (seed-demo); violation table with indexes "
          f"{table_bytes / 2**20:.0f} MiB\n")
    return report(options, targets, phases, plans)


def report(options: Options, targets: list[Target], phases: list[Phase],
           plans: list[Plan]) -> int:
    """Prints the figures and verdicts; returns the exit status (1: a target missed)."""
    cores = "server, Redis and PostgreSQL on core 0, load generator on core 1" if PINNED \
        else "cores shared"
    print(f"query benchmark: {options.vehicles} vehicles, {options.violations} violations in "
          f"PostgreSQL; {options.users} users, 查询车辆违法 journeys over the {len(targets)} "
          f"vehicles with the most violations ({targets[-1].violations}-"
          f"{targets[0].violations} each); {options.seconds:g} s saturated, then "
          f"{options.seconds:g} s paced (1 message per user every {options.pace:g} s); {cores}")
    print(f"{'load':<9} {'messages':>8} {'msg/s':>6} {'bad':>3} {'app ms/msg':>10} | client ms "
          f"{'p50':>5} {'p99':>6} | server ms {'p50':>5} {'p99':>6} | list steps "
          f"{'n':>5} {'p50':>5} {'p99':>6}")
    for phase in phases:
        client, server, listed = phase.client, phase.server, phase.server_list
        print(f"{phase.name:<9} {len(client.latencies):>8} {client.rate:>6.0f} "
              f"{client.failures:>3} {client.per_message_ms(client.server_cpu):>10.2f} | "
              f"{'':>9} {client.percentile_ms(0.5):>5.1f} {client.percentile_ms(0.99):>6.1f} | "
              f"{'':>9} {server.percentile_ms(0.5):>5.1f} {server.percentile_ms(0.99):>6.1f} | "
              f"{'':>10} {len(listed.latencies):>5} {listed.percentile_ms(0.5):>5.1f} "
              f"{listed.percentile_ms(0.99):>6.1f}")
    saturated, paced = phases
    p99 = paced.server_list.percentile_ms(0.99)
    met = p99 < TARGET_LIST_P99_MS and not any(phase.client.failures for phase in phases)
    print(f"{verdict(met)} list step p99 server time at {options.users} users, paced: "
          f"{p99:.1f} ms (target < {TARGET_LIST_P99_MS:g} ms; saturated, where it is mostly "
          f"queueing: {saturated.server_list.percentile_ms(0.99):.1f} ms)")

    print("\nquery plans: what the traffic platform sends for one vehicle and one licence query, "
          "EXPLAIN (ANALYZE, BUFFERS); parameter values shown as $1, $2...")
    for plan in plans:
        print(f"\n-- {plan.call}\n{plan.sql}")
        print("\n".join(f"   {line}" for line in plan.lines))
    print()
    for plan in plans:
        print(f"{verdict(plan.uses_index)} index used: {plan.call}")
    return 0 if met and all(plan.uses_index for plan in plans) else 1


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description="Vehicle query journey over a large database.")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK[0]} vehicles, {QUICK[1]} violations, 5 s phases")
    parser.add_argument("--users", type=int, default=100, help="concurrent simulated users")
    parser.add_argument("--seconds", type=float,
                        help="seconds per measured phase (default 20; --quick: 5)")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds first")
    parser.add_argument("--pace", type=float, default=1.0,
                        help="seconds between one user's messages in the paced phase")
    parser.add_argument("--pool", type=int, default=1000,
                        help="journeys cycle through this many vehicles, most violations first")
    args = parser.parse_args()
    if min(args.users, args.pace, args.pool) <= 0 or args.warmup < 0 \
            or (args.seconds is not None and args.seconds <= 0):
        parser.error("--users, --seconds, --pace and --pool must be positive")
    if (missing := postgres_missing()) is not None:
        parser.error(missing)
    vehicles, violations = QUICK if args.quick else FULL
    seconds = args.seconds or (5.0 if args.quick else 20.0)
    return run(Options(vehicles, violations, args.users, min(seconds, 600), args.warmup,
                       args.pace, args.pool))


if __name__ == "__main__":
    sys.exit(main())
