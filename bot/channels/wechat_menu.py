"""The WeChat custom menu, built from the flows' click keys (flows.MENU_LAYOUT)."""

from __future__ import annotations

from typing import Any

from bot.config import Settings


def menu_definition() -> dict[str, Any]:
    """The JSON body of /cgi-bin/menu/create: click buttons whose keys start journeys."""
    from flows import ALL_FLOWS, MENU_LAYOUT

    titles = {flow.click_key: flow.title for flow in ALL_FLOWS if flow.click_key}
    buttons = []
    for name, keys in MENU_LAYOUT:
        subs = [{"type": "click", "name": titles[key], "key": key} for key in keys]
        buttons.append(subs[0] | {"name": name} if len(subs) == 1 else
                       {"name": name, "sub_button": subs})
    return {"button": buttons}


async def install_menu(settings: Settings) -> None:
    from bot.services import running_services

    async with running_services(settings) as services:
        await services.wechat_api.create_menu(menu_definition())
