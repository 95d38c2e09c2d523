"""Small mobile web pages (the face return page, the sandbox simulators' pages).

``body`` is HTML the caller built; every value in it that came from outside must have gone
through ``html.escape``.
"""

from __future__ import annotations

from html import escape

from aiohttp import web

STYLE = ("body{font-family:-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;"
         "margin:0;padding:24px;text-align:center;color:#222}"
         "h1{font-size:20px;margin:32px 0 16px}p{font-size:15px;line-height:1.6}"
         "button{display:block;width:100%;margin:12px 0;padding:12px;font-size:17px;"
         "border:0;border-radius:6px;color:#fff;background:#1677ff}"
         "button.secondary{background:#999}")


def mobile_page(title: str, body: str, *, status: int = 200) -> web.Response:
    html = (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
            f"<body><h1>{escape(title)}</h1>{body}</body></html>")
    return web.Response(text=html, content_type="text/html", status=status)
