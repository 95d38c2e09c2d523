"""Database start-up: Tortoise on SQLite (embedded default) or PostgreSQL (production).

Schema changes for PostgreSQL are aerich migrations in migrations/ (run by `python -m bot
migrate` and at serve start-up). The embedded SQLite database is created from the models
with Tortoise's schema generator: it is a disposable developer database, never upgraded
in place.
"""

from __future__ import annotations

import itertools
import logging
import operator
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
from tortoise import Tortoise, connections
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.exceptions import IntegrityError
from tortoise.models import Model

from bot.config import is_postgres_url as is_postgres
from models import MODEL_MODULES

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def database_url(url: str, data_dir: Path) -> str:
    return url or f"sqlite://{data_dir / 'traffic.sqlite3'}"


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Pool release without asyncpg's reset query (advisory unlock, CLOSE ALL, UNLISTEN,
    RESET ALL): a second round trip after every query, which doubled PostgreSQL's work per
    message. We never set session state, lock or listen; asyncpg still rolls back a
    transaction left open before this is called."""


def tortoise_config(url: str, pool_size: int = 5) -> dict[str, Any]:
    """PostgreSQL gets a pool of ``pool_size`` connections that skips the reset query."""
    connection: str | dict[str, Any] = url
    if is_postgres(url):
        connection = expand_db_url(url)
        connection["credentials"].update(maxsize=pool_size, reset=_keep_session)
    return {
        "connections": {"default": connection},
        "apps": {"models": {"models": [*MODEL_MODULES, "aerich.models"],
                            "default_connection": "default"}},
        "use_tz": True,
        "timezone": "Asia/Shanghai",
    }


async def open_database(url: str, pool_size: int = 5) -> None:
    """Connect and bring the schema up to date."""
    if url.startswith("sqlite://"):  # a fresh data dir: the file's directory comes first
        Path(url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)
    # Connect first: aerich connects only when Tortoise is not yet initialised, and a context
    # closed by close_database still counts as initialised (a second open would then fail).
    await Tortoise.init(config=tortoise_config(url, pool_size), _enable_global_fallback=True)
    try:
        if is_postgres(url):
            await migrate(url)
        else:
            await Tortoise.generate_schemas(safe=True)
    except BaseException:  # e.g. the server is unreachable: leave no half-open context
        await close_database()
        raise


async def migrate(url: str) -> list[str]:
    """Apply pending aerich migrations; returns their names."""
    from aerich import Command

    command = Command(tortoise_config=tortoise_config(url), app="models",
                      location=str(MIGRATIONS))
    await command.init()
    applied = await command.upgrade(run_in_transaction=True)
    for name in applied:
        log.info("applied migration %s", name)
    return applied


async def close_database() -> None:
    await Tortoise.close_connections()
    # Tortoise caches each table's SQL by connection name, not dialect: a process that opens
    # SQLite and then PostgreSQL (the test suite) would send "?" placeholders to PostgreSQL.
    EXECUTOR_CACHE.clear()


async def ping() -> None:
    await connections.get("default").execute_query("SELECT 1")


async def insert_rows(connection: BaseDBAsyncClient, model: type[Model],
                      rows: Iterable[dict[str, Any]], *, batch_size: int = 5000) -> int:
    """Insert new rows (dicts of field values, no id, all with the same keys); returns how
    many.

    PostgreSQL gets one COPY fed from ``rows`` as they come: asyncpg sends every 512 KiB, so
    the server stores one part while this process makes the next (a million generated rows
    load in well under a minute). SQLite gets multi-row INSERTs of ``batch_size``. Pass a
    transaction as ``connection`` to make a whole load all-or-nothing.
    """
    rows = iter(rows)
    if isinstance(connection, AsyncpgDBClient):
        first = next(rows, None)
        if first is None:
            return 0
        columns = [model._meta.fields_db_projection[name] for name in first]
        values = operator.itemgetter(*first)  # a row's values as a tuple, in column order
        count = 0

        def records() -> Iterator[tuple[Any, ...]]:
            nonlocal count
            for row in itertools.chain([first], rows):
                count += 1
                yield values(row)

        async with connection.acquire_connection() as raw:
            try:
                await raw.copy_records_to_table(model._meta.db_table, records=records(),
                                                columns=columns)
            except asyncpg.IntegrityConstraintViolationError as exc:
                raise IntegrityError(exc) from exc  # what bulk_create raises
        return count
    count = 0
    while batch := list(itertools.islice(rows, batch_size)):
        await model.bulk_create([model(**row) for row in batch], using_db=connection)
        count += len(batch)
    return count


# Used by the `aerich` command line (pyproject [tool.aerich]) to generate migrations.
AERICH_CONFIG = tortoise_config("postgres://postgres@127.0.0.1:5432/traffic")
