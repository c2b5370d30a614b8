"""The lifecycle directories (sites/lifecycle.py): what each one does differently, and what
they remember — accounts (verified or not), listings (created, seeded, claimed, in
moderation), and every verification email they sent — for the admin API and the tests.

These are the sandbox's directories of the real listing lifecycle (docs/recipes.md, phases):
search before submitting, an account opened with an email address the site verifies by a
real email over SMTP, a listing created only when signed in and verified, a moderation delay,
claiming an existing listing. Their directories.json entries are `lifecycle-<name>`.
"""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from devstack.sandbox.state import name_key


@dataclass(frozen=True)
class LifecycleSite:
    name: str
    title: str
    behaviour: str
    # False: the verification email is never sent (the account can never be verified).
    sends_mail: bool = True
    # True: a new listing is in moderation for Settings.moderation_seconds (404 until then).
    moderated: bool = False
    # True: the listing goes live with one digit of the phone number changed.
    wrong_phone: bool = False

    @property
    def sender(self) -> str:
        return f"no-reply@{self.name}.directory.example"


LIFECYCLE_SITES: tuple[LifecycleSite, ...] = (
    LifecycleSite(
        "lifecycle-listed",
        "Known Names Directory",
        "a search of the businesses it lists (seed them with the admin API)",
    ),
    LifecycleSite(
        "lifecycle-claim",
        "Claim Your Page",
        "a claim button on an existing listing for a signed-in, verified account",
    ),
    LifecycleSite(
        "lifecycle-verify",
        "Inbox Check Listings",
        "sign-up verified by an email with a link; listing only when signed in",
    ),
    LifecycleSite(
        "lifecycle-moderated",
        "Careful Review Directory",
        "a moderation delay before a new listing's page appears",
        moderated=True,
    ),
    LifecycleSite(
        "lifecycle-wrong-phone",
        "Typo Town Listings",
        "publishes listings with one digit of the phone number wrong",
        wrong_phone=True,
    ),
    LifecycleSite(
        "lifecycle-no-mail",
        "Silent Mailer Directory",
        "never sends the verification email it promises",
        sends_mail=False,
    ),
)
BY_NAME: dict[str, LifecycleSite] = {site.name: site for site in LIFECYCLE_SITES}


def wrong_digit(phone: str) -> str:
    """The number with its last digit changed (what a careless directory publishes)."""
    for index in range(len(phone) - 1, -1, -1):
        if phone[index].isdigit():
            return f"{phone[:index]}{(int(phone[index]) + 1) % 10}{phone[index + 1 :]}"
    return phone


@dataclass
class Account:
    site: str
    email: str
    password: str
    verified: bool = False
    token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def as_json(self) -> dict[str, Any]:
        # The password is the test business's throwaway one, but the admin API never shows it.
        return {
            "site": self.site,
            "email": self.email,
            "verified": self.verified,
            "created_at": self.created_at,
        }


@dataclass
class Listing:
    id: int
    site: str
    fields: dict[str, str]
    # Who created it (an account's email), or None: seeded by the admin API.
    created_by: str | None
    live_at: float
    claimed_by: str | None = None
    claimed_at: str | None = None

    @property
    def live(self) -> bool:
        return time.time() >= self.live_at

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "site": self.site,
            "fields": self.fields,
            "created_by": self.created_by,
            "seeded": self.created_by is None,
            "live": self.live,
            "claimed_by": self.claimed_by,
            "claimed_at": self.claimed_at,
        }


@dataclass
class SentMail:
    site: str
    to: str
    subject: str
    link: str
    sent: bool
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return vars(self).copy()


@dataclass
class LifecycleState:
    accounts: dict[tuple[str, str], Account] = field(default_factory=dict)
    listings: list[Listing] = field(default_factory=list)
    mails: list[SentMail] = field(default_factory=list)
    # Session cookie value -> (site, email).
    sessions: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Ids start high so a lifecycle listing's id is never mistaken for a submission's.
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(10_001))

    def reset(self) -> None:
        self.accounts.clear()
        self.listings.clear()
        self.mails.clear()
        self.sessions.clear()

    def account(self, site: str, email: str) -> Account | None:
        return self.accounts.get((site, email.strip().lower()))

    def add_account(self, site: str, email: str, password: str) -> Account:
        account = Account(site, email.strip().lower(), password)
        self.accounts[(site, account.email)] = account
        return account

    def by_token(self, site: str, token: str) -> Account | None:
        for account in self.accounts.values():
            if account.site == site and secrets.compare_digest(account.token, token):
                return account
        return None

    def sign_in(self, account: Account) -> str:
        session = secrets.token_urlsafe(24)
        self.sessions[session] = (account.site, account.email)
        return session

    def signed_in(self, site: str, session: str | None) -> Account | None:
        found = self.sessions.get(session or "")
        if found is None or found[0] != site:
            return None
        return self.account(*found)

    def add_listing(
        self, site: str, fields: dict[str, str], created_by: str | None, delay: float = 0.0
    ) -> Listing:
        listing = Listing(next(self._ids), site, dict(fields), created_by, time.time() + delay)
        self.listings.append(listing)
        return listing

    def claim(self, listing: Listing, email: str, fields: dict[str, str]) -> None:
        """The claimant's business details replace what the listing showed."""
        listing.fields = dict(fields)
        listing.claimed_by = email
        listing.claimed_at = datetime.now(UTC).isoformat()

    def listing(self, site: str, listing_id: int) -> Listing | None:
        for listing in self.listings:
            if listing.site == site and listing.id == listing_id:
                return listing
        return None

    def search(self, site: str, query: str) -> list[Listing]:
        """Live listings whose name holds the query, or whose phone holds its digits."""
        wanted = name_key(query)
        digits = "".join(c for c in query if c.isdigit())
        found = []
        for listing in self.listings:
            if listing.site != site or not listing.live or not wanted:
                continue
            phone = "".join(c for c in listing.fields.get("phone", "") if c.isdigit())
            if wanted in name_key(listing.fields.get("business_name", "")) or (
                len(digits) >= 7 and digits in phone
            ):
                found.append(listing)
        return found

    def mine(self, site: str, email: str) -> list[Listing]:
        return [
            listing
            for listing in self.listings
            if listing.site == site and email in (listing.created_by, listing.claimed_by)
        ]

    def as_json(self, site: str | None = None) -> dict[str, Any]:
        def keep(item: Any) -> bool:
            return site is None or item.site == site

        return {
            "accounts": [a.as_json() for a in self.accounts.values() if keep(a)],
            "listings": [listing.as_json() for listing in self.listings if keep(listing)],
            "mails": [mail.as_json() for mail in self.mails if keep(mail)],
        }
