"""The migrations in migrations/ build exactly the models' schema on PostgreSQL.

Several people change models at once; a model change committed without its migration would
pass every test (SQLite's schema comes from the models, and the suite's PostgreSQL too once
migrated) and break the first production deployment after it."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aerich import Command
from tortoise import Tortoise

from bot.db import MIGRATIONS, close_database, tortoise_config


@pytest.fixture
async def fresh_database(postgres_url: str) -> AsyncIterator[str]:
    """A database of its own in the run's PostgreSQL, dropped after."""
    name = f"migrations_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    # Connected first, as bot.db.open_database does: aerich initialises Tortoise itself only
    # in a process where nothing has yet (an earlier test of this worker has).
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    try:
        yield url
    finally:
        await close_database()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_regression_a_model_change_without_its_migration_is_caught(
        fresh_database: str, tmp_path: Path):
    location = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, location)
    before = sorted(path.name for path in (location / "models").iterdir())
    command = Command(tortoise_config=tortoise_config(fresh_database), app="models",
                      location=str(location))
    await command.init()
    applied = await command.upgrade(run_in_transaction=True)
    assert len(applied) == len([name for name in before if name.endswith(".py")])
    await command.init()  # aerich reads the last version's models before diffing

    written = await command.migrate("drift", no_input=True)

    assert not written, f"models differ from migrations/: aerich wrote {written}"
    assert sorted(path.name for path in (location / "models").iterdir()) == before
