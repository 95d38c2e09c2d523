"""实名注册 over the real WeChat endpoint, with the face check done on the local Alipay page
and SMS read from the sandbox outbox; SQLite and PostgreSQL with a real Redis."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

import pytest
from tortoise.timezone import localtime

from bot.config import Settings
from bot.inbox import LEASE_PREFIX
from bot.integrations.sms import SmsCodes
from bot.messages import Conversation
from bot.pending import footer
from flows.register import NOT_ON_RECORD, PHONE_PURPOSE, replaced_notice
from models.pending import PendingItem
from models.user import BindingAction, BindingEvent, ChannelIdentity, User, VerifiedBy
from models.verification import Method, Outcome, Verification
from tests.support.face import certify_id_of, open_page, press
from tests.support.privacy import ScannedUser
from tests.support.records import id_number, make_licence, make_vehicle
from tests.support.registration import (
    FACE_PASSED,
    PHONE_CODE_PROMPT,
    REGISTERED,
    face_check,
    link_in,
    link_on_page,
    prove_phone,
    pushes,
    register_by_face,
    sms_code,
    start,
)
from tests.support.turns import turn_over

NAME = "张三丰"
ID = id_number(501)
TYPED_PHONE = "13700000000"
OTHER_PHONE = "13500000000"
RECORD_PHONE = "13900000001"
FACE_WAIT = "尚未收到刷脸认证结果"


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    # The polling job settles checks whose browser never came back; a typed message right
    # after the face page must still find the check pending. A test may add overrides.
    return settings.with_overrides(face={"poll_interval": 2.0}, **getattr(request, "param", {}))


@pytest.fixture
async def licence(harness):
    return await make_licence(number=ID, holder_name=NAME, holder_phone=RECORD_PHONE)


@pytest.fixture
def alice(harness) -> ScannedUser:
    return ScannedUser(harness.user("openid-alice"), secrets=(NAME, ID, TYPED_PHONE))


async def test_a_passed_face_check_registers_and_the_journey_continues_by_itself(
        harness, licence, alice):
    reply = await start(alice, NAME, ID, TYPED_PHONE)
    assert "刷脸认证" in reply

    page = await face_check(harness, link_in(reply), "T")

    assert "认证完成" in page
    [pushed] = await pushes(harness, "openid-alice", 1)
    assert FACE_PASSED in pushed and "验证码已发送至 137****0000" in pushed
    done = await prove_phone(harness, alice, TYPED_PHONE, 0)
    assert REGISTERED in done
    assert "张**" in done and "5001**********" in done and "137****0000" in done
    user = await User.get(id_number=ID)
    assert (user.real_name, user.phone, user.verified_by) == (NAME, TYPED_PHONE, VerifiedBy.FACE)
    assert await ChannelIdentity.filter(user=user, external_id="openid-alice").exists()
    assert "您已完成实名注册" in await alice.click("REGISTER")


async def test_a_message_typed_on_coming_back_before_the_push_continues_the_journey(
        harness, licence, alice):
    """The user comes back and types while the push is still waiting for their turn."""
    link = link_in(await start(alice, NAME, ID, TYPED_PHONE))
    redis, queue, ticket = harness.services.redis, "turns:wechat:openid-alice", "elsewhere"
    # Another process is busy with one of Alice's messages: its ticket heads her queue.
    await redis.rpush(queue, ticket)
    await redis.set(LEASE_PREFIX + ticket, "1", px=30_000)
    typed = asyncio.create_task(alice.send("好了"))
    await _queued(redis, queue, 2)
    came_back = asyncio.create_task(face_check(harness, link, "T"))
    await _queued(redis, queue, 3)  # settled; the push waits behind the typed message
    await redis.lrem(queue, 1, ticket)
    await redis.delete(LEASE_PREFIX + ticket)

    assert PHONE_CODE_PROMPT in await typed
    assert "认证完成" in await came_back
    await turn_over(harness, Conversation("wechat", "openid-alice"))
    assert await pushes(harness, "openid-alice", 0) == []  # nothing left to push
    assert REGISTERED in await prove_phone(harness, alice, TYPED_PHONE, 0)
    assert (await User.get(id_number=ID)).verified_by is VerifiedBy.FACE


async def test_a_message_typed_after_passing_with_the_browser_closed_registers_at_once(
        harness, licence, alice):
    """No return page and no poll yet: the user's message itself asks Alipay for the result."""
    link = link_in(await start(alice, NAME, ID, TYPED_PHONE))
    http = harness.client.session
    await press(http, link, await open_page(http, link), "T")  # the browser is then closed

    reply = await alice.send("好了吗")

    assert FACE_PASSED in reply and PHONE_CODE_PROMPT in reply
    await turn_over(harness, Conversation("wechat", "openid-alice"))  # the settlement's push too
    assert await pushes(harness, "openid-alice", 0) == []


async def test_a_message_typed_before_the_check_is_done_waits_for_the_polling_job(
        harness, licence, alice):
    link = link_in(await start(alice, NAME, ID, TYPED_PHONE))
    http = harness.client.session

    reply = await alice.send("好了吗")

    assert FACE_WAIT in reply and link_in(reply) == link
    await press(http, link, await open_page(http, link), "T")  # then the browser is closed
    [pushed] = await pushes(harness, "openid-alice", 1)
    assert FACE_PASSED in pushed and PHONE_CODE_PROMPT in pushed


async def test_a_wrong_check_digit_gets_the_field_hint(harness, licence, alice):
    await alice.click("REGISTER")
    await alice.send(NAME)
    wrong = ID[:17] + ("0" if ID[17] != "0" else "1")

    reply = await alice.send(wrong)

    assert "校验码不符" in reply and "请输入18位身份证号码" in reply
    assert "请输入本人手机号码" in await alice.send(ID)


@pytest.mark.parametrize("holder", [None, "王五"])
async def test_an_id_not_on_record_is_sent_to_the_window(harness, alice, holder):
    """No record for the ID, or one under another name: the same answer, and no face check."""
    await make_vehicle(owner_name=NAME)  # the same name under another ID proves nothing
    if holder:
        await make_licence(number=ID, holder_name=holder)

    reply = await start(alice, NAME, ID, TYPED_PHONE)

    assert NOT_ON_RECORD in reply and "<a href" not in reply
    assert not await Verification.exists()
    assert "请回复数字选择服务" in await alice.send(TYPED_PHONE)  # the journey is over


@pytest.mark.parametrize("record", ["licence", "vehicle"])
async def test_three_failed_face_checks_fall_back_to_an_sms_to_the_phone_on_record(
        harness, alice, record):
    if record == "licence":
        await make_licence(number=ID, holder_name=NAME, holder_phone=RECORD_PHONE)
    else:
        await make_vehicle(owner_id_number=ID, owner_name=NAME, owner_phone=RECORD_PHONE)

    offer = await _fail_face_three_times(harness, alice)

    assert "139****0001" in offer and "发送短信验证码" in offer
    sent = await alice.send("1")
    assert "验证码已发送至 139****0001" in sent and "请输入短信中的6位验证码" in sent
    code = await sms_code(harness, RECORD_PHONE)
    assert not await harness.outbox(TYPED_PHONE)
    done = await alice.send(code)
    assert REGISTERED in done and "短信验证" in done and "139****0001" in done
    user = await User.get(id_number=ID)
    assert (user.verified_by, user.phone) == (VerifiedBy.SMS, RECORD_PHONE)
    checks = await Verification.filter(subject_id_number=ID).order_by("id")
    assert [(c.method, c.outcome) for c in checks] == [
        *[(Method.FACE, Outcome.FAILED)] * 3, (Method.SMS, Outcome.PASSED)]


async def test_a_second_code_within_a_minute_is_refused(harness, licence, alice):
    await _fail_face_three_times(harness, alice)
    await alice.send("1")

    reply = await alice.send("重新发送")

    assert "发送过于频繁，请 1 分钟后再试" in reply
    await sms_code(harness, RECORD_PHONE)
    assert len(await harness.outbox(RECORD_PHONE)) == 1


async def test_an_expired_code_is_refused(harness, licence, alice):
    now = [time.time()]  # the SMS service's injectable clock
    services = harness.services
    codes = SmsCodes(services.redis, services.settings.sms, clock=lambda: now[0])
    services.engine.deps = dataclasses.replace(services.engine.deps, sms_codes=codes)
    await _fail_face_three_times(harness, alice)
    await alice.send("1")
    code = await sms_code(harness, RECORD_PHONE)

    now[0] += harness.settings.sms.code_ttl
    reply = await alice.send(code)

    assert "验证码已失效，请重新获取" in reply
    assert not await User.exists()
    assert "验证码已发送" in await alice.send("重新发送")
    assert REGISTERED in await alice.send(await sms_code(harness, RECORD_PHONE, count=2))


async def test_five_wrong_codes_void_the_code(harness, licence, alice):
    await _fail_face_three_times(harness, alice)
    await alice.send("1")
    code = await sms_code(harness, RECORD_PHONE)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    for remaining in (4, 3, 2, 1):
        assert f"验证码错误，还可尝试 {remaining} 次" in await alice.send(wrong)
    assert "验证码错误次数过多，已失效" in await alice.send(wrong)
    assert "验证码已失效" in await alice.send(code)
    assert not await User.exists()


async def test_opening_the_face_link_twice_registers_once(harness, licence, alice):
    link = link_in(await start(alice, NAME, ID, TYPED_PHONE))
    await face_check(harness, link, "T")
    await pushes(harness, "openid-alice", 1)
    assert REGISTERED in await prove_phone(harness, alice, TYPED_PHONE, 0)

    again = await open_page(harness.client.session, link)
    assert "本次认证已完成" in again
    async with harness.client.session.get(link_on_page(again)) as response:  # its 返回 link
        assert "认证完成" in await response.text()

    await turn_over(harness, Conversation("wechat", "openid-alice"))
    assert len(await pushes(harness, "openid-alice", 1)) == 1
    assert await User.all().count() == 1 and await ChannelIdentity.all().count() == 1


async def test_a_face_result_for_another_users_reference_registers_nobody(harness, licence,
                                                                           alice):
    bob = ScannedUser(harness.user("openid-bob"), secrets=("李四",))
    bob_id = id_number(502)
    await make_licence(number=bob_id, holder_name="李四")
    await start(alice, NAME, ID, TYPED_PHONE)
    bob_link = link_in(await start(bob, "李四", bob_id, "13600000000"))
    alice_check = await Verification.get(requester="wechat:openid-alice")
    http = harness.client.session
    await press(http, bob_link, await open_page(http, bob_link), "T")

    # Bob's browser comes back with Alice's reference and his own certify id.
    forged = (f"{harness.settings.server.base_url}/face/return"
              f"?ref={alice_check.reference}&certify_id={certify_id_of(bob_link)}")
    async with http.get(forged) as response:
        assert "请返回微信继续办理" in await response.text()

    assert not await User.exists()
    await alice_check.refresh_from_db()
    assert alice_check.outcome is Outcome.PENDING
    assert FACE_WAIT in await alice.send("好了")


async def test_regression_one_id_number_on_two_openids_tells_the_first(harness, licence,
                                                                        alice):
    """Found: one ID number was registered on two openids with no word to either. Now the
    newest registration wins; the first account is told in chat, the new one in its reply,
    and both events are kept for audit."""
    await register_by_face(harness, alice, NAME, ID, TYPED_PHONE)
    other = ScannedUser(harness.user("openid-alice-2"), secrets=(NAME, ID, OTHER_PHONE))

    done = await register_by_face(harness, other, NAME, ID, OTHER_PHONE)

    assert "您的身份此前绑定的另一个微信账号已解除实名绑定" in done
    user = await User.get(id_number=ID)
    [identity] = await ChannelIdentity.filter(user=user)
    assert (identity.external_id, user.phone) == ("openid-alice-2", OTHER_PHONE)
    told = (await pushes(harness, "openid-alice", 2))[-1]  # after the face-passed push
    assert told == replaced_notice("微信", identity.bound_at)
    assert f"{localtime(identity.bound_at):%Y年%m月%d日 %H:%M}在另一个微信账号上" in told
    assert "本账号的实名绑定已解除" in told and "如非本人操作" in told
    assert "请输入您的姓名" in await alice.click("REGISTER")  # no longer registered
    events = await BindingEvent.filter(user=user).order_by("id")
    assert [(event.external_id, event.action) for event in events] == [
        ("openid-alice", BindingAction.BOUND), ("openid-alice-2", BindingAction.BOUND),
        ("openid-alice", BindingAction.REPLACED)]


@pytest.mark.parametrize("settings", [{"register": {"bindings_per_channel": 2}}],
                         indirect=True)
async def test_a_second_binding_within_the_limit_tells_nobody(harness, licence, alice):
    await register_by_face(harness, alice, NAME, ID, TYPED_PHONE)
    other = ScannedUser(harness.user("openid-alice-2"), secrets=(NAME, ID, OTHER_PHONE))

    done = await register_by_face(harness, other, NAME, ID, OTHER_PHONE)

    assert "已解除" not in done
    assert await ChannelIdentity.all().count() == 2
    await turn_over(harness, Conversation("wechat", "openid-alice"))
    assert len(await pushes(harness, "openid-alice", 1)) == 1  # only its own face result


async def test_regression_registration_attempts_per_id_number_survive_new_openids(
        harness, licence):
    """Found: registration attempts were unlimited per ID number, a new openid reset any
    limit. Now every identity check of an ID number counts, whoever starts it."""
    limit = harness.settings.register.attempts_per_id_per_day
    for n in range(limit):
        # Not scanned: a sandbox certify id (32 hex digits) can look like a phone number.
        assert "<a href" in await start(harness.user(f"openid-{n}"), NAME, ID, TYPED_PHONE)

    late = ScannedUser(harness.user("openid-late"), secrets=(NAME, ID))
    reply = await start(late, NAME, ID, TYPED_PHONE)

    assert f"该身份证号24小时内的身份核验次数已达上限（{limit}次）" in reply
    assert "窗口办理实名注册" in reply and "<a href" not in reply
    assert await Verification.filter(subject_id_number=ID).count() == limit
    keys = b" ".join(await harness.services.redis.keys("*"))
    assert ID.encode() not in keys  # counted under an HMAC of the number
    bob_id = id_number(502)
    await make_licence(number=bob_id, holder_name="李四")
    bob = ScannedUser(harness.user("openid-bob"), secrets=("李四", bob_id))
    assert "<a href" in await start(bob, "李四", bob_id, "13600000000")  # another person


async def test_sms_fallback_codes_count_as_attempts_and_refused_sends_do_not(
        harness, licence, alice):
    await _fail_face_three_times(harness, alice)  # 3 attempts
    assert "验证码已发送" in await alice.send("1")  # 4
    assert "发送过于频繁" in await alice.send("重新发送")  # refused by the phone's limit: no count
    bob = ScannedUser(harness.user("openid-bob"), secrets=(NAME, ID))
    assert "<a href" in await start(bob, NAME, ID, TYPED_PHONE)  # 5

    carol = ScannedUser(harness.user("openid-carol"), secrets=(NAME, ID))
    assert "身份核验次数已达上限" in await start(carol, NAME, ID, TYPED_PHONE)


async def test_regression_typed_phone_is_not_stored_unproven(harness, licence, alice,
                                                            monkeypatch):
    """Found: the account stored the typed phone, never verified. After a face pass the
    typed phone is stored only once its own code comes back (a mistyped one can be
    changed); after the SMS fallback the phone on record is stored (see the fallback test)."""
    await face_check(harness, link_in(await start(alice, NAME, ID, TYPED_PHONE)), "T")
    [pushed] = await pushes(harness, "openid-alice", 1)
    assert "验证码已发送至 137****0000" in pushed
    code = await sms_code(harness, TYPED_PHONE)
    assert not await User.exists()  # a face pass alone stores nothing

    assert "验证码错误，还可尝试 4 次" in await alice.send(f"{(int(code) + 1) % 10**6:06d}")
    assert "请输入本人手机号码" in await alice.send("更换手机号")
    # One code a minute per requester: no openid texts two phones seconds apart.
    assert "发送过于频繁，请 1 分钟后再试" in await alice.send(OTHER_PHONE)
    codes = harness.services.sms_codes
    monkeypatch.setattr(codes, "_clock", lambda: time.time() + 61)
    assert "请输入本人手机号码" in await alice.send("更换手机号")
    assert "验证码已发送至 135****0000" in await alice.send(OTHER_PHONE)
    assert not await User.exists()
    done = await alice.send(await sms_code(harness, OTHER_PHONE))

    assert REGISTERED in done and "135****0000" in done
    user = await User.get(id_number=ID)
    assert (user.phone, user.verified_by) == (OTHER_PHONE, VerifiedBy.FACE)
    proofs = await Verification.filter(purpose=PHONE_PURPOSE).order_by("id")
    assert [proof.outcome for proof in proofs] == [Outcome.EXPIRED, Outcome.PASSED]


async def test_regression_a_code_sent_to_one_phone_stored_another_refused_one(
        harness, licence, alice, monkeypatch):
    """Found: after 更换手机号 to a phone whose code the limits refused, the code sent to the
    first phone was still live and registered the account with the second phone, which no
    code ever reached. A code proves only the phone it was sent to."""
    await face_check(harness, link_in(await start(alice, NAME, ID, TYPED_PHONE)), "T")
    await pushes(harness, "openid-alice", 1)
    first_code = await sms_code(harness, TYPED_PHONE)
    assert "请输入本人手机号码" in await alice.send("更换手机号")
    assert "发送过于频繁，请 1 分钟后再试" in await alice.send(OTHER_PHONE)  # nothing sent

    assert "验证码错误，还可尝试 4 次" in await alice.send(first_code)
    assert not await User.exists()

    codes = harness.services.sms_codes
    monkeypatch.setattr(codes, "_clock", lambda: time.time() + 61)
    assert "验证码已发送至 135****0000" in await alice.send("重新发送")
    assert REGISTERED in await alice.send(await sms_code(harness, OTHER_PHONE))
    assert (await User.get(id_number=ID)).phone == OTHER_PHONE


async def test_a_typed_phone_equal_to_the_one_on_record_is_proven_by_its_code_too(
        harness, licence):
    bob = ScannedUser(harness.user("openid-bob"), secrets=(NAME, ID, RECORD_PHONE))
    await face_check(harness, link_in(await start(bob, NAME, ID, RECORD_PHONE)), "T")
    await pushes(harness, "openid-bob", 1)
    assert not await User.exists()

    assert REGISTERED in await prove_phone(harness, bob, RECORD_PHONE, 0)
    assert (await User.get(id_number=ID)).phone == RECORD_PHONE


async def test_regression_face_result_after_leaving_registration_is_a_pending_item_that_continues(
        harness, licence, alice):
    """Found: a result that came after the user left registration opened a registration
    that ignored it and began from the name. Now it goes on from the settled check: the
    person from the check and the police record, the phone asked again."""
    link = link_in(await start(alice, NAME, ID, TYPED_PHONE))
    assert "确定离开吗" in await alice.send("菜单")
    assert "已退出“实名注册”" in await alice.send("2")  # 离开

    assert "认证完成" in await face_check(harness, link, "T")
    await _pending_item()
    assert (await alice.send("你好")).endswith(footer(1))
    assert "刷脸认证结果：通过" in await alice.send("待处理")
    opened = await alice.send("1")

    assert FACE_PASSED in opened and "请输入本人手机号码" in opened
    assert footer(1) not in opened
    assert "验证码已发送至 137****0000" in await alice.send(TYPED_PHONE)
    assert REGISTERED in await prove_phone(harness, alice, TYPED_PHONE, 0)
    user = await User.get(id_number=ID)
    assert (user.real_name, user.phone, user.verified_by) == (NAME, TYPED_PHONE, VerifiedBy.FACE)
    assert await pushes(harness, "openid-alice", 0) == []  # told in replies, never pushed


async def test_a_failed_result_after_leaving_continues_with_a_new_check(harness, licence,
                                                                         alice):
    link = link_in(await start(alice, NAME, ID, TYPED_PHONE))
    await alice.send("菜单")
    await alice.send("2")
    await face_check(harness, link, "F")
    await _pending_item()
    assert "刷脸认证结果：未通过" in await alice.send("待处理")

    opened = await alice.send("1")

    assert "刷脸认证未通过（第1次），请重新认证" in opened and link_in(opened) != link


async def test_someone_elses_face_result_does_not_continue_a_registration(harness, licence,
                                                                          alice):
    """The seed names a check; only its own requester's registration goes on from it."""
    link = link_in(await start(alice, NAME, ID, TYPED_PHONE))
    await face_check(harness, link, "T")
    await pushes(harness, "openid-alice", 1)
    check = await Verification.get(requester="wechat:openid-alice", method=Method.FACE)
    step = await harness.services.engine.begin(Conversation("wechat", "openid-mallory"), None,
                                               "register", {"face_reference": check.reference})

    assert "无法继续该实名注册" in step.reply.text and step.session is None


async def test_regression_an_expired_face_check_is_offered_again_not_restarted_unasked(
        harness, licence, alice):
    """Found: the deadline job's expiry started a new check (and its deadline) by itself, so
    a user who walked away was sent link after link until the ID's daily limit. Now the
    expiry is told with an offer; a new check starts when the user asks."""
    link = link_in(await start(alice, NAME, ID, TYPED_PHONE))
    check = await Verification.get(requester="wechat:openid-alice")

    await harness.services.face.expire(check.reference)

    [pushed] = await pushes(harness, "openid-alice", 1)
    assert "本次刷脸认证已超时" in pushed and "重新刷脸认证" in pushed and "<a href" not in pushed
    assert await Verification.filter(method=Method.FACE).count() == 1
    again = await alice.send("1")
    assert link_in(again) != link
    assert await Verification.filter(method=Method.FACE).count() == 2


async def _pending_item() -> None:
    """Wait until the face.settled job has left its pending item."""
    for _ in range(200):
        if await PendingItem.exists():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no pending item")


async def _fail_face_three_times(harness, user: ScannedUser) -> str:
    """Three failed face checks; returns the pushed SMS fallback offer."""
    openid = user.user.openid
    link = link_in(await start(user, NAME, ID, TYPED_PHONE))
    for attempt in (1, 2, 3):
        assert "认证未通过" in await face_check(harness, link, "F")
        pushed = (await pushes(harness, openid, attempt))[-1]
        if attempt < 3:
            assert f"刷脸认证未通过（第{attempt}次）" in pushed
            link = link_in(pushed)
    return pushed


async def _queued(redis, queue: str, length: int) -> None:
    """Wait until ``length`` turns (messages or pushes) are queued for the conversation."""
    for _ in range(200):
        if await redis.llen(queue) >= length:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{queue} never reached {length}")


async def test_regression_face_service_unreachable_is_told_and_logged(
        harness, licence, alice, caplog: pytest.LogCaptureFixture):
    """The user read 刷脸认证服务暂时不可用 and the operator saw nothing in the log."""
    verifier = harness.services.face.verifier
    verifier._client._gateway = "http://127.0.0.1:9/gateway.do"  # the discard port: nothing listens
    with caplog.at_level(logging.WARNING, logger="flows.face_check"):
        reply = await start(alice, NAME, ID, TYPED_PHONE)
    assert "刷脸认证服务暂时不可用" in reply
    [line] = [r.getMessage() for r in caplog.records if r.name == "flows.face_check"]
    assert line.startswith("face verification unavailable: alipay.user.certify.open.initialize")
    assert not await Verification.filter(purpose="register").exists()
