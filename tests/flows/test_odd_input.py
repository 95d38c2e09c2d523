"""Whatever a user types at the first step of any journey gets an answer, never 系统繁忙."""

from __future__ import annotations

import pytest

from bot.inbox import SORRY
from flows import ALL_FLOWS

ODD_INPUTS = ["①", "²", "１２３", "0", "-1", "99999999999999999999", "😀", "<a>&amp;</a>",
              "]]>", "　", "null", "\u202e渝A12345", "渝A12345" * 50, "%s%d{0}", "\\x00"]


@pytest.mark.parametrize("flow", [f for f in ALL_FLOWS if f.click_key], ids=lambda f: f.name)
async def test_odd_input_at_the_first_step_gets_an_answer(harness, flow):
    user = harness.user(f"openid-odd-{flow.name}")
    for text in ODD_INPUTS:
        assert await user.click(flow.click_key)
        reply = await user.send(text)
        assert reply, text
        assert SORRY.text not in reply, text
