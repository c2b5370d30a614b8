"""The sandbox sites' expected form signatures (directories/signatures/<id>.json) and the check
that the live sandbox still matches them: what `make directories-check` runs, so a change to
a sandbox form that nobody meant shows up as a failed check, naming the site.

    python -m devstack.sandbox.signatures            # check; exit 1 listing the differences
    python -m devstack.sandbox.signatures --write    # record the signatures after a deliberate change

Each file: {"id", "url_path", "digest", "signature"} — the digest is
worker.scout.signature.signature_digest(signature), as stored in Postgres for real sites.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright

from dbolt.words import count_of
from devstack.sandbox import catalog
from devstack.sandbox.lifecycle_state import LIFECYCLE_SITES
from devstack.sandbox.server import SandboxServer
from devstack.sandbox.settings import Settings
from worker.browser_launch import launch_options
from worker.scout.run import scout
from worker.scout.settings import ScoutSettings
from worker.scout.signature import signature_digest

ROOT = Path(__file__).resolve().parents[2]
SIGNATURES_DIR = ROOT / "directories" / "signatures"
# The slow site answers its form after 45 s on purpose: past any scout's patience.
NOT_SCOUTED = catalog.NOT_SERVED | {"slow"}


@dataclass(frozen=True)
class ScoutedSite:
    id: str
    url_path: str


def scouted_sites() -> list[ScoutedSite]:
    """Every sandbox site's submit page that answers (even with an error page)."""
    sites = [
        ScoutedSite(f"sandbox-{site.name}", f"/{site.name}/submit")
        for site in catalog.SITES
        if site.name not in NOT_SCOUTED
    ]
    sites += [ScoutedSite(site.name, f"/{site.name}/submit") for site in LIFECYCLE_SITES]
    return sites


def signature_file(site_id: str, directory: Path = SIGNATURES_DIR) -> Path:
    return directory / f"{site_id}.json"


@contextmanager
def _sandbox(base_url: str | None) -> Iterator[str]:
    if base_url is not None:
        yield base_url.rstrip("/")
        return
    with SandboxServer(Settings()) as server:
        yield server.url


async def _scout_all(base_url: str) -> dict[str, dict[str, Any]]:
    host_port = base_url.split("://", 1)[1]
    settings = ScoutSettings(worker_allowed_private_hosts=host_port)
    reports: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="dbolt-signatures-") as shots:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(**launch_options(settings))
            try:
                for site in scouted_sites():
                    out = Path(shots) / site.id
                    url = base_url + site.url_path
                    reports[site.id] = await scout(url, out, settings, browser)
            finally:
                await browser.close()
    return reports


def live_signatures(base_url: str | None = None) -> dict[str, dict[str, Any]]:
    """Scout every sandbox site (a sandbox of its own unless `base_url` is given)."""
    with _sandbox(base_url) as url:
        reports = asyncio.run(_scout_all(url))
    return {site_id: report["signature"] for site_id, report in reports.items()}


def write_sandbox_signatures(
    base_url: str | None = None, directory: Path = SIGNATURES_DIR
) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {site.id: site.url_path for site in scouted_sites()}
    written = []
    for site_id, signature in live_signatures(base_url).items():
        document = {
            "id": site_id,
            "url_path": paths[site_id],
            "digest": signature_digest(signature),
            "signature": signature,
        }
        path = signature_file(site_id, directory)
        path.write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        written.append(path)
    return written


def _fields(signature: dict[str, Any]) -> set[str]:
    return {
        f"{form['purpose']} form: {field['type']} {field['name'] or field['id']!r}"
        + (" (required)" if field["required"] else "")
        for form in signature["forms"]
        for field in form["fields"]
    }


def describe_change(stored: dict[str, Any], live: dict[str, Any]) -> str:
    """What differs, in a few words staff can act on."""
    parts = []
    for key in ("path", "status", "captcha", "walls", "steps"):
        if stored.get(key) != live.get(key):
            parts.append(f"{key} {stored.get(key)!r} → {live.get(key)!r}")
    gone, new = _fields(stored) - _fields(live), _fields(live) - _fields(stored)
    if gone:
        parts.append("gone: " + ", ".join(sorted(gone)))
    if new:
        parts.append("new: " + ", ".join(sorted(new)))
    return "; ".join(parts) or "labels, options or buttons changed"


def check_sandbox_signatures(
    base_url: str | None = None, directory: Path = SIGNATURES_DIR
) -> list[str]:
    """Every difference between the stored signatures and the live sandbox (empty: none)."""
    errors: list[str] = []
    expected_ids = {site.id for site in scouted_sites()}
    stored: dict[str, dict[str, Any]] = {}
    for site_id in sorted(expected_ids):
        path = signature_file(site_id, directory)
        if not path.exists():
            errors.append(f"{site_id}: no stored signature ({path.name}; run --write)")
            continue
        document = json.loads(path.read_text())
        if signature_digest(document["signature"]) != document["digest"]:
            errors.append(f"{site_id}: the stored digest is not its signature's digest")
        stored[site_id] = document
    errors += [
        f"{path.stem}: a stored signature of no sandbox site"
        for path in sorted(directory.glob("*.json"))
        if path.stem not in expected_ids
    ]
    for site_id, signature in sorted(live_signatures(base_url).items()):
        document = stored.get(site_id)
        if document is not None and signature_digest(signature) != document["digest"]:
            change = describe_change(document["signature"], signature)
            errors.append(f"{site_id}: the live form differs from its stored signature: {change}")
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.sandbox.signatures")
    parser.add_argument("--write", action="store_true", help="record the live signatures")
    parser.add_argument("--base-url", help="a running sandbox (default: one started here)")
    args = parser.parse_args(argv)
    if args.write:
        written = write_sandbox_signatures(args.base_url)
        print(f"wrote {count_of(len(written), 'signature')} to {SIGNATURES_DIR.relative_to(ROOT)}")
        return 0
    errors = check_sandbox_signatures(args.base_url)
    for error in errors:
        print(error, file=sys.stderr)
    if not errors:
        print(f"{count_of(len(scouted_sites()), 'sandbox signature')}: as the live sandbox")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
