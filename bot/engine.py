"""The conversation engine: moves a user through journeys declared as data.

A journey (``Flow``) is a dict of named ``State``s. Each state has a prompt, the input it
accepts (numbered ``Choice``s, a ``Field`` type, or extra command words) and what happens
next: the name of another state, or an async handler that decides. A handler declares the
states it may lead to (``@exits``); the flow checks them when it is built and the engine
refuses any other at run time.

Journeys stack: a handler may ``Call`` another journey (a face check, an SMS code), which
ends with ``Return(result)``; the result goes to the caller's state named by ``then``. A
journey may ``Await`` an outside event (bot.events.Event) by its reference; ``deliver``
resumes it when the event comes. ``begin`` starts a journey for a user from outside, on top
of whatever they are doing, which resumes when it ends.

The engine knows nothing of wire formats (channels do), of any particular journey (flows
do), nor of where sessions live: ``step``, ``deliver`` and ``begin`` take the loaded
session and return the next one, so their caller may batch the session I/O (the inbox).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from bot import synonyms
from bot.fields import Field, InvalidInput, choice_number
from bot.messages import Conversation, Inbound, InboundKind, Link, Reply
from bot.session import Frame, Session, SessionStore

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.events import Event
    from bot.messages import Conversation

log = logging.getLogger(__name__)

MENU_WORDS = frozenset({"菜单", "帮助", "menu", "help", "?", "？"})
CANCEL_WORDS = frozenset({"取消", "退出"})
BACK_WORDS = frozenset({"返回", "上一步"})
WELCOME = "欢迎关注交巡警！"  # the menu under it names what can be done here
UNIVERSAL_HINT = "（随时回复“返回”回到上一步，“取消”结束当前操作，“菜单”查看全部服务）"
SORRY = "系统繁忙，请稍后再试。"
KEEP_WAITING, LEAVE = "继续等待", "离开"
_MENU = "menu"  # what a user who leaves a wait goes to, when it is not a journey


@dataclass
class Turn:
    """What one turn shares across the journeys it passes through: lines to show before the
    next prompt, and each state's choices, worked out once per turn."""

    notes: list[str] = field(default_factory=list)
    # The link of a journey that ended over another: the resumed prompt carries it.
    link: Link | None = None
    choices: dict[tuple[str, str], Sequence[Choice]] = field(default_factory=dict)
    memo: dict[Any, Any] = field(default_factory=dict)
    # Values read for this turn before it began, by name (the inbox reads the conversation's
    # query pause with its claim: the journeys' guard needs no round trip of its own).
    prefetched: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """What a flow handler sees: the user, the journey's data and the app's dependencies."""

    channel: str
    user_id: str
    data: Any  # the flow's data class (Flow.data), or a dict for a flow without one
    deps: Deps  # None only in engine tests whose journeys use nothing
    turn: Turn = field(default_factory=Turn)

    @property
    def conversation(self) -> str:
        """The conversation's key ("wechat:<openid>"), as records and limits name it."""
        return Conversation(self.channel, self.user_id).key

    @property
    def notes(self) -> list[str]:
        return self.turn.notes

    def say(self, text: str) -> None:
        """Queue a line shown before the next prompt."""
        self.turn.notes.append(text)

    async def once(self, key: Any, load: Callable[[], Awaitable[Any]]) -> Any:
        """``load()`` the first time in this turn, the same value after: a prompt and its
        choices (or a handler and the next prompt) share one lookup."""
        if key not in self.turn.memo:
            self.turn.memo[key] = await load()
        return self.turn.memo[key]

    def remember(self, key: Any, value: Any) -> None:
        """What ``once(key, ...)`` returns later in this turn, already read with something
        else (the VIN step reads the vehicle and its first page in one go)."""
        self.turn.memo[key] = value


@dataclass(frozen=True)
class Stay:
    """Input understood but not accepted: show why, then the same prompt again."""

    message: str


@dataclass(frozen=True)
class Done:
    """The journey is over (with any journey that called it): show the reply, and the menu
    under it when ``menu`` (a refusal: say what the user can do instead)."""

    reply: Reply | str
    menu: bool = False


@dataclass(frozen=True)
class StartFlow:
    """Leave this journey and begin another, optionally with seed data."""

    flow: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    """Run another journey on top of this one; its result goes to this flow's state ``then``,
    whose handler receives it (``Cancelled`` when the user cancelled it)."""

    flow: str
    then: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Return:
    """End this sub-journey and hand ``result`` to the journey that called it."""

    result: Any = None


@dataclass(frozen=True)
class Await:
    """Wait in ``state`` for the outside event with this reference (``deliver``)."""

    reference: str
    state: str


@dataclass(frozen=True)
class Cancel:
    """End this journey as if the user had cancelled it (passes a cancel on to the caller)."""


@dataclass(frozen=True)
class Cancelled:
    """The result a caller gets when the user cancelled its sub-journey."""


CANCELLED = Cancelled()

# What a handler returns: the next state by name, or one of the moves above.
Transition = str | Stay | Done | StartFlow | Call | Return | Await | Cancel
Handler = Callable[[Context, Any], Awaitable[Transition]]
Prompt = str | Callable[[Context], Awaitable[Reply | str]]
Guard = Callable[[Context], Awaitable[str | None]]
ChoiceSource = Sequence["Choice"] | Callable[[Context], Awaitable[Sequence["Choice"]]]
H = TypeVar("H", bound=Callable[..., Awaitable[Any]])


def exits(*states: str, calls: Sequence[str] = ()) -> Callable[[H], H]:
    """Declare the states a handler may lead to (returned, awaited in, or a ``Call``'s
    ``then``) and the journeys it may call; anything else is refused."""

    def declare(handler: H) -> H:
        handler.exits = frozenset(states)  # type: ignore[attr-defined]
        handler.calls = frozenset(calls)  # type: ignore[attr-defined]
        return handler

    return declare


def declared_exits(handler: object) -> frozenset[str]:
    return getattr(handler, "exits", frozenset())


def declared_calls(handler: object) -> frozenset[str]:
    return getattr(handler, "calls", frozenset())


@dataclass(frozen=True)
class Choice:
    """A numbered option; picking it stores ``value`` (default: the label) or jumps to ``goto``."""

    label: str
    goto: str | None = None
    value: Any = None

    @property
    def picked(self) -> Any:
        return self.label if self.value is None else self.value


@dataclass(frozen=True)
class State:
    prompt: Prompt
    choices: ChoiceSource = ()
    field: Field | None = None
    save: str | None = None
    then: str | Handler | None = None
    commands: dict[str, str | Handler] = dataclasses.field(default_factory=dict)

    @property
    def handlers(self) -> list[Handler]:
        return [h for h in (self.then, *self.commands.values()) if callable(h)]

    def targets(self) -> list[str]:
        """The states this one leads to without a handler deciding."""
        found = [self.then] if isinstance(self.then, str) else []
        if not callable(self.choices):
            found.extend(c.goto for c in self.choices if c.goto)
        found.extend(t for t in self.commands.values() if isinstance(t, str))
        return found


@dataclass(frozen=True)
class Flow:
    name: str
    title: str
    start: str
    states: dict[str, State]
    in_menu: bool = True
    click_key: str | None = None
    # Asked before the journey starts: a message refuses the start (a pause, a closed service).
    guard: Guard | None = None
    # Run (with None) as the journey starts, after the guard, to decide its first step: the
    # work a sub-journey does at once (start a check, send a code), or a seeded journey
    # picking up where its seed says. Its exits are declared like any handler's.
    on_start: Handler | None = None
    # The journey's data: a dataclass of JSON-able fields (None: a plain dict).
    data: type | None = None
    # Its title typed inside another journey opens it on top of that one, which resumes when
    # it ends, instead of leaving it (待处理: answering a request loses nothing).
    overlay: bool = False

    def __post_init__(self) -> None:
        targets = [self.start]
        for state in self.states.values():
            targets.extend(state.targets())
        for handler in self.handlers:
            targets.extend(declared_exits(handler))
        unknown = sorted(set(targets) - set(self.states))
        if unknown:
            raise ValueError(f"flow {self.name}: unknown states {unknown}")

    @property
    def handlers(self) -> list[Handler]:
        """Every handler of the journey: its states' and the one run at its start."""
        found = [handler for state in self.states.values() for handler in state.handlers]
        return found + ([self.on_start] if self.on_start is not None else [])

    @property
    def calls(self) -> frozenset[str]:
        """The journeys this one may call."""
        return frozenset(name for handler in self.handlers for name in declared_calls(handler))

    def load(self, raw: Mapping[str, Any]) -> Any:
        """The journey's data from its JSON form; fields it no longer has are dropped."""
        if self.data is None:
            return dict(raw)
        names = {f.name for f in dataclasses.fields(self.data)}
        return self.data(**{k: v for k, v in raw.items() if k in names})

    def dump(self, data: Any) -> dict[str, Any]:
        """The journey's data as JSON, fields at their defaults left out to keep it small."""
        if not dataclasses.is_dataclass(data):
            return dict(data)
        default = self.data() if self.data is not None else None
        return {f.name: getattr(data, f.name) for f in dataclasses.fields(data)
                if default is None or getattr(data, f.name) != getattr(default, f.name)}


class Step(NamedTuple):
    """What one message did: the reply, and the session to keep (None: forget it)."""

    reply: Reply
    session: Session | None


class _Refused(Exception):
    """A handler led somewhere it did not declare: a bug in a flow."""


class Engine:
    """Turns one inbound message (or outside event) and the stored session into a reply and
    the next session."""

    def __init__(self, flows: Sequence[Flow], store: SessionStore,
                 deps: Deps | None = None) -> None:
        self.flows = {flow.name: flow for flow in flows}
        self.menu_flows = [flow for flow in flows if flow.in_menu]
        self.click_keys = {flow.click_key: flow.name for flow in flows if flow.click_key}
        self.store = store
        self.deps = deps
        for flow in flows:
            missing = sorted(flow.calls - set(self.flows))
            if missing:
                raise ValueError(f"flow {flow.name}: calls unknown journeys {missing}")

    async def handle(self, inbound: Inbound) -> Reply:
        """Load the user's session, take one step and store the result."""
        step = await self.step(inbound, await self.store.load(inbound.conversation.key))
        await self.store.put(inbound.conversation.key, step.session)
        return step.reply

    async def step(self, inbound: Inbound, session: Session | None,
                   prefetched: Mapping[str, Any] | None = None) -> Step:
        """One message against a session already loaded: the reply and the session after it
        (None: no journey goes on). No session I/O, so a caller may batch it (the inbox)."""
        run = _Run(self, inbound.channel, inbound.user_id, session)
        run.turn.prefetched = prefetched or {}
        if inbound.kind is InboundKind.SUBSCRIBE:
            return run.finish(self.menu(WELCOME))
        if inbound.kind is InboundKind.CLICK:
            flow = self.click_keys.get(inbound.event_key)
            return await run.leave_for(flow or _MENU)
        return await run.guarded(run.text(inbound.text.strip()))

    async def deliver(self, conversation: Conversation, session: Session | None,
                      event: Event) -> Step | None:
        """If the journey on top of the session's stack waits on ``event.reference``, resume
        it with the event (its waiting state's handler receives it) and return the step;
        else None (the caller turns the event into a pending item for the user)."""
        if session is None or session.top.awaiting != event.reference:
            return None
        run = _Run(self, conversation.channel, conversation.user_id, session)
        return await run.guarded(run.resume(event))

    async def begin(self, conversation: Conversation, session: Session | None, flow: str,
                    data: Mapping[str, Any]) -> Step:
        """Start a journey for this user from outside (another person's request): the current
        journey is kept beneath it on the stack and resumed when it ends."""
        run = _Run(self, conversation.channel, conversation.user_id, session)
        run.session = None  # the journey starts on its own; the old stack goes beneath
        run.beneath = list(session.frames) if session else []
        return await run.guarded(run.start(flow, data))

    def menu(self, heading: str = "") -> Reply:
        text = (heading + "\n\n" if heading else "") + "请回复数字选择服务："
        return Reply(text, choices=tuple(flow.title for flow in self.menu_flows))

    def titled(self, text: str) -> Flow | None:
        """The menu journey with exactly this title (a service name typed in a journey)."""
        return next((flow for flow in self.menu_flows if flow.title == text), None)

    def menu_pick(self, text: str) -> Flow | None:
        choice = _pick([Choice(f.title, value=f) for f in self.menu_flows], text)
        return choice.value if choice else None


class _Run:
    """One turn of one user: the stack of frames it works on and what it has said so far."""

    def __init__(self, engine: Engine, channel: str, user_id: str,
                 session: Session | None) -> None:
        self.engine = engine
        self.channel, self.user_id = channel, user_id
        self.session = session
        self.beneath: list[Frame] = []  # journeys kept under one begun from outside
        self.turn = Turn()

    # ---- the stack ----------------------------------------------------------------------

    @property
    def frame(self) -> Frame:
        assert self.session is not None
        return self.session.top

    def flow(self, frame: Frame | None = None) -> Flow:
        return self.engine.flows[(frame or self.frame).flow]

    def context(self, frame: Frame) -> Context:
        return Context(self.channel, self.user_id, self.flow(frame).load(frame.data),
                       self.engine.deps, self.turn)

    def keep(self, frame: Frame, ctx: Context) -> None:
        frame.data = self.flow(frame).dump(ctx.data)

    def chain_root(self) -> Frame:
        """The journey the user started that the top frame serves (its callers' first)."""
        assert self.session is not None
        frames = self.session.frames
        index = len(frames) - 1
        while index > 0 and frames[index - 1].then is not None:
            index -= 1
        return frames[index]

    def pop_chain(self) -> None:
        """End the top journey with every journey waiting for its result."""
        assert self.session is not None
        frames = self.session.frames
        while frames:
            frames.pop()
            if not frames or frames[-1].then is None:
                break
        if not frames:
            self.session = None

    # ---- turns --------------------------------------------------------------------------

    async def guarded(self, work: Awaitable[Step]) -> Step:
        try:
            return await work
        except _Refused as exc:
            log.error("journey refused: %s", exc)
            return Step(Reply(SORRY), None)

    async def text(self, text: str) -> Step:
        word = text.lower()
        if self.session is not None and self.session.leaving:
            return await self.answer_leaving(text)
        if word in MENU_WORDS:
            return await self.leave_for(_MENU)
        if word in CANCEL_WORDS:
            return await self.cancel()
        meant = synonyms.lookup(text)  # everyday phrasings: a journey or an answer
        if self.session is None or any(f.flow not in self.engine.flows
                                       for f in self.session.frames):
            self.session = None
            if meant is not None and meant.answer is not None:
                return self.finish(self.engine.menu(meant.answer))
            flow = self.engine.menu_pick(text) or (
                self.engine.flows.get(meant.flow) if meant and meant.flow else None)
            if flow is None:
                return self.finish(self.engine.menu("没有理解您的意思。" if text else ""))
            return await self.start(flow.name, {})
        frame = self.frame
        state = self.flow().states.get(frame.state)
        if state is None:
            return self.finish(self.engine.menu())
        if word in BACK_WORDS:
            return await self.back()
        if meant is not None and meant.answer is not None and not _waits(state):
            # the same question under it; a state that takes any text hears it instead
            self.turn.notes.append(meant.answer)
            return await self.enter(self.context(frame), remember=False)
        ctx = self.context(frame)
        choices = await self.choices(ctx, state)
        wanted = self.engine.titled(text)
        if wanted is not None and not _pick(choices, text) and text not in state.commands:
            if wanted.overlay:
                return await self.open_over(wanted.name)
            return await self.leave_for(wanted.name)
        outcome = await self.accept(ctx, state, choices, text)
        return await self.apply(ctx, outcome)

    async def back(self) -> Step:
        frame = self.frame
        frame.awaiting = None
        if frame.history:
            frame.state = frame.history.pop()
            return await self.enter(self.context(frame))
        assert self.session is not None
        if len(self.session.frames) > 1:
            # back out of a sub-journey to the step that called it, or out of a journey opened
            # on top of another (待处理, a request begun from outside) to that one
            self.session.frames.pop()
            self.frame.then = None
            return await self.enter(self.context(self.frame))
        self.session = None
        return self.finish(self.engine.menu())

    async def cancel(self) -> Step:
        """The user cancels the top journey; a caller hears so (``CANCELLED``)."""
        if self.session is None:
            return self.finish(self.engine.menu())
        frames = self.session.frames
        frames.pop()
        if frames and frames[-1].then is not None:
            return await self.resume_with(CANCELLED)
        if frames:
            self.turn.notes.append("已取消当前操作。")
            return await self.enter(self.context(self.frame))
        self.session = None
        return self.finish(self.engine.menu("已取消当前操作。"))

    async def leave_for(self, target: str, *, confirmed: bool = False) -> Step:
        """A menu word or menu click: leave the journeys (saying so) for the menu or another
        journey; a journey that waits on an outside event asks first."""
        if self.session is not None and self.session.awaiting and not confirmed:
            self.session.leaving = target
            title = self.engine.flows[self.chain_root().flow].title
            return Step(Reply(f"“{title}”正在等待结果（如刷脸认证），离开后结果到达时会作为"
                              "待处理事项通知您。确定离开吗？",
                              choices=(KEEP_WAITING, LEAVE)), self.session)
        if self.session is not None and self.chain_root().flow in self.engine.flows:
            title = self.engine.flows[self.chain_root().flow].title
            self.turn.notes.append(f"已退出“{title}”。")
        self.session = None
        if target == _MENU:
            return self.finish(self.engine.menu())
        return await self.start(target, {})

    async def open_over(self, flow: str) -> Step:
        """Start ``flow`` on top of the journeys in progress, kept beneath it."""
        assert self.session is not None
        self.beneath, self.session = self.session.frames, None
        return await self.start(flow, {})

    async def answer_leaving(self, text: str) -> Step:
        assert self.session is not None
        target, choice = self.session.leaving, _pick(
            [Choice(KEEP_WAITING), Choice(LEAVE)], text)
        if choice is None:
            return Step(Reply("请回复 1 继续等待，或回复 2 离开。",
                              choices=(KEEP_WAITING, LEAVE)), self.session)
        self.session.leaving = None
        if choice.label == LEAVE and target:
            return await self.leave_for(target, confirmed=True)
        return await self.enter(self.context(self.frame), remember=False)

    async def resume(self, event: Event) -> Step:
        """The top journey's awaited event came: its waiting state's handler takes it."""
        frame = self.frame
        state = self.flow().states[frame.state]
        if not callable(state.then):
            raise _Refused(f"{frame.flow}.{frame.state} waits without a handler")
        ctx = self.context(frame)
        return await self.apply(ctx, await self.run_handler(state.then, ctx, event))

    async def resume_with(self, result: Any) -> Step:
        """Hand a sub-journey's result to the handler of its caller's ``then`` state; the
        caller stays where it called from (back from the next sub-journey leads there)."""
        frame = self.frame
        then, frame.then = frame.then, None
        state = self.flow().states.get(then or "")
        if state is None or not callable(state.then):
            raise _Refused(f"{frame.flow}: no handler in state {then} for a result")
        ctx = self.context(frame)
        return await self.apply(ctx, await self.run_handler(state.then, ctx, result))

    # ---- one state ----------------------------------------------------------------------

    async def accept(self, ctx: Context, state: State, choices: Sequence[Choice],
                     text: str) -> Transition:
        """Match the text against the state's commands, choices and field, in that order."""
        command = state.commands.get(text)
        if command is not None:
            return command if isinstance(command, str) else await self.run_handler(
                command, ctx, text)
        choice = _pick(choices, text)
        if choice is not None:
            if choice.goto:
                return choice.goto
            return await self.take(ctx, state, choice.picked)
        if state.field is not None:
            try:
                value = state.field.parse(text)
            except InvalidInput as exc:
                return Stay(exc.hint)
            return await self.take(ctx, state, value)
        if _waits(state):
            return await self.run_handler(state.then, ctx, text)
        if choices:
            return Stay(f"请回复 1-{len(choices)} 之间的数字，或选项的文字。")
        return Stay("请按提示回复。")

    async def take(self, ctx: Context, state: State, value: Any) -> Transition:
        if state.save:
            _put(ctx.data, state.save, value)
        if callable(state.then):
            return await self.run_handler(state.then, ctx, value)
        return state.then or Done("已完成。")

    async def run_handler(self, handler: Handler, ctx: Context, value: Any) -> Transition:
        """Run a handler and hold it to its declared exits."""
        outcome = await handler(ctx, value)
        allowed = declared_exits(handler)
        name = getattr(handler, "__qualname__", repr(handler))
        target = (outcome if isinstance(outcome, str) else outcome.state
                  if isinstance(outcome, Await) else outcome.then
                  if isinstance(outcome, Call) else None)
        if target is not None and target not in allowed:
            raise _Refused(f"{name} led to undeclared state {target!r}")
        if isinstance(outcome, Call) and outcome.flow not in declared_calls(handler):
            raise _Refused(f"{name} called undeclared journey {outcome.flow!r}")
        return outcome

    async def apply(self, ctx: Context, outcome: Transition) -> Step:
        frame = self.frame
        self.keep(frame, ctx)
        if isinstance(outcome, Stay):
            ctx.say(outcome.message)
            return await self.enter(ctx, remember=False)
        frame.awaiting = None
        self.turn.choices.clear()  # the handler acted: choices may have changed
        if isinstance(outcome, Done):
            self.pop_chain()
            reply = outcome.reply if isinstance(outcome.reply, Reply) else Reply(outcome.reply)
            return await self.after_end(reply, menu=outcome.menu)
        if isinstance(outcome, StartFlow):
            self.pop_chain()
            self.beneath = self.session.frames if self.session else []
            self.session = None
            return await self.start(outcome.flow, outcome.data)
        if isinstance(outcome, Call):
            frame.then = outcome.then
            self.beneath = self.session.frames if self.session else []
            self.session = None
            return await self.start(outcome.flow, outcome.data)
        if isinstance(outcome, Return):
            assert self.session is not None
            self.session.frames.pop()
            if not self.session.frames or self.frame.then is None:
                raise _Refused(f"{frame.flow} returned without a caller")
            return await self.resume_with(outcome.result)
        if isinstance(outcome, Cancel):
            return await self.cancel()
        if isinstance(outcome, Await):
            self.move(frame, outcome.state)
            frame.awaiting = outcome.reference
            return await self.enter(ctx)
        self.move(frame, outcome)
        return await self.enter(ctx)

    def move(self, frame: Frame, state: str) -> None:
        if state in frame.history:  # going back to a visited state rewinds, never loops
            del frame.history[frame.history.index(state):]
        elif state != frame.state:
            frame.history.append(frame.state)
        frame.state = state

    async def start(self, flow_name: str, data: Mapping[str, Any]) -> Step:
        """Push a new journey (on ``beneath``, the journeys it goes on top of)."""
        flow = self.engine.flows[flow_name]
        frame = Frame(flow=flow.name, state=flow.start, data=dict(data))
        ctx = Context(self.channel, self.user_id, flow.load(frame.data), self.engine.deps,
                      self.turn)
        if flow.guard is not None:
            refusal = await flow.guard(ctx)
            if refusal is not None:
                return await self.refuse_start(refusal)
        self.session = Session([*self.beneath, frame])
        self.beneath = []
        if flow.on_start is not None:
            outcome = await self.run_handler(flow.on_start, ctx, None)
            if not isinstance(outcome, str):
                return await self.apply(ctx, outcome)
            frame.state = outcome  # where the journey begins: nothing lies behind it
        return await self.enter(ctx)

    async def refuse_start(self, refusal: str) -> Step:
        """A guard refused the journey: a caller hears it was cancelled, with the words."""
        self.session = Session(self.beneath) if self.beneath else None
        self.beneath = []
        if self.session is not None and self.frame.then is not None:
            self.turn.notes.append(refusal)
            return await self.resume_with(CANCELLED)
        return await self.after_end(Reply(refusal), menu=True)

    async def after_end(self, reply: Reply, *, menu: bool = False) -> Step:
        """A journey ended with ``reply``: resume the one beneath, if any, after it (its
        words, choices and hints go before the resumed prompt, its link with it); else show
        the menu under it when asked."""
        if self.session is None:
            return self.finish(self.engine.menu(reply.text) if menu else reply)
        self.turn.notes.append(reply.as_text())
        self.turn.link = reply.link or self.turn.link
        return await self.enter(self.context(self.frame), remember=False)

    async def enter(self, ctx: Context, remember: bool = True) -> Step:
        """Show the prompt of the top frame's state; the session goes on."""
        frame = self.frame
        state = self.flow().states[frame.state]
        prompt = state.prompt if isinstance(state.prompt, str) else await state.prompt(ctx)
        reply = prompt if isinstance(prompt, Reply) else Reply(prompt)
        if self.turn.link is not None:  # an ended journey's last word: the newer link
            reply = Reply(reply.text, reply.choices, self.turn.link, reply.extra)
            self.turn.link = None
        choices = await self.choices(ctx, state)
        if choices and not reply.choices:
            reply = Reply(reply.text, tuple(c.label for c in choices), reply.link, reply.extra)
        if self.turn.notes:
            reply = Reply("\n".join([*self.turn.notes, "", reply.text]).strip(), reply.choices,
                          reply.link, reply.extra)
        self.keep(frame, ctx)
        if remember and not frame.history and len(self.session.frames) == 1:
            reply = Reply(reply.text, reply.choices, reply.link, (*reply.extra, UNIVERSAL_HINT))
        return Step(reply, self.session)

    def finish(self, reply: Reply) -> Step:
        """No journey goes on: show the reply, forget the session."""
        if self.turn.notes:
            reply = Reply("\n".join([*self.turn.notes, reply.text]), reply.choices, reply.link,
                          reply.extra)
        return Step(reply, None)

    async def choices(self, ctx: Context, state: State) -> Sequence[Choice]:
        """A state's choices, asked of its source once per turn."""
        if not callable(state.choices):
            return state.choices
        key = (self.frame.flow, self.frame.state)
        if key not in self.turn.choices:
            self.turn.choices[key] = await state.choices(ctx)
        return self.turn.choices[key]


def _put(data: Any, name: str, value: Any) -> None:
    if isinstance(data, dict):
        data[name] = value
    else:
        setattr(data, name, value)


def _waits(state: State) -> bool:
    """A state with neither choices nor a field hands any input (or an event) to its handler."""
    return callable(state.then) and state.field is None and not state.choices


def _pick(choices: Sequence[Choice], text: str) -> Choice | None:
    """A choice by its number (bot.fields.choice_number) or by its exact label."""
    number = choice_number(text)
    if number is not None and number <= len(choices):
        return choices[number - 1]
    return next((c for c in choices if c.label == text.strip()), None)
