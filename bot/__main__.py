"""`python -m bot --help`: the single entry point for developers and operators."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from bot.config import ConfigError, Settings, load_settings

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

    chat = commands.add_parser("chat", help="chat with a running server as a WeChat user")
    chat.add_argument("--url", help="server base URL (default: server.base_url)")
    chat.add_argument("--openid", default="sandbox-user", help="the user's openid")
    chat.add_argument("--encrypt", action="store_true", help="use safe mode (AES)")

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

    menu = commands.add_parser("wechat-menu", help="install the WeChat custom menu")
    menu.add_argument("--print", action="store_true", help="print the menu JSON only")

    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if args.command == "serve":
            overrides = {k: v for k, v in (("host", args.host), ("port", args.port),
                                           ("data_dir", args.data_dir)) if v is not None}
            settings = settings.with_overrides(server=overrides)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    runner: Callable[[Settings, argparse.Namespace], int] = COMMANDS[args.command]
    return runner(settings, args)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvloop
    from aiohttp import web

    from bot.app import configure_logging, create_app

    configure_logging(settings.server.log_level)
    # Each message allocates many short-lived objects: collect the young generation less
    # often, and keep what start-up made out of every collection (about 10% less CPU per
    # message in bench/inbound.py).
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    web.run_app(create_app(settings), host=settings.server.host, port=settings.server.port,
                print=lambda text: print(text, flush=True), loop=uvloop.new_event_loop())
    return 0


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    import uvloop

    from bot.app import configure_logging
    from bot.jobs import build_worker
    from bot.services import running_services

    configure_logging(settings.server.log_level)

    async def run() -> None:
        async with running_services(settings) as services:
            worker = build_worker(services)
            try:
                await worker.async_run()
            finally:
                await worker.close()

    uvloop.run(run())
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from bot import db

    async def run() -> None:
        url = db.database_url(settings.database.url, settings.data_dir)
        await db.open_database(url)
        await db.close_database()

    asyncio.run(run())
    print("database schema is up to date")
    return 0


def _chat(settings: Settings, args: argparse.Namespace) -> int:
    from bot.chat import run_chat

    return asyncio.run(run_chat(settings, args.url or settings.server.base_url, args.openid,
                                encrypt=args.encrypt))


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


def _wechat_menu(settings: Settings, args: argparse.Namespace) -> int:
    import json

    from bot.channels.wechat_menu import install_menu, menu_definition

    if args.print:
        print(json.dumps(menu_definition(), ensure_ascii=False, indent=2))
        return 0
    asyncio.run(install_menu(settings))
    print("menu installed")
    return 0


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "serve": _serve,
    "worker": _worker,
    "migrate": _migrate,
    "chat": _chat,
    "wechat-menu": _wechat_menu,
    "seed-demo": _seed_demo,
    "import": _import,
}

if __name__ == "__main__":
    sys.exit(main())
