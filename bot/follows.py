"""Following a friend's vehicle or driving licence (the target): quotas, asking its owner
(a licence's holder), their answer, expiry and lapse.

A request is checked against the quotas (bot.rules.follow_refusal) and then, in one
transaction, checked again, given an attempt slot of the year and stored pending; only then
is the owner asked: a registered owner gets a pending action in every conversation
(``follow.requested``), anyone else an SMS with a 6-digit code and the consent page's link to
the phone on record. Asking is repeatable and marked done (``asked_at``) after it: the code
and link are derived from the request's nonce with the SMS pepper, so a sweep asks the owner
of a request whose process died between its commit and the asking, with the same SMS (an
SMS in flight at such a death may arrive twice; both carry the same code and link). The
owner's answer (chat, page, or the code relayed by the requester)
moves the request from pending with a conditional update, and an approval takes the follow
slots in the same transaction, so the database's unique slots, not a count read before, keep
every quota (models.follow); so does the 12123 profile's "distinct owners ever"
(``FollowedOwner``). The requester is told through ``follow.decided`` /
``follow.expired`` in their turn; the request's expiry is that event, deferred to its
deadline. A daily job lapses SMS consents after a year and offers to ask again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from arq.connections import ArqRedis
from tortoise import timezone
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from bot.config import FollowConfig
from bot.conversations import Conversations
from bot.events import Event, EventBus, on
from bot.integrations.sms import OutgoingSms, SmsError
from bot.masking import mask_id_number, mask_name, mask_plate
from bot.messages import Conversation, Reply
from bot.pending import Offer
from bot.rules import (
    LICENCE_WORDS,
    VEHICLE_WORDS,
    FollowFacts,
    FollowPolicy,
    FollowWords,
    consent_valid_until,
    follow_refusal,
    follow_year,
)
from models.follow import (
    AskedBy,
    ConsentChannel,
    ConsentEvidence,
    EndedBy,
    Follow,
    FollowAttempt,
    FollowedOwner,
    FollowRequest,
    RequestState,
)
from models.licence import DriverLicence
from models.user import ChannelIdentity, User
from models.vehicle import Vehicle

log = logging.getLogger(__name__)

REQUESTED = "follow.requested"  # a registered owner is asked in chat
DECIDED = "follow.decided"  # the requester is told the owner's answer
EXPIRED = "follow.expired"  # the request's deadline (the event deferred to it)
LAPSED = "follow.lapsed"  # an SMS consent ended after its year
CONSENT_FLOW = "follow_consent"  # the journey an owner's pending action opens
SMS_PURPOSE = "follow"
# A transaction that lost a slot to a concurrent one is run again; each loss means another
# committed a slot, so a few runs always see the quota as it is.
RACE_RETRIES = 8

Clock = Callable[[], datetime]
Push = Callable[[Conversation, Reply], Awaitable[None]]


@dataclass(frozen=True)
class Kind:
    """What differs between following a vehicle and a licence: the target's columns on
    FollowRequest and Follow, its prefix in the pair keys, the journey that follows it (a
    request's outcome, or ask again) and the words."""

    column: str
    target_slot: str
    follower_slot: str
    key: str
    flow: str
    words: FollowWords


VEHICLE = Kind("vehicle", "vehicle_slot", "follower_slot", "", "follow_vehicle", VEHICLE_WORDS)
LICENCE = Kind("licence", "licence_slot", "follower_licence_slot", "L", "follow_licence",
               LICENCE_WORDS)
Record = Vehicle | DriverLicence


@dataclass(frozen=True)
class Target:
    """What a follow is of: a vehicle (its owner consents) or a licence (its holder)."""

    kind: Kind
    record: Record

    @classmethod
    def of(cls, record: Record) -> Target:
        return cls(LICENCE if isinstance(record, DriverLicence) else VEHICLE, record)

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def is_vehicle(self) -> bool:
        return self.kind is VEHICLE

    @property
    def owner_id_number(self) -> str:
        record = self.record
        return record.owner_id_number if isinstance(record, Vehicle) else record.number

    @property
    def owner_phone(self) -> str:
        record = self.record
        return record.owner_phone if isinstance(record, Vehicle) else record.holder_phone

    @property
    def title(self) -> str:
        """As its follower or owner reads it in their own lists: the plate whole (they typed
        it), a licence's number (an ID number) and holder masked."""
        record = self.record
        if isinstance(record, Vehicle):
            return f"{record.plate_number}（{record.plate_type.label}）"
        return f"驾驶证{mask_id_number(record.number)}（{mask_name(record.holder_name)}）"

    @property
    def masked(self) -> str:
        """As told to the other side (the owner's SMS, pending items): 渝A***45, or
        驾驶证5001**********4210."""
        record = self.record
        if isinstance(record, Vehicle):
            return mask_plate(record.plate_number)
        return f"驾驶证{mask_id_number(record.number)}"

    @property
    def described(self) -> str:
        """``masked`` with what it is: 车辆渝A***45, or 驾驶证5001**********4210."""
        return f"车辆{self.masked}" if self.is_vehicle else self.masked

    def pair(self, user_id: int) -> str:
        """The pending_key / active_key of this user and target."""
        return _pair(user_id, self.kind, self.id)

    @property
    def match(self) -> dict[str, int]:
        """The filter of requests and follows of this target."""
        return {f"{self.kind.column}_id": self.id}


def _pair(user_id: int, kind: Kind, target_id: int) -> str:
    return f"{user_id}:{kind.key}{target_id}"


def kind_of(row: FollowRequest | Follow) -> Kind:
    return VEHICLE if row.vehicle_id is not None else LICENCE


def target_of(row: FollowRequest | Follow) -> Target:
    """The target of a request or follow fetched with its vehicle and licence."""
    return Target.of(row.vehicle if row.vehicle_id is not None else row.licence)


def _of_kind(kind: Kind) -> dict[str, bool]:
    """The filter of requests and follows of a kind of target."""
    return {f"{kind.column}_id__isnull": False}


class FollowRefused(Exception):
    """A quota or rule refuses the follow; ``str(exc)`` is the user-facing reason."""


@dataclass(frozen=True)
class Evidence:
    """How the owner answered: "chat", "page" or "code" (relayed by the requester)."""

    channel: str
    client_address: str = ""
    user_agent: str = ""


@dataclass(frozen=True)
class Sent:
    request_id: int
    asked_in_chat: bool  # the owner is a user, asked in chat; else by SMS
    expires_at: datetime


@dataclass(frozen=True)
class Decided:
    done: bool  # False: no longer pending (decided, expired), nothing happened
    state: str  # the request's state now (RequestState value)
    reason: str  # why it failed, or what the requester/owner reads


@dataclass(frozen=True)
class CodeResult:
    approved: bool
    message: str


def consent_url(base_url: str, token: str) -> str:
    """The consent page's link the owner's SMS carries."""
    return f"{base_url.rstrip('/')}/follow/consent/{token}"


def token_digest(token: str) -> str:
    """What is stored of a consent link's token: a leaked table opens no page."""
    return hashlib.sha256(token.encode()).hexdigest()


NOT_PENDING = {
    RequestState.APPROVED: "该关注请求已处理（已同意）",
    RequestState.REFUSED: "该关注请求已处理（已拒绝）",
    RequestState.EXPIRED: "该关注请求已过期",
    RequestState.FAILED: "该关注请求已失效",
    RequestState.CANCELLED: "该关注请求已取消",
}
LOCKED = "验证码错误次数过多，该关注请求已失效"


class Follows:
    """The follows domain (``deps.follows``); built once at the composition root."""

    def __init__(self, config: FollowConfig, *, redis: ArqRedis, events: EventBus,
                 conversations: Conversations, push: Push, base_url: str, pepper: bytes,
                 clock: Clock = timezone.now) -> None:
        self.config = config
        self.policy = FollowPolicy.profile(
            config.rule_profile, max_vehicles=config.max_vehicles,
            attempts_per_year=config.attempts_per_year,
            followers_per_vehicle=config.followers_per_vehicle, owners_ever=config.owners_ever,
            max_licences=config.max_licences)
        self._redis = redis
        self._events = events
        self._conversations = conversations
        self._push = push
        self._base_url = base_url
        self._pepper = pepper
        self._clock = clock

    def _now(self) -> datetime:
        """The clock's time in the database's zone: SQLite compares datetimes as text, so a
        value in another offset than the stored ones would compare wrongly."""
        return timezone.localtime(self._clock())

    # -- asking ------------------------------------------------------------------------------

    async def check(self, requester: User, record: Record) -> None:
        """Raise FollowRefused with the reason and its numbers, before anything is sent."""
        await self._refuse_if_not_allowed(requester, Target.of(record), self._now())

    async def request(self, requester: User, conversation: Conversation,
                      record: Record) -> Sent:
        """Spend an attempt and ask the owner; raises FollowRefused like ``check``."""
        now, target = self._now(), Target.of(record)
        owner = await registered_user(target.owner_id_number)
        if owner is None and not target.owner_phone:
            who = target.kind.words.owner
            raise FollowRefused(f"{who}未登记手机号，无法征得{who}同意，请{who}到交管部门窗口办理")
        nonce = "" if owner else secrets.token_hex(16)
        expires_at = now + timedelta(seconds=self.config.request_lifetime)
        for _ in range(RACE_RETRIES):
            try:
                async with in_transaction() as conn:
                    facts = await self._refuse_if_not_allowed(requester, target, now, conn)
                    request = await FollowRequest.create(
                        requester=requester, conversation=conversation.key,
                        **{target.kind.column: record},
                        owner_id_number=target.owner_id_number,
                        asked_by=AskedBy.CHAT if owner else AskedBy.SMS, nonce=nonce,
                        pending_key=target.pair(requester.id), expires_at=expires_at,
                        created_at=now, using_db=conn)
                    await FollowAttempt.create(user=requester, year=follow_year(now),
                                               n=facts.attempts_this_year + 1, request=request,
                                               using_db=conn)
                    if owner is None:
                        code, token = self._code_and_token(request)
                        request.code_hash = self._code_hash(request.id, code)
                        request.token_hash = token_digest(token)
                        await request.save(update_fields=["code_hash", "token_hash"],
                                           using_db=conn)
                break
            except IntegrityError:  # a concurrent request took the slot or the pair
                continue
        else:
            raise FollowRefused("系统繁忙，请稍后再试")
        log.info("follow request %d sent (%s)", request.id, request.asked_by.value)
        await self._announce(request)
        return Sent(request.id, owner is not None, expires_at)

    async def _announce(self, request: FollowRequest) -> None:
        """After the request's commit: its deadline, and the owner asked. A process that dies
        here leaves both to the sweep (``sweep``)."""
        await self._events.publish(Event(EXPIRED, str(request.id)),
                                   defer_by=self.config.request_lifetime)
        await self.ask(request.id)

    async def ask(self, request_id: int) -> bool:
        """Ask the owner of a pending request not asked yet: the pending action's event, or
        the SMS (the same each time: ``_code_and_token``); then mark it asked. False when
        there was nothing to do."""
        request = await FollowRequest.get_or_none(
            id=request_id, state=RequestState.PENDING, asked_at=None,
        ).prefetch_related("requester", "vehicle", "licence")
        if request is None:
            return False
        if request.asked_by is AskedBy.CHAT:
            await self._events.publish(Event(REQUESTED, str(request.id)))
        else:
            await self._text_owner(request)
        await FollowRequest.filter(id=request_id, asked_at=None).update(asked_at=self._now())
        return True

    async def _refuse_if_not_allowed(self, requester: User, target: Target, now: datetime,
                                     conn: BaseDBAsyncClient | None = None) -> FollowFacts:
        facts = await self._facts(requester, target, now, conn)
        reason = follow_refusal(self.policy, facts, now)
        if reason is not None:
            raise FollowRefused(reason)
        return facts

    async def _facts(self, requester: User, target: Target, now: datetime,
                     conn: BaseDBAsyncClient | None) -> FollowFacts:
        kind = target.kind
        live = Follow.filter(ended_at=None).using_db(conn)
        pending = FollowRequest.filter(requester_id=requester.id, state=RequestState.PENDING,
                                       expires_at__gt=now).using_db(conn)
        owners: set[str] = set()
        if self.policy.owners_ever is not None and target.is_vehicle:
            owners = set(await FollowedOwner.filter(user_id=requester.id).using_db(conn)
                         .values_list("owner_id_number", flat=True))
        vehicle = target.record if isinstance(target.record, Vehicle) else None
        return FollowFacts(
            own=bool(target.owner_id_number) and target.owner_id_number == requester.id_number,
            already_following=await live.filter(follower_id=requester.id,
                                                **target.match).exists(),
            pending_here=await pending.filter(**target.match).exists(),
            plate_type=vehicle.plate_type if vehicle else None,
            owner_kind=vehicle.owner_kind if vehicle else None,
            following=await live.filter(follower_id=requester.id, **_of_kind(kind)).count(),
            pending=await pending.filter(**_of_kind(kind)).count(),
            attempts_this_year=await FollowAttempt.filter(
                user_id=requester.id, year=follow_year(now)).using_db(conn).count(),
            vehicle_followers=await live.filter(**target.match).count(),
            owners_so_far=len(owners),
            new_owner=target.owner_id_number not in owners,
            licence=not target.is_vehicle,
        )

    def _code_and_token(self, request: FollowRequest) -> tuple[str, str]:
        """The SMS's 6-digit code and the consent link's token, from the request's nonce and
        the SMS pepper: made again, the same, whenever the SMS is sent."""

        def derive(label: str) -> bytes:
            message = f"{SMS_PURPOSE}-{label}\n{request.id}\n{request.nonce}".encode()
            return hmac.new(self._pepper, message, hashlib.sha256).digest()

        code = f"{int.from_bytes(derive('code')[:8], 'big') % 10**6:06d}"
        token = base64.urlsafe_b64encode(derive("link")[:24]).decode()  # 32 characters
        return code, token

    async def _text_owner(self, request: FollowRequest) -> None:
        """The SMS to the owner's phone on record: code and consent link (the send_sms job,
        one per request while it is queued)."""
        target = target_of(request)
        code, token = self._code_and_token(request)
        params = {"requester": mask_name(request.requester.real_name),
                  "target": target.described, "code": code,
                  "link": consent_url(self._base_url, token)}
        message = OutgoingSms(target.owner_phone, self.config.template, params,
                              f"follow-{request.id}", SMS_PURPOSE, str(request.id))
        await self._redis.enqueue_job("send_sms", message, _job_id=f"sms:{message.out_id}")

    async def undeliverable(self, message: OutgoingSms, error: SmsError) -> None:
        """The owner's SMS could not be sent: the request fails and the requester is told."""
        log.warning("follow request %s: sms not delivered: %s", message.subject, error.code)
        request = await FollowRequest.get_or_none(id=int(message.subject))
        who = VEHICLE.words.owner if request is None else kind_of(request).words.owner
        await self._end(int(message.subject), RequestState.FAILED,
                        f"短信发送失败，未能通知{who}", tell=True)

    # -- the owner's answer ------------------------------------------------------------------

    async def decide(self, request_id: int, approve: bool, *, evidence: Evidence) -> Decided:
        """Approve or refuse a pending request, once; an approval takes the follow slots in
        the same transaction, and fails the request (with the reason) if they are full."""
        channel = ConsentChannel(evidence.channel)
        for _ in range(RACE_RETRIES):
            try:
                decided = await self._decide_once(request_id, approve, channel, evidence)
                break
            except IntegrityError:  # a concurrent approval took a slot first: run again
                continue
        else:
            raise RuntimeError(f"follow request {request_id}: slots kept changing")
        if decided.done:
            log.info("follow request %d %s (%s)", request_id, decided.state, channel.value)
            await self._conversations.pending.close(REQUESTED, str(request_id))
            # A code relayed in the requester's own chat is answered there, in the reply.
            if channel is not ConsentChannel.CODE or decided.state != RequestState.APPROVED:
                await self._events.publish(Event(DECIDED, str(request_id)))
        return decided

    async def _decide_once(self, request_id: int, approve: bool, channel: ConsentChannel,
                           evidence: Evidence) -> Decided:
        now = self._now()
        state = RequestState.APPROVED if approve else RequestState.REFUSED
        async with in_transaction() as conn:
            moved = await FollowRequest.filter(
                id=request_id, state=RequestState.PENDING, expires_at__gt=now,
            ).using_db(conn).update(state=state, pending_key=None, decided_at=now)
            request = await FollowRequest.get_or_none(id=request_id, using_db=conn)
            if request is None:
                return Decided(False, "", "该关注请求不存在")
            if not moved:
                return Decided(False, request.state.value, _not_pending(request, now))
            await ConsentEvidence.create(
                request_id=request_id, channel=channel, approved=approve,
                code_hash=request.code_hash if channel is not ConsentChannel.CHAT else "",
                at=now, client_address=evidence.client_address[:64],
                user_agent=evidence.user_agent[:256], using_db=conn)
            who = kind_of(request).words.owner
            if not approve:
                return Decided(True, state.value, f"{who}拒绝了关注请求")
            full = await self._take_slots(request, channel, now, conn)
            if full is not None:
                await FollowRequest.filter(id=request_id).using_db(conn).update(
                    state=RequestState.FAILED, reason=full[:64])
                return Decided(True, RequestState.FAILED.value, full)
        return Decided(True, state.value, f"{who}已同意关注请求")

    async def _take_slots(self, request: FollowRequest, channel: ConsentChannel,
                          now: datetime, conn: BaseDBAsyncClient) -> str | None:
        """Create the follow in the lowest free slots of its target and of its follower (and
        the owner's slot, the first time); the reason when none is free."""
        policy, live = self.policy, Follow.filter(ended_at=None).using_db(conn)
        kind = kind_of(request)
        target_id = request.vehicle_id if kind is VEHICLE else request.licence_id
        target = {f"{kind.column}_id": target_id}
        target_slots = set(await live.filter(**target).values_list(kind.target_slot, flat=True))
        follower_slots = set(await live.filter(follower_id=request.requester_id, **_of_kind(kind))
                             .values_list(kind.follower_slot, flat=True))
        most = policy.max_vehicles if kind is VEHICLE else policy.max_licences
        free_target = [n for n in range(1, policy.followers_per_vehicle + 1)
                       if n not in target_slots]
        free_follower = [n for n in range(1, most + 1) if n not in follower_slots]
        if not free_target:
            return f"该{kind.words.noun}已有 {len(target_slots)} 位关注人"
        if not free_follower:
            return f"您已关注 {len(follower_slots)}/{most} {kind.words.unit}"
        if kind is VEHICLE and request.owner_id_number:
            full = await self._take_owner(request, conn)
            if full is not None:
                return full
        await Follow.create(
            follower_id=request.requester_id, **target, request=request,
            consent=channel, started_at=now,
            valid_until=consent_valid_until(now, by_sms=request.asked_by is AskedBy.SMS,
                                            valid_days=self.config.sms_consent_valid_days),
            **{kind.target_slot: free_target[0], kind.follower_slot: free_follower[0]},
            active_key=_pair(request.requester_id, kind, target_id), using_db=conn)
        return None

    async def _take_owner(self, request: FollowRequest, conn: BaseDBAsyncClient) -> str | None:
        """The follower's slot of this vehicle owner, kept for good (once per owner); under
        the 12123 profile numbered up to owners_ever, so a new owner past it is refused."""
        mine = FollowedOwner.filter(user_id=request.requester_id).using_db(conn)
        # Counted before looking for this owner: a slot committed in between (a concurrent
        # approval of another car of the same owner) is then found, not counted as a stranger.
        owners = await mine.count()
        if await mine.filter(owner_id_number=request.owner_id_number).exists():
            return None
        if self.policy.owners_ever is not None and owners >= self.policy.owners_ever:
            return f"您已关注过 {owners} 位车主的车辆，已达上限"
        await FollowedOwner.create(user_id=request.requester_id,
                                   owner_id_number=request.owner_id_number, n=owners + 1,
                                   using_db=conn)
        return None

    async def enter_code(self, request_id: int, code: str, *, evidence: Evidence) -> CodeResult:
        """The owner's SMS code, typed on the page or relayed in chat: a right one approves,
        ``code_max_tries`` wrong ones end the request."""
        now, limit = self._now(), self.config.code_max_tries
        request = await FollowRequest.get_or_none(id=request_id)
        if request is None or request.asked_by is not AskedBy.SMS:
            return CodeResult(False, "该关注请求不存在")
        if request.state is not RequestState.PENDING or request.expires_at <= now:
            return CodeResult(False, _not_pending(request, now))
        if request.code_tries >= limit:
            return CodeResult(False, LOCKED)
        if hmac.compare_digest(self._code_hash(request_id, code.strip()), request.code_hash):
            decided = await self.decide(request_id, True, evidence=evidence)
            if decided.done and decided.state == RequestState.APPROVED:
                return CodeResult(True, f"验证通过，{kind_of(request).words.owner}已同意关注")
            return CodeResult(False, decided.reason)
        counted = await FollowRequest.filter(
            id=request_id, state=RequestState.PENDING, code_tries__lt=limit,
        ).update(code_tries=F("code_tries") + 1)
        await request.refresh_from_db(fields=["state", "code_tries"])
        if not counted:
            return CodeResult(False, LOCKED if request.state is RequestState.PENDING
                              else _not_pending(request, now))
        left = limit - request.code_tries
        if left > 0:
            return CodeResult(False, f"验证码错误，还可尝试 {left} 次")
        # A requester who typed the relayed code reads the outcome in this reply; told again
        # (an event), they would find a second "关注结果" item for the same news.
        await self._end(request_id, RequestState.FAILED, LOCKED,
                        tell=evidence.channel != "code")
        return CodeResult(False, LOCKED)

    async def by_token(self, token: str) -> FollowRequest | None:
        """The request a consent link names (decided or not), with requester and target."""
        return await (FollowRequest.filter(token_hash=token_digest(token))
                      .prefetch_related("requester", "vehicle", "licence").first())

    async def _end(self, request_id: int, state: RequestState, reason: str, *,
                   tell: bool) -> bool:
        """Move a pending request to an end without a follow; tell the requester."""
        moved = await FollowRequest.filter(id=request_id, state=RequestState.PENDING).update(
            state=state, reason=reason[:64], pending_key=None, decided_at=self._now())
        if moved:
            await self._conversations.pending.close(REQUESTED, str(request_id))
        if moved and tell:
            await self._events.publish(Event(DECIDED, str(request_id)))
        return bool(moved)

    # -- ending follows ----------------------------------------------------------------------

    async def unfollow(self, follow_id: int, follower: User) -> bool:
        """The follower ends a follow; the owner, if a user, is told."""
        follow = await Follow.get_or_none(id=follow_id, follower_id=follower.id,
                                          ended_at=None).prefetch_related("vehicle", "licence")
        if follow is None or not await self._finish(follow.id, EndedBy.UNFOLLOW):
            return False
        target = target_of(follow)
        owner = await registered_user(target.owner_id_number)
        if owner is not None:
            await self._tell(owner, f"{mask_name(follower.real_name)}已取消关注您的"
                                    f"{target.described}。")
        return True

    async def revoke(self, follow_id: int, owner: User) -> bool:
        """The owner (or holder) ends someone's follow of their vehicle or licence; the
        follower is told."""
        follow = await Follow.get_or_none(id=follow_id, ended_at=None).prefetch_related(
            "vehicle", "licence", "follower")
        if follow is None:
            return False
        target = target_of(follow)
        if (not target.owner_id_number or target.owner_id_number != owner.id_number
                or not await self._finish(follow.id, EndedBy.REVOKE)):
            return False
        await self._tell(follow.follower, f"{target.kind.words.owner}已撤销您对"
                                          f"{target.described}的关注。")
        return True

    async def expire_overdue(self) -> int:
        """The backstop of each request's deferred expiry event, which is lost if the process
        dies between the request's commit and queueing it: the expiry event of every request
        still pending past its deadline (once per request: the event's job id). Returns how
        many were due."""
        due = await FollowRequest.filter(state=RequestState.PENDING,
                                         expires_at__lte=self._now()).values_list("id", flat=True)
        for request_id in due:
            await self._events.publish(Event(EXPIRED, str(request_id)))
        return len(due)

    async def ask_unasked(self) -> int:
        """The backstop of asking the owner, which a process that dies right after a
        request's commit never does: every pending request left unasked ``ask_after`` seconds
        after its commit is asked now. Returns how many were."""
        now = self._now()
        due = await FollowRequest.filter(
            state=RequestState.PENDING, asked_at=None, expires_at__gt=now,
            created_at__lte=now - timedelta(seconds=self.config.ask_after),
        ).values_list("id", flat=True)
        asked = [request_id for request_id in due if await self.ask(request_id)]
        if asked:
            log.warning("%d follow requests left unasked were asked", len(asked))
        return len(asked)

    async def lapse_consents(self) -> int:
        """The daily job: SMS consents past their year end; each follower is told and
        offered to ask again. Returns how many lapsed."""
        due = await Follow.filter(ended_at=None, valid_until__lte=self._now()).prefetch_related(
            "vehicle", "licence")
        lapsed = 0
        for follow in due:
            if not await self._finish(follow.id, EndedBy.LAPSE):
                continue
            lapsed += 1
            target = target_of(follow)
            offer = Offer(LAPSED, str(follow.id), f"关注已到期：{target.masked}，可重新申请",
                          target.kind.flow, {target.kind.column: target.id})
            for conversation in await conversations_of(follow.follower_id):
                await self._conversations.offer(conversation, offer)
        if lapsed:
            log.info("%d follows lapsed after a year", lapsed)
        return lapsed

    async def _finish(self, follow_id: int, ended_by: EndedBy) -> bool:
        """End a live follow once, freeing its slots."""
        return bool(await Follow.filter(id=follow_id, ended_at=None).update(
            ended_at=self._now(), ended_by=ended_by, vehicle_slot=None, follower_slot=None,
            licence_slot=None, follower_licence_slot=None, active_key=None))

    async def _tell(self, user: User, text: str) -> None:
        for conversation in await conversations_of(user.id):
            await self._push(conversation, Reply(text))

    # -- lists -------------------------------------------------------------------------------

    async def following(self, user: User) -> list[Follow]:
        """The user's live follows, with their vehicles and licences, oldest first."""
        return await (Follow.filter(follower_id=user.id, ended_at=None)
                      .prefetch_related("vehicle", "licence").order_by("started_at", "id"))

    async def followers(self, record: Record) -> list[Follow]:
        """Who follows the vehicle or licence now, with the followers, oldest first."""
        return await (Follow.filter(**Target.of(record).match, ended_at=None)
                      .prefetch_related("follower").order_by("started_at", "id"))

    async def pending_of(self, requester: User) -> list[FollowRequest]:
        """The requester's requests awaiting an owner, with their vehicles and licences."""
        return await (FollowRequest.filter(requester_id=requester.id,
                                           state=RequestState.PENDING,
                                           expires_at__gt=self._now())
                      .prefetch_related("vehicle", "licence").order_by("id"))

    def _code_hash(self, request_id: int, code: str) -> str:
        """HMAC-SHA256 with the SMS pepper, bound to the request: never the code itself."""
        return hmac.new(self._pepper, f"{SMS_PURPOSE}\n{request_id}\n{code}".encode(),
                        hashlib.sha256).hexdigest()


def _not_pending(request: FollowRequest, now: datetime) -> str:
    if request.state is RequestState.PENDING:  # past its deadline, the expiry not yet run
        return NOT_PENDING[RequestState.EXPIRED]
    return NOT_PENDING[request.state]


async def registered_user(id_number: str) -> User | None:
    """The person (a vehicle's owner, a licence's holder) as a registered user with a bound
    conversation, or None."""
    if not id_number:
        return None
    return await User.filter(id_number=id_number, unregistered_at=None,
                             identities__id__isnull=False).first()


async def conversations_of(user_id: int) -> list[Conversation]:
    """Every conversation the user is bound in (WeChat, Alipay), oldest binding first."""
    rows = await (ChannelIdentity.filter(user_id=user_id).order_by("bound_at", "id")
                  .values_list("channel", "external_id"))
    return [Conversation(channel, external_id) for channel, external_id in rows]


def outcome_label(request: FollowRequest) -> str:
    """The request's state as its requester reads it: a licence's holder, not 车主."""
    return request.state.label.replace("车主", kind_of(request).words.owner)


def _outcome_offer(kind: str, request: FollowRequest) -> Offer:
    """The requester's pending item "关注结果", opened in the target's follow journey."""
    target = target_of(request)
    return Offer(kind, str(request.id), f"关注结果：{target.masked} {outcome_label(request)}",
                 target.kind.flow, {"request": request.id})


@on(REQUESTED)
async def follow_requested(event: Event, conversations: Conversations) -> None:
    """Put the request in front of a registered owner, in every conversation of theirs."""
    request = await FollowRequest.get_or_none(id=int(event.reference)).prefetch_related(
        "requester", "vehicle", "licence")
    if request is None or request.state is not RequestState.PENDING:
        return
    owner = await registered_user(request.owner_id_number)
    if owner is None:
        log.warning("follow request %d: the owner is no longer registered", request.id)
        return
    offer = Offer(REQUESTED, str(request.id),
                  f"关注请求：{mask_name(request.requester.real_name)} 请求关注 "
                  f"{target_of(request).masked}", CONSENT_FLOW, {"request": request.id},
                  until=request.expires_at)
    for conversation in await conversations_of(owner.id):
        await conversations.offer(conversation, offer)


@on(DECIDED)
async def follow_decided(event: Event, conversations: Conversations) -> None:
    """Tell the requester the outcome: in the journey waiting on it, or a pending item."""
    request = await FollowRequest.get_or_none(id=int(event.reference)).prefetch_related(
        "vehicle", "licence")
    if request is None:
        return
    await conversations.resume(Conversation.parse(request.conversation), event,
                               offer=_outcome_offer(DECIDED, request), announce=True)


@on(EXPIRED)
async def follow_expired(event: Event, conversations: Conversations) -> None:
    """The request's deadline: a request still pending expires (in the requester's turn) and
    the requester is told; one answered meanwhile is left alone."""
    request = await FollowRequest.get_or_none(id=int(event.reference)).prefetch_related(
        "vehicle", "licence")
    if request is None:
        return

    async def claim() -> bool:
        now = timezone.localtime(timezone.now())  # the stored zone (see Follows._now)
        return bool(await FollowRequest.filter(
            id=request.id, state=RequestState.PENDING, expires_at__lte=now,
        ).update(state=RequestState.EXPIRED, pending_key=None, decided_at=now))

    request.state = RequestState.EXPIRED
    await conversations.resume(Conversation.parse(request.conversation), event,
                               offer=_outcome_offer(EXPIRED, request), claim=claim,
                               announce=True)
