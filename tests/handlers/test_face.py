"""The face return URL over real HTTP: a phone's browser, the Alipay simulator and a journey
that waits for the result and continues by itself (a customer-service message)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

import pytest
from yarl import URL

from bot.engine import Await, Choice, Context, Done, Flow, State, Stay, Transition, exits
from bot.integrations.alipay import new_private_key
from models.verification import Outcome as FaceOutcome
from models.verification import Verification
from tests.support.face import ID_NUMBER, NAME, certify_id_of, open_page, press


@exits("waiting")
async def _start_check(ctx: Context, _: object) -> Transition:
    ctx.data["link"] = await ctx.deps.face.begin(
        requester=ctx.conversation, purpose="probe", name=NAME, id_number=ID_NUMBER)
    check = await ctx.deps.face.latest(ctx.conversation, "probe")
    return Await(check.reference, "waiting")


async def _waiting_prompt(ctx: Context) -> str:
    return f"请打开链接完成刷脸：{ctx.data['link']}"


async def _result(ctx: Context, _: object) -> Transition:
    check = await ctx.deps.face.latest(ctx.conversation, "probe")
    if check.outcome is FaceOutcome.PENDING:
        return Stay("请稍候")
    return Done(f"刷脸结果：{check.outcome.label}")


PROBE = Flow("face_probe", "刷脸测试", "ready", {
    "ready": State("开始刷脸？", choices=[Choice("开始")], then=_start_check),
    "waiting": State(_waiting_prompt, then=_result),
})


@pytest.fixture
def flows() -> Sequence[Flow]:
    return [PROBE]


async def link_for(user) -> str:
    await user.send("1")
    reply = await user.send("1")
    return re.search(r"https?://\S+", reply)[0]


async def pushes(harness, openid: str, count: int = 0) -> list[str]:
    """The pushes to the user once ``count`` have arrived (the face.settled event is handled
    by a job, in the user's turn), or after a moment for ``count=0``."""
    for _ in range(200 if count else 6):
        texts = [m.body["text"] for m in await harness.outbox(openid) if m.kind == "wechat.text"]
        if count and len(texts) >= count:
            return texts
        await asyncio.sleep(0.05)
    return texts


async def visit(harness, url: str) -> str:
    async with harness.client.session.get(url) as response:
        assert response.status == 200
        return await response.text()


async def test_pass_comes_back_settles_and_continues_the_journey(harness):
    alice = harness.user("openid-alice")
    link = await link_for(alice)
    http = harness.client.session
    back = await press(http, link, await open_page(http, link), "T")
    assert URL(back).path == "/face/return"
    assert "认证完成，请返回微信继续" in await visit(harness, back)
    assert await pushes(harness, "openid-alice", 1) == ["刷脸结果：通过"]

    check = await Verification.get(provider_id=certify_id_of(link))
    assert (check.outcome, check.purpose, check.requester) == (
        FaceOutcome.PASSED, "probe", "wechat:openid-alice")
    assert check.subject_id_number == ID_NUMBER and check.settled_at is not None
    assert "请回复数字选择服务" in await alice.send("你好")  # the journey is over


async def test_fail_comes_back_as_a_failure(harness):
    alice = harness.user("openid-alice")
    link = await link_for(alice)
    http = harness.client.session
    back = await press(http, link, await open_page(http, link), "F")
    assert "刷脸认证未通过" in await visit(harness, back)
    assert await pushes(harness, "openid-alice", 1) == ["刷脸结果：未通过"]
    check = await Verification.get(provider_id=certify_id_of(link))
    assert (check.outcome, check.detail) == (FaceOutcome.FAILED,
                                             "not passed when the user came back")


async def test_link_opened_twice_keeps_the_first_outcome(harness):
    alice = harness.user("openid-alice")
    link = await link_for(alice)
    http = harness.client.session
    first, second = await open_page(http, link), await open_page(http, link)
    assert "认证完成" in await visit(harness, await press(http, link, first, "T"))
    await pushes(harness, "openid-alice", 1)
    settled = await Verification.get(provider_id=certify_id_of(link))

    back = await press(http, link, second, "F")
    assert "认证完成" in await visit(harness, back)
    assert "认证完成" in await visit(harness, back)  # the return URL reloaded
    check = await Verification.get(id=settled.id)
    assert (check.outcome, check.settled_at) == (FaceOutcome.PASSED, settled.settled_at)
    assert await pushes(harness, "openid-alice") == ["刷脸结果：通过"]


async def test_return_url_of_another_users_check_settles_nothing(harness):
    alice, bob = harness.user("openid-alice"), harness.user("openid-bob")
    alice_link, bob_link = await link_for(alice), await link_for(bob)
    http = harness.client.session
    bob_back = await press(http, bob_link, await open_page(http, bob_link), "T")
    alice_check = await Verification.get(provider_id=certify_id_of(alice_link))
    neutral = "继续办理，认证结果将在对话中告知您"  # 请返回微信 or, for a made-up ref, 请返回对话

    forged = URL(bob_back).update_query(ref=alice_check.reference)  # Bob's certify id
    assert neutral in await visit(harness, str(forged))
    made_up = forged.update_query(certify_id="f" * 32)
    assert neutral in await visit(harness, str(made_up))
    no_certify_id = URL(bob_back).with_query(ref=alice_check.reference)
    assert neutral in await visit(harness, str(no_certify_id))  # asked Alipay: not done yet
    assert neutral in await visit(harness, str(URL(bob_back).with_query(ref="0" * 32)))
    assert neutral in await visit(harness, str(URL(bob_back).with_query(None)))

    await alice_check.refresh_from_db()
    assert alice_check.outcome is FaceOutcome.PENDING
    assert await pushes(harness, "openid-alice") == []
    assert "认证完成" in await visit(harness, bob_back)
    assert await pushes(harness, "openid-bob", 1) == ["刷脸结果：通过"]


async def test_return_while_the_gateway_answers_with_a_forged_signature(harness):
    alice = harness.user("openid-alice")
    link = await link_for(alice)
    harness.fake_alipay.sign_answers_with(new_private_key())
    http = harness.client.session
    back = await press(http, link, await open_page(http, link), "T")
    assert "请返回微信继续办理" in await visit(harness, back)
    check = await Verification.get(provider_id=certify_id_of(link))
    assert check.outcome is FaceOutcome.PENDING
    assert await pushes(harness, "openid-alice") == []


async def test_regression_a_made_up_reference_of_any_length_gets_the_neutral_page(
        harness, caplog: pytest.LogCaptureFixture):
    """A 5,000-character ref failed the database's length check: 500, and a traceback that
    quoted the whole value in the log."""
    for ref in ("a" * 5000, "%00", "中" * 40, "0" * 31):
        async with harness.client.session.get(harness.client.make_url("/face/return"),
                                              params={"ref": ref}) as response:
            assert response.status == 200
            assert "请返回对话继续办理" in await response.text()  # names no app it cannot know
    assert not [record for record in caplog.records if record.exc_info]


async def test_the_return_page_is_private(harness):
    """Its link names a check: not cached, framed or sent on as a Referer elsewhere."""
    url = harness.client.make_url("/face/return").with_query(ref="0" * 32)
    async with harness.client.session.get(url) as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
