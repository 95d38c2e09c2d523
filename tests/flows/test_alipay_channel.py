"""Every journey walked end to end in the Alipay life account, through the sandbox: the
simulated platform signs forms to our gateway (GBK unless said otherwise), every reply is
pushed to the simulated push API and read back from the outbox. SQLite and PostgreSQL with
a real Redis."""

from __future__ import annotations

import asyncio

import pytest

from bot.accounts import Person, register
from bot.integrations.alipay import public_key_of, sandbox_app_key
from bot.services import alipay_menu
from models.enums import LicenceClass
from models.outbox import OutboxMessage
from models.user import ChannelIdentity, User, VerifiedBy
from tests.support.privacy import ScannedUser
from tests.support.queries import query_licence, query_vehicle
from tests.support.records import id_number, make_licence, make_vehicle, make_violations
from tests.support.registration import (
    FACE_PASSED,
    PHONE_CODE_PROMPT,
    REGISTERED,
    face_check,
    link_in,
    sms_code,
    start,
)

ALICE = "2088000000000101"
NAME = "张三丰"
ID = id_number(701)
PHONE = "13700000000"
MENU_PROMPT = "请回复数字选择服务"


@pytest.fixture
def alice(harness) -> ScannedUser:
    return ScannedUser(harness.alipay_user(ALICE), secrets=(NAME, ID, PHONE, "李四"))


async def kinds_sent() -> set[tuple[str, str]]:
    return {(kind, recipient) for kind, recipient in
            await OutboxMessage.all().values_list("kind", "recipient")}


async def test_the_consoles_gateway_check_gets_our_public_key_signed(harness, alice):
    ours = public_key_of(sandbox_app_key(harness.settings))
    shown = await alice.user.verify_gateway()  # the answer's signature checked with it
    assert shown == "".join(ours.strip().splitlines()[1:-1])


async def test_follow_pushes_the_welcome_with_the_menu_and_unfollow_nothing(harness, alice):
    welcome = await alice.user.follow()

    assert "欢迎关注" in welcome and MENU_PROMPT in welcome
    await alice.user.unfollow()
    assert await alice.user.pushes(0) == []  # the unfollow's turn is over: nothing pushed
    assert await kinds_sent() == {("alipay.text", ALICE)}


async def test_query_vehicle_by_plate_and_vin_with_pages_and_detail(harness, alice):
    vehicle = await make_vehicle(plate_number="渝C00012")
    await make_violations(vehicle, 12)

    first = await query_vehicle(alice, "渝C00012", vehicle.vin[-6:])
    assert "渝C00012（小型汽车）" in first and "共12条违法记录，第1/3页" in first
    assert "第2/3页" in await alice.send("下一页")
    assert "第1/3页" in await alice.send("上一页")
    detail = await alice.send("1")
    assert "违法详情" in detail and "2026-06-01" in detail
    # the whole VIN is taken too
    assert "共12条违法记录" in await query_vehicle(alice, "渝C00012", vehicle.vin)
    assert await kinds_sent() == {("alipay.text", ALICE)}


async def test_query_licence(harness, alice):
    licence = await make_licence(holder_name="欧阳娜娜", licence_class=LicenceClass.B2, points=9)
    await make_violations(await make_vehicle(), 2, licence_number=licence.number)

    reply = await query_licence(alice, "欧阳娜娜", licence.number, licence.file_number)

    assert "驾驶人：欧***" in reply and "准驾车型：B2（大型货车）" in reply
    assert "共2条违法记录" in reply


async def test_registration_with_face_verification_reports_back_in_alipay(harness, alice):
    await make_licence(number=ID, holder_name=NAME, holder_phone="13900000001")

    reply = await start(alice, NAME, ID, PHONE)

    [sent] = await OutboxMessage.filter(recipient=ALICE).order_by("-id").limit(1)
    assert sent.kind == "alipay.image_text"  # the link goes as an image-text message
    [article] = sent.body["articles"]
    assert article["url"] == link_in(reply) and "刷脸认证" in reply
    page = await face_check(harness, link_in(reply), "T")  # the fake Alipay's certify page
    assert "认证完成" in page and "支付宝" in page

    [pushed] = await alice.user.pushes(1)  # the result, pushed to the Alipay user
    assert FACE_PASSED in pushed.text and PHONE_CODE_PROMPT in pushed.text
    done = await alice.send(await sms_code(harness, PHONE))
    assert REGISTERED in done
    user = await User.get(id_number=ID)
    assert user.verified_by is VerifiedBy.FACE
    assert await ChannelIdentity.filter(user=user, channel="alipay", external_id=ALICE).exists()
    assert not await OutboxMessage.filter(kind__startswith="wechat").exists()
    assert "您已完成实名注册" in await alice.click("REGISTER")


async def test_my_account_shows_the_same_records_as_wechat(harness, alice):
    person = Person(ID, NAME, PHONE, VerifiedBy.FACE)
    await register("wechat", "openid-alice", person, bindings_per_channel=1)
    await register("alipay", ALICE, person, bindings_per_channel=1)
    await make_licence(number=ID, holder_name=NAME, points=3)
    car = await make_vehicle(owner_id_number=ID, owner_name=NAME, plate_number="渝A10001")
    await make_violations(car, 2)
    wechat = ScannedUser(harness.user("openid-alice"), secrets=(NAME, ID, PHONE))

    for user in (alice, wechat):
        assert "我的账户：张**" in await user.click("MY_ACCOUNT")
        assert "本记分周期" in await user.send("1")
        await user.click("MY_ACCOUNT")
        listed = await user.send("2")
        assert f"1. 渝A10001 小型汽车 车架号***********{car.vin[-6:]}" in listed
        assert "共2条违法记录" in await user.send("1")


async def test_every_menu_button_starts_its_journey(harness, alice):
    menu = alipay_menu()
    await harness.services.alipay_life_api.create_menu(menu)  # Alipay's menu rules hold
    assert harness.fake_alipay.menu == menu
    keys = [button["action_param"] for top in menu["button"]
            for button in top.get("sub_button") or [top] if button["action_type"] == "out"]
    assert {"QUERY_VEHICLE", "QUERY_LICENCE", "REGISTER", "MY_ACCOUNT"} <= set(keys)
    for key in keys:
        reply = await alice.click(key)
        assert reply and not reply.startswith(MENU_PROMPT), key  # an unknown key's answer
        await alice.send("取消")


@pytest.mark.parametrize(("charset", "codec", "arrives"), [
    ("UTF-8", "", True),
    ("GBK", "gb18030", True),  # GBK's superset written under the GBK label
    ("GBK", "", False),  # Java's GBK encoder: 𠮷 is sent as "?"
])
async def test_a_rare_character_in_gbk_and_utf8(harness, charset, codec, arrives):
    licence = await make_licence(holder_name="𠮷祥")
    user = ScannedUser(harness.alipay_user(ALICE, charset=charset, codec=codec))

    if not arrives:
        await user.click("QUERY_LICENCE")
        assert "姓名只能包含汉字" in await user.send("𠮷祥")  # "?祥" is no name
        return
    reply = await query_licence(user, "𠮷祥", licence.number, licence.file_number)
    assert "驾驶人：𠮷*" in reply  # the name matched, and came back in the push


async def test_a_duplicate_delivery_is_acted_on_once(harness, alice):
    """Alipay delivers again what it thinks unacknowledged, maybe while the first runs."""
    await make_vehicle(plate_number="渝A10001")
    platform = alice.user
    await alice.click("QUERY_VEHICLE")
    form = platform.form(platform.text_xml("2", msg_id="dup-1"))

    acks = await asyncio.gather(*(platform.post(form) for _ in range(3)))

    for ack in acks:
        platform.check_ack(ack)  # each delivery is acknowledged
    replies = await platform.pushes(1)
    assert [pushed.text for pushed in replies] == [replies[0].text]
    assert "请输入号牌号码" in replies[0].text
    assert "请输入车架号" in await alice.send("渝A10001")  # one step on, not two
    again = await platform.post(form)  # later still: acknowledged, not acted on
    platform.check_ack(again)
    assert await platform.pushes(0) == []


async def test_a_face_result_for_a_user_who_unfollowed_is_not_delivered_nor_an_error(
        harness, alice, caplog):
    await make_licence(number=ID, holder_name=NAME, holder_phone="13900000001")
    link = link_in(await start(alice, NAME, ID, PHONE))
    await alice.user.unfollow()

    assert "认证完成" in await face_check(harness, link, "T")
    # Once the user's turn is over, the result's push was answered PUB.MSG_SD_NOFOLLOW.
    assert await alice.user.pushes(0) == []
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    welcome = await alice.user.follow()  # back again: the journey carries on
    assert "欢迎关注" in welcome
