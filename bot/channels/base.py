"""What every channel offers the channel-neutral runtime, and the registry of channels.

A channel owns its wire format (its own HTTP handler parses requests into ``Inbound``s and
renders replies) and its delivery policy: how long a request may wait for its reply
(``reply_budget``; 0 for a channel that acknowledges at once and pushes every reply) and how
a later message reaches a user (``push``). The inbox, events and the background manager
speak to channels only through this protocol and the ``Channels`` registry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from bot.messages import Conversation, Reply


@dataclass(frozen=True)
class Pushed:
    """The channel accepted the message for the user."""


@dataclass(frozen=True)
class Unreachable:
    """The channel cannot reach the user now (WeChat: outside the 48-hour window). Not an
    error: the user sees the news with their next message (a pending item) or not at all."""

    reason: str


PushResult = Pushed | Unreachable


class PushError(Exception):
    """A push failed; ``transient`` says whether trying again later may succeed (the
    send_reply job retries those)."""

    transient: bool = False


class Channel(Protocol):
    name: str  # the conversation's channel part: "wechat"
    title: str  # how users call it, for wording such as "请返回微信" (the face return page)
    reply_budget: float  # seconds a request may wait for its reply; 0: acknowledge, then push

    def render_text(self, reply: Reply) -> str:
        """The reply as this channel shows text (links, line breaks)."""
        ...

    async def push(self, user_id: str, reply: Reply) -> PushResult:
        """Send a message outside a request; raises only for failures worth retrying."""
        ...


class UnknownChannel(LookupError):
    pass


class Channels:
    """The registry: one ``Channel`` per name, built at the composition root."""

    def __init__(self, channels: Iterable[Channel] = ()) -> None:
        self._channels: dict[str, Channel] = {}
        for channel in channels:
            self.register(channel)

    def register(self, channel: Channel) -> None:
        if channel.name in self._channels:
            raise ValueError(f"channel {channel.name} registered twice")
        self._channels[channel.name] = channel

    def __getitem__(self, name: str) -> Channel:
        try:
            return self._channels[name]
        except KeyError:
            raise UnknownChannel(name) from None

    def __contains__(self, name: str) -> bool:
        return name in self._channels

    def title(self, name: str) -> str:
        """How users call the channel (微信, 支付宝): channel wording stays in channels."""
        return self[name].title

    def budget(self, name: str) -> float:
        return self[name].reply_budget

    async def push(self, conversation: Conversation, reply: Reply) -> PushResult:
        return await self[conversation.channel].push(conversation.user_id, reply)
