"""A test-only journey that records, where a test can see it, every step the engine ran.

Tests plug it into an Engine (or the app, through the ``flows`` fixture) to count how often
a message was really processed, in which order, and to make a step slow on purpose.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.engine import Context, Flow, State, exits

PROBE_KEY = "PROBE"


@dataclass
class Probe:
    """Click ``PROBE`` to start; every text is then heard (after ``delay``) and echoed."""

    delay: float = 0.0
    broken: bool = False  # every step raises, like a bug in a flow
    heard: list[str] = field(default_factory=list)  # texts, in the order steps began
    running: int = 0
    most_at_once: int = 0  # steps of the probe that ran at the same time, at most
    starts: int = 0
    prefetched: list[dict[str, object]] = field(default_factory=list)  # each step's reads

    @property
    def flow(self) -> Flow:
        return Flow(name="probe", title="探针", start="listen", in_menu=False,
                    click_key=PROBE_KEY,
                    states={"listen": State(prompt=self._prompt, then=self._hear)})

    async def _prompt(self, ctx: Context) -> str:
        seen = ctx.data.get("seen", [])
        if not seen:
            self.starts += 1
            return "请说话"
        return f"收到：{seen[-1]}"

    @exits("listen")
    async def _hear(self, ctx: Context, text: str) -> str:
        self.heard.append(text)
        self.prefetched.append(dict(ctx.turn.prefetched))
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.running -= 1
        if self.broken:
            raise RuntimeError("a bug in a flow")
        ctx.data["seen"] = [*ctx.data.get("seen", []), text]
        return "listen"
