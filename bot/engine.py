"""The conversation engine: moves a user through journeys declared as data.

A journey (``Flow``) is a dict of named ``State``s. Each state has a prompt, the input it
accepts (numbered ``Choice``s, a ``Field`` type, or extra command words) and what happens
next: the name of another state, or an async handler that decides. The engine knows nothing
of wire formats (channels do) and nothing of any particular journey (flows do).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from bot.fields import Field, InvalidInput
from bot.messages import Inbound, InboundKind, Reply
from bot.session import Session, SessionStore

MENU_WORDS = frozenset({"菜单", "帮助", "menu", "help", "?", "？"})
CANCEL_WORDS = frozenset({"取消", "退出"})
BACK_WORDS = frozenset({"返回", "上一步"})
WELCOME = "欢迎关注交巡警服务号！在这里可以查询交通违法、关注好友车辆、处理违法和缴纳罚款。"
UNIVERSAL_HINT = "（随时回复“返回”回到上一步，“取消”结束当前操作，“菜单”查看全部服务）"


@dataclass
class Context:
    """What a flow handler sees: the user, the journey's data and the app's services."""

    channel: str
    user_id: str
    data: dict[str, Any]
    services: Any
    notes: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        """Queue a line shown before the next prompt."""
        self.notes.append(text)


@dataclass(frozen=True)
class Stay:
    """Input understood but not accepted: show why, then the same prompt again."""

    message: str


@dataclass(frozen=True)
class Done:
    """The journey is over: show the reply and forget the session."""

    reply: Reply | str


@dataclass(frozen=True)
class StartFlow:
    """Leave this journey and begin another, optionally with seed data."""

    flow: str
    data: dict[str, Any] = field(default_factory=dict)


Outcome = str | Stay | Done | StartFlow
Handler = Callable[[Context, Any], Awaitable[Outcome]]
Prompt = str | Callable[[Context], Awaitable[Reply | str]]
Guard = Callable[[Context], Awaitable[str | None]]
ChoiceSource = Sequence["Choice"] | Callable[[Context], Awaitable[Sequence["Choice"]]]


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

    def __post_init__(self) -> None:
        targets = [self.start]
        for state in self.states.values():
            if isinstance(state.then, str):
                targets.append(state.then)
            if not callable(state.choices):
                targets.extend(c.goto for c in state.choices if c.goto)
            targets.extend(t for t in state.commands.values() if isinstance(t, str))
        unknown = sorted(set(targets) - set(self.states))
        if unknown:
            raise ValueError(f"flow {self.name}: unknown states {unknown}")


class Step(NamedTuple):
    """What one message did: the reply, and the session to keep (None: forget it)."""

    reply: Reply
    session: Session | None


class Engine:
    """Turns one inbound message and the stored session into a reply and the next session."""

    def __init__(self, flows: Sequence[Flow], store: SessionStore, services: Any = None) -> None:
        self.flows = {flow.name: flow for flow in flows}
        self.menu_flows = [flow for flow in flows if flow.in_menu]
        self.click_keys = {flow.click_key: flow.name for flow in flows if flow.click_key}
        self.store = store
        self.services = services

    async def handle(self, inbound: Inbound) -> Reply:
        """Load the user's session, take one step and store the result."""
        step = await self.step(inbound, await self.store.load(inbound.conversation))
        await self.store.put(inbound.conversation, step.session)
        return step.reply

    async def step(self, inbound: Inbound, session: Session | None) -> Step:
        """One message against a session already loaded: the reply and the session after it
        (None: the journey is over). No session I/O, so a caller may batch it (the inbox)."""
        ctx = Context(inbound.channel, inbound.user_id, dict(session.data) if session else {},
                      self.services)
        if inbound.kind is InboundKind.SUBSCRIBE:
            return self._finish(ctx, self.menu(WELCOME))
        if inbound.kind is InboundKind.CLICK:
            flow = self.click_keys.get(inbound.event_key)
            if flow is None:
                return self._finish(ctx, self.menu())
            return await self._start(ctx, flow, {})
        return await self._text(ctx, session, inbound.text.strip())

    async def wake(self, channel: str, user_id: str) -> Reply | None:
        """An outside event for the user (a face result arrived): a state that waits for one
        (no choices, no field) runs its handler with ``None``; any other state ignores it."""
        conversation = f"{channel}:{user_id}"
        session = await self.store.load(conversation)
        flow = self.flows.get(session.flow) if session else None
        state = flow.states.get(session.state) if flow and session else None
        if state is None or not _waits(state):
            return None
        ctx = Context(channel, user_id, dict(session.data), self.services)
        step = await self._apply(ctx, session, await state.then(ctx, None))
        await self.store.put(conversation, step.session)
        return step.reply

    def menu(self, heading: str = "") -> Reply:
        text = (heading + "\n\n" if heading else "") + "请回复数字选择服务："
        return Reply(text, choices=tuple(flow.title for flow in self.menu_flows))

    async def _text(self, ctx: Context, session: Session | None, text: str) -> Step:
        word = text.lower()
        if word in MENU_WORDS:
            return self._finish(ctx, self.menu())
        if word in CANCEL_WORDS:
            heading = "已取消当前操作。" if session else ""
            return self._finish(ctx, self.menu(heading))
        if session is None or session.flow not in self.flows:
            flow = self._menu_pick(text)
            if flow is None:
                return self._finish(ctx, self.menu(
                    "没有理解您的意思。" if text else ""))
            return await self._start(ctx, flow.name, {})
        flow = self.flows[session.flow]
        if word in BACK_WORDS:
            if not session.history:
                return self._finish(ctx, self.menu())
            session.state = session.history.pop()
            return await self._enter(ctx, session)
        state = flow.states.get(session.state)
        if state is None:
            return self._finish(ctx, self.menu())
        outcome = await self._accept(ctx, state, text)
        return await self._apply(ctx, session, outcome)

    async def _accept(self, ctx: Context, state: State, text: str) -> Outcome:
        """Match the text against the state's commands, choices and field, in that order."""
        command = state.commands.get(text)
        if command is not None:
            return command if isinstance(command, str) else await command(ctx, text)
        choices = await self._choices(ctx, state)
        choice = _pick(choices, text)
        if choice is not None:
            if choice.goto:
                return choice.goto
            return await self._take(ctx, state, choice.picked)
        if state.field is not None:
            try:
                value = state.field.parse(text)
            except InvalidInput as exc:
                return Stay(exc.hint)
            return await self._take(ctx, state, value)
        if _waits(state):
            return await state.then(ctx, text)
        if choices:
            return Stay(f"请回复 1-{len(choices)} 之间的数字，或选项的文字。")
        return Stay("请按提示回复。")

    async def _take(self, ctx: Context, state: State, value: Any) -> Outcome:
        if state.save:
            ctx.data[state.save] = value
        if callable(state.then):
            return await state.then(ctx, value)
        return state.then or Done("已完成。")

    async def _apply(self, ctx: Context, session: Session, outcome: Outcome) -> Step:
        if isinstance(outcome, Stay):
            ctx.say(outcome.message)
            return await self._enter(ctx, session, remember=False)
        if isinstance(outcome, Done):
            reply = outcome.reply if isinstance(outcome.reply, Reply) else Reply(outcome.reply)
            return self._finish(ctx, reply)
        if isinstance(outcome, StartFlow):
            return await self._start(ctx, outcome.flow, outcome.data)
        if outcome in session.history:  # going back to a visited state rewinds, never loops
            del session.history[session.history.index(outcome):]
        elif outcome != session.state:
            session.history.append(session.state)
        session.state = outcome
        return await self._enter(ctx, session)

    async def _start(self, ctx: Context, flow_name: str, data: dict[str, Any]) -> Step:
        flow = self.flows[flow_name]
        if flow.guard is not None:
            refusal = await flow.guard(ctx)
            if refusal is not None:
                return self._finish(ctx, Reply(refusal))
        ctx.data = dict(data)
        session = Session(flow=flow.name, state=flow.start)
        return await self._enter(ctx, session)

    async def _enter(self, ctx: Context, session: Session, remember: bool = True) -> Step:
        """Show the prompt of the session's state; the session goes on."""
        state = self.flows[session.flow].states[session.state]
        prompt = state.prompt if isinstance(state.prompt, str) else await state.prompt(ctx)
        reply = prompt if isinstance(prompt, Reply) else Reply(prompt)
        choices = await self._choices(ctx, state)
        if choices and not reply.choices:
            reply = Reply(reply.text, tuple(c.label for c in choices), reply.link, reply.extra)
        if ctx.notes:
            reply = Reply("\n".join([*ctx.notes, "", reply.text]).strip(), reply.choices,
                          reply.link, reply.extra)
        session.data = ctx.data
        if remember and not session.history:
            reply = Reply(reply.text, reply.choices, reply.link, (*reply.extra, UNIVERSAL_HINT))
        return Step(reply, session)

    def _finish(self, ctx: Context, reply: Reply) -> Step:
        """The journey is over: show the reply, forget the session."""
        if ctx.notes:
            reply = Reply("\n".join([*ctx.notes, reply.text]), reply.choices, reply.link,
                          reply.extra)
        return Step(reply, None)

    async def _choices(self, ctx: Context, state: State) -> Sequence[Choice]:
        return await state.choices(ctx) if callable(state.choices) else state.choices

    def _menu_pick(self, text: str) -> Flow | None:
        choice = _pick([Choice(f.title, value=f) for f in self.menu_flows], text)
        return choice.value if choice else None


def _waits(state: State) -> bool:
    """A state with neither choices nor a field hands any input (or a wake-up) to its handler."""
    return callable(state.then) and state.field is None and not state.choices


def _pick(choices: Sequence[Choice], text: str) -> Choice | None:
    """A choice by its number (half- or full-width) or by its exact label."""
    normalised = text.strip().translate(_FULL_WIDTH_DIGITS).rstrip(".、")
    # isdecimal, not isdigit: "①" and "²" are digits that int() refuses.
    if normalised.isdecimal() and 1 <= int(normalised) <= len(choices):
        return choices[int(normalised) - 1]
    return next((c for c in choices if c.label == text.strip()), None)


_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
