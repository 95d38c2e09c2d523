"""What the app adds to every response."""

import re

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import guarded
from tests.support.harness import Harness

SERVER_TIMING = re.compile(r"app;dur=\d+\.\d\d")


async def test_responses_say_how_long_the_server_took(harness: Harness):
    user = harness.user()
    params, body = user.request(user.text_xml("菜单"))
    for response in [await harness.client.get("/healthz"),
                     await harness.client.post("/wechat", params=params, data=body)]:
        assert SERVER_TIMING.fullmatch(response.headers["Server-Timing"]), response.url


@pytest.mark.parametrize(("path", "status", "body"), [
    ("/wechat", 200, b"success"),  # WeChat never sees an error
    ("/face/return", 500, b'{"error": "internal error"}'),
])
async def test_an_unexpected_error_is_answered_without_details(
        path: str, status: int, body: bytes, caplog: pytest.LogCaptureFixture):
    async def failing(request: web.Request) -> web.Response:
        raise RuntimeError("secret detail")

    app = web.Application(middlewares=[guarded])
    app.router.add_post(path, failing)
    async with TestClient(TestServer(app)) as client:
        response = await client.post(path)
        assert (response.status, await response.read()) == (status, body)
        assert SERVER_TIMING.fullmatch(response.headers["Server-Timing"])
    assert "secret detail" in caplog.text  # logged for us, not sent to the caller
