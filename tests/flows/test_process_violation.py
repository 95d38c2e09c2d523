"""交通违法处理 over real HTTP: own vehicles, followed vehicles without points, another's
vehicle with points (the owner verified in chat or by SMS, refusing, failing, or letting it
expire), the demo people at the rules' edges, both channels. SQLite and PostgreSQL, real
Redis, the sandbox's face pages."""

from __future__ import annotations

import asyncio
import html
import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from tortoise.timezone import localtime

from bot.accounts import Person
from bot.events import Event, handle
from bot.integrations.sms import OutgoingSms, SmsError
from bot.masking import loggable_path
from bot.pending import footer
from bot.processing import EXPIRED, SMS_PURPOSE, case_reference
from flows.violation_list import FOLLOWED, OWNER_FIRST, PROCESSOR_ONLY
from models.enums import ViolationState
from models.licence import DriverLicence
from models.pending import PendingItem
from models.processing import CaseState, ProcessingCase, ProcessingNotice
from models.user import VerifiedBy
from models.verification import Verification
from models.violation import Violation
from tests.support.face import certify_id_of
from tests.support.follows import (
    OWNER,
    OWNER_ALIPAY,
    REQUESTER,
    REQUESTER_OPENID,
    follow_directly,
    owners_car,
    registered,
)
from tests.support.payments import daytime_clock
from tests.support.privacy import ScannedUser
from tests.support.processing import (
    choose,
    open_pending,
    processor,
    requester,
    sms_owner_asked,
)
from tests.support.records import local, make_vehicle, make_violation
from tests.support.registration import face_check, link_in, pushes

PROCESSED = "处理成功！"
FORECAST = "确认处理吗"


@pytest.fixture
def settings(settings):
    """The processing notice an hour away: in sandbox mode it comes at random within 20 s,
    which made what a test counted depend on the machine's speed (a second push). The notice
    itself is tested with an injected clock (tests/bot/test_processing.py)."""
    return settings.with_overrides(processing={"sandbox_notice_delay_max": 3600})


async def test_own_vehicle_processed_after_the_processors_face(harness):
    car = await make_vehicle(owner_name=REQUESTER.real_name,
                             owner_id_number=REQUESTER.id_number, plate_number="渝A30001")
    violation = await make_violation(car, points=3)
    await make_violation(car, state=ViolationState.PAID, decision_number="5001990000000999")
    user = await processor(harness, points=3)

    shown = await choose(user, "渝A30001")
    assert "处理后您的记分将为 6/12" in shown and "在窗口处理的记分可能尚未同步" in shown
    assert "处理需您本人刷脸认证" in shown and FORECAST in shown
    link = link_in(await user.send("确认处理"))
    assert "认证完成" in await face_check(harness, link, "T")

    [done] = await pushes(harness, REQUESTER_OPENID, 1)
    await violation.refresh_from_db()
    assert PROCESSED in done and f"处罚决定书编号：{violation.decision_number}" in done
    assert "累积记分：6/12" in done
    pay_by = localtime().date() + timedelta(days=15)
    assert f"请于 {pay_by:%Y年%m月%d日} 前缴纳罚款" in done
    assert violation.state is ViolationState.PROCESSED_UNPAID
    assert violation.decided_on == localtime().date() and violation.processed_at is not None
    assert violation.licence_number == REQUESTER.id_number
    assert (await DriverLicence.get(number=REQUESTER.id_number)).points == 6
    notice = await ProcessingNotice.get(violation_id=violation.id)
    assert notice.decision_number == violation.decision_number
    assert notice.ready_at is None and notice.due_at > violation.processed_at
    harness.services.payments.clock = daytime_clock()  # outside the nightly pause
    paying = await user.send("立即缴纳罚款")  # that fine's breakdown, not the list
    assert "缴款信息" in paying and f"处罚决定书编号：{violation.decision_number}" in paying
    assert "应缴合计" in paying and "确认通过支付宝缴纳吗" in paying
    assert "2. 查看全部待缴罚款" in paying  # in place of 返回: no step lies behind it
    listed = await user.send("2")
    assert "请选择要缴纳的罚款" in listed and violation.decision_number in listed
    assert "2. 返回" in await user.send("返回")  # back to the breakdown, now with 返回
    assert "请回复数字选择服务" in await user.send("返回")  # and out: never a loop
    assert "暂无未处理的违法记录" in await user.click("PROCESS_VIOLATION")  # nothing left


async def test_a_followed_vehicle_without_points_needs_only_the_processors_face(harness):
    car = await owners_car(plate_number="渝A30002")
    violation = await make_violation(car, code="1039", points=0, fine=Decimal(150),
                                     description="违反规定停放、临时停车，驾驶人不在现场的")
    user = await processor(harness, car)
    await follow_directly(harness, await requester(), car)

    shown = await choose(user, "渝A30002")
    assert "该违法不记分" in shown and "处理需您本人刷脸认证" in shown
    assert "车主" not in shown.split("罚款")[-1]  # the owner is not asked
    await face_check(harness, link_in(await user.send("确认处理")), "T")

    [done] = await pushes(harness, REQUESTER_OPENID, 1)
    assert PROCESSED in done
    await violation.refresh_from_db()
    assert violation.state is ViolationState.PROCESSED_UNPAID
    assert (await DriverLicence.get(number=REQUESTER.id_number)).points == 3  # unchanged
    assert not await ProcessingCase.filter(owner_asked="chat").exists()


async def owner_in_alipay(harness) -> ScannedUser:
    await registered(OWNER, "alipay", OWNER_ALIPAY)
    return ScannedUser(harness.alipay_user(OWNER_ALIPAY),
                       secrets=(REQUESTER.real_name, REQUESTER.id_number))


async def asked_owner(harness, plate: str) -> tuple[ScannedUser, ScannedUser, Violation]:
    """A point violation of OWNER's car followed by REQUESTER, processing confirmed: the
    owner (in Alipay) offered the request."""
    car = await owners_car(plate_number=plate)
    violation = await make_violation(car, points=3)
    user = await processor(harness, car)
    owner = await owner_in_alipay(harness)
    await owner.user.pushes(0)  # from here on its pushes count
    await follow_directly(harness, await requester(), car)
    shown = await choose(user, plate)
    assert "需先由车主本人刷脸认证同意，再由您本人刷脸认证" in shown
    waiting = await user.send("确认处理")
    assert "已请车主本人刷脸认证" in waiting and "将在对话中收到申请" in waiting
    # the news of the follow request, if it came before the decision, then this one
    for _ in range(3):
        if any("新的待处理事项：处理申请：王** 申请处理" in pushed.text
               for pushed in await owner.user.pushes(1)):
            return user, owner, violation
    raise AssertionError("the owner was not told of the request")


async def test_another_persons_point_violation_waits_for_the_owners_face(harness):
    _user, owner, violation = await asked_owner(harness, "渝A30003")
    asked = await open_pending(owner, "处理申请")
    assert "王** 申请在线处理您名下车辆 渝A30003（小型汽车）" in asked and "同意并刷脸认证" in asked
    link = link_in(await owner.send("同意并刷脸认证"))
    assert "返回支付宝" in await face_check(harness, link, "T")

    [told] = await pushes(harness, REQUESTER_OPENID, 1)
    assert "车主已通过刷脸认证" in told and "请您本人刷脸认证" in told
    await face_check(harness, link_in(told), "T")
    [_, done] = await pushes(harness, REQUESTER_OPENID, 2)
    assert PROCESSED in done
    await violation.refresh_from_db()
    assert violation.state is ViolationState.PROCESSED_UNPAID
    assert violation.licence_number == REQUESTER.id_number  # the processor's points
    assert (await DriverLicence.get(number=REQUESTER.id_number)).points == 6
    case = await ProcessingCase.get(violation_id=violation.id)
    assert case.state is CaseState.PROCESSED and case.open_key is None


async def test_the_owner_refuses(harness):
    _user, owner, violation = await asked_owner(harness, "渝A30004")
    await open_pending(owner, "处理申请")
    assert "已拒绝该处理申请，对方已收到通知" in await owner.send("拒绝")
    [told] = await pushes(harness, REQUESTER_OPENID, 1)
    assert "车主拒绝了刷脸认证，本次处理未完成" in told
    await violation.refresh_from_db()
    assert violation.state is ViolationState.UNPROCESSED


async def test_the_owners_face_fails(harness):
    _user, owner, violation = await asked_owner(harness, "渝A30005")
    await open_pending(owner, "处理申请")
    await face_check(harness, link_in(await owner.send("同意并刷脸认证")), "F")
    [told] = await pushes(harness, REQUESTER_OPENID, 1)
    assert "车主刷脸认证未通过，本次处理未完成" in told
    assert (await ProcessingCase.get(violation_id=violation.id)).state is CaseState.FAILED
    assert (await DriverLicence.get(number=REQUESTER.id_number)).points == 3


async def test_the_owner_never_answers_and_it_expires(harness):
    _user, owner, violation = await asked_owner(harness, "渝A30006")
    case = await ProcessingCase.get(violation_id=violation.id)
    assert case.expires_at - case.created_at == timedelta(hours=24)
    await ProcessingCase.filter(id=case.id).update(
        expires_at=localtime() - timedelta(seconds=1))  # 24 hours on

    # the event deferred to the deadline comes (its job is queued 24 hours on)
    await handle(Event(EXPIRED, case_reference(case.id)), harness.services.conversations)

    [told] = await pushes(harness, REQUESTER_OPENID, 1)
    assert "车主未在有效期内完成刷脸认证，本次处理已过期" in told
    case = await ProcessingCase.get(violation_id=violation.id)
    assert case.state is CaseState.EXPIRED and case.open_key is None
    assert "该申请已超过有效期" in await open_pending(owner, "处理申请")


async def test_a_processor_who_left_finds_the_owners_answer_under_pending_items(harness):
    user, owner, _violation = await asked_owner(harness, "渝A30007")
    assert "确定离开吗" in await user.send("菜单")
    await user.send("离开")
    await open_pending(owner, "处理申请")
    assert "已拒绝该处理申请" in await owner.send("拒绝")
    [told] = await pushes(harness, REQUESTER_OPENID, 1)
    assert "新的待处理事项：交通违法处理：渝A***07 车主已拒绝" in told and told.endswith(footer(1))
    await user.send("待处理")
    assert "车主拒绝了刷脸认证" in await user.send("1")


async def test_an_owner_who_is_not_a_user_verifies_on_the_page_of_the_sms(harness):
    _user, _violation, link = await sms_owner_asked(harness, "渝A30008")
    http = harness.client.session
    async with http.get(link) as response:
        page = await response.text()
    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    assert "王** 申请在线处理您名下车辆 渝A***08" in page and REQUESTER.real_name not in page
    assert not await Verification.exists()  # opening the link starts nothing
    async with http.post(link, data={"decision": "agree"}) as response:
        assert response.status == 200
        certify = html.unescape(re.search(r'<a href="([^"]+)"', await response.text())[1])
    await face_check(harness, certify, "T")

    [told] = await pushes(harness, REQUESTER_OPENID, 1)
    assert "车主已通过刷脸认证" in told and "请您本人刷脸认证" in told
    await face_check(harness, link_in(told), "T")
    [_, done] = await pushes(harness, REQUESTER_OPENID, 2)
    assert PROCESSED in done
    async with http.get(link) as response:
        assert "您已完成刷脸认证，无需再操作" in await response.text()


async def test_an_owner_refuses_on_the_page_and_forged_links_get_a_page(harness):
    _user, _violation, link = await sms_owner_asked(harness, "渝A30010")
    http = harness.client.session
    async with http.post(link, data={"decision": "refuse"},
                         headers={"Origin": "https://evil.example"}) as response:
        assert response.status == 403  # another site's form changes nothing
    async with http.post(link, data={"decision": "refuse"}) as response:
        assert "您已拒绝该申请" in await response.text()
    [told] = await pushes(harness, REQUESTER_OPENID, 1)
    assert "车主拒绝了刷脸认证" in told
    path = urlsplit(link).path
    assert loggable_path(path) == path[:len("/process/owner/") + 4] + "***"  # logs cut it
    for forged in (link[:-3] + "abc", link.rsplit("/", 1)[0] + "/short", link + "%00"):
        async with http.get(forged) as response:
            assert response.status == 404


@pytest.mark.parametrize(("person", "line", "reason"), [
    ("刘洋", "渝A6M789[^\n]*记1分", "处理后累积记分将达到12分，不能在线处理"),
    ("王强", "渝B23456[^\n]*罚款200元 记3分", "A、B类驾驶证不能在线处理记分违法"),
    ("陈静", "渝A8E321[^\n]*记3分", "驾驶证状态为“超过有效期”，不能在线记分"),
])
async def test_demo_people_at_the_rules_edges(harness, person, line, reason):
    from bot.demo_data import seed_demo

    await seed_demo()
    licence = await DriverLicence.get(holder_name=person)
    await registered(Person(licence.number, person, licence.holder_phone, VerifiedBy.FACE),
                     "wechat", "openid-demo")
    user = ScannedUser(harness.user("openid-demo"))
    refused = await choose(user, line)
    assert f"该违法不能在线处理：{reason}" in refused, refused
    assert "办理方式：请到违法发生地" in refused and "机动车登记地" in refused


async def test_an_alipay_user_processes_their_own_car(harness):
    car = await make_vehicle(owner_name=REQUESTER.real_name,
                             owner_id_number=REQUESTER.id_number, plate_number="渝A30009")
    await make_violation(car, points=2, code="1240")
    user = await processor(harness, channel="alipay", points=9)
    shown = await choose(user, "渝A30009")
    assert "处理后您的记分将为 11/12" in shown
    link = link_in(await user.send("确认处理"))
    await user.user.pushes(0)
    assert "认证完成，请返回支付宝继续" in await face_check(harness, link, "T")
    pushed = await user.user.pushes(1)
    assert PROCESSED in pushed[-1].text and "累积记分：11/12" in pushed[-1].text


async def test_a_followed_vehicles_details_say_what_processing_would_need(harness):
    car = await owners_car(plate_number="渝A30011")
    await make_violation(car, points=3, occurred_at=local(2026, 6, 2))
    await make_violation(car, points=0, code="1039", fine=Decimal(150),
                         occurred_at=local(2026, 6, 1))
    user = await processor(harness, car)
    await follow_directly(harness, await requester(), car)
    await user.click("MY_ACCOUNT")
    await user.send("关注的车辆和驾驶证")
    await user.send("1")
    await user.send("查看违法记录")

    points = await user.send("1")
    assert FOLLOWED in points and OWNER_FIRST in points
    await user.send("返回列表")
    assert PROCESSOR_ONLY in await user.send("2")


async def test_regression_the_owners_link_survives_a_journey_beneath(harness):
    """An owner who opened the request from 待处理 inside another journey got the face
    link's words without the link: the journey beneath resumed and kept only the text."""
    _user, owner, _violation = await asked_owner(harness, "渝A30012")
    assert "请选择号牌种类" in await owner.click("QUERY_VEHICLE")
    await open_pending(owner, "处理申请")
    agreed = await owner.send("同意并刷脸认证")
    assert "由您本人完成刷脸认证" in agreed and "请选择号牌种类" in agreed  # resumed beneath
    await face_check(harness, link_in(agreed), "T")
    [told] = await pushes(harness, REQUESTER_OPENID, 1)
    assert "车主已通过刷脸认证" in told


async def test_a_processor_who_left_during_their_own_face_check_finds_it_under_pending(
        harness):
    car = await make_vehicle(owner_name=REQUESTER.real_name,
                             owner_id_number=REQUESTER.id_number, plate_number="渝A30013")
    violation = await make_violation(car, points=3)
    user = await processor(harness)
    await choose(user, "渝A30013")
    link = link_in(await user.send("确认处理"))
    assert "确定离开吗" in await user.send("菜单")
    await user.send("离开")
    await face_check(harness, link, "T")
    for _ in range(200):  # the face.settled event's job, in the user's turn
        if await PendingItem.exists(conversation=f"wechat:{REQUESTER_OPENID}"):
            break
        await asyncio.sleep(0.05)

    assert "刷脸认证结果：通过" in await user.send("待处理")
    done = await user.send("1")
    assert PROCESSED in done
    await violation.refresh_from_db()
    assert violation.state is ViolationState.PROCESSED_UNPAID


async def test_an_owners_sms_that_cannot_be_sent_ends_the_wait(harness):
    _user, violation, _link = await sms_owner_asked(harness, "渝A30014")
    case = await ProcessingCase.get(violation_id=violation.id)
    message = OutgoingSms(OWNER.phone, "SMS_SANDBOX_PROCESS_OWNER", {}, f"process-{case.id}",
                          SMS_PURPOSE, str(case.id))
    await harness.services.processing.undeliverable(message,
                                                    SmsError("isv.MOBILE_NUMBER_ILLEGAL"))
    [told] = await pushes(harness, REQUESTER_OPENID, 1)
    assert "未能向车主登记的手机号发送短信，本次处理未完成" in told
    case = await ProcessingCase.get(id=case.id)
    assert case.state is CaseState.FAILED and case.open_key is None


async def test_regression_a_refused_violation_ended_the_journey(harness):
    """张伟 chose his general-procedure 500-yuan violation and was told why and where, then
    dropped at the main menu: he stays in the list and picks another one."""
    from bot.demo_data import seed_demo

    await seed_demo()
    licence = await DriverLicence.get(number="500103199003074210")
    await registered(Person(licence.number, "张伟", licence.holder_phone, VerifiedBy.FACE),
                     "wechat", "openid-demo")
    user = ScannedUser(harness.user("openid-demo"))
    refused = await choose(user, "渝A12345[^\n]*罚款500元")
    assert "该违法不能在线处理：" in refused and "办理方式：请到违法发生地" in refused
    assert "请选择要处理的违法" in refused and "请回复数字选择服务" not in refused
    number = re.search(r"(\d+)\. [^\n]*罚款200元 记3分", refused)
    assert number, refused
    assert FORECAST in await user.send(number[1])
    assert "请选择要处理的违法" in await user.send("返回列表")
    assert "已取消当前操作" in await user.send("取消")


async def test_regression_the_face_return_page_named_the_processors_channel(harness):
    """The owner's face check is asked for the processor (its result goes to them), so the
    return page sent an owner in Alipay, or one reached by SMS with no chat at all, back to
    微信: the processor's channel. Each person's check names their own way on."""
    _user, owner, _violation = await asked_owner(harness, "渝A30013")
    await open_pending(owner, "处理申请")
    page = await face_check(harness, link_in(await owner.send("同意并刷脸认证")), "T")
    assert "认证完成，结果将通知申请人。您可以关闭本页面，返回支付宝。" in page
    assert "微信" not in page
    [told] = await pushes(harness, REQUESTER_OPENID, 1)
    assert "认证完成，请返回微信继续" in await face_check(harness, link_in(told), "T")


async def test_regression_the_face_return_page_sent_an_owner_reached_by_sms_to_a_chat(harness):
    """An owner who is not a user has no chat: the page says the result goes to the
    requester and the page may be closed."""
    _user, _violation, link = await sms_owner_asked(harness, "渝A30014")
    async with harness.client.session.post(link, data={"decision": "agree"}) as response:
        certify = html.unescape(re.search(r'<a href="([^"]+)"', await response.text())[1])
    page = await face_check(harness, certify, "F")
    assert "刷脸认证未通过，本次申请已结束，结果将通知申请人。您可以关闭本页面。" in page
    assert "返回" not in page


async def test_regression_a_processing_request_left_unanswered_could_not_be_opened_again(
        harness):
    """An owner who opened 处理申请 from 待处理 and cancelled it (or got the face link and
    left) found it gone, though the case still waited for their face: it stays in 待处理
    until the case moves on."""
    _user, owner, _violation = await asked_owner(harness, "渝A30015")
    assert "同意并刷脸认证" in await open_pending(owner, "处理申请")
    assert "条待处理事项" in await owner.send("取消")  # (the follow request's news may be one)
    assert "同意并刷脸认证" in await open_pending(owner, "处理申请")
    first = link_in(await owner.send("同意并刷脸认证"))
    assert "请选择号牌种类" in await owner.click("QUERY_VEHICLE")  # another journey
    await open_pending(owner, "处理申请")
    link = link_in(await owner.send("同意并刷脸认证"))
    assert certify_id_of(link) == certify_id_of(first)  # the same check, under way

    await face_check(harness, link, "T")
    await pushes(harness, REQUESTER_OPENID, 1)  # the processor's journey moved the case
    assert "处理申请" not in await owner.send("待处理")


RAN_OUT = "您的刷脸认证已超时未完成。王** 申请处理您名下车辆 渝A***{} 违法的申请仍待您同意"


async def owner_lets_the_check_run_out(harness, owner: ScannedUser, case: ProcessingCase,
                                       item: str = "处理申请") -> str:
    """The owner agrees from 待处理 (the item matching ``item``) and leaves the face page
    unfinished; the deadline's job comes (through the event bus, as in production). Returns
    the check's link."""
    await open_pending(owner, item)
    link = link_in(await owner.send("同意并刷脸认证"))
    await owner.user.pushes(0)  # the turn's own pushes are behind the cursor
    await case.refresh_from_db()
    await harness.services.face.expire(case.owner_check)
    return link


async def owners_news(owner: ScannedUser) -> str:
    [news] = [pushed.text for pushed in await owner.user.pushes(1)]
    return news


async def test_regression_an_owner_whose_face_check_ran_out_was_not_told(harness):
    """A registered owner who agreed and left the face page unfinished heard nothing when the
    check timed out, though the processor was told and the request still waited for them. Now
    they are told, each time (a second check of the same case too), once per check."""
    _user, owner, violation = await asked_owner(harness, "渝A30016")
    case = await ProcessingCase.get(violation_id=violation.id)
    first = await owner_lets_the_check_run_out(harness, owner, case)
    [told] = await pushes(harness, REQUESTER_OPENID, 1)
    assert "车主本次刷脸认证已超时" in told
    news = await owners_news(owner)
    assert RAN_OUT.format(16) in news and "请回复“待处理”重新打开该申请" in news

    expired = Verification.get(reference=case.owner_check)
    await handle(Event("face.settled", (await expired).reference, {"outcome": "expired"}),
                 harness.services.conversations)  # delivered twice: told once
    assert await owner.user.pushes(0) == []

    second = await owner_lets_the_check_run_out(harness, owner, case)  # the same case again
    assert certify_id_of(second) != certify_id_of(first)
    await pushes(harness, REQUESTER_OPENID, 2)
    assert RAN_OUT.format(16) in await owners_news(owner)

    await open_pending(owner, "处理申请")  # the one item, still there
    await face_check(harness, link_in(await owner.send("同意并刷脸认证")), "T")
    [*_, passed] = await pushes(harness, REQUESTER_OPENID, 3)
    assert "车主已通过刷脸认证" in passed
    assert "处理申请" not in await owner.send("待处理")  # nothing stale left behind


async def test_an_owner_is_told_their_check_ran_out_while_the_processor_is_away(harness):
    """The processor left the journey and asked the same owner about another car meanwhile:
    the owner is told about the case whose check ran out, not the newest."""
    user, owner, violation = await asked_owner(harness, "渝A30017")
    assert "确定离开吗" in await user.send("菜单")
    await user.send("离开")
    other_car = await owners_car(plate_number="渝A30018")
    await make_violation(other_car, points=3)
    await follow_directly(harness, await requester(), other_car)
    await choose(user, "渝A30018")
    assert "已请车主本人刷脸认证" in await user.send("确认处理")
    await owner.user.pushes(1)  # the second request's news

    case = await ProcessingCase.get(violation_id=violation.id)
    await owner_lets_the_check_run_out(harness, owner, case, item="17 的违法")
    news = await owners_news(owner)
    assert RAN_OUT.format(17) in news and "***18" not in news
    assert "刷脸认证结果：已过期" in await user.send("待处理")  # the processor finds it there
