"""Reading a callback's body the same way for every channel: a size limit and a deadline.

A sender that trickles its body or goes away mid-body must not hold a handler: the body gets
``server.read_timeout`` to arrive. What is read is at most one byte over the channel's limit,
so the caller can tell "too large" and answer in its channel's way.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qsl

from aiohttp import web

log = logging.getLogger(__name__)
CLIENT_GONE = 499  # nginx's "client closed request", for the access log


async def read_body(request: web.Request, limit: int, timeout: float) -> bytes | web.Response:
    """The body (``limit`` + 1 bytes at most: more than ``limit`` means too large), or the
    answer for a body that did not come: 408 past ``timeout``, 499 for a client gone."""
    if request.content.is_eof():  # all of it arrived with the headers: no deadline to set
        return await _read_at_most(request, limit + 1)
    try:
        async with asyncio.timeout(timeout):
            return await _read_at_most(request, limit + 1)
    except TimeoutError:  # the access log says so: no line of our own
        return await answer_and_close(request, web.Response(status=408, text="request timeout"))
    except ConnectionError:
        # Gone mid-body: nobody reads this answer; the access log's line is all that is
        # worth logging, never a traceback.
        log.debug("a client went away before its request body arrived (%s)", request.path)
        return web.Response(status=CLIENT_GONE)


FORM_LIMIT = 4096  # our pages' forms hold a token, a code and a button


async def read_form(request: web.Request, timeout: float) -> dict[str, str] | web.Response:
    """A page's urlencoded form, read like a callback's body (``read_body``); anything else
    (multipart, a broken encoding, too large) is a 400 of its own rather than aiohttp's
    ``request.post()`` raising mid-parse."""
    if request.content_type != "application/x-www-form-urlencoded":
        return web.Response(status=400, text="expected a form")
    body = await read_body(request, FORM_LIMIT, timeout)
    if isinstance(body, web.Response):
        return body
    if len(body) > FORM_LIMIT:
        return await answer_and_close(request, web.Response(status=413, text="form too large"))
    try:
        return dict(parse_qsl(body.decode("ascii"), errors="strict"))
    except (UnicodeDecodeError, ValueError):
        return web.Response(status=400, text="unreadable form")


async def answer_and_close(request: web.Request, response: web.Response) -> web.Response:
    """Send ``response``, then close the connection at once: aiohttp would otherwise go on
    reading what is left of the body for up to 10 s (its lingering close)."""
    await response.prepare(request)
    await response.write_eof()
    request.protocol.force_close()  # the transport sends what it holds, then closes
    return response


async def _read_at_most(request: web.Request, size: int) -> bytes:
    """The body, or its first ``size`` bytes; one read() returns only what has arrived so far."""
    if request.content_length is not None and request.content_length < size:
        return await request.read()  # the usual case: a declared length within the limit
    body = b""
    while len(body) < size and (chunk := await request.content.read(size - len(body))):
        body += chunk
    return body
