"""The WeChat custom menu: click buttons whose keys start journeys.

Built from what the composition root passes in (the journeys' click keys and titles, and the
layout of buttons), so this channel module knows no journey.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Layout = Sequence[tuple[str, Sequence[str]]]  # (top-level button, [click keys under it])


def menu_definition(titles: Mapping[str, str], layout: Layout) -> dict[str, Any]:
    """The JSON body of /cgi-bin/menu/create; ``titles`` maps click keys to button names."""
    buttons = []
    for name, keys in layout:
        subs = [{"type": "click", "name": titles[key], "key": key} for key in keys]
        buttons.append(subs[0] | {"name": name} if len(subs) == 1 else
                       {"name": name, "sub_button": subs})
    return {"button": buttons}
