"""The orchestrator's staff API, called on a staff user's behalf.

Interventions go through the orchestrator (never straight to SQL from the portal) so there
is one door to the queue; `X-Actor` carries the staff user's email so the audit log names
them (the orchestrator records `staff:<email>`).
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from portal.state import PortalState
from portal.viewer import Viewer

log = logging.getLogger(__name__)

Action = Literal["retry", "pause", "resume", "cancel"]
ACTIONS: tuple[Action, ...] = ("retry", "pause", "resume", "cancel")
# The orchestrator's X-Actor pattern; an address outside it is named by the user id instead.
_ACTOR = re.compile(r"^[A-Za-z0-9._@+:-]{1,200}$")


# What a staff page's notice says for each failure code its redirect carries (the review
# queue's and the job page's): the page prints only these fixed words, never text from the
# URL, which anyone can craft and send to staff; an unknown code gets the generic one.
ERRORS: dict[str, str] = {
    "listing_url": "listing_url: the listing URL must be a full http:// or https:// address;"
    " nothing was changed.",
    "reason": "reason: a reason is required (at most 2000 characters); nothing was changed.",
    "form": "The form was not filled in correctly; nothing was changed.",
    "unreachable": "The orchestrator cannot be reached right now; nothing was changed."
    " Try again shortly.",
    "staff_key": "The orchestrator refused the portal's staff API key; nothing was changed.",
    "not_found": "That job or directory was not found; nothing was changed.",
    "invalid_transition": "That job or directory is no longer in a state this action applies"
    " to (it may have changed meanwhile); nothing was changed. Its current state is shown"
    " on the page.",
}
GENERIC_ERROR = "The orchestrator refused this; nothing was changed."


def error_text(code: str) -> str:
    return ERRORS.get(code, GENERIC_ERROR)


def refusal_code(status: int) -> str:
    """The code of an orchestrator refusal, by its HTTP status (its words stay in the log)."""
    return {401: "staff_key", 403: "staff_key", 404: "not_found", 409: "invalid_transition"}.get(
        status, "refused"
    )


class InterventionFailed(Exception):
    """The orchestrator refused or could not be reached; `message` is for the staff user."""

    def __init__(self, message: str, status: int, code: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        # A fixed name for the failure (ERRORS above), which the review queue's
        # redirect carries instead of the message so the page never prints text from a URL.
        self.code = code


@dataclass(frozen=True)
class Outcome:
    action: Action
    job_id: uuid.UUID
    status: str | None
    retried: int | None


# The actions whose reason the customer reads ("Paused by our team: …").
NEEDS_REASON: frozenset[Action] = frozenset({"pause", "cancel"})
REASON_MAX = 500


def reason_problem(action: Action, reason: str | None) -> str | None:
    """What is wrong with the reason given for this action, in words for the staff user."""
    if action not in NEEDS_REASON:
        return None
    if not reason:
        return "Say why, in words the customer will read on their job page."
    if len(reason) > REASON_MAX:
        return f"Keep the reason to {REASON_MAX} characters (it has {len(reason)})."
    return None


def actor_of(viewer: Viewer) -> str:
    return viewer.email if _ACTOR.match(viewer.email or "") else str(viewer.user_id)


async def post_as_staff(
    state: PortalState, viewer: Viewer, path: str, body: dict[str, Any] | None, log_action: str
) -> httpx.Response:
    """POST {orchestrator}{path} with the staff key, as `viewer` (X-Actor). Unreachable or
    refused, it raises InterventionFailed with the words for the staff user (and logs them
    under `<log_action>.refused`); otherwise the 200 response."""
    settings = state.settings
    headers = {
        "Authorization": f"Bearer {settings.staff_api_key.get_secret_value()}",
        "X-Actor": actor_of(viewer),
    }
    url = f"{settings.orchestrator_url.rstrip('/')}{path}"
    try:
        response = await state.http.post(url, json=body, headers=headers)
    except httpx.HTTPError as error:
        log.warning(
            "orchestrator unreachable",
            extra={"action": "staff.orchestrator_unreachable", "error": type(error).__name__},
        )
        raise InterventionFailed(error_text("unreachable"), 503, "unreachable") from error
    if response.status_code != 200:
        message = _refusal(response)
        log.warning(
            "orchestrator refused a staff action",
            extra={"action": f"{log_action}.refused", "error": message[:500]},
        )
        raise InterventionFailed(message, response.status_code, refusal_code(response.status_code))
    return response


async def intervene(
    state: PortalState,
    viewer: Viewer,
    action: Action,
    job_id: uuid.UUID,
    directory_ids: list[str] | None = None,
    reason: str | None = None,
) -> Outcome:
    body: dict[str, Any] | None = None
    if action == "retry":
        path = "/jobs/retry"
        body = {"job_id": str(job_id)}
        if directory_ids:
            body["directory_ids"] = directory_ids
    else:
        path = f"/jobs/{job_id}/{action}"
        if action in NEEDS_REASON:
            body = {"reason": reason}
    response = await post_as_staff(state, viewer, path, body, f"staff.{action}")
    data = response.json()
    log.info(
        "staff intervention",
        extra={"action": f"staff.{action}", "job_id": str(job_id), "actor": actor_of(viewer)},
    )
    return Outcome(action, job_id, data.get("status"), data.get("retried"))


def _refusal(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    if response.status_code in (401, 403):
        # The portal's STAFF_API_KEY does not match the orchestrator's: an ops problem.
        return "The orchestrator refused the portal's staff API key; nothing was changed."
    if isinstance(detail, str) and detail:
        return detail
    return f"The orchestrator refused this ({response.status_code}); nothing was changed."


async def health(state: PortalState) -> dict[str, Any] | None:
    """The orchestrator's /healthz body (dispatch paused and why), or None if unreachable."""
    base = state.settings.orchestrator_url.rstrip("/")
    try:
        response = await state.http.get(f"{base}/healthz", timeout=2.0)
        body: dict[str, Any] = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    return body
