"""A WeChat user whose every reply is scanned for unmasked personal data.

The patterns are written here, independently of bot/masking.py, so a bug there cannot hide
itself: an 18-character ID or licence number, an 11-digit mobile number, a 17-character VIN.
Names cannot be recognised by pattern, so tests pass the full names they created.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from bot.sandbox.wechat_client import WeChatUser

FULL_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
FULL_PHONE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
FULL_VIN = re.compile(r"(?<![0-9A-Za-z])[A-HJ-NPR-Z0-9]{17}(?![0-9A-Za-z])")
LINK = re.compile(r'<a href="([^"]*)">')


def assert_masked(text: str, secrets: tuple[str, ...] = ()) -> None:
    """Shapes are looked for in what the user reads; a link's URL carries random ids and
    signatures whose digit runs look like phones now and then, so it is checked for the
    known secrets only, decoded."""
    readable = LINK.sub("<a>", text)
    for pattern in (FULL_ID, FULL_PHONE, FULL_VIN):
        assert not pattern.search(readable), f"unmasked personal data in reply: {text!r}"
    for secret in secrets:
        for shown in (readable, *map(unquote, LINK.findall(text))):
            assert secret not in shown, f"{secret!r} in reply: {text!r}"


class ScannedUser:
    """Sends like ``WeChatUser`` and fails the test on any reply that shows personal data."""

    def __init__(self, user: WeChatUser, secrets: tuple[str, ...] = ()) -> None:
        self.user = user
        self.secrets = secrets
        self.replies: list[str] = []

    async def send(self, text: str) -> str:
        return self._scan(await self.user.send(text))

    async def click(self, key: str) -> str:
        return self._scan(await self.user.click(key))

    def _scan(self, reply: str) -> str:
        assert_masked(reply, self.secrets)
        self.replies.append(reply)
        return reply
