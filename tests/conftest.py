"""Shared fixtures: a real Redis server, SQLite and PostgreSQL, and the app over real HTTP."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvloop
from redis.asyncio import Redis
from tortoise import connections

from bot.config import Settings, load_settings
from bot.engine import Flow
from bot.pipelined_redis import PipelinedRedis
from bot.redis_server import EmbeddedRedis
from tests.support.harness import Harness, running_harness
from tests.support.keys import parse_keys_once
from tests.support.leaks import (
    pytest_sessionfinish,  # noqa: F401  fails a run leaving servers
    run_root,
)
from tests.support.servers import postgres_missing, postgres_server

if TYPE_CHECKING:
    from playwright.async_api import Browser


def pytest_configure(config: pytest.Config) -> None:
    parse_keys_once()  # the sandbox keys are parsed once per run, not by every app


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item):
    """Tests run on uvloop, the event loop of `serve` and `worker`."""
    return {"uvloop": uvloop.new_event_loop}


@pytest.fixture(scope="session")
async def redis_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """The run's Redis: the embedded one `serve` uses (AOF, unix socket, supervised)."""
    async with EmbeddedRedis(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture(scope="session")
def postgres_url(pytestconfig: pytest.Config) -> Iterator[str]:
    reason = postgres_missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
        pytest.skip(reason)
    with postgres_server(parent=run_root(pytestconfig)) as url:
        yield url


@pytest.fixture(scope="session")
async def sqlite_schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file with the schema, made once per run: each test gets a copy, which costs
    a millisecond where making the schema costs 50 to 100."""
    from bot import db

    path = tmp_path_factory.mktemp("sqlite-schema") / "schema.sqlite3"
    await db.open_database(f"sqlite://{path}")
    await db.close_database()
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_schema"), path)
        return f"sqlite://{path}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture
async def pipelined_redis(redis_url: str, redis: Redis) -> AsyncIterator[PipelinedRedis]:
    client = PipelinedRedis(redis_url, timeout=3)
    yield client
    await client.aclose()


@pytest.fixture
def settings(tmp_path: Path, redis_url: str, database_url: str,
             alipay_sandbox_keys: dict[str, str]) -> Settings:
    from tests.support.servers import free_port

    keys = tmp_path / "alipay-sandbox"
    keys.mkdir()
    for name, key in alipay_sandbox_keys.items():
        (keys / f"{name}.pem").write_text(key)
    return load_settings({}).with_overrides(
        server={"data_dir": str(tmp_path), "port": free_port()},
        database={"url": database_url, "seed_demo_when_empty": False},
        redis={"url": redis_url},
        jobs={"poll_delay": 0.02},
    )


@pytest.fixture(scope="session")
def alipay_sandbox_keys() -> dict[str, str]:
    """RSA keys for the Alipay sandbox, made once per run (the app would make them per data
    dir, which costs a third of a second per test)."""
    from bot.integrations.alipay import new_private_key

    return {"app": new_private_key(), "gateway": new_private_key()}


@pytest.fixture
def flows() -> Sequence[Flow] | None:
    """The journeys the app runs: None means flows.ALL_FLOWS; a test module may override this."""
    return None


@pytest.fixture
async def harness(settings: Settings, redis: Redis,
                  flows: Sequence[Flow] | None) -> AsyncIterator[Harness]:
    async with running_harness(settings, flows) as running:
        if running.services.settings.database.url.startswith("postgres"):
            await _empty_postgres_tables()
        yield running


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[str]:
    """Only the database, empty, without the app or Redis: for tests of the data layer."""
    from bot import db

    await db.open_database(database_url)
    if db.is_postgres(database_url):
        await _empty_postgres_tables()
    yield database_url
    await db.close_database()


# Every table of ours emptied and its ids restarted, in one round trip. DELETE, not TRUNCATE:
# on tables this small TRUNCATE (new files for each table and index) costs 0.1 s a test, DELETE
# 1 ms. Foreign keys are not checked meanwhile (replica role, for this transaction only), so
# the order does not matter; aerich's table of applied migrations is kept.
EMPTY_TABLES = """
DO $$
DECLARE name text;
BEGIN
    SET LOCAL session_replication_role = replica;
    FOR name IN SELECT tablename FROM pg_tables
                WHERE schemaname = 'public' AND tablename <> 'aerich' LOOP
        EXECUTE format('DELETE FROM %I', name);
    END LOOP;
    PERFORM setval(seq.seqrelid, seq.seqstart, false)
        FROM pg_sequence seq
        JOIN pg_depend owner ON owner.classid = 'pg_class'::regclass
                            AND owner.objid = seq.seqrelid AND owner.deptype IN ('a', 'i')
        JOIN pg_class tab ON tab.oid = owner.refobjid
        WHERE tab.relnamespace = 'public'::regnamespace AND tab.relname <> 'aerich';
END $$"""


async def _empty_postgres_tables() -> None:
    """One PostgreSQL server serves the whole session; each test starts with empty tables."""
    await connections.get("default").execute_script(EMPTY_TABLES)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One headless system chromium per run (tests/support/browser.py); tests open a fresh
    context each, which is cheap, instead of a browser each, which is not."""
    from tests.support.browser import FLAGS, chromium_missing, chromium_path

    reason = chromium_missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests: {reason}")
        pytest.skip(reason)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium_path(),
                                                    headless=True, args=list(FLAGS))
        yield launched
        await launched.close()
