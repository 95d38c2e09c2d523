"""docs/journeys.md is the output of `python -m bot flows --mermaid`: regenerate it with that
command when a journey changes."""

from pathlib import Path

import pytest

from bot.__main__ import main
from bot.engine import Call, Choice, Context, Flow, State, Transition, exits
from bot.journeys import markdown, mermaid
from flows import ALL_FLOWS

DOC = Path(__file__).parent.parent / "docs" / "journeys.md"


def test_docs_journeys_md_is_current():
    assert DOC.read_text(encoding="utf-8") == markdown(ALL_FLOWS), (
        "docs/journeys.md is stale: python -m bot flows --mermaid > docs/journeys.md")


def test_the_flows_command_prints_the_document(capsys: pytest.CaptureFixture[str]):
    assert main(["flows", "--mermaid"]) == 0
    assert capsys.readouterr().out == markdown(ALL_FLOWS)
    assert main(["flows"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("query_vehicle\t查询车辆违法\t")


def test_a_diagram_shows_choices_commands_declared_exits_and_calls():
    @exits("done", calls=("confirm",))
    async def decide(ctx: Context, value: object) -> Transition:
        return Call("confirm", then="done")

    flow = Flow(name="f", title="F", start="ask", states={
        "ask": State(prompt="?", choices=(Choice("跳过", goto="done"),), then=decide,
                     commands={"重来": "ask"}),
        "done": State(prompt="!"),
    })
    assert mermaid(flow).splitlines() == [
        "stateDiagram-v2",
        "    [*] --> ask",
        "    ask --> done: 跳过",
        "    ask --> ask: 重来",
        "    ask --> done: decide",
        "    note right of ask: calls confirm",
    ]
