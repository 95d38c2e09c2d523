"""RSA keys parsed once per run: every app a test starts parses the same sandbox keys
(tests/conftest.py's alipay_sandbox_keys) in five places, and each parse checks the key
(OpenSSL's RSA validation, pycryptodome's primality tests): 0.35 s of CPU per test, most
of a test's set-up. A parsed key is immutable and a pure function of its text, so the run
keeps the first parse of each text; a text that does not parse raises every time, as before.
tests/conftest.py installs this at the start of the run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from Cryptodome.PublicKey import RSA
from cryptography.hazmat.primitives import serialization

# (module, attribute) of every parser the app and the SDK call through the module
_PARSERS = ((serialization, "load_pem_private_key"), (serialization, "load_pem_public_key"),
            (RSA, "import_key"), (RSA, "importKey"))


def _parsed_once(parse: Callable[..., Any]) -> Callable[..., Any]:
    cached = functools.lru_cache(maxsize=64)(
        lambda args, kwargs: parse(*args, **dict(kwargs)))

    @functools.wraps(parse)
    def parse_once(*args: Any, **kwargs: Any) -> Any:
        try:
            key = (args, tuple(sorted(kwargs.items())))
            hash(key)
        except TypeError:  # e.g. a bytearray: parsed as it comes
            return parse(*args, **kwargs)
        return cached(*key)

    parse_once.__wrapped_parser__ = parse  # type: ignore[attr-defined]
    return parse_once


def parse_keys_once() -> None:
    """Make the key parsers keep their results for the rest of the process."""
    for module, name in _PARSERS:
        parser = getattr(module, name)
        if not hasattr(parser, "__wrapped_parser__"):
            setattr(module, name, _parsed_once(parser))
