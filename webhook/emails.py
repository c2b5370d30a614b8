"""The customer emails, each as a plain-text part and an HTML part (dbolt.mailer).

Everything interpolated into HTML is escaped; links are built by the notifier from the
portal's URL map (portal-contract: /auth/confirm, /jobs/<id>, /jobs/<id>/report).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from html import escape
from typing import Any

from dbolt import mailer
from dbolt.package_promise import Promise
from dbolt.refusals import directory_reason
from dbolt.words import count_of

# The HTML is one fluid column: no fixed widths and no layout tables, long words and URLs
# wrap (overflow-wrap), and it reads at 360 px as on a desktop client. Mail clients drop
# <style> blocks and ignore viewport tags often enough that everything is inline.
_BODY = (
    "margin: 0; padding: 16px; font-family: sans-serif; color: #1a1a1a; line-height: 1.5; "
    "overflow-wrap: anywhere; word-break: break-word"
)
_COLUMN = "max-width: 600px; margin: 0 auto"
_BUTTON = (
    "display: inline-block; max-width: 100%; box-sizing: border-box; padding: 10px 16px; "
    "background: #0b5394; color: #ffffff; text-decoration: none; border-radius: 4px"
)
_SMALL = "font-size: 13px; color: #444444"


@dataclass(frozen=True)
class Email:
    subject: str
    paragraphs: list[str]
    button: str
    url: str
    items: tuple[str, ...] = ()
    # Mail the customer may stop (reminders): the link goes in List-Unsubscribe and the footer.
    unsubscribe_url: str | None = None

    def message(self, to: str) -> EmailMessage:
        lines = [*self.paragraphs]
        if self.items:
            lines.append("\n".join(f"- {item}" for item in self.items))
        lines.append(f"{self.button}: {self.url}")
        lines.append("— DirectoryBolt")
        if self.unsubscribe_url:
            lines.append(f"{UNSUBSCRIBE_LINK}: {self.unsubscribe_url}\n{UNSUBSCRIBE_NOTE}")
        text = "\n\n".join(lines) + "\n"
        items = (
            "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in self.items) + "</ul>"
            if self.items
            else ""
        )
        unsubscribe = (
            f'<p style="{_SMALL}"><a href="{escape(self.unsubscribe_url, quote=True)}">'
            f"{escape(UNSUBSCRIBE_LINK)}</a>. {escape(UNSUBSCRIBE_NOTE)}</p>"
            if self.unsubscribe_url
            else ""
        )
        html = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(self.subject)}</title></head>"
            f'<body style="{_BODY}"><div style="{_COLUMN}">'
            + "".join(f"<p>{escape(p)}</p>" for p in self.paragraphs)
            + items
            + f'<p><a href="{escape(self.url, quote=True)}" style="{_BUTTON}">'
            f"{escape(self.button)}</a></p>"
            f'<p style="{_SMALL}">Or paste this address into your '
            f"browser: {escape(self.url)}</p>"
            "<p>— DirectoryBolt</p>" + unsubscribe + "</div></body></html>"
        )
        return mailer.build_message(
            to, self.subject, text, html, unsubscribe_url=self.unsubscribe_url
        )


UNSUBSCRIBE_LINK = "Stop reminder emails"
UNSUBSCRIBE_NOTE = "We will still email you about your order and your report."


def _money(amount: int | None, currency: str | None) -> str:
    if amount is None:
        return ""
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get((currency or "").lower())
    value = f"{amount / 100:,.2f}"
    return f"{symbol}{value}" if symbol else f"{value} {(currency or '').upper()}"


def _package_today(order: dict[str, Any]) -> list[str]:
    """What the package delivers today from the catalogue, as the pricing page says it."""
    today = order.get("directories_today")
    if today is None or today >= order["directory_limit"]:
        return []
    return [
        f"Today our catalogue has up to {count_of(today, 'directory')} for this package. "
        "Any directory that cannot take your business is replaced by the next one that can; "
        "whatever we still cannot deliver is refunded to your card, pro rata, when your job "
        "completes."
    ]


def payment_received(order: dict[str, Any], sign_in_url: str) -> Email:
    paid = _money(order["amount_total"], order["currency"])
    limit = count_of(order["directory_limit"], "directory")
    package = f"{str(order['tier']).title()} package ({limit})"
    return Email(
        subject="Payment received — tell us about your business",
        paragraphs=[
            f"Thank you: we received your payment{' of ' + paid if paid else ''} "
            f"for the DirectoryBolt {package}.",
            *_package_today(order),
            "Next, fill in your Business Info Form (name, address, phone, website, category "
            "and opening hours). We start submitting to directories as soon as it is complete.",
            "The button signs you in; it works once and expires in an hour. Afterwards you can "
            "always sign in again with your email address.",
        ],
        button="Fill in your business details",
        url=sign_in_url,
    )


def job_started(job: dict[str, Any], job_url: str) -> Email:
    return Email(
        subject=f"We have started submitting {job['business_name']}",
        paragraphs=[
            f"Good news: we have started submitting {job['business_name']} to "
            f"{count_of(job['directories'], 'directory')}.",
            "You can watch each directory's progress live on your job page.",
        ],
        button="Watch the progress",
        url=job_url,
    )


def _sentence(words: str | None) -> str | None:
    return f"{words[0].upper()}{words[1:]}." if words else None


def job_complete(job: dict[str, Any], report_url: str) -> Email:
    needs_action = len(job["needs_action"])
    paragraphs = [
        f"All done: we have worked through every directory for {job['business_name']}.",
        f"{job['submitted']} of {count_of(job['directories'], 'directory')} accepted your "
        f"business or already listed it; {job['failed']} could not be completed.",
    ]
    # Why each directory that did not take it refused, in plain words (never what a site
    # wrote), and what became of every directory not submitted (replaced, refunded, retried).
    reasons = {
        row["directory"]: directory_reason(row, job) or "it did not take the listing"
        for row in job.get("not_taken") or []
    }
    fates: dict[str, str | None] = {}
    if job.get("promise"):
        # The package's promise, in the words the job page and the report use.
        promise = Promise.from_row(job["promise"])
        paragraphs += promise.sentences("complete")
        fates = {
            entry["directory"]: promise.fate(entry, "complete")
            for entry in job.get("not_submitted") or []
        }
    items = tuple(
        f"{name}: "
        + " ".join(part for part in (_sentence(reasons.get(name)), fates.get(name)) if part)
        for name in dict.fromkeys([*fates, *reasons])
        if reasons.get(name) or fates.get(name)
    )
    if needs_action:
        paragraphs.append(
            f"{count_of(needs_action, 'directory still needs', 'directories still need')} "
            "something from you; the report says what."
        )
    paragraphs.append("Your report lists every directory, its outcome and listing links.")
    if items:
        # Last, so the list printed after the paragraphs follows its heading.
        paragraphs.append("What became of each directory we did not submit to:")
    return Email(
        subject=f"Your DirectoryBolt report for {job['business_name']} is ready",
        paragraphs=paragraphs,
        items=items,
        button="Open your report",
        url=report_url,
    )


def needs_action(
    job: dict[str, Any],
    job_url: str,
    reminder: int | None = None,
    unsubscribe_url: str | None = None,
) -> Email:
    items = tuple(f"{entry['directory']}: {entry['action']}" for entry in job["needs_action"])
    intro = (
        f"A reminder: {count_of(len(items), 'directory is', 'directories are')} still "
        "waiting for you"
        if reminder
        else f"{count_of(len(items), 'directory needs', 'directories need')} you to finish "
        "the listing"
    )
    return Email(
        subject=(
            f"Reminder: {count_of(len(items), 'directory is', 'directories are')} waiting "
            f"for {job['business_name']}"
            if reminder
            else f"Action needed for {job['business_name']}"
        ),
        paragraphs=[
            f"{intro} for {job['business_name']} — usually a confirmation email or phone call "
            "from the directory:",
        ],
        items=items,
        button="See what to do",
        url=job_url,
        unsubscribe_url=unsubscribe_url,
    )
