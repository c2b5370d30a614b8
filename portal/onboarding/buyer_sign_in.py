"""Signing the buyer in from checkout: once per order, within ONBOARDING_WINDOW_SECONDS, and
only if the database agrees that the account is this purchase's own
(orders_claim_onboarding_sign_in: created for this order, never signed in, no role).

Stripe does not verify the email typed on its page, so anybody else — a buyer who typed
staff's or another customer's address — is sent to the normal sign-in (`SignInElsewhere`),
in the same words as a buyer whose one chance is spent.
"""

from __future__ import annotations

import logging
import uuid

import httpx
from supabase_auth.errors import AuthError
from supabase_auth.types import Session

from dbolt.auth_admin import AuthAdminError
from dbolt.sql import InvalidTransition, NotFound
from portal.auth import client as auth
from portal.state import PortalState

log = logging.getLogger(__name__)

# How long after the order was recorded its checkout session id may sign the buyer in.
ONBOARDING_WINDOW_SECONDS = 30 * 60


class SignInElsewhere(Exception):
    """Already used, too late, or an account this purchase did not create: the buyer signs in
    with the emailed link or code instead."""


class AutomaticSignInFailed(Exception):
    """Auth failed or could not be asked; the one chance is not spent."""


class _NotTheBuyersOwn(Exception):
    """Auth's session is not one checkout may hand out; refused like the database refuses."""


def _has_role(session: Session) -> bool:
    app_metadata = session.user.app_metadata or {}
    return bool(app_metadata.get("role"))


async def sign_in_buyer(state: PortalState, session_id: str, order_id: uuid.UUID) -> Session:
    """The buyer's session, if checkout `session_id` may still sign them in."""
    try:
        async with state.db.as_service() as q:
            claimed = await q.fetch_one(
                "orders_claim_onboarding_sign_in",
                session_id=session_id,
                window_seconds=ONBOARDING_WINDOW_SECONDS,
            )
            assert claimed is not None
            # Inside the claim's transaction: if Auth fails, the one chance is not spent.
            link = await auth.generate_magic_link(state, claimed["email"])
            session = await auth.session_from_token_hash(
                state, link.hashed_token, link.verification_type
            )
            # The database has checked the account; these hold even if Auth disagrees.
            if session.user.id != str(claimed["user_id"]):
                raise LookupError("Auth signed in another user than the order's customer")
            if _has_role(session):
                raise _NotTheBuyersOwn("Auth signed in a user with a role from checkout")
    except (InvalidTransition, NotFound, _NotTheBuyersOwn) as refusal:
        log.log(
            logging.ERROR if isinstance(refusal, _NotTheBuyersOwn) else logging.INFO,
            "onboarding sign-in refused",
            extra={
                "action": "portal.onboarding_sign_in_refused",
                "reason": type(refusal).__name__,
                "order_id": str(order_id),
            },
        )
        raise SignInElsewhere from refusal
    except (AuthError, AuthAdminError, LookupError, httpx.HTTPError) as error:
        log.error(
            "onboarding sign-in failed",
            extra={"action": "portal.onboarding_sign_in_failed", "error": type(error).__name__},
        )
        raise AutomaticSignInFailed from error
    log.info(
        "buyer signed in from checkout",
        extra={"action": "portal.onboarding_signed_in", "order_id": str(order_id)},
    )
    return session
