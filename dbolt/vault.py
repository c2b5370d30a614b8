"""Secrets we keep for customers (directory account passwords, parked browser sessions),
encrypted with AES-256-GCM under a key from the environment.

`VAULT_KEYS` is a comma-separated key ring, `id:base64-of-32-bytes`, newest first: new
secrets are sealed with the first key, and every sealed value keeps its key id so old ones
open after a rotation (add the new key in front; drop an old one only after re-sealing).
Each value is bound to where it is stored (`context`, e.g. the account's customer and
directory) as associated data, so a ciphertext copied onto another row does not open.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import string
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_NONCE_BYTES = 12


class VaultError(Exception):
    """A key ring that cannot be used, or a sealed value that does not open."""


@dataclass(frozen=True)
class Sealed:
    key_id: str
    ciphertext: bytes  # nonce || AES-GCM ciphertext and tag


class Vault:
    def __init__(self, keys: dict[str, bytes], current: str) -> None:
        self._keys = keys
        self.current = current

    @classmethod
    def from_spec(cls, spec: str, variable: str = "VAULT_KEYS") -> Vault:
        """Parse `id:base64key,…` (newest first). Errors name the variable, never a key."""
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            key_id, sep, encoded = part.partition(":")
            if not sep or not _KEY_ID.match(key_id):
                raise VaultError(f"{variable}: each key is id:base64 (id of letters, digits, _ -)")
            try:
                key = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise VaultError(f"{variable}: key {key_id!r} is not valid base64") from None
            if len(key) != 32:
                raise VaultError(f"{variable}: key {key_id!r} must be 32 bytes (AES-256)")
            if key_id in keys:
                raise VaultError(f"{variable}: key id {key_id!r} appears twice")
            keys[key_id] = key
            order.append(key_id)
        if not order:
            raise VaultError(f"{variable} is empty: at least one key is needed")
        return cls(keys, order[0])

    def seal(self, plaintext: bytes, context: str) -> Sealed:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self._keys[self.current]).encrypt(nonce, plaintext, context.encode())
        return Sealed(self.current, nonce + sealed)

    def open(self, sealed: Sealed, context: str) -> bytes:
        key = self._keys.get(sealed.key_id)
        if key is None:
            raise VaultError(f"no key {sealed.key_id!r} in the key ring (rotated out too early?)")
        nonce, body = sealed.ciphertext[:_NONCE_BYTES], sealed.ciphertext[_NONCE_BYTES:]
        try:
            return AESGCM(key).decrypt(nonce, body, context.encode())
        except InvalidTag:
            raise VaultError("a sealed value did not open (wrong key or wrong row)") from None


def new_key_spec(key_id: str = "k1") -> str:
    """A fresh key ring entry, for `.env` files and the deploy docs."""
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


_PASSWORD_ALPHABET = string.ascii_letters + string.digits + "-_.!@#%+="


def generate_password(length: int = 20) -> str:
    """A strong password most sites accept: 20 characters with at least one lower, upper,
    digit and symbol (sites that insist on each class refuse otherwise)."""
    while True:
        password = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))
        if (
            any(c.islower() for c in password)
            and any(c.isupper() for c in password)
            and any(c.isdigit() for c in password)
            and any(not c.isalnum() for c in password)
        ):
            return password
