"""Masking of personal data, the one place that decides what a reply or a log line may show.

DOMAIN.md: ID and licence numbers keep the first 4 and last 4 characters, phones 3 + 4, VINs
only the last 6, names the first character. Masks keep the length, so a masked value still
looks like what it is.
"""

from __future__ import annotations

import logging
import re


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


_PERSONAL_DATA = re.compile(
    r"(?<![0-9A-Za-z])(?:"
    r"(?P<id>[0-9]{17}[0-9Xx])"
    # A VIN needs at least one letter, so long numeric ids (message ids) stay readable.
    r"|(?P<vin>(?=[0-9]*[A-Za-z])[A-HJ-NPR-Za-hj-npr-z0-9]{17})"
    r")(?![0-9A-Za-z])"
    r"|(?<![0-9])(?P<prefix>(?:\+|00)?86)?(?P<phone>1[3-9][0-9]{9})(?![0-9])"
)


def _mask_match(match: re.Match[str]) -> str:
    if match["id"]:
        return mask_id_number(match["id"])
    if match["vin"]:
        return mask_vin(match["vin"])
    return (match["prefix"] or "") + mask_phone(match["phone"])


def scrub(text: str) -> str:
    """Mask every ID number (18), VIN (17) and mobile number (11) found in free text."""
    return _PERSONAL_DATA.sub(_mask_match, text)


class PersonalDataFilter(logging.Filter):
    """Log filter that masks personal data in the formatted message; install on handlers."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True
