"""No personal data in any log line, whatever logger writes it (issue 8, item 5).

The journeys, their failure paths and malformed requests run through the real app over HTTP
on the demo data set, with every logger at DEBUG and logging set up as `serve` sets it up
(`configure_logging`, the path-only access log). Every captured line is then searched for
every demo ID number, phone, VIN and name in each form software writes them: plain,
URL-encoded (quote and quote_plus), JSON-escaped with ensure_ascii, and bytes repr (as
aiohttp's parser errors quote a raw request). The patterns of tests/support/privacy, written
independently of bot/masking.py, catch full numbers of the random demo records too.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus, urlencode

import aiohttp
import pytest

from bot.app import configure_logging
from bot.config import Settings
from bot.demo_data import (
    CAR,
    DEMO_PEOPLE,
    DEMO_VEHICLES,
    LI_NA,
    LIU_YANG,
    TRUCK,
    WANG_QIANG,
    ZHANG_WEI,
    ZHAO_MIN,
    seed_demo,
)
from bot.integrations.alipay import SANDBOX_GATEWAY_PATH
from bot.messages import Conversation
from bot.sandbox.alipay import PRESS_PATH
from bot.sandbox.alipay_life_client import GATEWAY_PATH as ALIPAY_GATEWAY
from flows.violation_list import NO_MATCH
from tests.support.privacy import FULL_ID, FULL_PHONE, FULL_VIN, ScannedUser
from tests.support.queries import query_licence, query_vehicle
from tests.support.registration import (
    REGISTERED,
    face_check,
    link_in,
    pushes,
    register_by_face,
    sms_code,
    start,
)
from tests.support.servers import free_port
from tests.support.turns import turn_over
from tests.support.wechat_requests import message, signed

ROOT = Path(__file__).resolve().parent.parent
MALFORMED = " aiohttp.server: malformed HTTP request from "


def _secrets() -> set[str]:
    people = {value for person in DEMO_PEOPLE
              for value in (person.name, person.id_number, person.phone)}
    vehicles = {value for vehicle in DEMO_VEHICLES
                for value in (vehicle.vin, vehicle.phone,
                              vehicle.owner if isinstance(vehicle.owner, str) else "")}
    return (people | vehicles) - {""}


SECRETS = _secrets()


def forms(secret: str) -> set[str]:
    """``secret`` as it may appear in a log line (compared without regard to case)."""
    return {form.lower() for form in (
        secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1],
        repr(secret.encode())[2:-1])}


def leaks(text: str) -> list[str]:
    """The lines of ``text`` that show a demo secret in any form, or a full ID, phone or VIN."""
    found = []
    for line in text.splitlines():
        lowered = line.lower()
        if (any(form in lowered for secret in SECRETS for form in forms(secret))
                or any(pattern.search(line) for pattern in (FULL_ID, FULL_PHONE, FULL_VIN))):
            found.append(line)
    return found


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Every record of every logger at DEBUG, written as `serve` writes it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("DEBUG", stream)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def settings(captured_logs: io.StringIO, settings: Settings) -> Settings:
    """Logging is set up before the app starts, so start-up is captured too."""
    return settings


def test_every_logger_writes_through_the_mask(captured_logs):
    name, id_number = ZHANG_WEI.name, ZHANG_WEI.id_number
    for logger in ("aiohttp.access", "aiohttp.server", "aiohttp.web", "arq.worker",
                   "tortoise.db_client", "aiosqlite", "asyncio", "bot.inbox", "some.library"):
        logging.getLogger(logger).debug("%s: %s", logger, [name, id_number])
    try:
        raise ValueError(f"{quote(name)} {json.dumps(name)} {id_number}")
    except ValueError:
        logging.getLogger("arq.worker").exception("job failed")
    written = captured_logs.getvalue()
    assert written.count(f"['张*', '{id_number[:4]}**********{id_number[-4:]}']") == 9
    assert "Traceback" in written and not leaks(written)


async def _send_raw(harness, request: bytes) -> bytes:
    """One request over a bare connection, for what an HTTP client library refuses to send."""
    server = harness.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
        await writer.wait_closed()


async def _register_after_three_failed_face_checks(harness, user: ScannedUser) -> str:
    """LI_NA fails the face check three times, then proves herself by SMS to her phone."""
    link = link_in(await start(user, LI_NA.name, LI_NA.id_number, LI_NA.phone))
    for attempt in (1, 2, 3):
        await face_check(harness, link, "F")
        pushed = (await pushes(harness, user.user.openid, attempt))[-1]
        if attempt < 3:
            link = link_in(pushed)
    assert "发送短信验证码" in pushed
    await user.send("1")
    return await user.send(await sms_code(harness, LI_NA.phone))


async def _journeys(harness) -> None:
    """Registration both ways, both queries, their failure paths and My account."""
    zhang = ScannedUser(harness.user("openid-zhang"), secrets=(ZHANG_WEI.name,))
    assert REGISTERED in await register_by_face(harness, zhang, ZHANG_WEI.name,
                                                ZHANG_WEI.id_number, ZHANG_WEI.phone)
    li = ScannedUser(harness.user("openid-li"), secrets=(LI_NA.name,))
    assert REGISTERED in await _register_after_three_failed_face_checks(harness, li)
    assert "我的账户" in await zhang.click("MY_ACCOUNT")

    erin = ScannedUser(harness.user("openid-erin"), secrets=tuple(SECRETS))
    assert CAR.plate_number in await query_vehicle(erin, CAR.plate_number, CAR.vin[-6:])
    assert "驾驶证号：" in await query_licence(erin, WANG_QIANG.name, WANG_QIANG.id_number,
                                            WANG_QIANG.file_number)
    assert NO_MATCH in await query_licence(erin, LIU_YANG.name, LIU_YANG.id_number,
                                            "500100999999")
    wrong_vins = [await query_vehicle(harness_user, TRUCK.plate_number, "000000", plate_type="1")
                  for harness_user in (ScannedUser(harness.user(f"openid-guess-{n}"))
                                       for n in range(6))]
    assert NO_MATCH in wrong_vins[0] and "临时保护" in wrong_vins[-1]  # the plate is paused

    frank = harness.user("openid-frank")  # the phone hint's example is a full number
    await frank.click("REGISTER")
    await frank.send(ZHAO_MIN.name)
    bad_check = ZHAO_MIN.id_number[:17] + ("0" if ZHAO_MIN.id_number[17] != "0" else "1")
    assert "校验码" in await frank.send(bad_check)
    assert "请输入本人手机号码" in await frank.send(ZHAO_MIN.id_number)
    assert "手机号码" in await frank.send(ZHAO_MIN.phone[:10])


async def _malformed_requests(harness) -> None:
    """What attackers, scanners and broken clients send, each carrying personal data."""
    person = ZHANG_WEI
    typed = f"我是{person.name}，身份证{person.id_number}，电话{person.phone}"
    body = message("openid-mallory", "text", f"<Content><![CDATA[{typed}]]></Content>")
    biz = json.dumps({"identity_param": {"cert_name": person.name, "cert_no": person.id_number}},
                     ensure_ascii=False)
    personal_query = urlencode({"biz_content": biz, "cert_no": person.id_number,
                                "cert_name": person.name, "phone": person.phone})
    wechat = f"/wechat?{urlencode(signed(harness.settings.wechat.token))}&openid=openid-mallory"
    http = harness.client

    # Bad XML with a valid signature, and a good body with a wrong one.
    async with http.post(wechat, data=body[:-20].encode()) as response:
        assert response.status < 500
    async with http.post(f"/wechat?signature=0&timestamp=1&nonce=2&{personal_query}",
                         data=body.encode()) as response:
        assert response.status == 403
    # The life account's gateway: personal data typed in a signed message, and in forms
    # that are unsigned, in an unknown charset (its value is named in the warning) or
    # signed around unreadable XML.
    alipay = harness.alipay_user("2088000000000777", charset="UTF-8")
    assert (await alipay.post(alipay.form(alipay.text_xml(typed)))).status == 200
    for fields in ({"service": "x", "charset": person.id_number, "biz_content": typed},
                   {k: v for k, v in alipay.form(alipay.text_xml(typed)).items() if k != "sign"},
                   alipay.form(f"<XML><AppId>{typed}{person.phone}")):
        async with http.post(ALIPAY_GATEWAY, data=urlencode(fields).encode()) as response:
            assert 400 <= response.status < 500
    # The Alipay sandbox: an unsigned gateway call, the certify page and its button with
    # made-up ids, and our face return page with made-up parameters.
    for method in ("alipay.user.certify.open.initialize", "alipay.user.certify.open.certify"):
        async with http.get(f"{SANDBOX_GATEWAY_PATH}?method={method}&{personal_query}",
                            headers={"Referer": f"https://example.com/?{personal_query}"},
                            ) as response:
            assert response.status < 500
    async with http.post(PRESS_PATH, data={"certify_id": person.id_number, "passed": "T",
                                           "cert_name": person.name}) as response:
        assert response.status == 404
    async with http.get(f"/face/return?ref={person.id_number}&certify_id={quote(biz)}"
                        f"&{personal_query}") as response:
        assert response.status < 500

    # Requests aiohttp's parser refuses: garbage, a request line too long, a header and a
    # chunked body that break the parser. Each answer is a 400.
    raw = body.encode()
    requests = [
        f"{typed} {person.phone}\r\n\r\n".encode(),
        f"GET {wechat}&{personal_query}&pad={'a' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        (f"POST {wechat} HTTP/1.1\r\nHost: x\r\nX-Body: ".encode() + raw
         + b"\x01\r\nContent-Length: 2\r\n\r\nok"),
        (f"POST {wechat} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
         f"{len(raw):x}\r\n".encode() + raw + b"\r\n" + raw + b"\r\n0\r\n\r\n"),
    ]
    for request in requests:
        assert b" 400 " in (await _send_raw(harness, request)).split(b"\r\n")[0]


async def test_no_log_line_shows_personal_data(harness, captured_logs):
    await seed_demo()
    await _journeys(harness)
    await _malformed_requests(harness)
    async with asyncio.timeout(10):  # the last log lines are written after the responses
        while captured_logs.getvalue().count(MALFORMED) < 4:
            await asyncio.sleep(0.02)
    await turn_over(harness, Conversation("alipay", "2088000000000777"))  # its step's lines

    written = captured_logs.getvalue()
    assert not leaks(written), "\n".join(leaks(written)[:20])
    # The capture saw what it had to see, masked: SQL with its values, the access log of
    # every endpoint (paths only), and aiohttp's parser errors as single lines.
    masked_id = f"{ZHANG_WEI.id_number[:4]}**********{ZHANG_WEI.id_number[-4:]}"
    assert any("tortoise.db_client" in line and masked_id in line
               for line in written.splitlines())
    assert f"unsupported charset '{masked_id}'" in written  # the gateway's warning, masked
    access = [line for line in written.splitlines() if " aiohttp.access: " in line]
    for path in ("/wechat", ALIPAY_GATEWAY, SANDBOX_GATEWAY_PATH, PRESS_PATH, "/face/return"):
        assert any(f' {path}" ' in line for line in access), path
    assert not any("?" in line for line in access)
    assert written.count(MALFORMED) == 4
    assert "Error handling request" not in written


async def test_serve_logs_paths_only_and_masks_what_it_writes(tmp_path: Path):
    """`python -m bot serve` as operators run it: its own logging set-up and access log."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    log = tmp_path / "serve.log"  # a file: seeding at DEBUG would fill a pipe and block
    with log.open("w") as stderr:
        serve = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--port", str(port), "--data-dir",
             str(tmp_path / "data")],
            cwd=ROOT, env=environ | {"BOT__SERVER__LOG_LEVEL": "DEBUG"},
            stdout=subprocess.DEVNULL, stderr=stderr)
    query = urlencode({"signature": "f" * 40, "timestamp": "1", "nonce": "n0nce",
                       "echostr": "e" * 16, "cert_no": ZHANG_WEI.id_number,
                       "cert_name": ZHANG_WEI.name})
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):  # 30 s to start, unless it exits
                if serve.poll() is not None:
                    break
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz?{query}") as response:
                        assert response.status == 200
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            async with http.get(f"http://127.0.0.1:{port}/wechat?{query}") as response:
                assert response.status == 403
    finally:
        serve.send_signal(signal.SIGINT)
        serve.wait(timeout=30)
    written = log.read_text()
    assert serve.returncode == 0, written[-2000:]
    assert '"GET /healthz" 200 ' in written and '"GET /wechat" 403 ' in written
    for secret in ("f" * 40, "n0nce", "e" * 16):
        assert secret not in written
    assert not leaks(written)
