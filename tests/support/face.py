"""A phone's browser on the face check: opens the certify link, presses a button on the page."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import aiohttp

from bot.sandbox.alipay import PRESS_PATH

ID_NUMBER = "11010519491231002X"
NAME = "张三"


async def open_page(http: aiohttp.ClientSession, link: str) -> str:
    async with http.get(link) as response:
        assert response.status == 200, await response.text()
        return await response.text()


async def press(http: aiohttp.ClientSession, link: str, page: str, button: str) -> str:
    """Submit the certify page's form with 通过 ("T") or 不通过 ("F"); returns where the
    browser is sent (our return URL)."""
    certify_id = re.search(r'name="certify_id" value="([0-9a-f]+)"', page)[1]
    url = urlsplit(link)._replace(path=PRESS_PATH, query="").geturl()
    async with http.post(url, data={"certify_id": certify_id, "passed": button},
                         allow_redirects=False) as response:
        assert response.status == 302, await response.text()
        return response.headers["Location"]


def certify_id_of(link: str) -> str:
    return json.loads(parse_qs(urlsplit(link).query)["biz_content"][0])["certify_id"]
