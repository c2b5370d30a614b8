"""Mailgun's webhook signature: hex HMAC-SHA256 of `timestamp + token` under the HTTP webhook
signing key (documentation.mailgun.com, "Securing Webhooks"), posted beside the payload.

The signature covers neither the mail nor its recipient, so verifying it proves only that
Mailgun issued this (timestamp, token) pair: the caller also refuses stale timestamps, and the
database refuses a token used for another message (inbound_emails_receive).
"""

from __future__ import annotations

import hashlib
import hmac

# Mailgun's tokens are 50 characters; anything far longer is not one of theirs.
MAX_TOKEN_LENGTH = 200


def sign(key: str, timestamp: str, token: str) -> str:
    """The signature Mailgun would post for (timestamp, token)."""
    return hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def problem(
    key: str, timestamp: str, token: str, signature: str, *, now: float, tolerance_seconds: int
) -> str | None:
    """Why this delivery is not a fresh one signed with `key`, or None when it is."""
    if not (timestamp and token and signature):
        return "timestamp, token and signature are required"
    if len(token) > MAX_TOKEN_LENGTH:
        return "token is too long"
    # Constant time, over bytes: a str holding non-ASCII would make compare_digest raise.
    expected = sign(key, timestamp, token).encode()
    if not hmac.compare_digest(expected, signature.strip().lower().encode("utf-8", "replace")):
        return "signature does not verify"
    try:
        issued = int(timestamp)
    except ValueError:
        return "timestamp is not a number of seconds"
    if abs(now - issued) > tolerance_seconds:
        return "timestamp is outside the accepted window"
    return None
