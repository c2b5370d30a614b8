"""What the customer is told to do when a directory needs them (outcome needs_action).

The words are ours, fixed per kind of action the worker recognised on the site's page; the
site's own text never reaches the customer. It is shown on the job page, the report and the
reminder emails next to "Do what it says, then press I've done it", so a hostile or
compromised directory could otherwise put any instruction (a link, a number to call) in front
of the customer under our name. The site's words are kept for staff in the attempt's message,
which only staff can read (migration 20261205000420).
"""

from __future__ import annotations

import re
from typing import Literal

from dbolt.typed_values import EMAIL_PATTERN

ActionKind = Literal[
    "email_verification", "phone_verification", "listing_differs", "listing_unverified", "other"
]

# How the customer calls the fields a directory's existing listing shows differently.
_NAP_WORDS = {"name": "business name", "address": "address", "phone": "phone number"}

_EMAIL = re.compile(r"e-?mail|inbox|confirmation link|verification link|click the link", re.I)
_PHONE = re.compile(
    r"phone|\bsms\b|text message|\btexted\b|\bby text\b|\bcall (you|us)\b|voice call", re.I
)


def kind_of(site_text: str) -> ActionKind:
    """The kind of action the site's words ask for; both or neither is "other" (staff find
    out what the directory needs and tell the customer)."""
    email, phone = bool(_EMAIL.search(site_text)), bool(_PHONE.search(site_text))
    if email and not phone:
        return "email_verification"
    if phone and not email:
        return "phone_verification"
    return "other"


def customer_action(
    kind: ActionKind,
    directory: str,
    public_email: str | None,
    phone: str | None,
    differing: list[str] | None = None,
) -> str:
    """The customer's instruction in our words. `directory` is the name in our catalogue;
    the address and number are the business's own, as the customer gave them; `differing`
    the fields (name, address, phone) an existing listing shows differently."""
    if kind == "listing_differs":
        named = [_NAP_WORDS[f] for f in differing or [] if f in _NAP_WORDS] or ["details"]
        fields = " and ".join([", ".join(named[:-1]), named[-1]] if len(named) > 1 else named)
        return (
            f"{directory} already lists your business with a different {fields}. "
            "Our team will ask it to correct the listing; tell us if that listing is not yours."
        )
    if kind == "listing_unverified":
        return (
            f"{directory} already shows a listing with your business's name, but not its address"
            " or phone number, so we cannot tell whether it is yours. Our team will check it;"
            " tell us if that listing is yours."
        )
    if kind == "email_verification":
        to = "your business email"
        if public_email and EMAIL_PATTERN.match(public_email):
            to += f" ({public_email})"
        return f"{directory} sent a confirmation email to {to}; open it and click the link in it."
    if kind == "phone_verification":
        to = "your business phone"
        if phone and re.fullmatch(r"\+[0-9]{6,15}", phone):
            to += f" ({phone})"
        return (
            f"{directory} will confirm your listing by a call or text message to {to};"
            " answer it or follow its steps."
        )
    return f"Our team will tell you what {directory} needs."


# A line of a page's text that already ends its sentence (or leads into the next line),
# closing quotes and brackets aside.
_ENDS_SENTENCE = re.compile(r"[.!?\u2026:;,][\"')\u2019\u201d]*$")


def _starts_sentence(line: str) -> bool:
    first = line.lstrip("\"'(\u2018\u201c")[:1]
    return first.isupper() or first.isdigit()


def as_sentences(page_text: str) -> str:
    """A page's text (Chromium's innerText: one line per heading, paragraph or list item) on
    one line, each block its own sentence. A heading has no full stop of its own, so joining
    the lines as they are runs it into the next block ("Check your email Almost done! …");
    a block that does not end its sentence gets a full stop when the next one starts a new
    sentence (a capital), or is the last. A line broken mid-sentence (a <br> before an
    address) is joined with a space."""
    lines = [" ".join(line.split()) for line in page_text.splitlines()]
    lines = [line for line in lines if line]
    said: list[str] = []
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else None
        if not _ENDS_SENTENCE.search(line) and (following is None or _starts_sentence(following)):
            line += "."
        said.append(line)
    return " ".join(said)


def staff_note(site_text: str) -> str:
    """The site's own words, for the attempt's staff-only message."""
    return "the site asked: " + as_sentences(site_text)[:1000]
