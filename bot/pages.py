"""Small mobile web pages (the face return page, the sandbox simulators' pages).

``body`` is HTML the caller built; every value in it that came from outside must have gone
through ``html.escape``.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from aiohttp import web

STYLE = ("body{font-family:-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;"
         "margin:0;padding:24px;text-align:center;color:#222}"
         "h1{font-size:20px;margin:32px 0 16px}p{font-size:15px;line-height:1.6}"
         "button{display:block;width:100%;margin:12px 0;padding:12px;font-size:17px;"
         "border:0;border-radius:6px;color:#fff;background:#1677ff}"
         "button.secondary{background:#999}")


def mobile_page(title: str, body: str, *, status: int = 200, style: str = "",
                private: bool = False) -> web.Response:
    """``style``: CSS of this page's own, after the shared one. ``private``: a page opened
    by a secret link (a token in its path) and holding a form: not stored by caches, shown
    in no frame, named in no Referer to another site, and allowed nothing but its own style
    and forms posting to us (Content-Security-Policy; the style by its hash, no script)."""
    css = STYLE + style
    html = (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{escape(title)}</title><style>{css}</style></head>"
            f"<body><h1>{escape(title)}</h1>{body}</body></html>")
    response = web.Response(text=html, content_type="text/html", status=status)
    if private:
        response.headers.update(_private_headers(css))
    return response


def _private_headers(css: str) -> dict[str, str]:
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return {
        "Content-Security-Policy": (f"default-src 'none'; style-src 'sha256-{digest}'; "
                                    "form-action 'self'; frame-ancestors 'none'; "
                                    "base-uri 'none'"),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        # Not "no-referrer": Chrome then sends "Origin: null" with the page's own POST.
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }
