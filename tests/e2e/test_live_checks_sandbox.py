"""The live checker (worker/live_checks.py) against the sandbox's lifecycle directories, with
their recipes' live_check selectors from directories.json: a listing with the business's own
details is live, the wrong-phone site's listing is live_mismatch naming the phone, a listing
not (yet) there is not_found. Plain HTTP through the egress guard; no browser needed."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dbolt.contracts import LiveCheckReport, LiveCheckResult, LiveCheckTask
from dbolt.directories import load_directories
from devstack.sandbox import Settings
from devstack.sandbox.server import SandboxServer
from tests.support.e2e_stack import ROOT
from tests.support.sample_business import as_a_directory_lists_it, sample_business
from worker.addresses import DestinationPolicy, parse_allow_list
from worker.live_checks import LiveChecker

BUSINESS = sample_business()
SEEN = as_a_directory_lists_it()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    with SandboxServer(Settings()) as server:
        yield server.url


def _recipe(site: str) -> dict[str, Any] | None:
    entries = json.loads(json.dumps(load_directories(ROOT / "directories.json")))
    [entry] = [e for e in entries if e["id"] == site]
    live_check: dict[str, Any] | None = entry["recipe"]["phases"].get("live_check")
    return live_check


def _check(sandbox: str, site: str, url: str) -> LiveCheckReport:
    task = LiveCheckTask.model_validate(
        {
            "check_id": 1,
            "lease_token": uuid.uuid4(),
            "job_id": uuid.uuid4(),
            "directory_id": site,
            "listing_url": url,
            "recipe": _recipe(site),
            "business": BUSINESS,
            "seq": 1,
            "last": False,
        }
    )
    policy = DestinationPolicy(parse_allow_list(sandbox.removeprefix("http://")))
    return asyncio.run(LiveChecker(policy, timeout_seconds=10).check(task))


def _seed(sandbox: str, site: str, **changes: str) -> str:
    response = httpx.post(
        f"{sandbox}/_admin/lifecycle/listings", json={"site": site, "fields": SEEN | changes}
    )
    response.raise_for_status()
    return f"{sandbox}/{site}/listing/{response.json()['id']}"


def test_a_listing_with_the_business_s_details_is_live(sandbox: str) -> None:
    report = _check(sandbox, "lifecycle-listed", _seed(sandbox, "lifecycle-listed"))
    assert report.result is LiveCheckResult.live, report
    assert report.nap_score == 1.0
    assert report.observed["phone"] == "(217) 555-0123"


def test_the_wrong_phone_is_caught_naming_the_field(sandbox: str) -> None:
    url = _seed(sandbox, "lifecycle-wrong-phone", phone="(217) 555-0124")
    report = _check(sandbox, "lifecycle-wrong-phone", url)
    assert report.result is LiveCheckResult.live_mismatch, report
    assert report.mismatched_fields == ["phone"]
    assert report.observed["phone"] == "(217) 555-0124"


def test_a_listing_still_in_moderation_is_not_found(sandbox: str) -> None:
    report = _check(sandbox, "lifecycle-moderated", f"{sandbox}/lifecycle-moderated/listing/999999")
    assert report.result is LiveCheckResult.not_found
    assert report.http_status == 404
