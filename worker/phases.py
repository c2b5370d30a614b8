"""The listing lifecycle of a recipe with `phases` (docs/recipes.md): look the business up,
sign up with the customer's campaign mailbox, verify the directory's email, log in, submit
(or claim what the lookup found) and read the listing back.

Waiting is never done here: a directory waiting for its email or its moderation is parked
(the browser session saved through the orchestrator, outcome `parked`), and the worker that
resumes it starts at `resume.phase` with that session.

The account's password is typed only into password fields (worker/recipe_runner.py) and is
scrubbed from anything this attempt reports.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

from dbolt.contracts import DirectoryAccount, InboundMail, Outcome, Phase, Resume, WaitKind
from dbolt.nap import compare, normalise_name, normalise_phone
from worker import pages
from worker.outcome import permanent, transient
from worker.recipe import Confirm, Lookup, Phases, PhaseSteps, VerifyEmail
from worker.recipe_runner import RecipeContext, run_recipe

log = logging.getLogger(__name__)

# Phases in the order they run; submit and claim are alternatives (claim: the lookup found
# the business listed with other details).
ORDER = (
    Phase.lookup,
    Phase.signup,
    Phase.verify_email,
    Phase.login,
    Phase.submit,
    Phase.claim,
    Phase.confirm,
)
_MOST_RESULTS = 20
_LINK = re.compile(r"""https?://[^\s"'<>]+""")


class Lifecycle(Protocol):
    """What the phases need from the orchestrator, under the job's lease (JobRunner's
    adapter; a test's recorder)."""

    async def open_account(self) -> DirectoryAccount: ...

    async def save_session(self, storage_state: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class Found:
    """A result of the lookup that is this business (same name or same phone)."""

    name: str
    link: str | None
    differing: list[str]
    shown: dict[str, str]
    # Of address and phone, those the result shows and that match ours. A name alone proves
    # nothing (anyone can list a bare name on a site that takes listings from anyone).
    agreeing: list[str] = field(default_factory=list)


def _at_or_after(start: Phase, phase: Phase) -> bool:
    return ORDER.index(phase) >= ORDER.index(start)


async def run_phases(
    ctx: RecipeContext, phases: Phases, lifecycle: Lifecycle | None, resume: Resume | None
) -> None:
    """Run the phases from the start (or `resume.phase`), leaving the answer in ctx.result."""
    fence, ctx.fence = ctx.fence, None  # only the submit or the claim is fenced
    try:
        await _run(ctx, phases, lifecycle, resume, fence)
    finally:
        ctx.fence = fence
        scrub(ctx)


async def _run(
    ctx: RecipeContext,
    phases: Phases,
    lifecycle: Lifecycle | None,
    resume: Resume | None,
    fence: Any,
) -> None:
    start = resume.phase if resume else Phase.lookup
    result = ctx.result
    claim = False
    # The lookup is read-only, so it runs again on a resume before the submit: the answer
    # (listed meanwhile? claim or create?) is today's, and nothing has to be remembered.
    if phases.lookup is not None and not _at_or_after(Phase.confirm, start):
        found = await lookup(ctx, phases.lookup)
        if found is not None and not found.differing and not found.agreeing:
            # Only the name matches: neither ours to count as delivered nor to claim (it may
            # be another business of that name). Staff look; the customer may tell us.
            result.outcome, result.action_kind = Outcome.needs_action, "listing_unverified"
            result.listing_url = None
            result.message = (
                f"the lookup found {found.name!r} at {found.link} showing no address or phone"
                " to compare; not counted as listed, not claimed"
            )
            return
        if found is not None:
            if not found.differing:
                # Not `confirmed`: that is a site's answer to a submission, and none was made.
                result.outcome, result.confirmed = Outcome.already_listed, False
                result.listing_url = found.link
                result.message = f"the lookup found {found.name!r} listed with the same details"
                ctx.say(f"  already listed: {found.link}")
                return
            if phases.claim is None:
                result.outcome, result.action_kind = Outcome.needs_action, "listing_differs"
                result.differing = found.differing
                result.listing_url = None
                result.message = _differences(ctx, found)
                return
            claim = True
            ctx.values["listing_url"] = found.link or ""
            ctx.say(f"  listed with other details ({', '.join(found.differing)}): claiming")
    account: DirectoryAccount | None = None
    if phases.signup is not None and start in (Phase.lookup, Phase.signup):
        account = await _account(ctx, lifecycle)
        if account.created or start is Phase.signup:
            ctx.say("  signup")
            await run_recipe(ctx, phases.signup, classify=False)
            if phases.verify_email is not None:
                await park(
                    ctx,
                    lifecycle,
                    WaitKind.email,
                    round(phases.verify_email.timeout_hours * 3600),
                    Phase.verify_email,
                )
                return
    if phases.verify_email is not None and start is Phase.verify_email:
        await verify_email(ctx, phases.verify_email, resume.mail if resume else None)
    if phases.login is not None and not _at_or_after(Phase.submit, start):
        account = account or await _account(ctx, lifecycle)
        ctx.say("  login")
        await run_recipe(ctx, phases.login, classify=False)
    if not _at_or_after(Phase.confirm, start):
        final: PhaseSteps | None = phases.claim if claim else phases.submit
        if final is None:
            raise permanent("recipe_invalid", "the recipe has no submit phase")
        ctx.fence = fence
        try:
            ctx.say("  claim" if claim else "  submit")
            await run_recipe(ctx, final)
        finally:
            ctx.fence = None
        if result.outcome is not Outcome.success:
            return
    if phases.confirm is not None:
        await confirm(ctx, phases.confirm, lifecycle)


async def _account(ctx: RecipeContext, lifecycle: Lifecycle | None) -> DirectoryAccount:
    if lifecycle is None:
        raise permanent("no_account", "this directory needs an account and none can be opened")
    try:
        account = await lifecycle.open_account()
    except Exception as error:
        # Whatever went wrong, nothing was typed on the site yet: try again later.
        raise transient(
            "account_unavailable", f"the directory account could not be opened ({error})"
        ) from None
    ctx.values["account_login"] = account.login
    ctx.values["account_password"] = account.password
    return account


async def park(
    ctx: RecipeContext,
    lifecycle: Lifecycle | None,
    kind: WaitKind,
    seconds: int,
    phase: Phase,
) -> None:
    """Save the browser session and stop: the directory waits (parked) without a worker."""
    if lifecycle is None:
        raise permanent("cannot_park", f"this directory would wait for {kind} outside a job")
    try:
        state: dict[str, Any] = dict(await ctx.page.context.storage_state())
        await lifecycle.save_session(state)
    except Exception as error:
        raise transient(
            "session_not_saved", f"the browser session was not saved ({error})"
        ) from None
    result = ctx.result
    result.outcome, result.confirmed = Outcome.parked, False
    result.wait_kind, result.wait_seconds, result.resume_phase = kind, seconds, phase
    result.message = f"waiting for the directory's {kind} (at most {seconds} s), then {phase}"
    ctx.say(f"  parked: {result.message}")


# --- lookup --------------------------------------------------------------------------------


async def lookup(ctx: RecipeContext, spec: Lookup) -> Found | None:
    """Search the directory and return the result that is this business, if any."""
    ctx.say("  lookup")
    await run_recipe(ctx, PhaseSteps(steps=spec.steps), classify=False)
    results = spec.results
    either = results.item if results.none is None else f"{results.item}, {results.none}"
    await pages.require(ctx.page, either, "lookup results", ctx.step_timeout_ms)
    items = ctx.page.locator(results.item)
    business = ctx.business
    wanted_name = normalise_name(business.business_name or "")
    for index in range(min(await items.count(), _MOST_RESULTS)):
        item = items.nth(index)
        shown = {
            name: await _text(item, selector)
            for name, selector in (
                ("name", results.name),
                ("address", results.address),
                ("phone", results.phone),
            )
            if selector
        }
        same_name = bool(wanted_name) and normalise_name(shown.get("name", "")) == wanted_name
        same_phone = (
            bool(business.phone)
            and normalise_phone(shown.get("phone", ""), business.country) == business.phone
        )
        if not (same_name or same_phone):
            continue
        link = None
        if results.link and (anchor := await _first(item, results.link)) is not None:
            href = await anchor.get_attribute("href")
            link = urljoin(ctx.page.url, href) if href else None
        # A field the results do not show is not held against the listing, but only one they
        # show and that matches can say the listing is this business's.
        match = compare(business, shown)
        agreeing = [
            f
            for f in ("address", "phone")
            if shown.get(f) and f not in match.mismatched and f not in match.missing
        ]
        return Found(shown.get("name", ""), link, list(match.mismatched), shown, agreeing)
    return None


async def _first(item: Any, selector: str) -> Any:
    found = item.locator(selector)
    return found.first if await found.count() else None


async def _text(item: Any, selector: str) -> str:
    element = await _first(item, selector)
    return " ".join((await element.inner_text()).split()) if element is not None else ""


def _differences(ctx: RecipeContext, found: Found) -> str:
    """Staff's note: what the directory shows against what the customer gave."""
    ours = {
        "name": ctx.business.business_name,
        "address": ", ".join(p for p in (ctx.business.street_address, ctx.business.city) if p),
        "phone": ctx.business.phone,
    }
    parts = [
        f"{f}: the site shows {found.shown.get(f)!r}, ours {ours[f]!r}" for f in found.differing
    ]
    return f"the lookup found the business listed at {found.link} with other details; " + "; ".join(
        parts
    )


# --- verify_email --------------------------------------------------------------------------


def mail_link(mail: InboundMail, spec: VerifyEmail, directory: dict[str, Any]) -> str | None:
    """The verification link: the recipe's pattern, else the first link to the directory's
    own host (a mail's other links go to trackers, help pages, unsubscribes)."""
    text = f"{mail.text}\n{html.unescape(mail.html)}"
    homepage = str(directory.get("homepage") or "")
    if spec.link:
        match = re.search(spec.link, text)
        link = str(match.group(1) if match.groups() else match.group(0)) if match else None
        # Even a recipe's pattern only ever yields a link on the directory's own site: the
        # worker opens it in the signed-in session, so a mail must not choose where it goes.
        return link if link is not None and _on_site(link, homepage) else None
    host = urlsplit(homepage).netloc
    for candidate in _LINK.findall(text):
        if urlsplit(candidate).netloc == host:
            return str(candidate)
    return None


def _on_site(link: str, homepage: str) -> bool:
    """The link is http(s) on the homepage's host or a subdomain of its domain."""
    parts, home = urlsplit(link), urlsplit(homepage)
    if parts.scheme not in ("http", "https") or not parts.hostname or not home.hostname:
        return False
    site = home.hostname.removeprefix("www.")
    return (
        parts.hostname == site
        or parts.hostname.endswith("." + site)
        or (parts.netloc == home.netloc)
    )


def mail_code(mail: InboundMail, spec: VerifyEmail) -> str | None:
    assert spec.code is not None
    match = re.search(spec.code, f"{mail.text}\n{html.unescape(mail.html)}")
    if match is None:
        return None
    return str(match.group(1) if match.groups() else match.group(0))


async def verify_email(ctx: RecipeContext, spec: VerifyEmail, mail: InboundMail | None) -> None:
    if mail is None:
        # Woken without the mail (its wait ran out): the queue decides between a new signup
        # and telling the customer; here there is nothing to verify with.
        raise permanent("verification_mail_missing", "resumed to verify, but no email came")
    if spec.code:
        code = mail_code(mail, spec)
        if code is None:
            raise permanent("verification_unreadable", f"no code in the email {mail.subject!r}")
        ctx.values["verification_code"] = code
        ctx.say("  verification code read from the email")
    else:
        link = mail_link(mail, spec, ctx.directory)
        if link is None:
            raise permanent("verification_unreadable", f"no link in the email {mail.subject!r}")
        ctx.say(f"  open the verification link {link}")
        await pages.goto(ctx.page, link)
    if spec.steps:
        await run_recipe(ctx, PhaseSteps(steps=spec.steps), classify=False)


# --- confirm -------------------------------------------------------------------------------


async def confirm(ctx: RecipeContext, spec: Confirm, lifecycle: Lifecycle | None) -> None:
    """Read the listing's URL; a listing still in moderation parks the directory."""
    if spec.steps:
        await run_recipe(ctx, PhaseSteps(steps=spec.steps), classify=False)
    if await pages.present(ctx.page, spec.pending):
        await park(ctx, lifecycle, WaitKind.moderation, spec.moderation_seconds, Phase.confirm)
        return
    result = ctx.result
    listing = await pages.present(ctx.page, spec.listing_url)
    if listing is not None:
        result.listing_url = await pages.absolute_href(ctx.page, listing)
        result.outcome, result.confirmed = Outcome.success, True
        result.message = None
        return
    if result.outcome is not Outcome.success or not result.confirmed:
        result.outcome, result.confirmed = Outcome.success, False
        result.message = "submitted, but the listing's page was not found to confirm it"


def scrub(ctx: RecipeContext) -> None:
    """The password never leaves in a report, whatever a page echoed back (the engine calls
    it again once its own handlers have written the result)."""
    secret = ctx.values.get("account_password")
    if not secret:
        return
    result = ctx.result
    for name in ("message", "action_required", "listing_url"):
        value = getattr(result, name)
        if isinstance(value, str) and secret in value:
            setattr(result, name, value.replace(secret, "[hidden]"))
