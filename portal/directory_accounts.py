"""The accounts we opened on directories for a customer, as the portal shows them: listed
(login, site, when) on the job page, the staff drill-down and the report; the password only
on request, one account at a time, to its owner or to staff who say why.

The list is read under the viewer's JWT, which never reaches the sealed password (column
grants, migration 20261206000400). A reveal is the one read on a viewer's behalf that runs
as the service role: only after the viewer's own read found the account (so another
customer's is a 404), and through directory_accounts_reveal, which checks a customer owns it
again, insists on a staff member's reason and audits who saw it and why. The password is
opened here with VAULT_KEYS and goes only into the page that asked for it (never cached,
never logged).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from dbolt.directory_accounts import open_password
from dbolt.sql import NotFound
from dbolt.vault import VaultError
from portal.database import QuerySession
from portal.jobs.reads import NOT_YOURS
from portal.state import PortalState
from portal.viewer import Viewer

log = logging.getLogger(__name__)

CANNOT_OPEN = (
    "We could not show this password just now. Our team has been told; please try again later."
)


class PasswordUnavailable(Exception):
    """The stored password did not open (its key is missing from VAULT_KEYS)."""


# Pages that show a password must not be kept by the browser or anything in between.
NO_STORE = {"Cache-Control": "private, no-store", "Pragma": "no-cache"}


async def job_accounts(
    q: QuerySession, viewer: Viewer, job_id: uuid.UUID, *, staff: bool = False
) -> list[dict[str, Any]]:
    """The accounts of the job's customer on the job's directories (a reorder reuses the
    accounts an earlier job opened): on the customer's pages only the viewer's own (staff
    included), on the dashboard (`staff`) any job's."""
    if staff:
        return await q.fetch_all("directory_accounts_list", job_id=job_id)
    return await q.fetch_all("directory_accounts_list_own", job_id=job_id, user_id=viewer.user_id)


async def find_account(
    state: PortalState, viewer: Viewer, job_id: uuid.UUID, account_id: uuid.UUID, *, staff: bool
) -> dict[str, Any]:
    """The account as the viewer may see it on this job's page; NotFound (404) otherwise."""
    async with state.db.as_viewer(viewer) as q:
        accounts = await job_accounts(q, viewer, job_id, staff=staff)
    for account in accounts:
        if account["id"] == account_id:
            return account
    raise NotFound(NOT_YOURS)


async def reveal_password(
    state: PortalState, viewer: Viewer, account_id: uuid.UUID, *, staff_reason: str | None = None
) -> str:
    """The account's password, audited as the viewer: the owner (`user:<id>`, checked again
    in SQL), or with `staff_reason` a staff member (`staff:<email>`; only the dashboard's
    route, which requires a staff viewer, passes it). Call only after find_account: the
    viewer's own read is what proves they may ask."""
    staff = staff_reason is not None
    actor = f"staff:{viewer.email}" if staff else f"user:{viewer.user_id}"
    reason = staff_reason if staff else None
    async with state.db.as_service() as q:
        row = await q.fetch_one(
            "directory_accounts_reveal", account_id=account_id, actor=actor, reason=reason
        )
    assert row is not None
    try:
        return open_password(
            state.settings.vault(),
            row["customer_id"],
            row["directory_id"],
            row["sealed_key_id"],
            row["sealed_password"],
        )
    except VaultError as error:
        # The message names the key id, never a key or the password.
        log.error(
            "a directory account's password did not open",
            extra={
                "action": "vault.open_failed",
                "account_id": str(account_id),
                "error": str(error),
            },
        )
        raise PasswordUnavailable from None
