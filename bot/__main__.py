"""`python -m bot --help`: the single entry point for developers and operators."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from asyncpg import PostgresError
from redis.exceptions import RedisError

from bot.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from bot.engine import Flow

T = TypeVar("T")
MAX_PROBLEMS_SHOWN = 100  # of a rejected import; the rest are counted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot",
                                     description="Traffic-police service account backend.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the web service (embedded defaults)")
    serve.add_argument("--host", help="interface to listen on (server.host)")
    serve.add_argument("--port", type=int, help="port to listen on (server.port)")
    serve.add_argument("--data-dir", help="directory for SQLite, embedded Redis (server.data_dir)")

    commands.add_parser("worker", help="run a job worker (production: any number of them)")
    commands.add_parser("migrate", help="apply database migrations and exit")

    chat = commands.add_parser("chat", help="chat with a running server as a WeChat or Alipay "
                               "user")
    chat.add_argument("--url", help="server base URL (default: server.base_url)")
    chat.add_argument("--port", type=int, help="port of a server on server.host (no --url)")
    chat.add_argument("--openid", default="sandbox-user", help="the user's openid")
    chat.add_argument("--encrypt", action="store_true", help="use safe mode (AES)")
    chat.add_argument("--channel", choices=("wechat", "alipay"), default="wechat",
                      help="WeChat's signed XML, or the Alipay life account's signed forms")
    chat.add_argument("--user-id", default="2088000000000001", help="the Alipay user id")
    chat.add_argument("--charset", choices=("GBK", "UTF-8"), default="GBK",
                      help="the Alipay forms' charset")

    seed = commands.add_parser("seed-demo", help="load the demo traffic records into an empty "
                               "database (docs/demo-data.md)")
    seed.add_argument("--vehicles", type=int, default=300,
                      help="vehicles to create (at least 300; benchmarks: 100000)")
    seed.add_argument("--violations", type=int, default=2000,
                      help="violations to create (at least 2000; benchmarks: 1000000)")
    seed.add_argument("--seed", type=int, help="random seed (default: the documented one)")

    records = commands.add_parser("import", help="load licences, vehicles and violations from "
                                  "CSV or JSON files, all or nothing (docs/import.md)")
    records.add_argument("files", nargs="+", type=Path, metavar="FILE")

    for name, account in (("wechat-menu", "the WeChat custom menu"),
                          ("alipay-menu", "the Alipay life account menu")):
        menu = commands.add_parser(name, help=f"install {account}")
        menu.add_argument("--print", action="store_true", help="print the menu JSON only")

    payments = commands.add_parser("payments", help="operators: payments flagged for a look "
                                   "(money taken twice), and their refunds")
    actions = payments.add_subparsers(dest="action", required=True)
    actions.add_parser("flagged", help="list paid payments flagged for operators")
    refund = actions.add_parser("refund", help="refund a flagged payment in full through "
                                "Alipay (recorded with the operator and reason)")
    refund.add_argument("out_trade_no")
    refund.add_argument("--operator", required=True, help="who refunds (kept for audit)")
    refund.add_argument("--reason", required=True, help="why (kept for audit)")

    journeys = commands.add_parser("flows", help="list the journeys (needs no configuration)")
    journeys.add_argument("--mermaid", action="store_true",
                          help="print each as a Mermaid state diagram (docs/journeys.md)")

    args = parser.parse_args(argv)
    if args.command == "flows":
        return _flows(args)
    try:
        settings = load_settings()
        if args.command == "serve":
            overrides = {k: v for k, v in (("host", args.host), ("port", args.port),
                                           ("data_dir", args.data_dir)) if v is not None}
            settings = settings.with_overrides(server=overrides)
        _preflight(args, settings)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    runner: Callable[[Settings, argparse.Namespace], int] = COMMANDS[args.command]
    try:
        return runner(settings, args)
    except ConfigError as exc:  # found only when a part was built: still one line
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except (OSError, RedisError, PostgresError) as exc:
        # An unreachable or refusing server, a full disk: the operator needs one line. The
        # messages name hosts and users, never passwords.
        print(f"{args.command} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


# Commands that fake users or data: never pointed at a production service or database.
SANDBOX_TOOLS = frozenset({"chat", "seed-demo"})
MENUS = frozenset({"wechat-menu", "alipay-menu"})
# Commands that open only the database (the others start Redis and the sandbox keys too).
DATABASE_ONLY = frozenset({"migrate", "seed-demo", "import"})


def _preflight(args: argparse.Namespace, settings: Settings) -> None:
    """Refuse, naming the key, what would otherwise fail after Redis was started or the
    database touched; creates nothing."""
    from bot.integrations.alipay import check_keys

    command = args.command
    if command in SANDBOX_TOOLS and not settings.sandbox:
        raise ConfigError(f"server.mode: {command} is a sandbox tool, refused in production "
                          "mode")
    check_keys(settings)
    if _uses_data_dir(args, settings):
        _check_data_dir(settings.data_dir)
    if command == "serve":
        _check_listen(settings.server.host, settings.server.port)


def _uses_data_dir(args: argparse.Namespace, settings: Settings) -> bool:
    if args.command == "chat" or (args.command in MENUS and args.print):
        return False
    if args.command in DATABASE_ONLY:
        return not settings.database.url
    # The services: embedded Redis and SQLite, and the Alipay simulator's keys in sandbox mode.
    return not settings.database.url or not settings.redis.url or settings.sandbox


def _check_data_dir(path: Path) -> None:
    """The data dir, or the nearest existing directory it would be made in, is writable."""
    existing = path.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"server.data_dir: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"server.data_dir: {existing} is not writable")


def _check_listen(host: str, port: int) -> None:
    """The address is free: aiohttp binds only after start-up (Redis, database, seeding)."""
    try:
        addresses = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                       flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"server.host: {host} cannot be resolved ({exc.strerror})") from None
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp does
            try:
                probe.bind(address)
            except OSError as exc:
                raise ConfigError(f"server.port: cannot listen on {host}:{port} "
                                  f"({exc.strerror})") from None


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    return serve(settings)


def serve(settings: Settings, flows: Sequence[Flow] | None = None) -> int:
    """Run the web service until SIGTERM or SIGINT: then stop accepting connections, give
    requests and turns in progress server.drain_timeout to finish, and return 0. ``flows``
    replaces flows.ALL_FLOWS (tests run the real server with a test journey)."""
    import uvloop
    from aiohttp import web

    from bot.app import configure_logging, create_app
    from bot.masking import PathOnlyAccessLogger

    configure_logging(settings.server.log_level)
    # Each message allocates many short-lived objects: collect the young generation less
    # often, and keep what start-up made out of every collection (about 10% less CPU per
    # message in bench/inbound.py).
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    web.run_app(create_app(settings, flows), host=settings.server.host,
                port=settings.server.port, print=lambda text: print(text, flush=True),
                loop=uvloop.new_event_loop(), access_log_class=PathOnlyAccessLogger,
                shutdown_timeout=settings.server.drain_timeout)
    return 0


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    import uvloop

    from bot.app import configure_logging
    from bot.jobs import worker_running
    from bot.services import running_services

    configure_logging(settings.server.log_level)

    async def run() -> None:
        """Until SIGTERM or SIGINT, then jobs in progress finish. Like serve's worker, it waits
        out a Redis that goes away."""
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        async with running_services(settings) as services, worker_running(services):
            await stop.wait()

    uvloop.run(run())
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    async def nothing_more() -> None:
        """Opening the database applied the migrations."""

    _with_database(settings, nothing_more)
    print("database schema is up to date")
    return 0


def _chat(settings: Settings, args: argparse.Namespace) -> int:
    from bot.chat import run_chat

    server = settings.server
    url = args.url or (f"http://{server.host}:{args.port}" if args.port else server.base_url)
    user = args.user_id if args.channel == "alipay" else args.openid
    return asyncio.run(run_chat(settings, url, user, encrypt=args.encrypt, channel=args.channel,
                                charset=args.charset))


def _with_database(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` against the configured database, its schema brought up to date."""
    from bot import db

    async def run() -> T:
        await db.open_database(db.database_url(settings.database.url, settings.data_dir))
        try:
            return await work()
        finally:
            await db.close_database()

    return asyncio.run(run())


def _seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    from bot.demo_data import DEFAULT_SEED, DemoData, DemoSize, identities_text, is_empty, seed_demo

    try:
        size = DemoSize.scaled(args.vehicles, args.violations)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2

    async def work() -> DemoData | None:
        if not await is_empty():
            return None
        return await seed_demo(DEFAULT_SEED if args.seed is None else args.seed, size)

    started = time.monotonic()
    data = _with_database(settings, work)
    if data is None:
        print("the database already holds traffic records; seed-demo fills an empty one",
              file=sys.stderr)
        return 1
    print(f"seeded {size.licences} licences, {size.vehicles} vehicles and {size.violations} "
          f"violations in {time.monotonic() - started:.1f} s\n")
    print(identities_text(data))
    return 0


def _import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.records_import import ImportRejected, import_files

    try:
        counts = _with_database(settings, lambda: import_files(args.files))
    except ImportRejected as exc:
        for line in exc.problems[:MAX_PROBLEMS_SHOWN]:
            print(line, file=sys.stderr)
        if len(exc.problems) > MAX_PROBLEMS_SHOWN:
            print(f"... and {len(exc.problems) - MAX_PROBLEMS_SHOWN} more", file=sys.stderr)
        print("nothing imported", file=sys.stderr)
        return 1
    print("imported records: " + ", ".join(f"{kind} {count}" for kind, count in counts.items()))
    return 0


def _menu(settings: Settings, args: argparse.Namespace) -> int:
    """wechat-menu and alipay-menu: one menu of the registered journeys per channel."""
    import json

    from bot import services

    wechat = args.command == "wechat-menu"
    if args.print:
        menu = services.wechat_menu() if wechat else services.alipay_menu()
        print(json.dumps(menu, ensure_ascii=False, indent=2))
        return 0
    install = services.install_wechat_menu if wechat else services.install_alipay_menu
    asyncio.run(install(settings))
    print("menu installed")
    return 0


def _payments(settings: Settings, args: argparse.Namespace) -> int:
    """Operators' payment commands, against the configured Alipay (in sandbox mode the
    simulator served by a running `serve`)."""
    from bot.services import running_services
    from payments.service import PaymentRefused

    async def run() -> int:
        async with running_services(settings) as services:
            if args.action == "flagged":
                for payment in await services.payments.flagged():
                    print(f"{payment.out_trade_no}\t{payment.decision_number}\t"
                          f"{payment.amount}\t{payment.paid_at:%Y-%m-%d %H:%M}\t"
                          f"{payment.flagged}")
                return 0
            try:
                print(await services.payments.refund(args.out_trade_no, operator=args.operator,
                                                     reason=args.reason))
            except PaymentRefused as exc:
                print(f"refund refused: {exc}", file=sys.stderr)
                return 1
            return 0

    return asyncio.run(run())


def _flows(args: argparse.Namespace) -> int:
    from bot.journeys import markdown
    from flows import ALL_FLOWS

    if args.mermaid:
        print(markdown(ALL_FLOWS), end="")
        return 0
    for flow in ALL_FLOWS:
        print(f"{flow.name}\t{flow.title}\t{len(flow.states)} states")
    return 0


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "serve": _serve,
    "worker": _worker,
    "migrate": _migrate,
    "chat": _chat,
    "wechat-menu": _menu,
    "alipay-menu": _menu,
    "seed-demo": _seed_demo,
    "import": _import,
    "payments": _payments,
}

if __name__ == "__main__":
    sys.exit(main())
