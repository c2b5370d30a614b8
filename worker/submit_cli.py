"""`python -m worker submit`: one directory entry against one business, without the queue.

For ops trying a recipe or the generic filler against a site: prints every step, the value
typed into each field, and the outcome; exits 0 only for a confirmed success.

    python -m worker submit --entry sandbox-plain --business business.json [--proxy URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright

from dbolt.business import Business
from dbolt.contracts import business_with_logo_id
from dbolt.directories import DEFAULT_DIRECTORIES, load_directories
from worker.browser_launch import launch_options
from worker.captcha import CaptchaSolver
from worker.engine import EngineSettings, SubmissionEngine
from worker.outcome import AttemptResult
from worker.proxies import parse_proxy_urls
from worker.settings import WorkerSettings


def load_entry(entry: str, directories_file: Path) -> dict[str, Any]:
    """A directory entry from a JSON file, or by id from directories.json."""
    path = Path(entry)
    if path.suffix == ".json" and path.exists():
        data: dict[str, Any] = json.loads(path.read_text())
    else:
        matches = [e for e in load_directories(directories_file) if e["id"] == entry]
        if not matches:
            raise SystemExit(f"no directory {entry!r} in {directories_file}")
        data = matches[0]
    data.setdefault("directory_id", data.get("id"))
    return data


async def submit(
    entry: dict[str, Any], business: Business, proxy_url: str | None, settings: WorkerSettings
) -> AttemptResult:
    solver = (
        CaptchaSolver.connect(
            settings.twocaptcha_base_url,
            settings.twocaptcha_api_key.get_secret_value(),
            settings.captcha_timeout_seconds,
            settings.captcha_poll_seconds,
        )
        if settings.twocaptcha_api_key
        else None
    )
    proxy = parse_proxy_urls(proxy_url)[0] if proxy_url else None
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(**launch_options(settings))
            engine = SubmissionEngine(
                browser,
                solver,
                EngineSettings.from_worker(settings),
            )
            result = await engine.attempt(
                entry, business, proxy, artifact_name=f"submit-{entry['directory_id']}", say=print
            )
            await browser.close()
            return result
    finally:
        if solver is not None:
            await solver.aclose()


def run(entry: str, business_file: Path, proxy_url: str | None, directories_file: Path) -> int:
    settings = WorkerSettings()
    directory = load_entry(entry, directories_file)
    # As the orchestrator hands it out: the logo by id, fetched from PORTAL_URL only.
    business = Business.model_validate(business_with_logo_id(json.loads(business_file.read_text())))
    name = business.business_name
    print(f"{directory['directory_id']} ({directory.get('mode')}) for {name!r}")
    result = asyncio.run(submit(directory, business, proxy_url, settings))
    print(f"outcome: {result.outcome.value}{' (confirmed)' if result.confirmed else ''}")
    for label, value in (
        ("error", result.error_code),
        ("message", result.message),
        ("listing", result.listing_url),
        ("customer must", result.action_required),
        (
            "captcha",
            result.captcha_kind and f"{result.captcha_kind} solved={result.captcha_solved}",
        ),
        ("proxy", result.proxy),
    ):
        if value:
            print(f"{label}: {value}")
    for name, path in result.artifacts.items():
        print(f"{name}: {path}")
    return 0 if result.outcome.value == "success" and result.confirmed else 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--entry", required=True, help="a directory id or an entry .json file")
    parser.add_argument("--business", required=True, type=Path, help="the business as JSON")
    parser.add_argument("--proxy", help="http://user:pass@host:port to submit through")
    parser.add_argument("--directories", type=Path, default=DEFAULT_DIRECTORIES)


def run_arguments(args: argparse.Namespace) -> int:
    return run(args.entry, args.business, args.proxy, args.directories)
