import asyncio

from bot.accounts import Person, register, unregister, user_of
from models.user import ChannelIdentity, User, VerifiedBy
from models.verification import Method, Outcome, Verification
from tests.support.records import id_number

ID = id_number(901)
ZHANG = Person(ID, "张三丰", "13900000001", VerifiedBy.FACE)


async def test_register_creates_the_user_and_binds_the_identity(harness):
    user = await register("wechat", "openid-a", ZHANG)

    assert (await user_of("wechat", "openid-a")).id == user.id
    assert (user.id_number, user.real_name, user.verified_by) == (ID, "张三丰", VerifiedBy.FACE)
    assert await user_of("wechat", "openid-b") is None
    assert await user_of("alipay", "openid-a") is None


async def test_a_second_identity_of_the_same_person_joins_their_user(harness):
    first = await register("wechat", "openid-a", ZHANG)
    second = await register("alipay", "2088-a",
                            Person(ID, "张三丰", "13900000002", VerifiedBy.SMS))

    assert second.id == first.id
    assert await User.all().count() == 1
    assert await ChannelIdentity.filter(user_id=first.id).count() == 2
    refreshed = await User.get(id=first.id)
    assert (refreshed.phone, refreshed.verified_by) == ("13900000002", VerifiedBy.SMS)


async def test_a_double_submit_binds_once(harness):
    first = await register("wechat", "openid-a", ZHANG)
    again = await register("wechat", "openid-a", ZHANG)

    assert again.id == first.id
    assert await ChannelIdentity.all().count() == 1


async def test_concurrent_registrations_of_one_person_make_one_user(harness):
    users = await asyncio.gather(*(register("wechat", f"openid-{n}", ZHANG) for n in range(4)))

    assert len({user.id for user in users}) == 1
    assert await User.all().count() == 1
    assert await ChannelIdentity.all().count() == 4


async def test_unregister_marks_the_user_only_when_no_identity_is_left(harness):
    user = await register("wechat", "openid-a", ZHANG)
    await register("alipay", "2088-a", ZHANG)
    await Verification.create(method=Method.FACE, purpose="register", requester="wechat:openid-a",
                              subject_id_number=ID, reference="ref-1", outcome=Outcome.PASSED)

    assert await unregister("wechat", "openid-a")
    assert await user_of("wechat", "openid-a") is None
    assert (await User.get(id=user.id)).unregistered_at is None

    assert await unregister("alipay", "2088-a")
    assert (await User.get(id=user.id)).unregistered_at is not None
    assert await Verification.filter(subject_id_number=ID).count() == 1
    assert not await unregister("alipay", "2088-a")


async def test_registering_again_after_unregistering_revives_the_user(harness):
    user = await register("wechat", "openid-a", ZHANG)
    await unregister("wechat", "openid-a")

    again = await register("wechat", "openid-a", ZHANG)

    assert again.id == user.id
    assert (await User.get(id=user.id)).unregistered_at is None
