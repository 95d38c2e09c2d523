"""What the app adds to every response."""

import re

from tests.support.harness import Harness

SERVER_TIMING = re.compile(r"app;dur=\d+\.\d\d")


async def test_responses_say_how_long_the_server_took(harness: Harness):
    user = harness.user()
    params, body = user.request(user.text_xml("菜单"))
    for response in [await harness.client.get("/healthz"),
                     await harness.client.post("/wechat", params=params, data=body)]:
        assert SERVER_TIMING.fullmatch(response.headers["Server-Timing"]), response.url
