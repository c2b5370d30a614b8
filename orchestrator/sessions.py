"""Parked directories' browser sessions: sealed with the vault before they reach the database,
opened again when the directory is handed out to resume (docs/state-machine.md, parking).

A session holds a directory account's live cookies: it is never logged, and the database
only ever sees it sealed (AES-256-GCM, bound to its job and directory)."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from typing import Any

from dbolt.contracts import STORAGE_STATE_MAX_BYTES, InboundMail, Resume, StorageState
from dbolt.vault import Sealed, Vault, VaultError

log = logging.getLogger(__name__)

# What a session request may add around its storage state (the lease token, the JSON keys):
# the body limit of the session route is the storage state's own plus this.
SESSION_BODY_OVERHEAD_BYTES = 16 * 1024
SESSION_ROUTE_MAX_BODY_BYTES = STORAGE_STATE_MAX_BYTES + SESSION_BODY_OVERHEAD_BYTES


class SessionTooLarge(ValueError):
    pass


def session_context(job_id: uuid.UUID | str, directory_id: str) -> str:
    """What a sealed session is bound to: a ciphertext copied onto another row does not open."""
    return f"directory_session:{job_id}:{directory_id}"


def seal_session(
    vault: Vault, job_id: uuid.UUID, directory_id: str, storage_state: StorageState
) -> Sealed:
    plaintext = json.dumps(storage_state, separators=(",", ":"), ensure_ascii=False).encode()
    if len(plaintext) > STORAGE_STATE_MAX_BYTES:
        raise SessionTooLarge(
            f"storage_state is {len(plaintext)} bytes, over {STORAGE_STATE_MAX_BYTES}"
        )
    return vault.seal(plaintext, session_context(job_id, directory_id))


def _open_session(
    vault: Vault, job_id: uuid.UUID, directory_id: str, session: dict[str, Any]
) -> StorageState | None:
    try:
        sealed = Sealed(session["key_id"], base64.b64decode(session["ciphertext"]))
        opened = json.loads(vault.open(sealed, session_context(job_id, directory_id)))
    except (VaultError, KeyError, binascii.Error, ValueError) as error:
        # The directory still resumes, signed out: its recipe's login phase signs in again.
        log.error(
            "a parked session did not open; the directory resumes without it",
            extra={
                "action": "session.unopened",
                "job_id": str(job_id),
                "directory_id": directory_id,
                "error": type(error).__name__,
            },
        )
        return None
    return opened if isinstance(opened, dict) else None


def resume_of(
    vault: Vault, job_id: uuid.UUID, directory_id: str, raw: dict[str, Any] | None
) -> Resume | None:
    """DirectoryTask.resume from jobs_assignment's `resume` (phase, sealed session, mail)."""
    if not raw:
        return None
    session = raw.get("session")
    mail = raw.get("mail")
    return Resume(
        phase=raw["phase"],
        storage_state=_open_session(vault, job_id, directory_id, session) if session else None,
        mail=InboundMail.model_validate(mail) if mail else None,
    )
