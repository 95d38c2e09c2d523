"""Database start-up: Tortoise on SQLite (embedded default) or PostgreSQL (production).

Schema changes for PostgreSQL are aerich migrations in migrations/ (run by `python -m bot
migrate` and at serve start-up). The embedded SQLite database is created from the models
with Tortoise's schema generator: it is a disposable developer database, never upgraded
in place.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tortoise import Tortoise, connections

from models import MODEL_MODULES

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def database_url(url: str, data_dir: Path) -> str:
    return url or f"sqlite://{data_dir / 'traffic.sqlite3'}"


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "asyncpg://"))


def tortoise_config(url: str) -> dict[str, Any]:
    return {
        "connections": {"default": url},
        "apps": {"models": {"models": [*MODEL_MODULES, "aerich.models"],
                            "default_connection": "default"}},
        "use_tz": True,
        "timezone": "Asia/Shanghai",
    }


async def open_database(url: str) -> None:
    """Connect and bring the schema up to date."""
    if is_postgres(url):
        await migrate(url)
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    if not is_postgres(url):
        await Tortoise.generate_schemas(safe=True)


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


async def ping() -> None:
    await connections.get("default").execute_query("SELECT 1")


# Used by the `aerich` command line (pyproject [tool.aerich]) to generate migrations.
AERICH_CONFIG = tortoise_config("postgres://postgres@127.0.0.1:5432/traffic")
