"""Whether Mailgun authenticated an inbound mail's sender, from the verdicts it adds to it.

The From header is anyone's to write, and Mailgun's webhook signature covers neither the
sender nor the body. A mail may only wake a directory waiting for it (inbound_emails_receive)
when its From domain is vouched for by one of:

- DKIM: Mailgun's `X-Mailgun-Dkim-Check-Result` is `Pass`, and every `DKIM-Signature` on the
  mail signs for a domain equal to or within the From domain. Mailgun's verdict does not say
  which signature passed: a mail could carry the sender's own good signature (d=evil.example)
  beside a broken one naming the directory's domain, so every signature must be aligned;
- SPF: Mailgun's `X-Mailgun-Spf` is `Pass` (it checks the envelope sender, `sender`), and the
  envelope sender's domain is equal to or within the From domain.

A signing or envelope domain *above* the From domain (d=site.example for From
no-reply@mail.site.example) is not counted: without the public suffix list, "site.example" and
"co.uk" look alike. Such mail is stored unmatched and the directory's wait runs its course.

The verdicts come as form fields and in `message-headers`. A sender can put headers of those
names in its own mail; Mailgun adds its own. Every value found must say `Pass`, so a forged
`Pass` beside Mailgun's `Fail` is no pass. `Authentication-Results` is not read: a sender can
write that header too, and Mailgun does not document that it removes such forgeries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

SPF = "x-mailgun-spf"
DKIM = "x-mailgun-dkim-check-result"
_SIGNATURE = "dkim-signature"
_SIGNING_DOMAIN = re.compile(r"(?:^|;)\s*d\s*=\s*([^;\s]+)", re.IGNORECASE)


@dataclass(frozen=True)
class SenderCheck:
    authenticated: bool
    why: str  # for the webhook's answer and log: which verdict vouched, or why none did


def headers(fields: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Every (lower-case name, value) among the posted fields and in `message-headers`."""
    found: list[tuple[str, str]] = []
    for name, value in fields:
        found.append((name.lower(), value))
        if name.lower() != "message-headers":
            continue
        try:
            pairs = json.loads(value or "[]")
        except ValueError:
            continue
        for pair in pairs if isinstance(pairs, list) else []:
            if isinstance(pair, list) and len(pair) == 2:
                found.append((str(pair[0]).lower(), str(pair[1])))
    return found


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().lower().rstrip(".")


def within(domain: str, parent: str) -> bool:
    """`domain` is `parent` or one of its subdomains (private.domain_is_within's rule)."""
    return bool(domain and parent) and (domain == parent or domain.endswith("." + parent))


def _said(values: list[str]) -> str:
    # The values are the sender's to write too: short in our answer and logs.
    return "/".join(v.strip()[:20] for v in values[:3]) or "verdict missing"


def _all_pass(values: list[str]) -> bool:
    return bool(values) and all(v.strip().lower() == "pass" for v in values)


def check(
    fields: Iterable[tuple[str, str]], from_address: str, envelope_sender: str
) -> SenderCheck:
    """The verdict on a mail whose From address is `from_address` (bare, lower case) and whose
    envelope sender (MAIL FROM, Mailgun's `sender` field) is `envelope_sender`."""
    found = headers(fields)
    from_domain = _domain(from_address)

    def values(name: str) -> list[str]:
        return [value for key, value in found if key == name]

    dkim = values(DKIM)
    signers = [
        match.group(1).lower().rstrip(".")
        for value in values(_SIGNATURE)
        if (match := _SIGNING_DOMAIN.search(value))
    ]
    # A signature whose d= cannot be read counts as not aligned.
    unreadable = len(values(_SIGNATURE)) - len(signers)
    if _all_pass(dkim):
        if signers and not unreadable and all(within(d, from_domain) for d in signers):
            return SenderCheck(True, f"DKIM pass for {signers[0][:100]}")
        dkim_why = "DKIM pass, but not signed for the From domain"
    else:
        dkim_why = f"DKIM {_said(dkim)}"

    spf = values(SPF)
    envelope_domain = _domain(envelope_sender)
    if _all_pass(spf):
        if within(envelope_domain, from_domain):
            return SenderCheck(True, f"SPF pass for {envelope_domain[:100]}")
        spf_why = "SPF pass, but the envelope sender is not within the From domain"
    else:
        spf_why = f"SPF {_said(spf)}"
    return SenderCheck(False, f"sender not authenticated: {dkim_why}; {spf_why}")
