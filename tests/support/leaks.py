"""A pytest plugin: the run fails if a redis-server or postgres it started is still alive at
its end. tests/conftest.py loads it; a run of its own loads it with `-p tests.support.leaks`.

A server belongs to this run when it works in one of the run's directories: pytest's base
temp dir (every tmp_path) or `run_root()`, where PostgreSQL gets its data dir (a directory
the `postgres` user can reach, which pytest's base temp dir is not). Servers found are
named, then killed, so that even a failing run leaves none behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import pytest

from bot.redis_server import processes

SERVERS = frozenset({"redis-server", "postgres"})
GRACE = 2.0  # seconds a server being stopped gets to exit before it counts as left running
_RUN_ROOT = pytest.StashKey[Path]()


def run_root(config: pytest.Config) -> Path:
    """This run's directory for servers that must not live under pytest's base temp dir."""
    if _RUN_ROOT not in config.stash:
        root = Path(tempfile.mkdtemp(prefix="bot-tests-"))
        root.chmod(0o711)  # the postgres user may pass through to its own data dir
        config.stash[_RUN_ROOT] = root
    return config.stash[_RUN_ROOT]


def servers_in(directories: list[Path]) -> list[tuple[int, str, Path]]:
    """(pid, name, working dir) of live redis-server and postgres processes working in
    ``directories``."""
    return [(pid, name, cwd) for pid, name, cwd in processes(SERVERS)
            if any(cwd.is_relative_to(directory) for directory in directories)]


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> object:
    """After every other finisher (session fixtures are torn down by then)."""
    result = yield
    directories = [session.config._tmp_path_factory.getbasetemp()]  # type: ignore[attr-defined]
    if _RUN_ROOT in session.config.stash:
        directories.append(session.config.stash[_RUN_ROOT])
    deadline = time.monotonic() + GRACE
    while (left := servers_in(directories)) and time.monotonic() < deadline:
        time.sleep(0.1)
    if left:
        print(f"\n{len(left)} server(s) started by this run are still running (now killed):",
              *(f"  {name} pid {pid} in {cwd}" for pid, name, cwd in left),
              sep="\n", file=sys.stderr)
        for pid, _, _ in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if _RUN_ROOT in session.config.stash:
        shutil.rmtree(session.config.stash[_RUN_ROOT], ignore_errors=True)
    return result
