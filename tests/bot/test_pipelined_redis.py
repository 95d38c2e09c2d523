"""The inbox's pipelined Redis connection, on a real Redis server: every caller gets its own
reply, whatever fails, and the connection comes back after Redis does."""

import asyncio
from pathlib import Path

import pytest
from redis import exceptions as redis_errors
from redis.asyncio import Redis

from bot.pipelined_redis import PipelinedRedis
from bot.redis_server import RedisProcess


async def test_concurrent_callers_each_get_their_own_reply(pipelined_redis: PipelinedRedis):
    async def round_trip(n: int) -> bytes:
        await pipelined_redis.execute("SET", f"key:{n}", f"value {n} 值")
        return await pipelined_redis.execute("GET", f"key:{n}")

    replies = await asyncio.gather(*(round_trip(n) for n in range(500)))
    assert replies == [f"value {n} 值".encode() for n in range(500)]


async def test_a_script_loads_itself_when_redis_forgot_it(pipelined_redis: PipelinedRedis,
                                                          redis: Redis):
    script = pipelined_redis.script("return {KEYS[1], ARGV[1] + 1}")
    assert await script(keys=["k"], args=[41]) == [b"k", 42]
    await redis.script_flush()
    assert await script(keys=["k"], args=[1]) == [b"k", 2]
    assert await redis.script_exists(script._sha) == [True]


async def test_an_error_reply_is_raised_and_the_connection_goes_on(
        pipelined_redis: PipelinedRedis):
    await pipelined_redis.execute("SET", "text", "not a number")
    with pytest.raises(redis_errors.ResponseError, match="not an integer"):
        await pipelined_redis.execute("INCR", "text")
    assert await pipelined_redis.execute("GET", "text") == b"not a number"


async def test_a_cancelled_caller_does_not_shift_the_replies(pipelined_redis: PipelinedRedis,
                                                             redis: Redis):
    await pipelined_redis.execute("SET", "k", "mine")
    blocked = asyncio.create_task(pipelined_redis.execute("BLPOP", "queue", 2))
    await asyncio.sleep(0.05)
    blocked.cancel()
    await redis.rpush("queue", "for nobody")  # BLPOP's reply arrives after its caller left
    assert await pipelined_redis.execute("GET", "k") == b"mine"


async def test_a_lost_connection_fails_its_callers_and_is_reopened(
        pipelined_redis: PipelinedRedis, redis: Redis):
    await pipelined_redis.execute("PING")
    waiting = asyncio.create_task(pipelined_redis.execute("BLPOP", "queue", 5))
    await asyncio.sleep(0.05)
    await redis.client_kill_filter(_type="normal", skipme=True)
    with pytest.raises(redis_errors.ConnectionError):
        await asyncio.wait_for(waiting, 1)
    assert await pipelined_redis.execute("PING") == b"PONG"


async def test_a_hung_redis_times_out_and_the_next_call_reconnects(redis_url: str,
                                                                   redis: Redis):
    client = PipelinedRedis(redis_url, timeout=0.2)
    try:
        await client.execute("PING")
        sleeping = asyncio.create_task(redis.execute_command("DEBUG", "SLEEP", "0.6"))
        await asyncio.sleep(0.05)
        started = asyncio.get_running_loop().time()
        with pytest.raises(redis_errors.TimeoutError):
            await client.execute("PING")
        assert asyncio.get_running_loop().time() - started < 0.5
        await sleeping
        assert await client.execute("PING") == b"PONG"
    finally:
        await client.aclose()


async def test_redis_down_then_up(tmp_path: Path):
    server = RedisProcess(tmp_path)
    client = PipelinedRedis(server.url, timeout=1)
    with pytest.raises(redis_errors.ConnectionError, match="cannot connect"):
        await client.execute("PING")
    await server.start()
    try:
        assert await client.execute("PING") == b"PONG"
    finally:
        await client.aclose()
        await server.stop()


async def test_credentials_and_database_from_the_url(redis_url: str, redis: Redis):
    await redis.execute_command("ACL", "SETUSER", "inbox", "on", ">s3cret", "~*", "+@all")
    socket_path = redis_url.removeprefix("unix://")
    db_3 = Redis.from_url(f"{redis_url}?db=3")
    try:
        client = PipelinedRedis(f"unix://inbox:s3cret@{socket_path}?db=3", timeout=1)
        await client.execute("SET", "where", "db 3")
        await client.aclose()
        assert await redis.get("where") is None  # db 0
        assert await db_3.get("where") == b"db 3"
        wrong = PipelinedRedis(f"unix://inbox:wrong@{socket_path}", timeout=1)
        with pytest.raises(redis_errors.ResponseError, match="WRONGPASS"):
            await wrong.execute("PING")
    finally:
        await redis.execute_command("ACL", "DELUSER", "inbox")
        await db_3.flushdb()
        await db_3.aclose()


async def test_callers_share_one_connection_attempt_to_a_silent_redis():
    """A server that accepts and never answers (a hung Redis): five messages arriving
    together each wait one timeout, not one per message ahead of them."""
    accepted = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)
        await reader.read()  # until the client gives up

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = PipelinedRedis(f"redis://:secret@127.0.0.1:{port}/0", timeout=0.2)
    try:
        started = asyncio.get_running_loop().time()
        outcomes = await asyncio.gather(*(client.execute("PING") for _ in range(5)),
                                        return_exceptions=True)
        assert all(isinstance(outcome, redis_errors.TimeoutError) for outcome in outcomes)
        assert asyncio.get_running_loop().time() - started < 0.45
        assert len(accepted) == 1
    finally:
        await client.aclose()
        server.close()
        for writer in accepted:
            writer.close()
        await server.wait_closed()


async def test_a_reply_that_is_not_redis_protocol_fails_the_call():
    async def not_redis(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        await writer.drain()
        await reader.read()

    server = await asyncio.start_server(not_redis, "127.0.0.1", 0)
    client = PipelinedRedis(f"redis://127.0.0.1:{server.sockets[0].getsockname()[1]}/0",
                            timeout=1)
    try:
        with pytest.raises(redis_errors.ConnectionError, match="unreadable"):
            await client.execute("PING")
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()
