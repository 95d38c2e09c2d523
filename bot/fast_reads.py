"""Hot-path reads that bypass Tortoise's query machinery: one hand-written statement per
call, rows turned into models as Tortoise's own reads turn them.

Tortoise's query builder costs several times the CPU of an indexed read (about 0.5 against
0.15 ms for a page of violations), and on the embedded SQLite database its one connection
serialises every query behind a lock on aiosqlite's thread. Used by the traffic platform's
every query step and by the per-message account lookup (bench/README.md has the figures).
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache, partial
from typing import Any, TypeVar

from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.fields import DateField, DatetimeField, Field
from tortoise.models import Model

M = TypeVar("M", bound=Model)


# Statements with "{}" where a parameter goes (see _statement); identifiers from the models.
def select(model: type[Model], extra: str = "") -> str:
    columns = ", ".join(f'"{column}"' for column in model._meta.db_fields)
    return f'SELECT {columns}{extra} FROM "{model._meta.db_table}"'




def read_in_process(model: type[Model]) -> bool:
    """Whether ``fetch_rows`` reads ``model`` by a call in this process (the embedded SQLite
    database), not a round trip to a server: two simple statements then cost less than one
    that joins them."""
    connection = model._meta.db
    return type(connection) is SqliteClient and connection.filename != ":memory:"


async def fetch_rows(model: type[Model], template: str, *values: Any) -> list[dict[str, Any]]:
    """Rows of a statement on ``model``'s database connection.

    On the embedded SQLite database (outside a transaction) it reads on a connection of its
    own, on the event loop's thread: an indexed read of a few rows takes tens of
    microseconds, where Tortoise's one connection serialises every query behind a lock and
    sends it to aiosqlite's thread, whose answer waits for the GIL and a loop turn (hundreds
    of microseconds each under load: bench/README.md). WAL mode lets it see every commit.
    On PostgreSQL (outside a transaction) calls of one statement in the same event-loop pass
    share one round trip (_Batches)."""
    connection = model._meta.db
    statement = _statement(template, connection.capabilities.dialect)
    if read_in_process(model):
        connection.log.debug("%s: %s", statement, values)  # as Tortoise logs its own
        rows = _reader(connection).execute(statement, values).fetchall()
        return [dict(row) for row in rows]
    if type(connection) is AsyncpgDBClient and (kinds := _array_kinds(values)) is not None:
        batches = _batches.get(connection)
        if batches is None:
            batches = _batches[connection] = _Batches(connection)
        return await batches.fetch(template, kinds, values)
    return await connection.execute_query_dict(statement, list(values))


class _Batches:
    """Concurrent reads of one statement on PostgreSQL, sent as one.

    Each read alone is a round trip that wakes a backend and costs both sides more than the
    query itself (in process, on one core: a page 55 µs of our CPU and about as much of
    PostgreSQL's; 30 pages in one statement 10-17 µs each, on each side: bench/README.md). So
    the calls made in one event-loop pass go together: their parameters as arrays, each set
    a row of ``unnest ... WITH ORDINALITY``, the statement run once per set by a LATERAL
    join, and every row handed back to its caller by the set's ordinal. A call alone sends
    the plain statement. Every caller still gets its own rows, read at the time it asked:
    nothing is kept between calls."""

    def __init__(self, client: AsyncpgDBClient) -> None:
        self._client = client
        self._waiting: dict[tuple[str, tuple[str, ...]], list[_Call]] = {}

    def fetch(self, template: str, kinds: tuple[str, ...],
              values: tuple[Any, ...]) -> asyncio.Future[list[dict[str, Any]]]:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[list[dict[str, Any]]] = loop.create_future()
        key = (template, kinds)
        calls = self._waiting.get(key)
        if calls is None:
            calls = self._waiting[key] = []
            # The task starts in the next loop pass and takes every call made until then.
            task = loop.create_task(self._run(key, calls))
            _running.add(task)
            task.add_done_callback(partial(self._ended, key, calls))
        calls.append((values, answer))
        return answer

    def _ended(self, key: tuple[str, tuple[str, ...]], calls: list[_Call],
               task: asyncio.Task[None]) -> None:
        """A task cancelled before it started leaves its calls: they fail, and later calls
        start a batch of their own."""
        _running.discard(task)
        if self._waiting.get(key) is calls:
            del self._waiting[key]
            for _, answer in calls:
                if not answer.done():
                    answer.cancel()

    async def _run(self, key: tuple[str, tuple[str, ...]], calls: list[_Call]) -> None:
        del self._waiting[key]  # calls made from now on go in the next batch
        template, kinds = key
        if len(calls) == 1:
            statement, values = _statement(template, "postgres"), calls[0][0]
        else:
            statement = _batched(template, kinds)
            values = tuple(zip(*(call_values for call_values, _ in calls), strict=True))
        try:
            async with self._client.acquire_connection() as raw:
                self._client.log.debug("%s: %s", statement, values)  # as Tortoise logs
                rows = await raw.fetch(statement, *values)
        except BaseException as exc:
            for _, answer in calls:
                if not answer.done():
                    answer.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        results: list[list[dict[str, Any]]] = [[] for _ in calls]
        if len(calls) == 1:
            results[0] = [dict(row) for row in rows]
        else:
            for row in rows:
                fields = dict(row)
                results[fields.pop(_ORDINAL) - 1].append(fields)
        for (_, answer), result in zip(calls, results, strict=True):
            if not answer.done():  # its caller may have been cancelled meanwhile
                answer.set_result(result)


_Call = tuple[tuple[Any, ...], "asyncio.Future[list[dict[str, Any]]]"]
_batches: weakref.WeakKeyDictionary[AsyncpgDBClient, _Batches] = weakref.WeakKeyDictionary()
_running: set[asyncio.Task[None]] = set()  # a task nobody holds may be collected mid-run
_ORDINAL = "_call"
_ARRAY_TYPES = {str: "text", int: "int8", datetime: "timestamptz"}


def _array_kinds(values: tuple[Any, ...]) -> tuple[str, ...] | None:
    """PostgreSQL's array type of each parameter, or None if one has no known type."""
    kinds = tuple(_ARRAY_TYPES.get(type(value)) for value in values)
    return None if None in kinds else kinds  # type: ignore[return-value]


@lru_cache(maxsize=64)
def _batched(template: str, kinds: tuple[str, ...]) -> str:
    """``template`` run once per set of parameters, its "{}" the columns of the sets.

    The sets' rows come out in their order and each set's rows in the statement's own
    order: the LATERAL subquery is run by a nested loop, one set after the other."""
    arrays = ", ".join(f"${n}::{kind}[]" for n, kind in enumerate(kinds, 1))
    names = [f"p{n}" for n in range(len(kinds))]
    inner = template.format(*(f"q.{name}" for name in names))
    return (f'SELECT q."{_ORDINAL}", r.* FROM unnest({arrays}) WITH ORDINALITY'
            f' AS q({", ".join(names)}, "{_ORDINAL}") CROSS JOIN LATERAL ({inner}) AS r')


# One read-only connection per Tortoise client, closed when the client goes away.
_readers: weakref.WeakKeyDictionary[SqliteClient, sqlite3.Connection] = (
    weakref.WeakKeyDictionary())


def _reader(client: SqliteClient) -> sqlite3.Connection:
    reader = _readers.get(client)
    if reader is None:
        reader = sqlite3.connect(client.filename, isolation_level=None)
        reader.row_factory = sqlite3.Row
        reader.execute("PRAGMA query_only = ON")
        _readers[client] = reader
        weakref.finalize(client, reader.close)
    return reader


@lru_cache(maxsize=64)
def _statement(template: str, dialect: str) -> str:
    """``template`` with its "{}" as the dialect's placeholders: ? (SQLite) or $1, $2..."""
    count = template.count("{}")
    marks = ["?"] * count if dialect == "sqlite" else [f"${n}" for n in range(1, count + 1)]
    return template.format(*marks)


def instance(model: type[M], row: dict[str, Any]) -> M:
    """A model instance from a row of its columns, converted as Tortoise's own queries do.

    SQLite returns dates and datetimes as ISO text, which Tortoise parses with the iso8601
    package (about 7 µs a value); ``fromisoformat`` reads the same text in a tenth of a µs,
    and Tortoise still puts a datetime in its time zone."""
    for column, parse in _temporal_columns(model):
        if type(value := row[column]) is str:
            row[column] = parse(value)
    return model._init_from_db(**row)


_PARSERS: dict[type[Field[Any]], Callable[[str], date]] = {
    DatetimeField: datetime.fromisoformat, DateField: date.fromisoformat}


@lru_cache(maxsize=16)
def _temporal_columns(model: type[Model]) -> tuple[tuple[str, Callable[[str], date]], ...]:
    meta = model._meta
    return tuple((meta.fields_db_projection[name], _PARSERS[type(field)])
                 for name, field in meta.fields_map.items() if type(field) in _PARSERS)
