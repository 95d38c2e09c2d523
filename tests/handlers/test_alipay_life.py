"""The Alipay life-account gateway over real HTTP: the simulated platform (AlipayLifeUser)
signs and posts forms, our signed answers are checked with our public key, and replies land
in the sandbox outbox through the real push client and the send_reply job."""

import asyncio
import base64
import time

from cryptography.hazmat.primitives import serialization

from bot.integrations.alipay import new_private_key, public_key_of, sandbox_app_key
from bot.sandbox.alipay_life_client import CHECK
from bot.services import alipay_menu
from tests.support.alipay_life import biz_content, signed_form
from tests.support.harness import Harness

USER = "2088000000000101"


def our_public_key_base64(harness: Harness) -> str:
    key = serialization.load_pem_public_key(
        public_key_of(sandbox_app_key(harness.settings)).encode())
    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


async def post(harness: Harness, body: bytes, charset: str = "GBK"):
    return await harness.client.post(
        "/alipay/gateway", data=body,
        headers={"Content-Type": f"application/x-www-form-urlencoded; charset={charset}"})


async def inbox_keys(harness: Harness) -> list[bytes]:
    return await harness.services.redis.keys("inbox:alipay:*")


async def test_gateway_check_answers_our_public_key_signed_by_it(harness: Harness):
    user = harness.alipay_user(USER)
    assert await user.verify_gateway() == our_public_key_base64(harness)
    utf8 = harness.alipay_user(USER, charset="UTF-8")
    assert await utf8.verify_gateway() == our_public_key_base64(harness)


async def test_follow_pushes_the_welcome_and_menu_then_text_is_answered_by_push(
        harness: Harness):
    user = harness.alipay_user(USER)
    welcome = await user.follow()
    assert "请回复数字选择服务" in welcome
    assert "查询" in await user.send("菜单")


async def test_gbk_and_utf8_messages_with_rare_characters_reach_the_journey(harness: Harness):
    for charset in ("GBK", "UTF-8"):
        user = harness.alipay_user(f"20880000000002{len(charset):02d}", charset=charset)
        await user.follow()
        reply = await user.send("菜单")
        assert "请回复数字选择服务" in reply
        # Typed in a journey's field: echoed back as a hint, never a refusal of the form.
        await user.send("1")
        assert await user.send("𠮷野家")


async def test_regression_duplicate_delivery_is_acted_on_once_also_concurrently(
        harness: Harness):
    user = harness.alipay_user(USER)
    await user.follow()
    form = user.form(user.text_xml("菜单"))
    first = await user.post(form)
    acks = [first, *await asyncio.gather(*(user.post(form) for _ in range(5)))]
    for ack in acks:
        user.check_ack(ack)  # every delivery acknowledged, signed
    pushed = await user.pushes(1)
    assert len(pushed) == 1


async def test_regression_a_users_messages_are_answered_in_order(harness: Harness):
    user = harness.alipay_user(USER)
    await user.follow()
    for text in ("菜单", "1", "取消"):
        await user.notify(user.text_xml(text))  # no waiting for the pushes in between
    pushed = [p.text for p in await user.pushes(3)]
    assert len(pushed) == 3
    assert "请回复数字选择服务" in pushed[0] and "号牌" not in pushed[0]
    assert "号牌" in pushed[1]  # "1" read in the menu's state: the vehicle journey
    assert "号牌" not in pushed[2]  # "取消" read in the journey: it left


async def test_forged_form_is_refused_and_nothing_processed(harness: Harness):
    user = harness.alipay_user(USER)
    await user.follow()
    before = await inbox_keys(harness)
    created = int(time.time() * 1000)
    forged = signed_form(biz_content(user.appid, USER, created, text="菜单"),
                         new_private_key())[1]
    assert (await post(harness, forged)).status == 403
    stale = user.form(user.event_xml("click", "QUERY_VEHICLE", create_time=created - 600_000))
    assert (await user.post(stale)).status == 403
    tampered = dict(user.form(user.text_xml("菜单")), sign_type="RSA")
    assert (await user.post(tampered)).status == 403
    unsigned = {k: v for k, v in user.form(user.text_xml("菜单")).items() if k != "sign"}
    assert (await user.post(unsigned)).status == 403
    assert await user.pushes(0) == []
    assert await inbox_keys(harness) == before


async def test_malformed_forms_unknown_services_and_big_bodies_are_refused_not_5xx(
        harness: Harness):
    user = harness.alipay_user(USER)
    assert (await post(harness, b"charset=KOI8-R")).status == 400
    broken = user.form("<XML><AppId>")
    assert (await user.post(broken)).status == 400
    dtd = user.form('<!DOCTYPE x [<!ENTITY a "b">]><XML>&a;</XML>')
    assert (await user.post(dtd)).status == 400
    unknown = user.form(user.text_xml("菜单"), service="alipay.open.unknown")
    assert (await user.post(unknown)).status == 400
    limit = harness.settings.alipay_life.max_body_bytes
    assert (await post(harness, b"x=" + b"a" * limit)).status == 413


async def test_unfollow_and_enter_are_acknowledged_without_a_push(harness: Harness):
    user = harness.alipay_user(USER)
    await user.follow()
    assert await user.enter() == ""
    await user.unfollow()
    assert await user.pushes(0) == []


async def test_a_menu_click_starts_its_journey(harness: Harness):
    user = harness.alipay_user(USER)
    await user.follow()
    reply = await user.click("QUERY_VEHICLE")
    assert "号牌" in reply


async def test_an_image_is_answered_with_one_hint_even_when_delivered_twice(harness: Harness):
    user = harness.alipay_user(USER)
    await user.follow()
    form = user.form(user._xml("image", "<MsgId><![CDATA[img-1]]></MsgId>"))
    user.check_ack(await user.post(form))
    user.check_ack(await user.post(form))
    pushed = await user.pushes(1)
    assert [p.text for p in pushed] == ["暂时只能处理文字消息，请发送文字或点击下方菜单。"]


async def test_the_gateway_check_needs_the_signature_too(harness: Harness):
    user = harness.alipay_user(USER)
    form = dict(user.form(user.event_xml("verifygw"), service=CHECK), sign="AAAA")
    assert (await user.post(form)).status == 403


async def test_the_menu_installs_through_alipay_and_each_button_starts_its_journey(
        harness: Harness):
    await harness.services.alipay_life_api.create_menu(alipay_menu())
    assert harness.fake_alipay.menu == alipay_menu()
    user = harness.alipay_user(USER)
    await user.follow()
    buttons = [sub for top in alipay_menu()["button"] for sub in top.get("sub_button", [top])]
    menu_reply = await user.send("菜单")
    for button in buttons:
        reply = await user.click(button["action_param"])
        assert reply != menu_reply, button  # not the fallback menu: a journey answered
        await user.send("取消")
