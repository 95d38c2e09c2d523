"""Face checks: the Alipay adapter against the local Alipay gateway, settled from its answers."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from alipay import AliPay

from bot.config import Settings
from bot.integrations.alipay import new_private_key, public_key_of, sandbox_app_key
from bot.integrations.face import AlipayFaceVerifier, FaceResult, FaceUnavailable
from bot.sandbox.alipay import CERTIFY
from models.verification import Method, Outcome, Verification
from tests.support.face import ID_NUMBER, NAME, certify_id_of, open_page, press

ALICE = "wechat:openid-alice"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(face={"poll_interval": 0.05})


async def begin(harness, requester: str = ALICE) -> tuple[str, Verification]:
    link = await harness.services.face.begin(requester=requester, purpose="register",
                                             name=NAME, id_number=ID_NUMBER)
    return link, await Verification.get(provider_id=certify_id_of(link))


async def settled(check: Verification, seconds: float = 5) -> Verification:
    """The check once the polling job has settled it."""
    for _ in range(int(seconds / 0.05)):
        await check.refresh_from_db()
        if check.outcome is not Outcome.PENDING:
            return check
        await asyncio.sleep(0.05)
    raise AssertionError("the polling job did not settle the check")


async def test_begin_records_a_pending_check_and_gives_the_certify_link(harness):
    link, check = await begin(harness)
    assert link.startswith(harness.settings.server.base_url + "/sandbox/alipay/gateway.do?")
    assert f"method={CERTIFY}" in link
    assert (check.method, check.purpose, check.requester) == (Method.FACE, "register", ALICE)
    assert (check.outcome, check.subject_id_number) == (Outcome.PENDING, ID_NUMBER)
    assert len(check.reference) == 32 and check.settled_at is None
    assert await harness.services.face.latest(ALICE, "register") == check
    assert await harness.services.face.latest(ALICE, "process_violation") is None


async def test_verifier_maps_alipay_answers(harness):
    verifier = harness.services.face.verifier
    link, _ = await begin(harness)
    certify_id = certify_id_of(link)
    assert await verifier.query(certify_id) == FaceResult(None)  # Alipay's "F": not yet
    await press(harness.client.session, link, await open_page(harness.client.session, link), "F")
    assert await verifier.query(certify_id) == FaceResult(None)  # "F" alone stays ambiguous
    harness.fake_alipay.fail_reason_enabled = True
    assert await verifier.query(certify_id) == FaceResult(False, "人脸比对未通过")


async def test_polling_job_settles_without_the_browser_coming_back(harness):
    link, check = await begin(harness)
    http = harness.client.session
    await press(http, link, await open_page(http, link), "T")  # the redirect is not followed
    check = await settled(check)
    assert check.outcome is Outcome.PASSED and check.settled_at is not None


async def test_polling_job_settles_a_failure_alipay_reports(harness):
    harness.fake_alipay.fail_reason_enabled = True
    link, check = await begin(harness)
    http = harness.client.session
    await press(http, link, await open_page(http, link), "F")
    check = await settled(check)
    assert (check.outcome, check.detail) == (Outcome.FAILED, "人脸比对未通过")


async def test_a_settled_check_is_never_settled_again(harness):
    link, check = await begin(harness)
    http = harness.client.session
    page = await open_page(http, link)
    await press(http, link, page, "T")
    face = harness.services.face
    assert await face.settle(check.reference) is Outcome.PASSED
    first = await Verification.get(id=check.id)
    assert await face.settle(check.reference) is Outcome.PASSED
    assert await face.came_back(check.reference, check.provider_id) is Outcome.PASSED
    again = await Verification.get(id=check.id)
    assert (again.outcome, again.settled_at) == (Outcome.PASSED, first.settled_at)


async def test_pending_check_expires_after_the_timeout(harness, settings):
    _, check = await begin(harness)
    face = harness.services.face
    assert await face.settle(check.reference) is Outcome.PENDING
    started = check.created_at - dt.timedelta(seconds=settings.face.timeout + 1)
    await Verification.filter(id=check.id).update(created_at=started)
    assert await face.settle(check.reference) is Outcome.EXPIRED
    await check.refresh_from_db()
    assert check.outcome is Outcome.EXPIRED and check.settled_at is not None
    assert await face.settle("0" * 32) is None  # an unknown reference


async def test_answers_signed_by_an_impostor_are_refused_and_the_check_stays_pending(harness):
    link, check = await begin(harness)
    harness.fake_alipay.sign_answers_with(new_private_key())
    http = harness.client.session
    await press(http, link, await open_page(http, link), "T")

    with pytest.raises(FaceUnavailable, match="signature"):
        await harness.services.face.verifier.query(check.provider_id)
    assert await harness.services.face.settle(check.reference) is Outcome.PENDING
    assert await harness.services.face.came_back(check.reference,
                                                 check.provider_id) is Outcome.PENDING
    with pytest.raises(FaceUnavailable):
        await begin(harness, "wechat:openid-bob")
    assert not await Verification.filter(requester="wechat:openid-bob").exists()
    await check.refresh_from_db()
    assert check.outcome is Outcome.PENDING


async def test_unreachable_gateway_is_reported_as_unavailable(harness):
    settings = harness.settings
    client = AliPay("2021000000000000", app_private_key_string=sandbox_app_key(settings),
                    alipay_public_key_string=public_key_of(new_private_key()))
    client._gateway = "http://127.0.0.1:9/gateway.do"  # the discard port: nothing listens
    with pytest.raises(FaceUnavailable, match="URLError"):
        await AlipayFaceVerifier(client).query("0" * 32)
