"""The baseline: a bare Playwright loop with no orchestration, run as its own process.

`python -m bench.worker.bare --sandbox URL --contexts N --businesses B --label L --sites …`
submits every (business, site) pair, business by business as the worker's jobs come, with N
pages working at once, each submission in a fresh browser context as the worker does. No
queue, no reports, no recipes: the hand-written fillers of `bench.worker.sites`.

A process of its own so that its Python, its Playwright driver and its Chromium can be
measured exactly like the worker's. It prints one JSON line (the result) on stdout, then
waits for a line on stdin before closing Chromium, so the parent can take a last memory
sample of a browser still in the state it measured. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from playwright.async_api import Browser, async_playwright
from playwright.async_api import Error as PlaywrightError

from bench.worker.sites import FILLERS, Business, businesses

# The flags worker/main.py launches Chromium with, so both sides run the same browser.
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--no-first-run",
]
PROGRESS_EVERY_SECONDS = 5.0


@dataclass
class BareResult:
    started_at: float
    ended_at: float = 0.0
    confirmed: int = 0
    failures: list[str] = field(default_factory=list)
    # Seconds per submission, by site: the browser work alone, for the per-site table.
    seconds: dict[str, list[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Work:
    site: str
    business: Business


async def _submit(browser: Browser, base: str, work: Work, timeout_ms: int) -> float:
    started = time.perf_counter()
    context = await browser.new_context()
    context.set_default_timeout(timeout_ms)
    try:
        page = await context.new_page()
        await FILLERS[work.site](page, base, work.business)
    finally:
        await context.close()
    return time.perf_counter() - started


async def _lane(
    browser: Browser, base: str, queue: asyncio.Queue[Work], result: BareResult, timeout_ms: int
) -> None:
    while True:
        try:
            work = queue.get_nowait()
        except asyncio.QueueEmpty:
            return
        try:
            seconds = await _submit(browser, base, work, timeout_ms)
        except PlaywrightError as error:
            first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
            result.failures.append(f"{work.site} / {work.business.name}: {first_line}")
            continue
        result.confirmed += 1
        result.seconds.setdefault(work.site, []).append(seconds)


async def _progress(result: BareResult, total: int, label: str) -> None:
    while True:
        await asyncio.sleep(PROGRESS_EVERY_SECONDS)
        elapsed = time.time() - result.started_at
        rate = result.confirmed / elapsed * 60 if elapsed > 0 else 0.0
        print(
            f"    {label}: {result.confirmed}/{total} confirmed, {rate:.1f}/min so far",
            file=sys.stderr,
            flush=True,
        )


async def run(args: argparse.Namespace) -> None:
    work = [
        Work(site, business)
        for business in businesses(args.label, args.businesses)
        for site in args.sites.split(",")
    ]
    queue: asyncio.Queue[Work] = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS
        )
        # The clock starts with Chromium up, as the worker's starts at its first claim.
        result = BareResult(started_at=time.time())
        progress = asyncio.create_task(_progress(result, len(work), args.label))
        await asyncio.gather(
            *(
                _lane(browser, args.sandbox, queue, result, args.timeout_ms)
                for _ in range(args.contexts)
            )
        )
        result.ended_at = time.time()
        progress.cancel()
        print(json.dumps(asdict(result)), flush=True)
        # Chromium stays up until the parent has taken its last sample.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        await browser.close()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.worker.bare", description=__doc__)
    add = parser.add_argument
    add("--sandbox", required=True, help="the sandbox's base URL")
    add("--contexts", type=int, required=True, help="submissions under way at once")
    add("--businesses", type=int, required=True, help="businesses, each to every site")
    add("--label", required=True, help="names the businesses (Bench <label> Bakery 0001…)")
    add("--sites", required=True, help="comma-separated sandbox site names")
    add("--chromium", default="/usr/lib/chromium/chromium")
    add("--timeout-ms", type=int, default=8_000, help="per action, as the worker's steps")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
