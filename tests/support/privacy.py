"""A WeChat user whose every reply is scanned for unmasked personal data.

The patterns are written here, independently of bot/masking.py, so a bug there cannot hide
itself: an 18-character ID or licence number, an 11-digit mobile number, a 17-character VIN.
Names cannot be recognised by pattern, so tests pass the full names they created.
"""

from __future__ import annotations

import re

from bot.sandbox.wechat_client import WeChatUser

FULL_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
FULL_PHONE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
FULL_VIN = re.compile(r"(?<![0-9A-Za-z])[A-HJ-NPR-Z0-9]{17}(?![0-9A-Za-z])")


def assert_masked(text: str, secrets: tuple[str, ...] = ()) -> None:
    for pattern in (FULL_ID, FULL_PHONE, FULL_VIN):
        assert not pattern.search(text), f"unmasked personal data in reply: {text!r}"
    for secret in secrets:
        assert secret not in text, f"{secret!r} in reply: {text!r}"


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
