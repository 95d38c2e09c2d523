"""Masking of personal data, the one place that decides what a reply or a log line may show.

DOMAIN.md: ID and licence numbers keep the first 4 and last 4 characters, phones 3 + 4, VINs
only the last 6, names the first character. Masks keep the length, so a masked value still
looks like what it is.

Log lines are masked as a whole (PersonalDataFilter on the root handler, for every logger):
numbers and Chinese names in plain, URL-encoded, JSON-escaped and bytes-repr forms, and the
text of WeChat messages. The access log shows no query strings and no consent-link tokens
(PathOnlyAccessLogger), and aiohttp's parser errors are one line without the raw request
(MalformedRequestFilter).
"""

from __future__ import annotations

import logging
import re

from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web import BaseRequest, StreamResponse


def _keep(value: str, head: int, tail: int) -> str:
    """Star out all but ``head`` leading and ``tail`` trailing characters; too short: all."""
    hidden = len(value) - head - tail
    if hidden <= 0:
        return "*" * len(value)
    return value[:head] + "*" * hidden + value[len(value) - tail :]


def mask_id_number(value: str) -> str:
    """ID or licence number: 1101**********002X."""
    return _keep(value, 4, 4)


def mask_phone(value: str) -> str:
    """Mobile number: 138****5678."""
    return _keep(value, 3, 4)


def mask_vin(value: str) -> str:
    """VIN: ***********042788 (only the last 6, the part drivers use as proof)."""
    return _keep(value, 0, 6)


def mask_name(value: str) -> str:
    """Name: 张** (first character only)."""
    return _keep(value, 1, 0)


def mask_plate(value: str) -> str:
    """Plate number: 渝A***45 (province, authority and the last 2), as told to other people."""
    return _keep(value, 2, 2)


# Log lines carry personal data in the forms software writes it: plain, URL-encoded
# (`%22cert_no%22%3A%22...`, `+` for a space, percent-encoded UTF-8), JSON-escaped (`\u5f20`)
# and Python's repr of bytes (`\xe5\xbc\xa0`, aiohttp's parser errors quote raw requests so).
# A number may follow an escape whose last character is a digit or letter, so the boundary
# before it also accepts a preceding escape.
_ESCAPE_BEFORE = (r"(?<=%[0-9A-Fa-f]{2})|(?<=\\u[0-9A-Fa-f]{4})|(?<=\\x[0-9A-Fa-f]{2})"
                  r"|(?<=\\[nrt])")
# One Chinese character (U+3400..U+9FFF) in any of the four forms.
_HAN = (r"[\u3400-\u9fff]"
        r"|(?:%|\\x)(?:[Ee]3(?:%|\\x)[9ABab]|[Ee][4-9](?:%|\\x)[89ABab])[0-9A-Fa-f]"
        r"(?:%|\\x)[89ABab][0-9A-Fa-f]"
        r"|\\u(?:3[4-9A-Fa-f]|[4-9][0-9A-Fa-f])[0-9A-Fa-f]{2}")
_MIDDLE_DOT = r"·|%[Cc]2%[Bb]7|\\x[Cc]2\\x[Bb]7|\\u00[Bb]7"  # joins a minority name's parts
_UNIT = re.compile(rf"{_HAN}|{_MIDDLE_DOT}|.", re.S)

_PERSONAL_DATA = re.compile(
    # What users type (a message's text or recognised speech) is hidden whole: it holds
    # names, numbers and proofs (the last 6 of a VIN, a file number) in any shape.
    r"(?P<typed><(?P<tag>Content|Recognition)>(?:<!\[CDATA\[)?)"
    r"(?P<text>(?:(?!\]\]>|</(?P=tag)>)[^\n])+)"
    rf"|(?:(?<![0-9A-Za-z])|{_ESCAPE_BEFORE})(?:"
    r"(?P<id>[0-9]{17}[0-9Xx])"
    # A VIN needs at least one letter, so long numeric ids (message ids) stay readable.
    r"|(?P<vin>(?=[0-9]*[A-Za-z])[A-HJ-NPR-Za-hj-npr-z0-9]{17})"
    r")(?![0-9A-Za-z])"
    rf"|(?:(?<![0-9])|{_ESCAPE_BEFORE})(?P<prefix>(?:\+|%2[Bb]|00)?86)?"
    r"(?P<phone>1[3-9][0-9]{9})(?![0-9])"
    # Names cannot be told by shape, but the chat only takes Chinese names (fields.NameField)
    # and our own log messages are English: any run of two or more Chinese characters in a
    # log line is masked as a name. A single character (a plate's 渝) stays.
    rf"|(?P<han>(?:{_HAN})(?:(?:{_MIDDLE_DOT})?(?:{_HAN}))+)"
)


def _mask_match(match: re.Match[str]) -> str:
    if match["typed"]:
        return match["typed"] + "***"
    if match["id"]:
        return mask_id_number(match["id"])
    if match["vin"]:
        return mask_vin(match["vin"])
    if match["phone"]:
        return (match["prefix"] or "") + mask_phone(match["phone"])
    first, *rest = _UNIT.findall(match["han"])
    return first + "*" * len(rest)


def scrub(text: str) -> str:
    """Mask every ID number (18), VIN (17), mobile number (11) and Chinese name found in free
    text, plain or escaped, and hide the text of WeChat messages."""
    return _PERSONAL_DATA.sub(_mask_match, text)


class PersonalDataFilter(logging.Filter):
    """Masks everything a handler would write of a record: the message with its arguments,
    the exception text with its traceback (exception messages quote raw input), the stack.
    Install on handlers, which see the records of every logger."""

    _exceptions = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            # Formatters print a cached exc_text instead of formatting exc_info again.
            record.exc_text = self._exceptions.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


class MalformedRequestFilter(logging.Filter):
    """aiohttp logs a request it cannot parse as an error with a traceback whose message
    quotes the raw request (headers, body: openids, what users typed). A client's malformed
    request is not our failure: one INFO line naming the kind of error, nothing of the
    request. Install on the ``aiohttp.server`` logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            remote = record.args[0] if isinstance(record.args, tuple) and record.args else "-"
            record.msg, record.args = "malformed HTTP request from %s: %s", (
                remote, type(error).__name__)
            record.exc_info = record.exc_text = None
            if record.levelno > logging.INFO:
                record.levelno, record.levelname = logging.INFO, "INFO"
        return True


# Paths whose last segment is a bearer secret (the token of a follow-consent link, which
# opens the owner's consent form, or of a processing owner's face page): only its first 4
# characters are logged, enough to tell two links apart in a log, not to open one.
_SECRET_PATH = re.compile(r"^(/(?:follow/consent|process/owner)/[^/]{0,4})[^/]*")


def loggable_path(path: str) -> str:
    """A request path as a log line may show it: a secret segment cut to its start."""
    return _SECRET_PATH.sub(r"\1***", path)


class PathOnlyAccessLogger(AbstractAccessLogger):
    """Access log lines without query strings or headers: WeChat signs its requests in the
    query (signature, msg_signature, timestamp, nonce, echostr, openid), the sandbox gateway
    and certify page carry names and ID numbers there, and a Referer repeats them. The path
    is logged as received (percent-encoded), so it cannot break a line, with a secret
    segment cut (loggable_path)."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info('%s "%s %s" %d %d %.3fs', request.remote, request.method,
                         loggable_path(request.rel_url.raw_path), response.status,
                         response.body_length, time)
