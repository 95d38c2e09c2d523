"""Generate an aerich migration for model changes: `python -m tests.support.makemigrations NAME`.

aerich diffs the models against the last migration, and its SQL is PostgreSQL's, so this
starts a throw-away PostgreSQL, applies the existing migrations and writes the next one
(or the first, from scratch) into migrations/.
"""

from __future__ import annotations

import asyncio
import sys

from aerich import Command

from bot.db import MIGRATIONS, tortoise_config
from tests.support.servers import postgres_server


async def make(url: str, name: str) -> None:
    command = Command(tortoise_config=tortoise_config(url), app="models",
                      location=str(MIGRATIONS))
    if not (MIGRATIONS / "models").exists():
        await command.init_db(safe=True)
        print("wrote the initial migration")
        return
    await command.init()
    await command.upgrade(run_in_transaction=True)
    await command.init()  # again: aerich reads the last version's models before upgrading
    written = await command.migrate(name, no_input=True)
    print(f"wrote {written}" if written else "no changes")


if __name__ == "__main__":
    with postgres_server() as database:
        asyncio.run(make(database, sys.argv[1] if len(sys.argv) > 1 else "update"))
