"""The Alipay life account menu: buttons whose click keys start journeys.

Built, like the WeChat menu, from what the composition root passes in (the journeys' click
keys and titles, and the layout), so this channel module knows no journey. A button of
``action_type`` "out" sends a click event with its ``action_param`` to our gateway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.channels.wechat_menu import Layout

MAX_NAME = 9  # characters of a text menu button's name (Alipay's ButtonObject)


def menu_definition(titles: Mapping[str, str], layout: Layout) -> dict[str, Any]:
    """The biz_content of alipay.open.public.menu.create; ``titles`` maps click keys to
    button names. A name Alipay would refuse is a ValueError naming it, before any call."""
    buttons = []
    for name, keys in layout:
        subs = [{"name": titles[key], "action_type": "out", "action_param": key}
                for key in keys]
        for button in [{"name": name}, *subs]:
            if len(button["name"]) > MAX_NAME:
                raise ValueError(f"Alipay menu button {button['name']!r} is over {MAX_NAME} "
                                 "characters")
        buttons.append(subs[0] | {"name": name} if len(subs) == 1 else
                       {"name": name, "sub_button": subs})
    return {"button": buttons}
