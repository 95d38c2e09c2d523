"""What the app adds to every response, and what it serves in each mode."""

import dataclasses
import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from bot import db
from bot.app import ALIPAY_SANDBOX, WECHAT_SANDBOX, create_app, guarded
from bot.config import ConfigError, Settings, load_settings
from bot.demo_data import is_empty
from bot.integrations.alipay import PRODUCTION_GATEWAY, new_private_key, public_key_of
from bot.integrations.face import face_verifier
from bot.integrations.sms import AliyunSmsSender, build_sender
from bot.sandbox.alipay import CERTIFY, PRESS_PATH
from bot.services import WECHAT_API
from tests.conftest import _empty_postgres_tables
from tests.support.alipay_life import signed_form
from tests.support.harness import Harness, running_harness
from tests.support.production import production_environ
from tests.support.servers import free_port

SERVER_TIMING = re.compile(r"app;dur=\d+\.\d\d")


async def test_responses_say_how_long_the_server_took(harness: Harness):
    user = harness.user()
    params, body = user.request(user.text_xml("菜单"))
    for response in [await harness.client.get("/healthz"),
                     await harness.client.post("/wechat", params=params, data=body)]:
        assert SERVER_TIMING.fullmatch(response.headers["Server-Timing"]), response.url


@pytest.mark.parametrize(("path", "status", "body"), [
    ("/wechat", 200, b"success"),  # WeChat never sees an error
    ("/face/return", 500, b'{"error": "internal error"}'),
])
async def test_an_unexpected_error_is_answered_without_details(
        path: str, status: int, body: bytes, caplog: pytest.LogCaptureFixture):
    async def failing(request: web.Request) -> web.Response:
        raise RuntimeError("secret detail")

    app = web.Application(middlewares=[guarded])
    app.router.add_post(path, failing)
    async with TestClient(TestServer(app)) as client:
        response = await client.post(path)
        assert (response.status, await response.read()) == (status, body)
        assert SERVER_TIMING.fullmatch(response.headers["Server-Timing"])
    assert "secret detail" in caplog.text  # logged for us, not sent to the caller


# ---- production mode: no simulator, no sandbox provider, no demo data ------------------------

def sandbox_routes(data_dir: Path, keys: dict[str, str]) -> set[tuple[str, str]]:
    """(method, path) of every /sandbox route a sandbox-mode app serves; building the app
    starts nothing."""
    (data_dir / "alipay-sandbox").mkdir(parents=True)
    for name, key in keys.items():
        (data_dir / "alipay-sandbox" / f"{name}.pem").write_text(key)
    app = create_app(load_settings({}).with_overrides(server={"data_dir": str(data_dir)}))
    return {(route.method, route.resource.canonical) for route in app.router.routes()
            if route.resource is not None and route.resource.canonical.startswith("/sandbox")
            and route.method in {"GET", "POST"}}


class TestProductionMode:
    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        """Production runs on PostgreSQL only (SQLite is refused by the configuration)."""
        return postgres_url

    @pytest.fixture
    def settings(self, tmp_path: Path, redis_url: str, database_url: str,
                 alipay_sandbox_keys: dict[str, str]) -> Settings:
        """Every production key set to a test value; demo seeding left at its default (on)."""
        settings = load_settings(production_environ(
            BOT__DATABASE__URL=database_url, BOT__REDIS__URL=redis_url,
            BOT__ALIPAY__APP_PRIVATE_KEY=alipay_sandbox_keys["app"],
            BOT__ALIPAY__ALIPAY_PUBLIC_KEY=public_key_of(alipay_sandbox_keys["gateway"])))
        assert settings.database.seed_demo_when_empty
        return settings.with_overrides(server={"data_dir": str(tmp_path / "data"),
                                               "port": free_port()})

    @pytest.fixture
    async def production(self, settings: Settings, redis: Redis) -> AsyncIterator[Harness]:
        """The production app started on an empty database, as a fresh deployment."""
        await db.open_database(settings.database.url)
        await _empty_postgres_tables()
        await db.close_database()
        async with running_harness(settings) as running:
            yield running

    async def test_no_sandbox_route_is_served(self, production: Harness, tmp_path: Path,
                                              alipay_sandbox_keys: dict[str, str]):
        routes = sandbox_routes(tmp_path / "sandbox", alipay_sandbox_keys)
        assert {("GET", "/sandbox/outbox"), ("GET", "/sandbox/aliyun-sms/"),
                ("POST", "/sandbox/alipay/gateway.do"), ("POST", PRESS_PATH),
                ("GET", "/sandbox/wechat/cgi-bin/token")} <= routes
        for method, path in sorted(routes):
            response = await production.client.request(method, path)
            assert response.status == 404, (method, path)
        assert WECHAT_SANDBOX not in production.client.app
        assert ALIPAY_SANDBOX not in production.client.app

    async def test_the_follow_consent_page_is_served(self, production: Harness):
        """Owners who are not users consent there (the SMS link): a route of every mode."""
        response = await production.client.get("/follow/consent/" + "A" * 32)
        assert response.status == 404 and "链接无效" in await response.text()
        assert response.headers["Cache-Control"] == "no-store"

    async def test_healthz_says_production(self, production: Harness):
        response = await production.client.get("/healthz")
        assert await response.json() == {"status": "ok", "mode": "production"}

    async def test_no_demo_data_is_seeded(self, production: Harness):
        assert await is_empty()
        assert not (production.settings.data_dir / "alipay-sandbox").exists()  # no sandbox keys

    async def test_every_outside_system_is_the_real_one(self, production: Harness):
        services = production.services
        assert services.face.verifier.certify_url("c1").startswith(PRODUCTION_GATEWAY + "?")
        assert isinstance(services.sms_sender, AliyunSmsSender)
        assert services.wechat_api._base == WECHAT_API
        assert services.alipay_life_api._client._gateway == PRODUCTION_GATEWAY

    async def test_alipay_life_gateway_trusts_only_the_configured_alipay_key(
            self, production: Harness, alipay_sandbox_keys: dict[str, str]):
        """Served in production, checked with [alipay] alipay_public_key: a form signed by any
        other key (a simulator's) is refused; Alipay's own check gets our public key."""
        appid = production.settings.alipay.appid
        check = (f"<XML><AppId>{appid}</AppId><MsgType>event</MsgType>"
                 "<EventType>verifygw</EventType></XML>")
        for key, status in ((new_private_key(), 403), (alipay_sandbox_keys["gateway"], 200)):
            body = signed_form(check, key, service="alipay.service.check")[1]
            response = await production.client.post("/alipay/gateway", data=body)
            assert response.status == status
        assert production.services.alipay_life.public_key_base64 in await response.text()

    async def test_regression_face_check_passed_through_the_sandbox_certify_form(
            self, production: Harness):
        """Anyone who knew a name and ID number registered as that person: open the sandbox
        certify page for the certify_id in the link, post its form with passed=T."""
        certify = {"method": CERTIFY, "biz_content": json.dumps({"certify_id": "c1"})}
        for response in [
                await production.client.get("/sandbox/alipay/gateway.do", params=certify),
                await production.client.post("/sandbox/alipay/gateway.do", data=certify),
                await production.client.post(PRESS_PATH, data={"certify_id": "c1",
                                                               "passed": "T"})]:
            assert response.status == 404


@pytest.mark.parametrize(("build", "key"), [
    (lambda settings, http: face_verifier(settings), "face.provider"),
    (build_sender, "sms.provider"),
], ids=["face_verifier", "build_sender"])
async def test_production_never_builds_a_sandbox_provider_even_if_asked(
        build: Callable[[Settings, aiohttp.ClientSession], object], key: str,
        alipay_sandbox_keys: dict[str, str]):
    """Defence in depth: a Settings that skipped the checks still gets no simulator."""
    checked = load_settings(production_environ(
        BOT__ALIPAY__APP_PRIVATE_KEY=alipay_sandbox_keys["app"],
        BOT__ALIPAY__ALIPAY_PUBLIC_KEY=public_key_of(alipay_sandbox_keys["gateway"])))
    unchecked = dataclasses.replace(
        checked, face=dataclasses.replace(checked.face, provider="sandbox"),
        sms=dataclasses.replace(checked.sms, provider="sandbox"))
    async with aiohttp.ClientSession() as http:
        build(checked, http)  # the real providers are built
        with pytest.raises(ConfigError, match=f"^{key}: must not be sandbox in production"):
            build(unchecked, http)
