import asyncio

import pytest

from bot.accounts import Person, Registration, register, unregister, user_of
from models.user import BindingAction, BindingEvent, ChannelIdentity, User, VerifiedBy
from models.verification import Method, Outcome, Verification
from tests.support.records import id_number

ID = id_number(901)
ZHANG = Person(ID, "张三丰", "13900000001", VerifiedBy.FACE)


async def bind(channel: str, external_id: str, person: Person = ZHANG,
               limit: int = 1) -> Registration:
    return await register(channel, external_id, person, bindings_per_channel=limit)


async def events(user_id: int) -> list[tuple[str, str, BindingAction]]:
    rows = await BindingEvent.filter(user_id=user_id).order_by("id")
    return [(row.channel, row.external_id, row.action) for row in rows]


async def test_register_creates_the_user_and_binds_the_identity(database):
    done = await bind("wechat", "openid-a")

    user = done.user
    assert done.replaced == ()
    assert (await user_of("wechat", "openid-a")).id == user.id
    assert (user.id_number, user.real_name, user.verified_by) == (ID, "张三丰", VerifiedBy.FACE)
    assert await user_of("wechat", "openid-b") is None
    assert await user_of("alipay", "openid-a") is None


async def test_a_second_identity_of_the_same_person_joins_their_user(database):
    first = (await bind("wechat", "openid-a")).user
    second = await bind("alipay", "2088-a", Person(ID, "张三丰", "13900000002", VerifiedBy.SMS))

    assert (second.user.id, second.replaced) == (first.id, ())  # bindings count per channel
    assert await User.all().count() == 1
    assert await ChannelIdentity.filter(user_id=first.id).count() == 2
    refreshed = await User.get(id=first.id)
    assert (refreshed.phone, refreshed.verified_by) == ("13900000002", VerifiedBy.SMS)


async def test_a_double_submit_binds_once(database):
    first = await bind("wechat", "openid-a")
    again = await bind("wechat", "openid-a")

    assert (again.user.id, again.bound_at, again.replaced) == (first.user.id, first.bound_at, ())
    assert await ChannelIdentity.all().count() == 1
    assert await events(first.user.id) == [("wechat", "openid-a", BindingAction.BOUND)]


async def test_a_newer_registration_on_the_channel_replaces_the_oldest_binding(database):
    first = await bind("wechat", "openid-a")
    await bind("alipay", "2088-a")

    second = await bind("wechat", "openid-b")

    assert second.replaced == ("openid-a",)
    assert await user_of("wechat", "openid-a") is None
    assert (await user_of("wechat", "openid-b")).id == first.user.id
    assert (await user_of("alipay", "2088-a")).id == first.user.id
    assert await events(first.user.id) == [
        ("wechat", "openid-a", BindingAction.BOUND), ("alipay", "2088-a", BindingAction.BOUND),
        ("wechat", "openid-b", BindingAction.BOUND), ("wechat", "openid-a", BindingAction.REPLACED)]


async def test_with_a_limit_of_two_the_third_replaces_the_oldest(database):
    for openid in ("openid-a", "openid-b"):
        assert (await bind("wechat", openid, limit=2)).replaced == ()

    third = await bind("wechat", "openid-c", limit=2)

    assert third.replaced == ("openid-a",)
    assert {i.external_id for i in await ChannelIdentity.all()} == {"openid-b", "openid-c"}


@pytest.mark.parametrize("known", [False, True], ids=["new person", "known person"])
@pytest.mark.parametrize("limit", [1, 2])
async def test_concurrent_registrations_of_one_person_leave_the_binding_limit(database, known,
                                                                              limit):
    """On PostgreSQL the registrations really overlap (a connection each): the user's row
    lock, or the unique ID number for a new person, must order them."""
    if known:
        await bind("alipay", "2088-a")
    openids = [f"openid-{n}" for n in range(6)]

    done = await asyncio.gather(*(bind("wechat", openid, limit=limit) for openid in openids))

    assert len({registration.user.id for registration in done}) == 1
    assert await User.all().count() == 1
    bound = {i.external_id for i in await ChannelIdentity.filter(channel="wechat")}
    assert len(bound) == limit
    replaced = [openid for registration in done for openid in registration.replaced]
    assert sorted(replaced) == sorted(set(openids) - bound)  # each told exactly once
    actions = [action for channel, _, action in await events(done[0].user.id)
               if channel == "wechat"]
    assert (actions.count(BindingAction.BOUND), actions.count(BindingAction.REPLACED)) == (
        len(openids), len(openids) - limit)


async def test_unregister_marks_the_user_only_when_no_identity_is_left(database):
    user = (await bind("wechat", "openid-a")).user
    await bind("alipay", "2088-a")
    await Verification.create(method=Method.FACE, purpose="register", requester="wechat:openid-a",
                              subject_id_number=ID, reference="ref-1", outcome=Outcome.PASSED)

    assert await unregister("wechat", "openid-a")
    assert await user_of("wechat", "openid-a") is None
    assert (await User.get(id=user.id)).unregistered_at is None

    assert await unregister("alipay", "2088-a")
    assert (await User.get(id=user.id)).unregistered_at is not None
    assert (await events(user.id))[2:] == [("wechat", "openid-a", BindingAction.UNBOUND),
                                           ("alipay", "2088-a", BindingAction.UNBOUND)]
    assert await Verification.filter(subject_id_number=ID).count() == 1
    assert not await unregister("alipay", "2088-a")


async def test_registering_again_after_unregistering_revives_the_user(database):
    user = (await bind("wechat", "openid-a")).user
    await unregister("wechat", "openid-a")

    again = await bind("wechat", "openid-a")

    assert (again.user.id, again.replaced) == (user.id, ())
    assert (await User.get(id=user.id)).unregistered_at is None
