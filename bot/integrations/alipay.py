"""Access to the Alipay open platform through python-alipay-sdk: keys, gateway, client.

Shared by every Alipay service (face verification now, payments later). Keys from Alipay's
console are bare base64 while the SDK wants PEM. In sandbox mode the client talks to the
local simulator (bot/sandbox/alipay.py); the simulator's key pair, and ours when none is
configured, are generated once and kept in the data dir, so a restart keeps the pairing.
"""

from __future__ import annotations

import base64
import os
import secrets
import textwrap
from pathlib import Path

from alipay import AliPay
from alipay.utils import AliPayConfig
from Cryptodome.PublicKey import RSA
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bot.config import ConfigError, Settings

PRODUCTION_GATEWAY = "https://openapi.alipay.com/gateway.do"
SANDBOX_GATEWAY_PATH = "/sandbox/alipay/gateway.do"
SANDBOX_APPID = "2021000000000000"
KEY_BITS = 2048


def pem(key: str, *, private: bool) -> str:
    """A key as PEM: PEM text is kept, bare base64 is wrapped in 64-character lines."""
    text = key.strip()
    if text.startswith("-----BEGIN"):
        return text
    label = "PRIVATE KEY" if private else "PUBLIC KEY"
    body = "\n".join(textwrap.wrap("".join(text.split()), 64))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n"


def check_keys(settings: Settings) -> None:
    """Raise ConfigError naming an [alipay] key the SDK cannot use, at start-up rather than
    at the first face check (by then Redis is started and the database migrated)."""
    for key, private in (("app_private_key", True), ("alipay_public_key", False)):
        value = getattr(settings.alipay, key)
        if not value:
            continue
        try:
            loaded = RSA.importKey(pem(value, private=private))  # the SDK's own parser
        except (ValueError, IndexError, TypeError):
            loaded = None
        if loaded is None or (private and not loaded.has_private()):
            kind = "private" if private else "public"
            raise ConfigError(f"alipay.{key}: not an RSA {kind} key (PEM, or the bare base64 "
                              "from Alipay's console)")


def new_private_key() -> str:
    """A fresh RSA private key, PKCS#8 PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_key_of(private_pem: str) -> str:
    """The public half of a PEM private key, SubjectPublicKeyInfo PEM."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def sandbox_key(data_dir: Path, name: str) -> str:
    """The sandbox private key ``name`` from the data dir, made on first use.

    Several processes may start at once: the key is written to a temporary file and linked
    into place, so exactly one version wins and everyone reads that one.
    """
    path = data_dir / "alipay-sandbox" / f"{name}.pem"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{name}.{secrets.token_hex(4)}")
        draft.write_text(new_private_key())
        draft.chmod(0o600)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process won
        finally:
            draft.unlink()
    return path.read_text()


def sandbox_appid(settings: Settings) -> str:
    return settings.alipay.appid or SANDBOX_APPID


def sandbox_app_key(settings: Settings) -> str:
    """Our private key in sandbox mode: the configured one, else a generated one."""
    configured = settings.alipay.app_private_key
    if configured:
        return pem(configured, private=True)
    return sandbox_key(settings.data_dir, "app")


def sandbox_gateway_key(settings: Settings) -> str:
    """The simulator's private key (it signs answers; we check them with its public half)."""
    return sandbox_key(settings.data_dir, "gateway")


def alipay_keys(settings: Settings, *, sandbox: bool) -> tuple[str, str]:
    """(our application private key, Alipay's public key) as PEM: the simulator's pair in
    sandbox mode, else the configured [alipay] keys."""
    if sandbox:
        return sandbox_app_key(settings), public_key_of(sandbox_gateway_key(settings))
    alipay = settings.alipay
    if alipay.sandbox:
        raise ConfigError("alipay.appid: required when a service uses the real Alipay")
    return (pem(alipay.app_private_key, private=True),
            pem(alipay.alipay_public_key, private=False))


class OpenSslAliPay(AliPay):
    """python-alipay-sdk with its RSA2 signing and checking done by ``cryptography``
    (OpenSSL) rather than pycryptodome: the same PKCS#1 v1.5 signatures (a test compares
    them), about 1 ms less CPU per call signed and 0.27 ms per answer checked, which every
    Alipay push pays. The SDK keeps everything else: the request, the signed content, the
    answer's parsing."""

    def _load_key(self) -> None:
        super()._load_key()
        self._signing_key = serialization.load_pem_private_key(
            self._app_private_key_string.encode(), password=None)
        self._checking_key = serialization.load_pem_public_key(
            self._alipay_public_key_string.encode())

    def _sign(self, unsigned_string: str) -> str:
        if self._sign_type != "RSA2":
            return super()._sign(unsigned_string)
        signature = self._signing_key.sign(unsigned_string.encode(), padding.PKCS1v15(),
                                           hashes.SHA256())
        return base64.b64encode(signature).decode()

    def _verify(self, raw_content: str, signature: str) -> bool:
        if self._sign_type != "RSA2":
            return super()._verify(raw_content, signature)
        try:
            self._checking_key.verify(base64.b64decode(signature), raw_content.encode(),
                                      padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True


def alipay_client(settings: Settings, *, sandbox: bool, timeout: float = 15) -> AliPay:
    """An SDK client for the real Alipay, or for the local simulator when ``sandbox``;
    ``timeout``: seconds a server call may take (the SDK's urlopen)."""
    private_key, alipay_public_key = alipay_keys(settings, sandbox=sandbox)
    client = OpenSslAliPay(sandbox_appid(settings) if sandbox else settings.alipay.appid,
                           app_private_key_string=private_key,
                           alipay_public_key_string=alipay_public_key,
                           sign_type="RSA2", config=AliPayConfig(timeout=timeout))
    # The SDK has no URL argument.
    client._gateway = (settings.server.base_url + SANDBOX_GATEWAY_PATH if sandbox
                       else settings.alipay.gateway or PRODUCTION_GATEWAY)
    return client
