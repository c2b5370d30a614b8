"""Reading a listing page (worker/listing_page.py) and what a fetched page says about the
listing (worker/live_checks.judge): plain HTML, no network."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

import pytest

from dbolt.business import Business
from dbolt.contracts import LiveCheckReport, LiveCheckResult, LiveCheckTask
from tests.support.sample_business import sample_business
from worker import listing_page
from worker.addresses import DestinationPolicy
from worker.live_checks import LiveChecker, Page, judge, needs_browser

LISTING = """<html><head><title>Bluebird Bakery 555-9999</title>
<script>var phone = "(217) 555-7777";</script></head>
<body><nav>Home</nav><div class="card" id="listing">
  <h1 class="name">Bluebird Bakery</h1>
  <p class="addr">12 Orchard Lane<br>Springfield, IL 62701
  <span itemprop="telephone" class="tel">(217) 555-{last}</span>
</div><footer><span class="tel">(800) 555-0000</span></footer></body></html>"""


def _task(recipe: dict[str, Any] | None = None) -> LiveCheckTask:
    return LiveCheckTask(
        check_id=1,
        lease_token=uuid.uuid4(),
        job_id=uuid.uuid4(),
        directory_id="dir-a",
        listing_url="http://127.0.0.1:9/listing/1",
        recipe=recipe,
        business=Business.model_validate(sample_business()),
        seq=1,
        last=False,
    )


def test_text_skips_scripts_and_the_head() -> None:
    reading = listing_page.read(LISTING.format(last="0123"))
    assert "555-7777" not in reading.text
    assert "555-9999" not in reading.text
    assert "Bluebird Bakery 12 Orchard Lane Springfield, IL 62701 (217) 555-0123" in reading.text


@pytest.mark.parametrize(
    ("selector", "text"),
    [
        (".name", "Bluebird Bakery"),
        ("h1.name", "Bluebird Bakery"),
        ("#listing .tel", "(217) 555-0123"),
        ("div.card span[itemprop=telephone]", "(217) 555-0123"),
        ("[itemprop='telephone']", "(217) 555-0123"),
        ("footer .tel", "(800) 555-0000"),
        ("p.addr", "12 Orchard Lane Springfield, IL 62701 (217) 555-0123"),
    ],
)
def test_simple_selectors_read_the_first_matching_element(selector: str, text: str) -> None:
    assert listing_page.read(LISTING.format(last="0123"), {"f": selector}).fields == {"f": text}


def test_a_selector_that_matches_nothing_is_absent() -> None:
    assert listing_page.read(LISTING.format(last="0123"), {"f": "section .tel"}).fields == {}


@pytest.mark.parametrize("selector", ["div > .tel", "li:first-child", "a + b", "p ~ span"])
def test_selectors_beyond_the_subset_need_a_browser(selector: str) -> None:
    assert listing_page.parse_selector(selector) is None
    assert needs_browser({"phone": selector})


def test_a_recipe_asks_for_the_browser_itself() -> None:
    assert needs_browser({"browser": True, "phone": ".tel"})
    assert not needs_browser({"phone": ".tel"})
    assert not needs_browser(None)


def test_a_page_with_matching_details_is_live() -> None:
    report = judge(_task(), Page(200, LISTING.format(last="0123")))
    assert report.result is LiveCheckResult.live
    assert report.nap_score == 1.0
    assert report.mismatched_fields == []


def test_a_wrong_phone_is_live_mismatch_naming_the_field() -> None:
    report = judge(
        _task({"name": ".name", "phone": "#listing .tel"}), Page(200, LISTING.format(last="4444"))
    )
    assert report.result is LiveCheckResult.live_mismatch
    assert report.mismatched_fields == ["phone"]
    assert report.observed["phone"] == "(217) 555-4444"
    assert report.message == "the listing shows a different phone"


def test_selectors_keep_another_phone_on_the_page_out_of_it() -> None:
    # The footer's number would make a whole-page comparison see a second phone; the
    # recipe's selector reads only the listing's.
    recipe = {"name": ".name", "address": ".addr", "phone": "#listing .tel"}
    report = judge(_task(recipe), Page(200, LISTING.format(last="0123")))
    assert report.result is LiveCheckResult.live


@pytest.mark.parametrize("status", [404, 410])
def test_gone_pages_are_not_found(status: int) -> None:
    report = judge(_task(), Page(status, "<h1>Not found</h1>"))
    assert report.result is LiveCheckResult.not_found
    assert report.http_status == status


def test_a_page_without_the_business_is_not_found() -> None:
    report = judge(_task(), Page(200, "<h1>Search results</h1><p>No listings</p>"))
    assert report.result is LiveCheckResult.not_found


@pytest.mark.parametrize("status", [403, 429, 500, 503])
def test_refusals_and_server_errors_are_errors(status: int) -> None:
    assert judge(_task(), Page(status, "busy")).result is LiveCheckResult.error


def test_a_page_that_trickles_in_ends_the_check_at_its_deadline() -> None:
    """httpx's timeout is per read: a site sending a byte every half second would hold the
    check (and the worker's whole live-check loop) for ever without the check's deadline."""

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 99999\r\n\r\n")
        with contextlib.suppress(ConnectionError):
            while True:
                writer.write(b"a")
                await writer.drain()
                await asyncio.sleep(0.3)

    async def check() -> tuple[LiveCheckReport, float]:
        server = await asyncio.start_server(trickle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        checker = LiveChecker(DestinationPolicy(frozenset({f"127.0.0.1:{port}"})), 0.5)
        task = _task().model_copy(update={"listing_url": f"http://127.0.0.1:{port}/listing/1"})
        started = time.monotonic()
        try:
            report = await asyncio.wait_for(checker.check(task), 30)
        finally:
            server.close()
        return report, time.monotonic() - started

    report, seconds = asyncio.run(check())
    assert report.result is LiveCheckResult.error
    assert "did not load" in (report.message or "")
    assert seconds < 30
