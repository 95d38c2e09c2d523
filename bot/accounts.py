"""Users and their chat identities: who is talking, registering and unregistering.

One person (ID number) is one ``User``; each chat identity (WeChat openid, Alipay user id)
is bound to at most one user, so someone who registers on WeChat and later on Alipay is one
user with two identities. The database's unique constraints decide races (one user per ID
number, one binding per identity); these functions only recover from losing one.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise import timezone
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.user import ChannelIdentity, User, VerifiedBy


@dataclass(frozen=True)
class Person:
    """What a registration established about someone, and how."""

    id_number: str
    real_name: str
    phone: str
    verified_by: VerifiedBy


async def user_of(channel: str, external_id: str) -> User | None:
    """The registered user behind a chat identity, or None."""
    return await User.filter(identities__channel=channel,
                             identities__external_id=external_id).first()


async def register(channel: str, external_id: str, person: Person) -> User:
    """Bind the identity to the person's user, creating the user on their first registration.

    A person already known by ID number (from another channel, or unregistered earlier) keeps
    their user row: the newly verified name, phone and method replace the old ones.
    """
    try:
        return await _bind(channel, external_id, person)
    except IntegrityError:
        # Lost a race: this identity was bound meanwhile (a double submit), or another
        # identity created this person's user first, and then binding again succeeds.
        return await user_of(channel, external_id) or await _bind(channel, external_id, person)


async def _bind(channel: str, external_id: str, person: Person) -> User:
    verified = {"real_name": person.real_name, "phone": person.phone,
                "verified_by": person.verified_by, "unregistered_at": None}
    async with in_transaction() as conn:
        # The row lock orders this against an unregister of the same person's last identity.
        user = await (User.select_for_update().using_db(conn)
                      .get_or_none(id_number=person.id_number))
        if user is None:
            user = await User.create(id_number=person.id_number, **verified, using_db=conn)
        else:
            await user.update_from_dict(verified).save(using_db=conn)
        await ChannelIdentity.create(channel=channel, external_id=external_id, user=user,
                                     using_db=conn)
    return user


async def unregister(channel: str, external_id: str) -> bool:
    """Unbind the identity; the user row is only marked when no identity is left.

    Nothing else is deleted: verification records stay for audit. Returns False when the
    identity was not registered.
    """
    async with in_transaction() as conn:
        identity = await ChannelIdentity.get_or_none(channel=channel, external_id=external_id,
                                                     using_db=conn)
        if identity is None:
            return False
        user = await User.select_for_update().using_db(conn).get(id=identity.user_id)
        await identity.delete(using_db=conn)
        if not await ChannelIdentity.exists(user_id=user.id, using_db=conn):
            user.unregistered_at = timezone.now()
            await user.save(update_fields=["unregistered_at"], using_db=conn)
    return True
