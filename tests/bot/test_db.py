"""The database connection as serve opens it: PostgreSQL's pool size and what a release costs."""

from __future__ import annotations

import asyncpg
from tortoise import connections

from bot import db


async def test_regression_a_pooled_query_is_not_followed_by_a_reset_query(postgres_url):
    """asyncpg's pool sent its reset query (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL)
    after every query Tortoise ran: a second round trip that doubled PostgreSQL's work per
    message. The backend's last statement is now the query itself."""
    await db.open_database(postgres_url, pool_size=1)
    try:
        client = connections.get("default")
        assert client._pool.get_max_size() == 1  # database.pool_size reaches asyncpg
        backend = (await client.execute_query_dict("SELECT pg_backend_pid() AS pid"))[0]["pid"]
        observer = await asyncpg.connect(postgres_url)
        try:
            last = await observer.fetchval(
                "SELECT query FROM pg_stat_activity WHERE pid = $1", backend)
        finally:
            await observer.close()
    finally:
        await db.close_database()
    assert last == "SELECT pg_backend_pid() AS pid"
