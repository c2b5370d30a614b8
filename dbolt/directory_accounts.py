"""A directory account's password in the vault: how it is sealed and opened.

The orchestrator seals the password it generates for a new account and opens it to hand it
to the worker; the portal opens it to reveal it to the customer who owns the account or to
staff. Both bind it to the account's place (customer and directory) as associated data, so
a sealed value copied onto another customer's row does not open. Nothing here logs.
"""

from __future__ import annotations

import uuid

from dbolt.vault import Sealed, Vault


def sealing_context(customer_id: uuid.UUID | str, directory_id: str) -> str:
    """What a directory account's password is bound to (the vault's associated data)."""
    return f"directory_account:{customer_id}:{directory_id}"


def seal_password(
    vault: Vault, customer_id: uuid.UUID | str, directory_id: str, password: str
) -> Sealed:
    return vault.seal(password.encode(), sealing_context(customer_id, directory_id))


def open_password(
    vault: Vault, customer_id: uuid.UUID | str, directory_id: str, key_id: str, sealed: bytes
) -> str:
    """The plaintext password (VaultError if the key is gone or the row is not its own)."""
    return vault.open(
        Sealed(key_id, bytes(sealed)), sealing_context(customer_id, directory_id)
    ).decode()
