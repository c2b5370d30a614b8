"""Issue 17 item 1: the scout over every sandbox site, in real Chromium against the real sandbox.

The signature matches the site's source (devstack/sandbox: every field's name, id, type,
required flag, label and options), the draft fills the fields the site holds, the walls and
captchas are named, nothing is submitted (the sandbox's record is the same before and after),
scouting twice gives the same digest, and hostile URLs are refused before or while loading.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import async_playwright

from dbolt import cli
from devstack.sandbox import Settings
from devstack.sandbox.fields import Field
from devstack.sandbox.listings import STANDARD_FIELDS
from devstack.sandbox.server import SandboxServer
from devstack.sandbox.signatures import (
    SIGNATURES_DIR,
    check_sandbox_signatures,
    scouted_sites,
    signature_file,
)
from devstack.sandbox.sites.auto import AUTOCOMPLETE_FIELDS, LABEL_FIELDS, PLACEHOLDER_STEPS
from devstack.sandbox.sites.captchas import CAPTCHA_FIELDS
from devstack.sandbox.sites.layouts import MULTISTEP_STEPS
from devstack.sandbox.sites.standard import DRIFTED_FIELDS, PLAIN_FIELDS
from devstack.sandbox.sites.strict import STRICT_FIELDS
from devstack.sandbox.sites.widgets import CHOICES_FIELDS, HOURS_FIELDS, LOGO_FIELDS
from tests.support.loopback_server import redirect_to, serving
from worker.browser_launch import launch_options
from worker.recipe import parse_recipe
from worker.scout.run import ScoutRefused, scout
from worker.scout.settings import ScoutSettings
from worker.scout.signature import signature_digest, stable

# Each site's listing form as its source declares it: (fields, their step) per site.
ONE_STEP: dict[str, tuple[Field, ...]] = {
    "plain": PLAIN_FIELDS,
    "js-form": STANDARD_FIELDS,
    "iframe": STANDARD_FIELDS,
    "choices": CHOICES_FIELDS,
    "hours": HOURS_FIELDS,
    "logo": LOGO_FIELDS,
    "image-captcha": CAPTCHA_FIELDS,
    "recaptcha": CAPTCHA_FIELDS,
    "hcaptcha": CAPTCHA_FIELDS,
    "turnstile": CAPTCHA_FIELDS,
    "duplicate": STANDARD_FIELDS,
    "flaky": STANDARD_FIELDS,
    "email-verify": STANDARD_FIELDS,
    "unconfirmed": STANDARD_FIELDS,
    "drift": DRIFTED_FIELDS,
    "auto-labels": LABEL_FIELDS,
    "auto-autocomplete": AUTOCOMPLETE_FIELDS,
    "strict": STRICT_FIELDS,
}
HELD: dict[str, list[tuple[Field, int]]] = {
    name: [(field, 1) for field in fields] for name, fields in ONE_STEP.items()
}
HELD["multistep"] = [
    (field, number) for number, (_, fields) in enumerate(MULTISTEP_STEPS, 1) for field in fields
]
HELD["auto-placeholders"] = [
    (field, number) for number, fields in enumerate(PLACEHOLDER_STEPS, 1) for field in fields
]
# The business value a sandbox field key holds (the keys are the snapshot's names but these).
VALUE_OF = {"email": "public_email", "address": "street_address", "hours": None}
CAPTCHAS = {
    "sandbox-image-captcha": "image",
    "sandbox-recaptcha": "recaptcha_v2",
    "sandbox-hcaptcha": "hcaptcha",
    "sandbox-turnstile": "turnstile",
}
WALLS = {"sandbox-login-wall": ["login"], "sandbox-bot-wall": ["bot"]} | {
    site.id: ["login"] for site in scouted_sites() if site.id.startswith("lifecycle-")
}


@dataclass
class Scouted:
    url: str
    reports: dict[str, dict[str, Any]]
    before: dict[str, Any]
    after: dict[str, Any]


def _record(http: httpx.Client) -> dict[str, Any]:
    """Everything the sandbox remembers being sent: submissions, accounts, listings, mails."""
    return {
        "submissions": http.get("/_admin/submissions").json(),
        "lifecycle": http.get("/_admin/lifecycle").json(),
    }


def _settings(url: str) -> ScoutSettings:
    return ScoutSettings(worker_allowed_private_hosts=url.split("://", 1)[1])


async def _scout_all(url: str, out: Path) -> dict[str, dict[str, Any]]:
    settings = _settings(url)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**launch_options(settings))
        try:
            return {
                site.id: await scout(url + site.url_path, out / site.id, settings, browser)
                for site in scouted_sites()
            }
        finally:
            await browser.close()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    with SandboxServer(Settings()) as server:
        yield server.url


@pytest.fixture(scope="module")
def scouted(sandbox: str, tmp_path_factory: pytest.TempPathFactory) -> Scouted:
    with httpx.Client(base_url=sandbox) as http:
        before = _record(http)
        reports = asyncio.run(_scout_all(sandbox, tmp_path_factory.mktemp("scout")))
        after = _record(http)
    return Scouted(sandbox, reports, before, after)


def _listing_form(report: dict[str, Any]) -> dict[str, Any]:
    forms: list[dict[str, Any]] = report["signature"]["forms"]
    [form] = [f for f in forms if f["purpose"] == "listing"]
    return form


# --- what the scout sees -------------------------------------------------------------------


def test_nothing_is_submitted_anywhere(scouted: Scouted) -> None:
    assert scouted.before == scouted.after
    assert scouted.after["submissions"] == []
    for site_id, report in scouted.reports.items():
        assert report["not_sent"] == [], site_id
        assert report["blocked"] == [], site_id


@pytest.mark.parametrize("site", sorted(HELD))
def test_the_signature_holds_every_field_of_the_sites_source(scouted: Scouted, site: str) -> None:
    form = _listing_form(scouted.reports[f"sandbox-{site}"])
    by_name = {f["name"]: f for f in form["fields"] if f["type"] != "hidden"}
    for field, step in HELD[site]:
        seen = by_name[field.html_name]
        assert seen["id"] == field.id, (site, field.key)
        assert seen["type"] == field.kind, (site, field.key)
        assert seen["required"] is field.required, (site, field.key)
        assert seen["step"] == step, (site, field.key)
        assert seen["label"] == (field.label if field.labelled else ""), (site, field.key)
        assert seen["placeholder"] == (field.placeholder or "")
        assert seen["autocomplete"] == (field.autocomplete or "")
        assert [(o["value"], o["label"]) for o in seen["options"]] == list(field.options)
    assert form["steps"] == max(step for _, step in HELD[site])
    assert form["frame"] == ("iframe#submit-frame" if site == "iframe" else "main")


@pytest.mark.parametrize("site", sorted(HELD))
def test_the_draft_fills_the_fields_the_site_holds(scouted: Scouted, site: str) -> None:
    draft = scouted.reports[f"sandbox-{site}"]["draft"]
    parse_recipe(draft["recipe"])  # a valid recipe, as dbolt directories validate takes it
    steps = {step.get("selector"): step for step in draft["recipe"]["steps"]}
    for field, _ in HELD[site]:
        expected = VALUE_OF.get(field.key, field.key)
        step = steps.get(f"#{field.id}")
        if expected is None:
            continue  # free-text opening hours: nothing in the snapshot is typed there
        assert step is not None, (site, field.key)
        assert step["value"] == expected, (site, field.key, step)
        assert step.get("optional", False) is not field.required, (site, field.key)
        assert step["action"] == ("select" if field.kind == "select" else "fill")
    assert draft["unmapped_required"] == [], site
    if site == "iframe":
        assert draft["recipe"]["frame"] == "iframe#submit-frame"
    if site == "multistep":
        clicks = [s for s in draft["recipe"]["steps"] if s["action"] == "click"]
        assert len(clicks) == 2
    # Only the standard "Submit listing" button or the site's own, never a Next.
    [submit] = [s for s in draft["recipe"]["steps"] if s["action"] == "submit"]
    assert "Next" not in submit["selector"]


def test_transforms_and_boxes_come_from_the_business(scouted: Scouted) -> None:
    def steps(site: str) -> dict[str, dict[str, Any]]:
        recipe = scouted.reports[f"sandbox-{site}"]["draft"]["recipe"]
        return {step.get("selector"): step for step in recipe["steps"]}

    assert steps("multistep")["#ms-phone"]["transform"] == "phone_digits"
    assert steps("image-captcha")["#address"]["transform"] == "full_address"
    assert steps("hours")["#website"]["transform"] == "website_host"
    assert steps("hours")["#hours-tue-closed"] == {
        "action": "check",
        "selector": "#hours-tue-closed",
        "value": "hours",
        "transform": "hours_tue_closed",
    }
    choices = steps("choices")
    assert choices["#terms"] == {"action": "check", "selector": "#terms", "consent": True}
    assert choices["#type-storefront"]["attribute"] == "storefront"
    assert choices["#service-wifi"]["attribute"] == "free_wifi"
    assert steps("logo")["#logo"] == {
        "action": "upload",
        "selector": "#logo",
        "value": "logo_url",
        "optional": True,
    }


def test_walls_and_captchas_are_named(scouted: Scouted) -> None:
    for site_id, report in scouted.reports.items():
        assert report["walls"] == WALLS.get(site_id, []), site_id
        assert report["captcha"] == CAPTCHAS.get(site_id, "none"), site_id
    login = scouted.reports["sandbox-login-wall"]
    assert login["signature"]["path"] == "/login-wall/login"  # followed the redirect
    assert login["draft"]["recipe"] is not None
    assert any("login" in line for line in login["draft"]["review"])
    bot = scouted.reports["sandbox-bot-wall"]["signature"]
    assert bot["status"] == 403
    assert [f["purpose"] for f in bot["forms"]] == ["other"]
    assert scouted.reports["sandbox-bot-wall"]["draft"]["recipe"] is None


def test_steps_are_walked_without_submitting(scouted: Scouted) -> None:
    assert scouted.reports["sandbox-multistep"]["steps"] == {
        "seen": 3,
        "reached": 3,
        "stopped": None,
    }
    assert scouted.reports["sandbox-auto-placeholders"]["steps"]["reached"] == 2
    for name in ("multistep", "auto-placeholders"):
        shots = scouted.reports[f"sandbox-{name}"]["screenshots"]
        assert [Path(s).name for s in shots] == [f"step-{n}.png" for n in range(1, len(shots) + 1)]
        assert all(Path(s).read_bytes().startswith(b"\x89PNG") for s in shots)


def test_the_iframe_holding_the_form_is_named(scouted: Scouted) -> None:
    assert scouted.reports["sandbox-iframe"]["signature"]["iframes"] == [
        {"selector": "iframe#submit-frame", "path": "/iframe/embed", "has_form": True}
    ]


def test_error_pages_are_recorded_not_guessed(scouted: Scouted) -> None:
    statuses = {
        site_id: report["signature"]["status"]
        for site_id, report in scouted.reports.items()
        if report["signature"]["status"] != 200
    }
    assert statuses == {
        "sandbox-down": 500,
        "sandbox-form-gone": 404,
        "sandbox-ratelimited": 429,
        "sandbox-bot-wall": 403,
    } | {site.id: 403 for site in scouted_sites() if site.id.startswith("lifecycle-")}


# --- determinism and the stored signatures --------------------------------------------------


def test_the_digest_is_sha256_of_the_canonical_json(scouted: Scouted) -> None:
    signature = scouted.reports["sandbox-plain"]["signature"]
    canonical = json.dumps(signature, sort_keys=True, separators=(",", ":"))
    assert signature_digest(signature) == hashlib.sha256(canonical.encode()).hexdigest()
    assert scouted.reports["sandbox-plain"]["digest"] == signature_digest(signature)


def test_volatile_runs_are_left_out() -> None:
    assert stable("field-8f3a2b9c1d") == "field-*"
    assert stable("tok-3f2a1b4c-1111-4222-8333-444455556666") == "tok-*"
    assert stable("business-name") == "business-name"
    assert stable("ms-postal") == "ms-postal"


def test_scouting_again_gives_the_same_digests(scouted: Scouted, tmp_path: Path) -> None:
    """The image captcha's challenge, the sign-in CSRF token and the bot wall's token all
    change on every load; the digests do not."""
    again = {
        site: asyncio.run(
            scout(f"{scouted.url}/{site}/submit", tmp_path / site, _settings(scouted.url))
        )["digest"]
        for site in ("image-captcha", "login-wall", "bot-wall", "multistep", "iframe")
    }
    assert again == {site: scouted.reports[f"sandbox-{site}"]["digest"] for site in again}


def test_the_stored_signatures_are_the_live_sandboxes(scouted: Scouted) -> None:
    for site_id, report in scouted.reports.items():
        stored = json.loads(signature_file(site_id).read_text())
        assert stored["digest"] == report["digest"], site_id
        assert stored["signature"] == report["signature"], site_id


def test_check_sandbox_signatures_passes_and_names_a_changed_form(
    scouted: Scouted, tmp_path: Path
) -> None:
    assert check_sandbox_signatures(scouted.url) == []
    # A stored signature from before the plain site made its email optional.
    shutil.copytree(SIGNATURES_DIR, tmp_path, dirs_exist_ok=True)
    path = signature_file("sandbox-plain", tmp_path)
    document = json.loads(path.read_text())
    [form] = document["signature"]["forms"]
    [email] = [f for f in form["fields"] if f["name"] == "email"]
    email["required"] = True
    document["digest"] = signature_digest(document["signature"])
    path.write_text(json.dumps(document))
    errors = check_sandbox_signatures(scouted.url, tmp_path)
    assert errors == [
        "sandbox-plain: the live form differs from its stored signature: "
        "gone: listing form: email 'email' (required); new: listing form: email 'email'"
    ]


# --- hostile URLs ---------------------------------------------------------------------------


# Two steps; step 1 asks what no business snapshot holds, so sample values cannot open step 2.
STUCK_FORM = b"""<!doctype html><title>Two steps</title><form method="post">
<fieldset id="one"><label for="name">Business name</label><input id="name" name="name" required>
<label for="colour">Favourite colour</label><input id="colour" name="colour" required>
<button type="button" class="next">Next</button></fieldset>
<fieldset id="two" hidden><label for="city">City</label><input id="city" name="city" required>
<button type="submit">Send</button></fieldset></form>
<script>document.querySelector('.next').addEventListener('click', () => {
  if ([...document.querySelectorAll('#one input')].every(i => i.reportValidity()))
    { document.getElementById('one').hidden = true; document.getElementById('two').hidden = false; }
});</script>"""


def test_a_step_the_sample_values_cannot_open_is_recorded_not_forced(tmp_path: Path) -> None:
    def page(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(STUCK_FORM)))
        handler.end_headers()
        handler.wfile.write(STUCK_FORM)

    with serving(page) as origin:
        report = asyncio.run(scout(f"{origin}/", tmp_path, _settings(origin)))
    assert report["steps"] == {
        "seen": 2,
        "reached": 1,
        "stopped": "step 2 did not open with sample values (the site kept step 1)",
    }
    assert [u["name"] for u in report["draft"]["unmapped_required"]] == ["colour"]
    assert report["not_sent"] == []
    assert [Path(s).name for s in report["screenshots"]] == ["step-1.png"]


@pytest.fixture
def redirector() -> Iterator[str]:
    """A page on an allowed loopback port that redirects to the cloud metadata endpoint."""

    with serving(redirect_to("http://169.254.169.254/latest/meta-data/")) as origin:
        yield origin


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("http://10.0.0.5/submit", "10.0.0.5: a private address"),
        ("http://169.254.169.254/latest/meta-data/", "the cloud metadata address"),
        ("http://127.0.0.1:5432/", "a loopback address"),
        ("http://[::1]:8400/plain/submit", "a loopback address"),
    ],
)
def test_hostile_urls_are_refused_before_a_browser_starts(
    sandbox: str, url: str, why: str, tmp_path: Path
) -> None:
    with pytest.raises(ScoutRefused, match=why):
        asyncio.run(scout(url, tmp_path, _settings(sandbox)))
    assert not list(tmp_path.iterdir())  # no screenshot: nothing was opened


def test_a_redirect_to_the_metadata_address_is_refused(
    sandbox: str, redirector: str, tmp_path: Path
) -> None:
    settings = ScoutSettings(
        worker_allowed_private_hosts=f"{redirector.split('://', 1)[1]},{sandbox.split('://')[1]}"
    )
    with pytest.raises(ScoutRefused, match=r"169\.254\.169\.254.*the cloud metadata address"):
        asyncio.run(scout(f"{redirector}/submit", tmp_path, settings))


def test_the_sandbox_is_refused_without_the_development_allow_list(
    sandbox: str, tmp_path: Path
) -> None:
    with pytest.raises(ScoutRefused, match="a loopback address"):
        asyncio.run(scout(f"{sandbox}/plain/submit", tmp_path, ScoutSettings()))


# --- the command line -----------------------------------------------------------------------


def test_dbolt_directories_scout_prints_the_report(  # through `python -m worker scout`
    sandbox: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("WORKER_ALLOWED_PRIVATE_HOSTS", sandbox.split("://", 1)[1])
    with httpx.Client(base_url=sandbox) as http:
        before = _record(http)
        assert (
            cli.main(
                ["directories", "scout", f"{sandbox}/multistep/submit", "--out", str(tmp_path)]
            )
            == 0
        )
        assert _record(http) == before
    report = json.loads(capfd.readouterr().out)
    assert set(report) >= {"signature", "digest", "draft", "walls", "screenshots", "steps"}
    assert report["digest"] == signature_digest(report["signature"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-1.png", "step-2.png", "step-3.png"]


def test_dbolt_directories_scout_refuses_with_a_clear_error(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WORKER_ALLOWED_PRIVATE_HOSTS", raising=False)
    assert cli.main(["directories", "scout", "http://192.168.1.1/admin"]) == 2
    captured = capfd.readouterr()
    assert captured.out == ""
    assert (
        captured.err == "error: refused http://192.168.1.1/admin: 192.168.1.1: a private address\n"
    )


def test_dbolt_directories_scout_passes_a_dash_url_as_the_url(
    capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Without `--` the worker's command would read it as its own option and write there.
    assert cli.main(["directories", "scout", "--", f"--out={tmp_path}/elsewhere"]) == 2
    captured = capfd.readouterr()
    url = f"--out={tmp_path}/elsewhere"
    assert captured.err == f"error: refused {url!r}: only http and https pages can be scouted\n"
    assert not (tmp_path / "elsewhere").exists()
