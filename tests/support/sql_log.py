"""The SQL statements a piece of work sends, read from Tortoise's own debug log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

DB_CLIENT_LOGGER = "tortoise.db_client"  # every client logs each statement here at DEBUG


@contextmanager
def statements(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """The statements sent inside the block, in order (filled in when it ends)."""
    sent: list[str] = []
    with caplog.at_level(logging.DEBUG, logger=DB_CLIENT_LOGGER):
        first = len(caplog.records)
        yield sent
        sent.extend(record.getMessage() for record in caplog.records[first:]
                    if record.name == DB_CLIENT_LOGGER)
