"""Every sandbox site: its path prefix on the sandbox server and the name it shows.

The prefixes are the `<name>` in the `sandbox-<name>` entries of directories.json. `refused`
is listed too although nothing serves it: its entry points at a closed port on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Site:
    name: str
    title: str
    behaviour: str


SITES: tuple[Site, ...] = (
    Site("plain", "Plainville Business Pages", "a one-page form"),
    Site("multistep", "Three Step Local", "a form in three steps with Next buttons"),
    Site("js-form", "Scripted Listings", "a form created by JavaScript after the page loads"),
    Site("iframe", "Framed Directory", "a form inside an iframe"),
    Site("choices", "Pick-a-Category Guide", "a category select, radios and checkboxes"),
    Site("hours", "Open Hours Finder", "an opening-hours widget"),
    Site("logo", "Logo Showcase", "a logo upload (PNG or JPEG, at most 1 MB)"),
    Site("image-captcha", "Picture Check Listings", "an image captcha"),
    Site("recaptcha", "Recaptcha Row", "a reCAPTCHA v2 token captcha"),
    Site("hcaptcha", "H Street Directory", "an hCaptcha token captcha"),
    Site("turnstile", "Turnstile Town", "a Cloudflare Turnstile token captcha"),
    Site("duplicate", "Already Here Directory", "refuses a business that is already listed"),
    Site("down", "Broken Server Listings", "answers 500 to everything"),
    Site("refused", "Nobody Home Directory", "nothing listens: connection refused"),
    Site("slow", "Molasses Listings", "answers the submit page only after a long delay"),
    Site("flaky", "Hiccup Directory", "answers 503 to the first submission of each business"),
    Site("ratelimited", "Gatekeeper Listings", "answers 429 unless the request came via a proxy"),
    Site("email-verify", "Verify-First Directory", "asks the customer to verify by email"),
    Site("unconfirmed", "Silent Submit", "accepts without saying so"),
    Site("form-gone", "Moved Away Directory", "the submit page is gone (404)"),
    Site("drift", "Redesigned Listings", "renamed its form fields since the recipe was written"),
    Site("auto-labels", "Labelled Local", "fields known only by their labels"),
    Site("auto-placeholders", "Placeholder Pages", "two steps, fields known only by placeholders"),
    Site("auto-autocomplete", "Autofill Avenue", "fields known by their autocomplete attributes"),
    Site(
        "strict",
        "Stars and Stripes Listings",
        "US businesses only, ZIP and phone checked on the server, its own category list",
    ),
    Site("login-wall", "Members Only Directory", "the submit page asks you to sign in first"),
    Site("bot-wall", "Guarded Gate Listings", 'a bot check ("Checking your browser") first'),
)

# Served by nothing: its directory entry points at 127.0.0.1:2, where nothing listens. (Port 9,
# the classic discard port, would not do: Chromium refuses it as unsafe, ERR_UNSAFE_PORT.)
NOT_SERVED = frozenset({"refused"})

# For the scout to name their walls (dbolt directories scout): no recipe gets past a wall we
# have no account for or a bot check, so they have no directories.json entry.
NO_ENTRY = frozenset({"login-wall", "bot-wall"})

BY_NAME: dict[str, Site] = {site.name: site for site in SITES}


def site(name: str) -> Site:
    return BY_NAME[name]
