"""Stored form signatures against the live pages: one scouting round over every stored file.

A stored file is `{"id", "url_path", "digest", "signature"}` (directories/signatures/<id>.json
for the sandbox). `check_signatures` scouts `base_url + url_path` for each and names every
difference; `write_signatures` records them after a deliberate change. The sandbox's list of
sites and its server are devstack's (devstack/sandbox/signatures.py), which runs this as
`python -m worker signatures` — a process, as the stand-ins run the services.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright

from dbolt.form_signatures import signature_digest
from worker.browser_launch import launch_options
from worker.scout.run import ScoutFailed, ScoutRefused, scout
from worker.scout.settings import ScoutSettings


async def live_signatures(
    base_url: str, paths: dict[str, str], settings: ScoutSettings
) -> dict[str, dict[str, Any] | str]:
    """Each id's live signature, or why it could not be scouted. One browser for the round."""
    found: dict[str, dict[str, Any] | str] = {}
    with tempfile.TemporaryDirectory(prefix="dbolt-signatures-") as shots:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(**launch_options(settings))
            try:
                for site_id, path in sorted(paths.items()):
                    url = base_url.rstrip("/") + path
                    try:
                        report = await scout(url, Path(shots) / site_id, settings, browser)
                    except (ScoutRefused, ScoutFailed) as error:
                        found[site_id] = str(error)
                        continue
                    found[site_id] = report["signature"]
            finally:
                await browser.close()
    return found


def _fields(signature: dict[str, Any]) -> set[str]:
    return {
        f"{form['purpose']} form: {field['type']} {field['name'] or field['id']!r}"
        + (" (required)" if field["required"] else "")
        for form in signature["forms"]
        for field in form["fields"]
    }


def describe_change(stored: dict[str, Any], live: dict[str, Any]) -> str:
    """What differs, in a few words staff can act on."""
    parts = [
        f"{key} {stored.get(key)!r} → {live.get(key)!r}"
        for key in ("path", "status", "captcha", "walls", "steps")
        if stored.get(key) != live.get(key)
    ]
    gone, new = _fields(stored) - _fields(live), _fields(live) - _fields(stored)
    if gone:
        parts.append("gone: " + ", ".join(sorted(gone)))
    if new:
        parts.append("new: " + ", ".join(sorted(new)))
    return "; ".join(parts) or "labels, options or buttons changed"


def check_signatures(
    base_url: str, directory: Path, settings: ScoutSettings | None = None
) -> list[str]:
    """Every difference between the stored signatures in `directory` and the live pages."""
    errors: list[str] = []
    stored: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.json")):
        document = json.loads(path.read_text())
        if signature_digest(document["signature"]) != document["digest"]:
            errors.append(f"{path.stem}: the stored digest is not its signature's digest")
        stored[path.stem] = document
    paths = {site_id: document["url_path"] for site_id, document in stored.items()}
    live = asyncio.run(live_signatures(base_url, paths, settings or ScoutSettings()))
    for site_id, signature in live.items():
        if isinstance(signature, str):
            errors.append(f"{site_id}: not scouted: {signature}")
        elif signature_digest(signature) != stored[site_id]["digest"]:
            change = describe_change(stored[site_id]["signature"], signature)
            errors.append(f"{site_id}: the live form differs from its stored signature: {change}")
    return errors


def write_signatures(
    base_url: str, paths: dict[str, str], directory: Path, settings: ScoutSettings | None = None
) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    live = asyncio.run(live_signatures(base_url, paths, settings or ScoutSettings()))
    written = []
    for site_id, signature in live.items():
        if isinstance(signature, str):
            raise ScoutFailed(f"{site_id}: {signature}")
        document = {
            "id": site_id,
            "url_path": paths[site_id],
            "digest": signature_digest(signature),
            "signature": signature,
        }
        path = directory / f"{site_id}.json"
        path.write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        written.append(path)
    return written
