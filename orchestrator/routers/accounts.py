"""The worker's door to the vault: the customer's account on a directory (sign-up, login).

POST /jobs/{id}/directories/{directory_id}/account opens the account under the job's lease
(login: the customer's campaign mailbox; password: generated here, sealed with VAULT_KEYS
before it reaches the database) or hands back the one an earlier job opened. The answer
carries a password, so nothing here logs it: the log line names the job, the directory and
whether the account is new, and the orchestrator logs no request or response bodies.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path

from dbolt.contracts import AccountRequest, DirectoryAccount, DirectoryId, ErrorBody
from dbolt.directory_accounts import open_password, seal_password
from dbolt.sql import NotFound
from dbolt.vault import VaultError, generate_password
from orchestrator.dependencies import WORKER_RESPONSES, State, WorkerAuth

log = logging.getLogger(__name__)

router = APIRouter(
    tags=["worker"],
    dependencies=[WorkerAuth],
    responses=WORKER_RESPONSES,
)
_REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such directory in this job"},
    500: {"model": ErrorBody, "description": "The stored password did not open (VAULT_KEYS)"},
    409: {
        "model": ErrorBody,
        "description": "The lease is not held (stale token), or the directory is not in progress",
    },
}


@router.post(
    "/jobs/{job_id}/directories/{directory_id}/account",
    response_model=DirectoryAccount,
    responses=_REFUSALS,
)
async def open_account(
    job_id: Annotated[uuid.UUID, Path(description="The job's id")],
    directory_id: Annotated[DirectoryId, Path()],
    body: AccountRequest,
    state: State,
) -> DirectoryAccount:
    """The customer's account on this directory: opened now (`created`: sign up with it) or
    the one they already have (log in with it). One per customer per directory."""
    place = await state.db.fetch_one(
        "directory_accounts_prepare", job_id=job_id, directory_id=directory_id
    )
    if place is None:
        raise NotFound(f"directory {directory_id} is not part of job {job_id}")
    vault = state.settings.vault()
    # Sealed before we know whether it is needed: the database decides, under the lease,
    # whether this one is stored or the customer's existing account is returned.
    sealed = seal_password(vault, place["customer_id"], directory_id, generate_password())
    row = await state.db.fetch_one(
        "directory_accounts_open",
        job_id=job_id,
        lease_token=body.lease_token,
        directory_id=directory_id,
        login=state.settings.mailbox_address(place["local_part"]),
        site_url=place["homepage"],
        key_id=sealed.key_id,
        password_sealed=sealed.ciphertext,
    )
    assert row is not None
    try:
        password = open_password(
            vault, row["customer_id"], directory_id, row["sealed_key_id"], row["sealed_password"]
        )
    except VaultError as error:
        # An account sealed under a key since dropped from VAULT_KEYS: say so (no secret in
        # the message), the worker treats a 500 as a failed attempt.
        log.error(
            "a directory account's password did not open",
            extra={
                "action": "vault.open_failed",
                "account_id": str(row["account_id"]),
                "error": str(error),
            },
        )
        raise HTTPException(500, "the account's stored password did not open") from None
    log.info(
        "directory account handed over",
        extra={
            "action": "directory_account.opened",
            "job_id": str(job_id),
            "directory_id": directory_id,
            "account_id": str(row["account_id"]),
            "account_created": row["created"],
        },
    )
    return DirectoryAccount(
        login=row["account_login"],
        password=password,
        site_url=row["account_site_url"],
        created=row["created"],
    )
