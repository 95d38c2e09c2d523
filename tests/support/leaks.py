"""A pytest plugin: the run fails if a redis-server or postgres it started is still alive at
its end. tests/conftest.py loads it; a run of its own loads it with `-p tests.support.leaks`.

A server belongs to this run when it works in one of the run's directories: pytest's base
temp dir (every tmp_path) or `run_root()`, where PostgreSQL gets its data dir (a directory
the `postgres` user can reach, which pytest's base temp dir is not). Servers found are
named, then killed, so that even a failing run leaves none behind.

Under pytest-xdist each worker checks its own servers when it finishes and reports what it
found in a file in the run's directory, since a worker's outcome does not reach the run's
(its servers live under the run's directories: its base temp dir is under the run's, its
run_root() too); the run fails on any report, after a check of its own.
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
from typing import TYPE_CHECKING

import pytest

from bot.redis_server import processes

if TYPE_CHECKING:
    from xdist.workermanage import WorkerController

SERVERS = frozenset({"redis-server", "postgres"})
GRACE = 2.0  # seconds a server being stopped gets to exit before it counts as left running
_RUN_ROOT = pytest.StashKey[Path]()
_PARENT_ROOT = "bot_tests_run_root"  # an xdist worker's input: the run's run_root()
_REPORT = "leaked-*.txt"  # a worker's report of servers it found, in the run's run_root()


def run_root(config: pytest.Config) -> Path:
    """This run's directory for servers that must not live under pytest's base temp dir (an
    xdist worker's is in the run's)."""
    if _RUN_ROOT not in config.stash:
        parent = getattr(config, "workerinput", {}).get(_PARENT_ROOT)
        root = Path(tempfile.mkdtemp(prefix="bot-tests-", dir=parent))
        root.chmod(0o711)  # the postgres user may pass through to its own data dir
        config.stash[_RUN_ROOT] = root
    return config.stash[_RUN_ROOT]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: WorkerController) -> None:
    """pytest-xdist, before a worker starts: where its run_root() goes."""
    node.workerinput[_PARENT_ROOT] = str(run_root(node.config))


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
    found = [f"  {name} pid {pid} in {cwd}" for pid, name, cwd in left]
    for pid, _, _ in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    parent = getattr(session.config, "workerinput", {}).get(_PARENT_ROOT)
    if parent:  # an xdist worker: the run reports and fails
        if found:
            worker = session.config.workerinput["workerid"]  # type: ignore[attr-defined]
            (Path(parent) / _REPORT.replace("*", worker)).write_text("\n".join(found))
    elif _RUN_ROOT in session.config.stash:  # the run, with or without workers
        for report in sorted(session.config.stash[_RUN_ROOT].glob(_REPORT)):
            found += report.read_text().splitlines()
    if found:
        print(f"\n{len(found)} server(s) started by this run are still running (now killed):",
              *found, sep="\n", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if _RUN_ROOT in session.config.stash:
        shutil.rmtree(session.config.stash[_RUN_ROOT], ignore_errors=True)
    return result
