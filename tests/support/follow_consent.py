"""A follow request asked by SMS, as the owner's consent page tests need it: a registered
requester in WeChat, a vehicle whose owner is no user, and the SMS's link and code read
from the sandbox outbox, as the owner's phone shows them."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from yarl import URL

from bot.accounts import Person, register
from bot.follows import Record
from bot.messages import Conversation
from models.outbox import OutboxMessage
from models.user import User, VerifiedBy
from tests.support.records import id_number, make_vehicle

REQUESTER_NAME, REQUESTER_ID, REQUESTER_PHONE = "王五一", id_number(711), "13700000711"
OWNER_NAME, OWNER_PHONE, PLATE = "李四光", "13800000712", "渝A71234"
OPENID = "openid-requester"
# Everything personal the page could leak (the masked name and plate are shown instead).
SECRETS = (REQUESTER_NAME, REQUESTER_ID, REQUESTER_PHONE, OWNER_NAME, OWNER_PHONE, PLATE)
LINK = re.compile(r"https?://\S+/follow/consent/[A-Za-z0-9_-]+")
CODE = re.compile(r"(?<![0-9])[0-9]{6}(?![0-9])")


@dataclass
class Asked:
    """A request waiting for the owner: its id, the SMS's link and code, the vehicle (or
    licence)."""

    request_id: int
    link: str
    code: str
    vehicle: Record

    @property
    def path(self) -> str:
        return URL(self.link).path

    @property
    def wrong_code(self) -> str:
        return f"{(int(self.code) + 1) % 1_000_000:06d}"


async def registered_requester() -> User:
    person = Person(REQUESTER_ID, REQUESTER_NAME, REQUESTER_PHONE, VerifiedBy.FACE)
    return (await register("wechat", OPENID, person, bindings_per_channel=1)).user


async def sms_to(phone: str) -> str:
    """The text of the latest SMS to ``phone``, waiting for it a little."""
    for _ in range(200):
        message = await OutboxMessage.filter(kind="sms", recipient=phone).order_by("-id").first()
        if message is not None:
            return message.body["text"]
        await asyncio.sleep(0.05)
    raise AssertionError("no SMS to the phone")


async def ask_by_sms(harness, requester: User, *, plate: str = PLATE,
                     owner_phone: str = OWNER_PHONE, target: Record | None = None) -> Asked:
    """The requester asks to follow a vehicle (or ``target``) whose owner is no user: the SMS
    goes out."""
    target = target or await make_vehicle(plate_number=plate, owner_name=OWNER_NAME,
                                          owner_phone=owner_phone)
    sent = await harness.services.follows.request(requester, Conversation("wechat", OPENID),
                                                  target)
    assert not sent.asked_in_chat
    text = await sms_to(owner_phone)
    return Asked(sent.request_id, LINK.search(text)[0], CODE.search(text)[0], target)


async def told(harness, count: int = 1) -> list[str]:
    """The requester's pushed chat messages once ``count`` have arrived."""
    texts: list[str] = []
    for _ in range(300):
        texts = [m.body["text"] for m in await harness.outbox(OPENID) if m.kind == "wechat.text"]
        if len(texts) >= count:
            return texts
        await asyncio.sleep(0.05)
    raise AssertionError(f"the requester was not told: {texts}")
