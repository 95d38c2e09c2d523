"""Real Redis and PostgreSQL servers for the tests, on loopback, in temporary directories.

PostgreSQL refuses to run as root, so when the tests run as root (CI) the server runs as the
machine's `postgres` user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_missing() -> str | None:
    """Why PostgreSQL cannot be started here, or None."""
    for binary in ("initdb", "postgres"):
        if shutil.which(binary) is None:
            return f"PostgreSQL binary {binary!r} not on PATH"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run PostgreSQL as"
    return None


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextlib.contextmanager
def postgres_server(parent: Path | None = None) -> Iterator[str]:
    """Start a throw-away PostgreSQL (its directory in ``parent``, default the system's temp
    dir); yields the URL of its (empty) default database."""
    root = Path(tempfile.mkdtemp(prefix="pg-test-", dir=parent))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    subprocess.run(_as_postgres(["initdb", "-D", str(data), "-A", "trust", "-U", "postgres",
                                 "-E", "UTF8", "--no-sync"]),
                   check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        _as_postgres(["postgres", "-D", str(data), "-p", str(port), "-h", "127.0.0.1",
                      "-k", str(root), "-c", "fsync=off", "-c", "synchronous_commit=off",
                      "-c", "full_page_writes=off", "-c", "max_connections=200"]),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, server)
        yield f"postgres://postgres@127.0.0.1:{port}/postgres"
    finally:
        _stop_postgres(server, data)
        shutil.rmtree(root, ignore_errors=True)


def _stop_postgres(server: subprocess.Popen, data: Path) -> None:
    """Fast shutdown (SIGINT to the postmaster: sessions are ended, not waited for, 2 s less
    per run). The postmaster's pid comes from its pid file: as root, ``server`` is runuser,
    which passes on SIGTERM (a smart shutdown) but not SIGINT."""
    try:
        os.kill(int((data / "postmaster.pid").read_text().split()[0]), signal.SIGINT)
    except (OSError, ValueError, IndexError):
        server.terminate()
    server.wait(timeout=30)


def _wait_for_port(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("postgres exited during start-up")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                time.sleep(0.2)  # accepting TCP is not yet accepting logins
                return
        time.sleep(0.1)
    raise RuntimeError("postgres did not start in 30 s")
