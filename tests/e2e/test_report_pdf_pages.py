"""The report as a document a business owner forwards, checked the way a person meets it: the
PDF Chromium prints (A4 and US Letter) is rasterised page by page with pdfium and read back,
and the report page is opened in Chromium at phone and desktop widths.

One job of 40 directories with long names and long listing URLs, two of whose frozen listing
addresses are a directory-supplied `javascript:` and `data:` URL (a report frozen before the
database checked them): they must print as text, never as a link.

REPORT_SHOTS=<dir> saves pages 1 to 3 of each paper size as PNG, and the report page at each
width (whole on phones; for the before/after note).
"""

from __future__ import annotations

import ctypes
import os
import re
import struct
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from playwright.sync_api import Browser
from psycopg.types.json import Jsonb

from dbolt.directories import sync_directories
from dbolt.sql import Queries
from tests.support.browser import (
    DESKTOP,
    PHONE,
    PHONE_WIDE,
    assert_fits_width,
    axe_violations,
    chromium,
    signed_in_context,
)
from tests.support.portal_harness import PortalStack, access_token
from tests.support.portal_jobs import Job, served_portal

QUERIES = Queries.load()
MM = 72 / 25.4
# Page sizes in points (ISO A4 is 595.3 x 841.9); Chromium lays pages out in whole CSS
# pixels, so a size may be off by up to a point.
A4 = (595.3, 841.9)
LETTER = (612.0, 792.0)
# pdf.py's margins: 12 mm at the sides, 14 mm at the top, 16 mm at the bottom (the footer's).
SIDE, TOP, BOTTOM = 12 * MM, 14 * MM, 16 * MM
ATTACKS = ("javascript:alert(document.cookie)", "data:text/html,<script>alert(1)</script>")
SHOTS = os.environ.get("REPORT_SHOTS")

_WORDS = (
    "Greater Springfield Regional Business and Trade Directory",
    "Illinois Bakeries, Cafés & Patisseries Association Members",
    "Midwest Local Food Producers Online Marketplace Listings",
    "Yelp",
    "Supercalifragilisticbakerylistingsnetworkdirectory",
    "The Best of Sangamon County: Independent Shops",
)


def _directory_name(index: int) -> str:
    return f"{_WORDS[index % len(_WORDS)]} No. {index:02d}"


def _listing_url(index: int) -> str:
    return (
        f"https://listings.example/united-states/illinois/springfield/bakeries-and-cafes/"
        f"bluebird-bakery-{index:02d}?utm_source=directorybolt&utm_medium=report&ref={index:04d}"
    )


@dataclass
class LongReport:
    job: Job
    names: list[str]
    links: list[str]


def long_report(stack: PortalStack, count: int = 40) -> LongReport:
    """A US customer's completed job: `count` directories submitted with long names and URLs."""
    customer = stack.customer("owner@bluebird-bakery.example")
    ids = [f"long-dir-{index:02d}" for index in range(1, count + 1)]
    names = [_directory_name(index) for index in range(1, count + 1)]
    with psycopg.connect(stack.db_url, autocommit=True) as conn:
        conn.execute("update directories set enabled = false")
        sync_directories(
            conn,
            [
                {
                    "id": directory_id,
                    "name": name,
                    "homepage": f"http://127.0.0.1:9/{directory_id}",
                    "tier": "starter",
                    "priority": index,
                    "mode": "auto",
                    "enabled": True,
                }
                for index, (directory_id, name) in enumerate(zip(ids, names, strict=True))
            ],
        )
        enqueued = QUERIES.fetch_one(conn, "jobs_enqueue", order_id=customer.order_id)
    assert enqueued is not None
    job = Job(db_url=stack.db_url, customer=customer, id=enqueued["id"], directories=ids)
    job.claim()
    for index, directory_id in enumerate(ids, start=1):
        job.report(directory_id, listing_url=_listing_url(index))
    job.complete()
    # The last two: a report frozen with a directory's own javascript:/data: address, and no
    # current address on the row (what a report from before the database's check would hold).
    details = job.report_row()["details"]
    attacked = {ids[-2]: ATTACKS[0], ids[-1]: ATTACKS[1]}
    for listing in details["listings"]:
        if listing["directory_id"] in attacked:
            listing["listing_url"] = attacked[listing["directory_id"]]
    job.sql("update job_reports set details = %s where job_id = %s", Jsonb(details), job.id)
    job.sql(
        "update job_directories set listing_url = null"
        " where job_id = %s and directory_id = any(%s)",
        job.id,
        list(attacked),
    )
    return LongReport(job=job, names=names, links=[_listing_url(i) for i in range(1, count - 1)])


# -- reading the PDF back ----------------------------------------------------------------------
def _flat(text: str) -> str:
    # Skia draws "fi" as a ligature (NFKC); lines break inside cells (drop the whitespace).
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@dataclass
class Page:
    size: tuple[float, float]
    text: str
    links: list[str]
    width: int
    height: int
    gray: bytes  # one byte per pixel, 1 px per point

    def ink(self) -> list[tuple[int, int, int]]:
        """(y, first x, last x) of every pixel row with anything darker than near-white."""
        found = []
        for y in range(self.height):
            row = self.gray[y * self.width : (y + 1) * self.width].translate(_INK)
            first = row.find(1)
            if first >= 0:
                found.append((y, first, row.rfind(1)))
        return found


# Grey levels below 245 are ink (anti-aliased edges of white paper are not).
_INK = bytes(1 if level < 245 else 0 for level in range(256))


def read_pages(pdf: bytes) -> list[Page]:
    document = pdfium.PdfDocument(pdf)
    pages = []
    for page in document:
        width, height = page.get_size()
        bitmap = page.render(scale=1, grayscale=True)
        w, h, stride = bitmap.width, bitmap.height, bitmap.stride
        raw = bytes(bitmap.buffer)
        channels = bitmap.n_channels
        gray = bytearray(w * h)
        for y in range(h):
            row = raw[y * stride : y * stride + w * channels]
            gray[y * w : (y + 1) * w] = row[::channels]
        text = page.get_textpage().get_text_range()
        links = link_targets(document, page)
        pages.append(Page((width, height), text, links, w, h, bytes(gray)))
    return pages


def link_targets(document: pdfium.PdfDocument, page: pdfium.PdfPage) -> list[str]:
    """The URI of every link annotation on the page (the PDF's own links, not URL-like text)."""
    uris = []
    position = ctypes.c_int(0)
    link = pdfium_c.FPDF_LINK()
    while pdfium_c.FPDFLink_Enumerate(page, ctypes.byref(position), ctypes.byref(link)):
        action = pdfium_c.FPDFLink_GetAction(link)
        if action and pdfium_c.FPDFAction_GetType(action) == pdfium_c.PDFACTION_URI:
            size = pdfium_c.FPDFAction_GetURIPath(document, action, None, 0)
            buffer = ctypes.create_string_buffer(size)
            pdfium_c.FPDFAction_GetURIPath(document, action, buffer, size)
            uris.append(buffer.value.decode("utf-8"))
    return uris


def save_png(pdf: bytes, index: int, path: Path) -> None:
    """Page `index` as an 8-bit grey PNG at 2 px per point (no imaging library needed)."""
    bitmap = pdfium.PdfDocument(pdf)[index].render(scale=2, grayscale=True)
    w, h, stride, channels = bitmap.width, bitmap.height, bitmap.stride, bitmap.n_channels
    raw = bytes(bitmap.buffer)
    lines = b"".join(
        b"\x00" + raw[y * stride : y * stride + w * channels : channels] for y in range(h)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(lines, 6))
        + chunk(b"IEND", b"")
    )


def _same_size(found: tuple[float, float], expected: tuple[float, float]) -> bool:
    return all(abs(a - b) <= 1.0 for a, b in zip(found, expected, strict=True))


# -- the checks --------------------------------------------------------------------------------
def check_document(pdf: bytes, report: LongReport, size: tuple[float, float]) -> None:
    pages = read_pages(pdf)
    total = len(pages)
    assert total >= 3, "a cover and at least two pages of directories"
    for number, page in enumerate(pages, start=1):
        assert _same_size(page.size, size), f"page {number} is {page.size}, not {size}"
        # Nothing printed in the margins (1 mm of each is left for anti-aliasing) but the
        # footer: one line in the bottom margin, within the side margins.
        width, height = page.width, page.height
        ink = page.ink()
        assert ink, f"page {number} is blank"
        assert ink[0][0] >= TOP - MM, f"page {number}: ink in the top margin at y={ink[0][0]}"
        left = min(first for _, first, _ in ink)
        right = max(last for _, _, last in ink)
        assert left >= SIDE - MM, f"page {number}: ink in the left margin at x={left}"
        assert right <= width - SIDE + MM, f"page {number}: ink in the right margin at x={right}"
        footer = [y for y, _, _ in ink if y > height - BOTTOM + MM]
        assert footer, f"page {number} has no footer"
        assert footer[-1] - footer[0] <= 4 * MM, f"page {number}: more than a footer line below"
        assert footer[-1] <= height - 3 * MM, f"page {number}: the footer runs off the page"
        flat = _flat(page.text)
        assert _flat(f"Page {number} of {total}") in flat, f"page {number} has no page number"
        assert "BluebirdBakery" in flat, f"page {number}'s footer does not name the business"

    cover = _flat(pages[0].text)
    for words in (
        "DirectoryBolt",
        "Bluebird Bakery",
        "12 Orchard Lane",
        "Springfield",
        "bluebird-bakery.example",
        "Starter",
        "Delivered",
        "Live",
        "Needs your action",
        "Refunded",
    ):
        assert _flat(words) in cover, f"the cover lacks {words!r}"
    # The cover is a cover: no directory is listed on it.
    assert not any(_flat(name) in cover for name in report.names)

    # Every directory's row on exactly one page, whole (name and its listing address together):
    # a row cut across a page break would leave part of it on each.
    for index, name in enumerate(report.names):
        holding = [n for n, page in enumerate(pages) if _flat(name) in _flat(page.text)]
        assert len(holding) == 1, f"{name!r} is on pages {holding}: " + " | ".join(
            pages[n].text for n in holding[1:]
        )
        if index < len(report.links):
            assert _flat(report.links[index]) in _flat(pages[holding[0]].text), name

    # The header row is repeated on every page of the table, and never left alone at a foot.
    header = _flat("# Directory Result Listing Submitted")
    with_table = [
        n for n, page in enumerate(pages) if any(_flat(x) in _flat(page.text) for x in report.names)
    ]
    for n in with_table:
        text = _flat(pages[n].text)
        assert header in text, f"page {n + 1} has rows but no header row"
    for n, page in enumerate(pages):
        assert header not in _flat(page.text) or n in with_table, f"page {n + 1}: a lone header"

    # Each listing address is a working link; a directory's javascript:/data: one is not.
    every = [uri for page in pages for uri in page.links]
    for url in report.links:
        assert url in every, f"no link annotation for {url}"
    assert not [uri for uri in every if not uri.startswith(("https://", "http://"))], every
    flat_all = "".join(_flat(page.text) for page in pages)
    assert "javascript:alert" in flat_all, "the address is shown, as text"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def test_the_pdf_is_a_cover_and_a_table_that_fits_a4_and_letter(portal_stack: PortalStack) -> None:
    report = long_report(portal_stack)
    cookies = report.job.customer.cookies
    url = f"/jobs/{report.job.id}/report.pdf"
    documents = {}
    for paper, size in (("a4", A4), ("letter", LETTER)):
        response = portal_stack.client.get(f"{url}?paper={paper}", cookies=cookies)
        assert response.status_code == 200, response.text
        documents[paper] = response.content
        if SHOTS:
            for index in (0, 1, 2):
                save_png(response.content, index, Path(SHOTS) / f"report-{paper}-p{index + 1}.png")
        check_document(response.content, report, size)
    # A US business gets US Letter unless it asks (tests/unit/test_report_paper.py: the rest).
    default = portal_stack.client.get(url, cookies=cookies).content
    assert _same_size(read_pages(default)[0].size, LETTER)


def test_the_report_page_fits_a_phone_and_offers_both_paper_sizes(
    portal_stack: PortalStack, browser: Browser
) -> None:
    # Every kind of long name and URL, and both attacks, in fewer rows: width is the point here.
    report = long_report(portal_stack, count=8)
    job = report.job
    token = access_token(job.customer.user_id, job.customer.email)
    with served_portal(portal_stack) as (url, _app):
        for viewport in (PHONE, PHONE_WIDE, DESKTOP):
            context = signed_in_context(browser, url, token, viewport)
            page = context.new_page()
            page.goto(f"{url}/jobs/{job.id}/report")
            if SHOTS:
                page.screenshot(
                    path=Path(SHOTS) / f"report-page-{viewport['width']}.png",
                    full_page=viewport is not DESKTOP,
                )
            assert_fits_width(page)
            assert axe_violations(page) == []
            if viewport is DESKTOP:
                hrefs = page.eval_on_selector_all(
                    "a[href*='report.pdf']", "links => links.map(a => a.getAttribute('href'))"
                )
                assert f"/jobs/{job.id}/report.pdf?paper=letter" in hrefs
                assert f"/jobs/{job.id}/report.pdf?paper=a4" in hrefs
                listing_hrefs = page.eval_on_selector_all(
                    "a[href]", "links => links.map(a => a.getAttribute('href'))"
                )
                assert report.links[0] in listing_hrefs
                assert not [h for h in listing_hrefs if h.startswith(("javascript:", "data:"))]
            context.close()
