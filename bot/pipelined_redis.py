"""One pipelined Redis connection for the per-message path (the inbox's scripts).

redis-py checks a connection out of its pool for every command, health-polls it and waits
for the reply alone on it: about 55 µs of CPU per call, a third of what a WeChat message cost
(bench/README.md). Here concurrent callers share one connection: each command is queued,
the queue is written once per event-loop pass, and Redis answers in order, so the n-th reply
belongs to the n-th waiter. hiredis packs the commands and parses the replies; a call costs
about 6 µs. Errors are redis-py's exception types, so callers handle one family.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections import deque
from collections.abc import Sequence
from typing import Any

import hiredis
from redis import exceptions as redis_errors
from redis.asyncio.connection import SSLConnection, parse_url

Arg = str | bytes | int | float


class PipelinedRedis:
    """Commands over one shared connection, opened on first use and reopened after a loss.

    A command not answered within ``timeout`` seconds (Redis hung, or the network) fails
    with TimeoutError, and so does everything queued behind it: the connection is dropped.
    """

    def __init__(self, url: str, *, timeout: float) -> None:
        self._target = parse_url(url)
        self._timeout = timeout
        self._link: _Link | None = None
        self._opening: asyncio.Future[_Link] | None = None
        self._scripts: dict[str, Script] = {}

    async def execute(self, *args: Arg) -> Any:
        link = self._link
        if link is None or link.closed:
            link = await self._connected()
        return await link.send(args)

    def send(self, *args: Arg) -> asyncio.Future[Any]:
        """``execute`` started now, for a caller with other work before it needs the answer
        (no task, so no loop pass to start it): the command goes out with this pass's."""
        link = self._link
        if link is None or link.closed:
            return asyncio.ensure_future(self.execute(*args))
        return link.send(args)

    def script(self, source: str) -> Script:
        """The script of ``source``, made once: a caller may ask per message without
        hashing the source each time."""
        made = self._scripts.get(source)
        if made is None:
            made = self._scripts[source] = Script(self, source)
        return made

    async def aclose(self) -> None:
        if self._link is not None:
            self._link.close(redis_errors.ConnectionError("closed"))
            self._link = None

    async def _connected(self) -> _Link:
        """Callers arriving while the connection opens share that one attempt, and its
        failure: while Redis is down each message waits one timeout at most, not one per
        caller ahead of it."""
        if self._opening is None or self._opening.done():
            self._opening = asyncio.ensure_future(self._open())
            self._opening.add_done_callback(_retrieve_failure)
        return await asyncio.shield(self._opening)

    async def _open(self) -> _Link:
        target, loop = self._target, asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout):
                if "path" in target:
                    _, link = await loop.create_unix_connection(
                        lambda: _Link(self._timeout), target["path"])
                else:
                    tls = (ssl.create_default_context()
                           if target.get("connection_class") is SSLConnection else None)
                    _, link = await loop.create_connection(
                        lambda: _Link(self._timeout), target.get("host", "localhost"),
                        target.get("port", 6379), ssl=tls)
        except (OSError, TimeoutError) as exc:
            raise redis_errors.ConnectionError(
                f"cannot connect to Redis: {type(exc).__name__}") from None
        try:
            await _log_in(link, target)
        except redis_errors.RedisError:
            link.close(redis_errors.ConnectionError("log-in failed"))
            raise
        self._link = link
        return link


class Script:
    """A Lua script run by its SHA1, loaded by EVAL the first time Redis does not know it."""

    def __init__(self, redis: PipelinedRedis, source: str) -> None:
        self._redis = redis
        self._source = source
        self._sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, keys: Sequence[Arg], args: Sequence[Arg] = ()) -> Any:
        try:
            return await self._redis.execute("EVALSHA", self._sha, len(keys), *keys, *args)
        except redis_errors.NoScriptError:
            return await self._redis.execute("EVAL", self._source, len(keys), *keys, *args)


async def _log_in(link: _Link, target: dict[str, Any]) -> None:
    if target.get("password"):
        credentials = [target["username"]] if target.get("username") else []
        await link.send(("AUTH", *credentials, target["password"]))
    if target.get("db"):
        await link.send(("SELECT", target["db"]))


class _Link(asyncio.Protocol):
    """The connection: waiters in command order, written in one go per loop pass, and a
    watchdog that drops the connection when the oldest waiter has waited too long."""

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._reader = hiredis.Reader(replyError=redis_errors.ResponseError)
        self._waiters: deque[tuple[float, asyncio.Future[Any]]] = deque()
        self._outgoing: list[bytes] = []
        self._transport: asyncio.Transport | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._failure: Exception = redis_errors.ConnectionError("connection to Redis lost")
        self.closed = False

    def send(self, args: Sequence[Arg]) -> asyncio.Future[Any]:
        if self.closed:
            raise redis_errors.ConnectionError("connection to Redis lost")
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        self._waiters.append((loop.time(), waiter))
        if not self._outgoing:
            loop.call_soon(self._flush)
        self._outgoing.append(hiredis.pack_command(tuple(args)))
        return waiter

    def close(self, failure: Exception) -> None:
        self._failure = failure
        self.closed = True
        if self._transport is not None:
            self._transport.abort()  # connection_lost fails the waiters

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        self._arm_watchdog()

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while True:
            try:
                reply = self._reader.gets()
            except hiredis.ProtocolError:
                self.close(redis_errors.ConnectionError("Redis sent something unreadable"))
                return
            if reply is False:
                return
            _, waiter = self._waiters.popleft()
            if waiter.done():  # its caller was cancelled; the reply is still in order
                continue
            if isinstance(reply, redis_errors.ResponseError):
                waiter.set_exception(_typed(reply))
            else:
                waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
        while self._waiters:
            _, waiter = self._waiters.popleft()
            if not waiter.done():  # each its own exception: a shared one collects tracebacks
                waiter.set_exception(type(self._failure)(*self._failure.args))

    def _flush(self) -> None:
        if self._transport is not None and not self.closed:
            self._transport.write(b"".join(self._outgoing))
        self._outgoing.clear()

    def _arm_watchdog(self) -> None:
        loop = asyncio.get_running_loop()
        self._watchdog = loop.call_later(self._timeout / 4, self._check)

    def _check(self) -> None:
        if self._waiters and asyncio.get_running_loop().time() - self._waiters[0][0] > \
                self._timeout:
            self.close(redis_errors.TimeoutError(
                f"Redis did not answer within {self._timeout:g} s"))
            return
        self._arm_watchdog()


def _retrieve_failure(opening: asyncio.Future[_Link]) -> None:
    """Mark a failed attempt's error as seen even if every caller gave up waiting for it."""
    if not opening.cancelled():
        opening.exception()


def _typed(error: redis_errors.ResponseError) -> redis_errors.ResponseError:
    """NOSCRIPT as redis-py's NoScriptError (Script reloads on it); other errors as they are."""
    message = str(error)
    if message.startswith("NOSCRIPT"):
        return redis_errors.NoScriptError(message)
    return error

