"""The Alipay life account under load, for `bench.inbound --channel alipay`.

The life account acknowledges every form at once and pushes each reply later
(``alipay.open.public.message.custom.send`` in the send_reply job, through python-alipay-sdk).
What a user waits for is the push, so a message is timed from sending its form to the moment
the service's push call reaches Alipay's open gateway. That gateway is played here, in the
load generator's process and core: ``PushGateway``, a bare asyncio server that timestamps each
push on arrival, wakes the user it is addressed to, and answers with one signed
``{"alipay_open_public_message_custom_send_response": {"code": "10000", ...}, "sign": ...}``
computed once. The service is pointed at it as production points at Alipay: ``[alipay]``
appid, keys and gateway URL, ``alipay_life.provider = "alipay"`` (``service_env``). Nothing
expensive runs while the clock does: pushes are recorded raw, and after each window every
reply is read and checked for its step's phrase and a sample of the push signatures and of
the gateway's signed acks is verified.

Users are ``AlipayLifeUser``s (bot/sandbox/alipay_life_client.py) signing GBK forms with
Alipay's key, as Alipay sends them; each window's forms are signed (about 1 ms each) and built
into raw HTTP requests before it starts. A user sends its next form only once the previous
reply was pushed (saturated) or at its pace, if that reply has landed (paced).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import random
import re
import secrets
import time
from collections import deque
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl, urlsplit

import redis
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bench.inbound import (
    Connection,
    Endpoint,
    Limits,
    Load,
    Measured,
    Prepared,
    StepCost,
    _cpu,
)
from bot.channels.alipay_life_api import CUSTOM_SEND
from bot.integrations.alipay import new_private_key, public_key_of
from bot.sandbox.alipay_life_client import Ack, AckError, AlipayLifeUser

APPID = "2021000000009999"  # the benchmark's life account
CHANNEL = "alipay"
GATEWAY_PATH = "/gateway.do"  # Alipay's open gateway, played by PushGateway
PUSH_TIMEOUT = 30.0  # seconds a user waits for a push before counting the message lost
SAMPLE = 20  # push signatures and acks verified after each window
WARMUP_RATE = 600  # forms a second signed ahead of the warm-up
PREPARED_RATE = 3000  # at most this many a second ahead of a saturated window
_TO_USER = re.compile(rb"%22to_user_id%22%3A%22([A-Za-z0-9_-]+)%22")
_user_ids = itertools.count(secrets.randbelow(10**6) * 10**6)


@dataclass(frozen=True)
class Keys:
    """Alipay's key pair (it signs the forms and the push answers) and the application's (the
    service signs its acks and push calls), generated for one run."""

    alipay_private: str
    app_private: str

    @classmethod
    def generate(cls) -> Keys:
        return cls(new_private_key(), new_private_key())

    @property
    def app_public(self) -> str:
        return public_key_of(self.app_private)


@dataclass(frozen=True)
class Setup:
    """One run's keys and the port PushGateway listens on (while an Alipay endpoint is
    driven): what the services are started with."""

    keys: Keys
    port: int

    @classmethod
    def new(cls, port: int) -> Setup:
        return cls(Keys.generate(), port)

    def config(self) -> dict[str, dict[str, str]]:
        """The service's configuration for the life account as production has it, with
        PushGateway as Alipay's gateway: {section: {key: value}}."""
        return {"alipay": {"appid": APPID, "app_private_key": self.keys.app_private,
                           "alipay_public_key": public_key_of(self.keys.alipay_private),
                           "gateway": f"http://127.0.0.1:{self.port}{GATEWAY_PATH}"},
                "alipay_life": {"provider": "alipay"}}

    def service_env(self) -> dict[str, str]:
        """``config`` as the environment of `python -m bot serve`."""
        return {f"BOT__{section.upper()}__{key.upper()}": value
                for section, keys in self.config().items() for key, value in keys.items()}

    async def drive(self, endpoint: Endpoint, limits: Limits) -> Measured:
        return await drive(endpoint, limits, self.keys, self.port)


def endpoint(service: Endpoint) -> Endpoint:
    """The Alipay gateway of a service that ``bench.inbound`` started (its /wechat endpoint)."""
    base = service.url.rsplit("/", 1)[0]
    return replace(service, name=f"{service.name}-{CHANNEL}", url=f"{base}/alipay/gateway",
                   channel=CHANNEL)


def signed_answer(alipay_private: str) -> bytes:
    """The whole HTTP answer to every push: success, signed by Alipay's key over the inner
    JSON text, as the SDK checks it. The connection closes after it, as urllib asks."""
    inner = '{"code":"10000","msg":"Success"}'
    key = serialization.load_pem_private_key(alipay_private.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    signature = key.sign(inner.encode(), padding.PKCS1v15(), hashes.SHA256())
    name = CUSTOM_SEND.replace(".", "_") + "_response"
    body = (f'{{"{name}":{inner},"sign":"{base64.b64encode(signature).decode()}"}}').encode()
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=utf-8\r\n"
            b"Connection: close\r\nContent-Length: " + str(len(body)).encode()
            + b"\r\n\r\n" + body)


@dataclass
class Push:
    """A push as it arrived: when (perf_counter) and its request head, read after the window."""

    at: float
    head: bytes

    def params(self) -> dict[str, str]:
        target = self.head.split(b" ", 2)[1].decode("ascii")
        return dict(parse_qsl(urlsplit(target).query, keep_blank_values=True))

    def text(self) -> str:
        """The pushed reply as the user reads it (text, or an article's title and description)."""
        params = self.params()
        if params.get("method") != CUSTOM_SEND:
            raise ValueError(f"not a custom.send push: {params.get('method')!r}")
        biz = json.loads(params["biz_content"])
        if biz.get("msg_type") == "text":
            return biz["text"]["content"]
        return "\n".join(f"{article.get('title', '')}\n{article.get('desc', '')}"
                         for article in biz["articles"])


def signed_by(push: Push, app_public: str) -> bool:
    """Alipay's check of a request: every non-empty parameter but ``sign``, sorted, ``k=v``
    joined by ``&``, SHA256withRSA by the application's key."""
    params = push.params()
    content = "&".join(f"{name}={value}" for name, value in sorted(params.items())
                       if name != "sign" and value != "")
    key = serialization.load_pem_public_key(app_public.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        key.verify(base64.b64decode(params.get("sign", "")), content.encode(),
                   padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return params.get("app_id") == APPID


class PushGateway:
    """Alipay's open gateway for pushes: records each arrival and wakes its user."""

    def __init__(self, keys: Keys) -> None:
        self.answer = signed_answer(keys.alipay_private)
        self.pushes: list[Push] = []
        self.strays = 0  # pushes nobody waited for (a second push for one message, a late one)
        self._waiting: dict[str, asyncio.Future[Push]] = {}

    def expect(self, user_id: str) -> asyncio.Future[Push]:
        future: asyncio.Future[Push] = asyncio.get_running_loop().create_future()
        self._waiting[user_id] = future
        return future

    def forget(self, user_id: str) -> None:
        self._waiting.pop(user_id, None)

    def arrived(self, head: bytes) -> None:
        push = Push(time.perf_counter(), head)
        self.pushes.append(push)
        found = _TO_USER.search(head)
        future = self._waiting.pop(found[1].decode(), None) if found else None
        if future is None or future.done():
            self.strays += 1
        else:
            future.set_result(push)

    async def serve(self, port: int) -> asyncio.Server:
        return await asyncio.get_running_loop().create_server(
            lambda: _PushCall(self), "127.0.0.1", port)


class _PushCall(asyncio.Protocol):
    """One push call: urllib's GET (no body), answered and closed as soon as its head is in."""

    def __init__(self, gateway: PushGateway) -> None:
        self._gateway = gateway
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if b"\r\n\r\n" in self._buffer and self._transport is not None:
            self._gateway.arrived(self._buffer)
            self._transport.write(self._gateway.answer)
            self._transport.close()
            self._transport = None


@dataclass
class Answer:
    """One message's outcome, checked after the window."""

    index: int
    message: Prepared
    status: int
    ack: bytes
    push: Push | None


@dataclass
class AlipayRun:
    """The users and their connections for one drive of one endpoint."""

    endpoint: Endpoint
    limits: Limits
    keys: Keys
    gateway: PushGateway
    users: list[AlipayLifeUser] = field(default_factory=list)
    connections: list[Connection] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.users = self.new_users()
        self.connections = [Connection(self.endpoint.url) for _ in self.users]
        self.sent = [0] * len(self.users)

    def new_users(self) -> list[AlipayLifeUser]:
        base = self.endpoint.url.rsplit("/alipay/", 1)[0]
        return [AlipayLifeUser(None, base, APPID, f"2088{next(_user_ids):012d}",  # type: ignore[arg-type]
                               self.keys.alipay_private, self.keys.app_public, charset="GBK")
                for _ in range(self.limits.users)]

    def request(self, user: AlipayLifeUser, text: str) -> bytes:
        """The raw HTTP POST of a signed GBK form carrying ``text``, as Alipay posts it."""
        body = user.body(user.form(user.text_xml(text)))
        return (f"POST /alipay/gateway HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                f"application/x-www-form-urlencoded; charset={user.charset}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    def prepare(self, index: int, count: int) -> deque[Prepared]:
        journey = self.limits.journey
        return deque(Prepared(step, journey[step % len(journey)][0],
                              self.request(self.users[index], journey[step % len(journey)][0]))
                     for step in range(self.sent[index], self.sent[index] + count))

    async def deliver(self, index: int, message: Prepared,
                      users: list[AlipayLifeUser] | None = None) -> tuple[float, Answer]:
        """Post one form and wait for its push: (seconds from sending to the push's arrival,
        the outcome). A refused form or a push that never came counts its full wait."""
        user = (users or self.users)[index]
        pushed = self.gateway.expect(user.user_id)
        started = time.perf_counter()
        try:
            status, ack = await self.connections[index].exchange(message.request)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            status, ack = 0, b""
            self.connections[index].close()
            self.connections[index] = Connection(self.endpoint.url)
        push = None
        if status == 200:
            try:
                async with asyncio.timeout(PUSH_TIMEOUT):
                    push = await pushed
            except TimeoutError:
                pass
        if push is None:
            self.gateway.forget(user.user_id)
        latency = (push.at if push else time.perf_counter()) - started
        return latency, Answer(index, message, status, ack, push)

    def failures(self, answers: list[Answer], readers: list[AlipayLifeUser]) -> int:
        """Replies without their step's phrase, refused forms, lost pushes; and a sample of
        acks and push signatures that Alipay would not accept."""
        journey, bad = self.limits.journey, 0
        for answer in answers:
            try:
                ok = answer.push is not None and (
                    journey[answer.message.step % len(journey)][1] in answer.push.text())
            except (ValueError, KeyError, TypeError, IndexError):
                ok = False
            bad += not ok
        for answer in random.sample(answers, min(SAMPLE, len(answers))):
            try:
                readers[answer.index].check_ack(Ack(answer.status, answer.ack))
                ok = answer.push is None or signed_by(answer.push, self.keys.app_public)
            except AckError:
                ok = False
            bad += not ok
        return bad


async def drive(endpoint: Endpoint, limits: Limits, keys: Keys, port: int) -> Measured:
    """``bench.inbound.drive`` for the Alipay channel: warm-up, saturated, paced, then each
    step's CPU with all users in step; the push gateway listens on ``port`` meanwhile."""
    gateway = PushGateway(keys)
    server = await gateway.serve(port)
    run = AlipayRun(endpoint, limits, keys, gateway)
    try:
        warmup = await _phase(run, "warm-up", limits.warmup, 0.0, WARMUP_RATE)
        rate = min(PREPARED_RATE, max(2 * warmup.rate, 200))
        saturated = await _phase(run, endpoint.name, limits.seconds, 0.0, rate)
        paced = await _phase(run, endpoint.name, limits.seconds, limits.pace, rate)
        costs, bad = await _lockstep(run)
        paced.failures += bad + gateway.strays
    finally:
        for connection in run.connections:
            connection.close()
        server.close()
        await server.wait_closed()
    return Measured(saturated, paced, costs)


async def _phase(run: AlipayRun, label: str, seconds: float, pace: float,
                 saturated_rate: float) -> Load:
    """One window: forms signed before it, users walking in a closed loop (or paced)."""
    limits = run.limits
    rate = limits.users / pace if pace else saturated_rate
    per_user = int(min(limits.messages, rate * seconds) / limits.users) + 2
    queues = [run.prepare(index, per_user) for index in range(limits.users)]
    load, answers = Load(label), []
    before = _cpu(run.endpoint)
    client_before = time.process_time()
    started = time.perf_counter()
    until, budget = time.monotonic() + seconds, [limits.messages]

    async def walk(index: int) -> None:
        next_send = time.monotonic() + random.uniform(0, pace)
        while time.monotonic() < until and budget[0] > 0:
            await asyncio.sleep(max(0.0, next_send - time.monotonic()))
            next_send += pace
            budget[0] -= 1
            queue = queues[index]
            message = queue.popleft() if queue else run.prepare(index, 1)[0]
            latency, answer = await run.deliver(index, message)
            load.latencies.append(latency)
            load.steps.append(message.step % len(limits.journey))
            run.sent[index] = message.step + 1
            answers.append(answer)

    await asyncio.gather(*(walk(n) for n in range(limits.users)))
    load.seconds = time.perf_counter() - started
    load.server_cpu, load.redis_cpu, load.database_cpu = (
        after - earlier for after, earlier in zip(_cpu(run.endpoint), before, strict=True))
    load.client_cpu = time.process_time() - client_before
    load.failures = run.failures(answers, run.users)
    return load


async def _lockstep(run: AlipayRun) -> tuple[list[StepCost], int]:
    """Fresh users walk ``lockstep`` journeys together, one step at a time; the servers' CPU
    over a step's windows, divided by its messages, is that step's cost (its push included)."""
    journey, walkers = run.limits.journey, run.new_users()
    costs = [StepCost() for _ in journey]
    answers: list[Answer] = []
    for step in range(run.limits.lockstep * len(journey)):
        text = journey[step % len(journey)][0]
        messages = [Prepared(step, text, run.request(walker, text)) for walker in walkers]
        before = _cpu(run.endpoint)
        done = await asyncio.gather(*(run.deliver(n, message, walkers)
                                      for n, message in enumerate(messages)))
        cost = costs[step % len(journey)]
        server, redis_cpu, database = (after - earlier for after, earlier
                                       in zip(_cpu(run.endpoint), before, strict=True))
        cost.messages += len(messages)
        cost.server_cpu += server
        cost.redis_cpu += redis_cpu
        cost.database_cpu += database
        answers += [answer for _, answer in done]
    return costs, run.failures(answers, walkers)


def job_results(redis_url: str) -> list[int]:
    """MEMORY USAGE of each arq job result in Redis: a pushed reply's send_reply job keeps
    one for arq's keep_result (an hour), its arguments, the reply, included."""
    client = redis.Redis.from_url(redis_url)
    try:
        return [client.memory_usage(key) or 0
                for key in client.scan_iter(match="arq:result:*", count=1000)]
    finally:
        client.close()


def compare(best: dict[str, Measured], results: list[int]) -> None:
    """One line per database: the Alipay channel against WeChat on the same service; then
    what the pushed replies left in Redis (``job_results``)."""
    for name, alipay in best.items():
        wechat = best.get(name.removesuffix(f"-{CHANNEL}"))
        if not name.endswith(f"-{CHANNEL}") or wechat is None:
            continue
        ratio = alipay.saturated.rate / wechat.saturated.rate if wechat.saturated.rate else 0.0
        cost = [load.per_message_ms(load.server_cpu + load.redis_cpu + load.database_cpu)
                for load in (alipay.saturated, wechat.saturated)]
        print(f"{name}: Alipay / WeChat msg/s (saturated) {ratio:.2f}; p99 saturated "
              f"{alipay.saturated.percentile_ms(0.99):.1f} / "
              f"{wechat.saturated.percentile_ms(0.99):.1f} ms, paced "
              f"{alipay.paced.percentile_ms(0.99):.1f} / {wechat.paced.percentile_ms(0.99):.1f}"
              f" ms; CPU ms/msg (app + Redis + DB) {cost[0]:.3f} / {cost[1]:.3f}")
    print(f"Redis per pushed reply: {sum(results) / max(len(results), 1):.0f} B arq job result "
          f"({len(results)} kept for arq's keep_result, an hour)")
