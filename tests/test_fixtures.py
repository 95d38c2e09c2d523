"""The suite's own fixtures: what each test may take for granted about its database."""

from __future__ import annotations

import pytest
from tortoise import Tortoise

from models.user import ChannelIdentity, User
from tests.conftest import _empty_postgres_tables


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """PostgreSQL only: each SQLite test has a database file of its own."""
    return postgres_url


async def test_postgres_tables_are_emptied_and_their_ids_restarted(database: str):
    user = await User.create(id_number="500103199003074210", real_name="张伟",
                             phone="13983001234", verified_by="face")
    await ChannelIdentity.create(channel="wechat", external_id="openid-a", user=user)

    await _empty_postgres_tables()

    for models in Tortoise.apps.values():
        for model in models.values():
            if model._meta.db_table != "aerich":
                assert await model.all().count() == 0, model._meta.db_table
    again = await User.create(id_number="500103199003074210", real_name="张伟",
                              phone="13983001234", verified_by="face")
    assert again.id == 1
