"""People, vehicles and steps the follow journeys' tests share: a requester in WeChat, an
owner who is a user (in Alipay) or not, and the journey walked to the request sent."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from bot.accounts import Person, register
from bot.follows import Evidence
from bot.messages import Conversation
from models.follow import FollowRequest
from models.outbox import OutboxMessage
from models.user import User, VerifiedBy
from models.vehicle import Vehicle
from tests.support.privacy import ScannedUser
from tests.support.records import id_number, make_vehicle

REQUESTER = Person(id_number(801), "王小明", "13600000801", VerifiedBy.FACE)
OWNER = Person(id_number(802), "李四海", "13800000802", VerifiedBy.FACE)
REQUESTER_OPENID = "openid-requester"
OWNER_ALIPAY = "2088000000000802"
SENT = "关注请求已发送"


@dataclass
class Scene:
    requester: User
    vehicle: Vehicle


async def registered(person: Person, channel: str, external_id: str) -> User:
    return (await register(channel, external_id, person, bindings_per_channel=1)).user


async def owners_car(**fields) -> Vehicle:
    """A car of OWNER's (name, ID number and phone on record)."""
    return await make_vehicle(**{"owner_name": OWNER.real_name,
                                 "owner_id_number": OWNER.id_number,
                                 "owner_phone": OWNER.phone} | fields)


def secrets(vehicle: Vehicle) -> tuple[str, ...]:
    """What the requester must never read: the owner's name, ID number, phone and VIN."""
    return (OWNER.real_name, OWNER.id_number, OWNER.phone, vehicle.vin)


async def scene(harness, vehicle: Vehicle | None = None) -> tuple[Scene, ScannedUser]:
    """The requester registered in WeChat, scanned for any of the owner's data."""
    vehicle = vehicle or await owners_car()
    requester = await registered(REQUESTER, "wechat", REQUESTER_OPENID)
    user = ScannedUser(harness.user(REQUESTER_OPENID), secrets=secrets(vehicle))
    return Scene(requester, vehicle), user


async def to_vehicle(user: ScannedUser, vehicle: Vehicle) -> str:
    """From the menu button to the vehicle shown (plate type, plate, last 6 of the VIN)."""
    assert "请选择号牌种类" in await user.click("FOLLOW_VEHICLE")
    await user.send("2")
    await user.send(vehicle.plate_number)
    return await user.send(vehicle.vin[-6:])


async def send_request(user: ScannedUser, vehicle: Vehicle) -> str:
    """The whole journey to the request sent; returns the reply that says so."""
    assert "关注该车辆" in await to_vehicle(user, vehicle)
    assert "确认发送吗" in await user.send("关注该车辆")
    reply = await user.send("确认发送")
    assert SENT in reply
    return reply


async def request_directly(harness, follower: User, vehicle: Vehicle) -> int:
    """A request sent through the domain, its SMS (if any) delivered; returns its id."""
    conversation = Conversation("wechat", f"openid-direct-{follower.id}")
    texts = await _texts_to(vehicle.owner_phone)
    sent = await harness.services.follows.request(follower, conversation, vehicle)
    if not sent.asked_in_chat:
        await owner_code(vehicle.owner_phone, after=texts)
    return sent.request_id


async def follow_directly(harness, follower: User, vehicle: Vehicle) -> None:
    """A follow made through the domain (request, then the owner's consent in chat)."""
    request_id = await request_directly(harness, follower, vehicle)
    decided = await harness.services.follows.decide(request_id, True, evidence=Evidence("chat"))
    assert decided.done


def _sms_to(phone: str):
    return OutboxMessage.filter(kind="sms", recipient=phone)


async def _texts_to(phone: str) -> int:
    return await _sms_to(phone).count()


async def owner_code(phone: str, *, after: int = 0, seconds: float = 10) -> str:
    """The 6-digit code (read after 验证码) of the SMS to ``phone`` that follows the first
    ``after`` ones, once it is sent (the send_sms job)."""
    for _ in range(int(seconds / 0.05)):
        texts = await _sms_to(phone).order_by("id")
        if len(texts) > after:
            return re.search(r"验证码([0-9]{6})", texts[after].body["text"])[1]
        await asyncio.sleep(0.05)
    raise AssertionError("no SMS to the owner's phone")


async def requests() -> int:
    return await FollowRequest.all().count()
