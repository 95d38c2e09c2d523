"""Users and their chat identities: who is talking, registering and unregistering.

One person (ID number) is one ``User``; each chat identity (WeChat openid, Alipay user id)
is bound to at most one user, so someone who registers on WeChat and later on Alipay is one
user with two identities, and a person has a limited number of identities per channel (see
``register``). The database's unique constraints decide races (one user per ID number, one
binding per identity) and the user's row lock orders registrations of one person; these
functions only recover from losing a race. Every binding made or ended leaves a
``BindingEvent`` for audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tortoise import timezone
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot.fast_reads import fetch_rows, instance, select
from models.user import BindingAction, BindingEvent, ChannelIdentity, User, VerifiedBy

if TYPE_CHECKING:
    from bot.engine import Context


@dataclass(frozen=True)
class Person:
    """What a registration established about someone, and how."""

    id_number: str
    real_name: str
    phone: str
    verified_by: VerifiedBy


_USER_OF = select(User) + (' WHERE "id" = (SELECT "user_id" FROM "channel_identity"'
                           ' WHERE "channel" = {} AND "external_id" = {})')


async def user_of(channel: str, external_id: str) -> User | None:
    """The registered user behind a chat identity, or None. Asked on journeys' first steps
    (the query journeys' quick picks), so a hand-written read (bot/fast_reads.py): through
    Tortoise it cost 0.5 ms of CPU a message and queued behind SQLite's one connection."""
    rows = await fetch_rows(User, _USER_OF, channel, external_id)
    return instance(User, rows[0]) if rows else None


async def of_chat(ctx: Context) -> User | None:
    """The registered user behind the chat of a journey's turn, looked up once a turn: the
    steps that ask (quick picks, follows, the list's owner test) share one read."""
    return await ctx.once("me", lambda: user_of(ctx.channel, ctx.user_id))


async def bound_channels(user: User) -> list[str]:
    """The channels the person is reachable on as a registered user, in binding order."""
    channels = await (ChannelIdentity.filter(user=user).order_by("bound_at", "id")
                      .values_list("channel", flat=True))
    return list(dict.fromkeys(channels))


@dataclass(frozen=True)
class Registration:
    """A registration done: the user, when the identity was bound, and the other identities
    on the same channel whose binding it ended (to be told)."""

    user: User
    bound_at: datetime
    replaced: tuple[str, ...] = ()


async def register(channel: str, external_id: str, person: Person, *,
                   bindings_per_channel: int) -> Registration:
    """Bind the identity to the person's user, creating the user on their first registration.

    Policy: a person (ID number) has at most ``bindings_per_channel`` bound identities on
    each channel (WeChat openids, Alipay user ids). When they register from one more account
    on a channel, the newest registration wins, because it has just proved the identity (a
    face check, or an SMS code to the phone on police record): the oldest bindings beyond the
    limit are ended. The caller tells each ended account in chat; the new binding and each
    ended one are recorded as ``BindingEvent`` rows for audit. Bindings on other channels are
    untouched. Everything happens in one transaction holding the user's row lock, so
    concurrent registrations of one person never leave more than the limit.

    A person already known by ID number (from another channel, or unregistered earlier) keeps
    their user row: the newly verified name, phone and method replace the old ones.
    """
    try:
        return await _bind(channel, external_id, person, bindings_per_channel)
    except IntegrityError:
        # Lost a race: this identity was bound meanwhile (a double submit), or another
        # identity created this person's user first, and then binding again succeeds.
        identity = await (ChannelIdentity.filter(channel=channel, external_id=external_id)
                          .prefetch_related("user").first())
        if identity is not None:
            return Registration(identity.user, identity.bound_at)
        return await _bind(channel, external_id, person, bindings_per_channel)


async def _bind(channel: str, external_id: str, person: Person, limit: int) -> Registration:
    verified = {"real_name": person.real_name, "phone": person.phone,
                "verified_by": person.verified_by, "unregistered_at": None}
    async with in_transaction() as conn:
        # The row lock orders this against other registrations of the same person and an
        # unregister of their last identity.
        user = await (User.select_for_update().using_db(conn)
                      .get_or_none(id_number=person.id_number))
        if user is None:
            user = await User.create(id_number=person.id_number, **verified, using_db=conn)
        else:
            await user.update_from_dict(verified).save(using_db=conn)
        identity = await ChannelIdentity.create(channel=channel, external_id=external_id,
                                                user=user, using_db=conn)
        others = await (ChannelIdentity.filter(user=user, channel=channel)
                        .exclude(id=identity.id).order_by("-bound_at", "-id").using_db(conn))
        ended = others[limit - 1:]
        if ended:
            await (ChannelIdentity.filter(id__in=[other.id for other in ended])
                   .using_db(conn).delete())
        for bound, action in [(identity, BindingAction.BOUND),
                              *((other, BindingAction.REPLACED) for other in ended)]:
            await BindingEvent.create(user=user, channel=channel, external_id=bound.external_id,
                                      action=action, at=identity.bound_at, using_db=conn)
    return Registration(user, identity.bound_at, tuple(other.external_id for other in ended))


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
        await BindingEvent.create(user=user, channel=channel, external_id=external_id,
                                  action=BindingAction.UNBOUND, using_db=conn)
        if not await ChannelIdentity.exists(user_id=user.id, using_db=conn):
            user.unregistered_at = timezone.now()
            await user.save(update_fields=["unregistered_at"], using_db=conn)
    return True
