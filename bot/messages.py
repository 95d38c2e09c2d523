"""What channels hand to the engine and what the engine hands back: no wire formats here."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class InboundKind(StrEnum):
    TEXT = "text"
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    CLICK = "click"
    OTHER = "other"  # images, voice, location, VIEW ...: answered politely, never processed


@dataclass(frozen=True)
class Conversation:
    """One user on one channel: the unit that has a session, a turn and pending items."""

    channel: str
    user_id: str

    @property
    def key(self) -> str:
        """"wechat:<openid>": the one place this string is built."""
        return f"{self.channel}:{self.user_id}"

    @classmethod
    def parse(cls, key: str) -> Conversation:
        """The inverse of ``key`` (user ids may hold colons; channel names never do)."""
        channel, sep, user_id = key.partition(":")
        if not (sep and channel and user_id):
            raise ValueError("not a conversation key")
        return cls(channel, user_id)


@dataclass(frozen=True)
class Inbound:
    """One message or event from a user, already verified and decoded by its channel."""

    channel: str
    user_id: str
    kind: InboundKind
    dedupe_key: str
    text: str = ""
    event_key: str = ""

    @property
    def conversation(self) -> Conversation:
        return Conversation(self.channel, self.user_id)


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class Reply:
    """A channel-neutral answer: text, optional numbered choices and an optional link."""

    text: str
    choices: tuple[str, ...] = ()
    link: Link | None = None
    extra: tuple[str, ...] = field(default=())  # lines shown after the choices (hints)

    def as_text(self) -> str:
        """Plain-text rendering shared by text-only channels."""
        lines = [self.text]
        if self.choices:
            lines.append("")
            lines.extend(f"{number}. {label}" for number, label in enumerate(self.choices, 1))
        lines.extend(self.extra)
        return "\n".join(line for line in lines).strip()

    def to_json(self) -> dict:
        data: dict = {"text": self.text}
        if self.choices:
            data["choices"] = list(self.choices)
        if self.link:
            data["link"] = {"title": self.link.title, "url": self.link.url}
        if self.extra:
            data["extra"] = list(self.extra)
        return data

    @classmethod
    def from_json(cls, data: dict) -> Reply:
        link = data.get("link")
        return cls(
            text=data["text"],
            choices=tuple(data.get("choices", ())),
            link=Link(**link) if link else None,
            extra=tuple(data.get("extra", ())),
        )
