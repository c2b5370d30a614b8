"""Attack tests for issue 10 items 4 and 5: where a directory site can send the worker's browser,
and where the worker fetches the customer's logo from.

Real Chromium, the real SubmissionEngine and real local HTTP servers: a "directory site"
(allowed by WORKER_ALLOWED_PRIVATE_HOSTS, as the sandbox is in development), an "internal
service" on another loopback port that must never see a request, and a "portal" serving logos.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from playwright.async_api import async_playwright
from psycopg.types.json import Jsonb

from dbolt.business import Business
from dbolt.contracts import Assignment, Outcome
from dbolt.sql import Queries
from devstack.proxies.runner import ProxiesThread
from devstack.proxies.service import ProxyConfig
from devstack.sandbox.png import sample_logo
from tests.support.orchestrator_harness import WORKER
from tests.support.queue_helpers import enable_test_directories
from worker.addresses import DestinationPolicy, blocked_reason, parse_allow_list
from worker.browser_launch import launch_options
from worker.egress_guard import EgressGuard
from worker.engine import EngineSettings, SubmissionEngine
from worker.logo import LogoSource, LogoUnavailable
from worker.outcome import AttemptResult
from worker.proxies import parse_proxy_urls
from worker.settings import WorkerSettings

# The browser the worker runs, with its flags: the guard must hold in exactly that one.
LAUNCH = launch_options(WorkerSettings())
FORM = """<html><body><form method="post" action="/submit" enctype="multipart/form-data">
<input id="name" name="name"><input id="logo" name="logo" type="file">
<button type="submit">Submit</button></form>{extra}</body></html>"""


@dataclass
class Server:
    """A loopback HTTP server whose pages a test writes, recording every request it got."""

    pages: dict[str, Callable[[BaseHTTPRequestHandler], None]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    port: int = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _serve(server: Server) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            server.hits.append(f"{self.command} {self.path}")
            length = int(self.headers.get("content-length") or 0)
            server.bodies.append(self.rfile.read(length) if length else b"")
            page = server.pages.get(self.path.split("?")[0])
            if page is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            page(self)

        do_GET = do_POST = _any

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    server.port = httpd.server_port
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


@pytest.fixture
def servers() -> Iterator[Callable[[], Server]]:
    started: list[ThreadingHTTPServer] = []

    def make() -> Server:
        server = Server()
        started.append(_serve(server))
        return server

    yield make
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


def html(text: str) -> Callable[[BaseHTTPRequestHandler], None]:
    def page(handler: BaseHTTPRequestHandler) -> None:
        body = text.encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return page


def redirect(location: str) -> Callable[[BaseHTTPRequestHandler], None]:
    def page(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return page


def _directory(
    site: Server, path: str = "/start", steps: list[Any] | None = None
) -> dict[str, Any]:
    return {
        "directory_id": "test-site",
        "homepage": site.origin + path,
        "submit_url": site.origin + path,
        "mode": "recipe",
        "recipe": {
            "steps": steps
            or [
                {"action": "goto"},
                {"action": "fill", "selector": "#name", "value": "business_name"},
                {"action": "upload", "selector": "#logo", "value": "logo_url", "optional": True},
                {"action": "submit", "selector": "button[type=submit]"},
                {"action": "expect", "success": ".confirmation"},
            ]
        },
    }


def _attempt(
    tmp_path: Path,
    directory: dict[str, Any],
    business: Business,
    allowed: str = "",
    portal: Server | None = None,
    proxy_url: str | None = None,
) -> AttemptResult:
    settings = EngineSettings(3000, 3000, tmp_path / "artifacts")
    settings.destinations = DestinationPolicy(parse_allow_list(allowed))
    settings.logos = LogoSource(portal.origin) if portal else None
    proxy = parse_proxy_urls(proxy_url)[0] if proxy_url else None

    async def run() -> AttemptResult:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(**LAUNCH)
            try:
                engine = SubmissionEngine(browser, None, settings)
                return await engine.attempt(directory, business, proxy)
            finally:
                await browser.close()

    return asyncio.run(run())


def _business(**extra: Any) -> Business:
    # As the worker receives it: through the wire contract.
    snapshot = {"business_name": "Bluebird Bakery", **extra}
    assignment = Assignment.model_validate(
        {
            "job_id": str(uuid.uuid4()),
            "tier": "starter",
            "lease_token": str(uuid.uuid4()),
            "lease_expires_at": "2030-01-01T00:00:00Z",
            "business": snapshot,
            "directories_total": 0,
            "directories": [],
        }
    )
    return assignment.business


def _confirming_site(site: Server, extra: str = "") -> None:
    site.pages["/start"] = html(FORM.format(extra=extra))
    site.pages["/submit"] = html('<p class="confirmation">Thanks, listed!</p>')


def _assert_blocked(result: AttemptResult, *needles: str) -> None:
    assert result.outcome is Outcome.permanent_error, result
    assert result.error_code == "blocked_destination", result
    assert result.message is not None
    for needle in needles:
        assert needle in result.message, result.message


# --- Item 5: navigation guard ------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "blocked"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.0.9", True),
        ("192.168.1.1", True),
        ("100.64.0.1", True),
        ("169.254.169.254", True),
        ("169.254.1.1", True),
        ("0.0.0.0", True),  # noqa: S104 — the address under test, not a bind
        ("224.0.0.1", True),
        ("::1", True),
        ("fc00::1", True),
        ("fd12:3456::1", True),
        ("fe80::1", True),
        ("::", True),
        ("ff02::1", True),
        ("::ffff:127.0.0.1", True),
        ("64:ff9b::a9fe:a9fe", True),  # NAT64 of 169.254.169.254
        ("93.184.216.34", False),
        ("2606:4700::1111", False),
    ],
)
def test_private_and_special_addresses_are_refused(address: str, blocked: bool) -> None:
    assert (blocked_reason(ipaddress.ip_address(address)) is not None) is blocked


def test_directory_url_on_a_loopback_service_is_blocked(
    tmp_path: Path, servers: Callable[[], Server]
) -> None:
    internal = servers()
    internal.pages["/start"] = html("<p>the admin console</p>")
    result = _attempt(tmp_path, _directory(internal), _business())
    assert internal.hits == []
    _assert_blocked(result, f"127.0.0.1:{internal.port}", "loopback")


def test_redirect_302_to_another_local_server_is_blocked(
    tmp_path: Path, servers: Callable[[], Server]
) -> None:
    site, internal = servers(), servers()
    site.pages["/start"] = redirect(internal.origin + "/admin")
    internal.pages["/admin"] = html("<p>the admin console</p>")
    result = _attempt(tmp_path, _directory(site), _business(), allowed=f"127.0.0.1:{site.port}")
    assert internal.hits == []
    _assert_blocked(result, f"{internal.origin}/admin")
    assert site.hits[0] == "GET /start"


def test_redirect_to_metadata_address_is_blocked(
    tmp_path: Path, servers: Callable[[], Server]
) -> None:
    site = servers()
    site.pages["/start"] = redirect("http://169.254.169.254/latest/meta-data/iam/")
    result = _attempt(tmp_path, _directory(site), _business(), allowed=f"127.0.0.1:{site.port}")
    _assert_blocked(result, "169.254.169.254", "metadata")


def test_redirect_to_a_name_resolving_to_loopback_is_blocked(
    tmp_path: Path, servers: Callable[[], Server]
) -> None:
    site, internal = servers(), servers()
    site.pages["/start"] = redirect(f"http://localhost:{internal.port}/admin")
    result = _attempt(tmp_path, _directory(site), _business(), allowed=f"127.0.0.1:{site.port}")
    assert internal.hits == []
    _assert_blocked(result, f"localhost:{internal.port}", "loopback")


def test_redirect_after_the_form_post_to_a_private_address_is_blocked(
    tmp_path: Path, servers: Callable[[], Server]
) -> None:
    site, internal = servers(), servers()
    site.pages["/start"] = html(FORM.format(extra=""))
    site.pages["/submit"] = redirect(internal.origin + "/after-post")
    result = _attempt(tmp_path, _directory(site), _business(), allowed=f"127.0.0.1:{site.port}")
    assert internal.hits == []
    _assert_blocked(result, "/after-post")
    assert "POST /submit" in site.hits


@pytest.mark.parametrize(
    "navigation",
    [
        '<meta http-equiv="refresh" content="0; url={target}">',
        "<script>setTimeout(() => {{ location.href = '{target}'; }}, 50)</script>",
    ],
    ids=["meta-refresh", "javascript"],
)
def test_meta_and_javascript_navigation_to_a_private_address_is_blocked(
    tmp_path: Path, servers: Callable[[], Server], navigation: str
) -> None:
    site, internal = servers(), servers()
    site.pages["/start"] = html(navigation.format(target=internal.origin + "/moved"))
    steps = [{"action": "goto"}, {"action": "wait_for", "selector": "#never", "timeout_ms": 1500}]
    result = _attempt(
        tmp_path, _directory(site, steps=steps), _business(), allowed=f"127.0.0.1:{site.port}"
    )
    assert internal.hits == []
    _assert_blocked(result, "/moved")


def test_img_and_fetch_subresources_to_a_private_address_are_blocked(
    tmp_path: Path, servers: Callable[[], Server]
) -> None:
    site, internal = servers(), servers()
    extra = (
        f'<img src="{internal.origin}/pixel.png">'
        f"<script>fetch('{internal.origin}/api/secrets').catch(() => {{}});</script>"
    )
    site.pages["/start"] = html(FORM.format(extra=extra))
    site.pages["/submit"] = html("<p>We got it.</p>")  # no confirmation: not a success
    steps = [
        {"action": "goto"},
        {"action": "wait_for", "selector": "#name"},
        {"action": "fill", "selector": "#name", "value": "business_name"},
        {"action": "submit", "selector": "button[type=submit]"},
    ]
    result = _attempt(
        tmp_path, _directory(site, steps=steps), _business(), allowed=f"127.0.0.1:{site.port}"
    )
    assert internal.hits == []
    _assert_blocked(result, "/pixel.png", "/api/secrets")


def test_the_allowed_sandbox_host_still_works_and_only_that_port(
    tmp_path: Path, servers: Callable[[], Server]
) -> None:
    site, internal = servers(), servers()
    _confirming_site(site, extra=f'<img src="{internal.origin}/pixel.png">')
    result = _attempt(tmp_path, _directory(site), _business(), allowed=f"127.0.0.1:{site.port}")
    # The listing went in and is kept as a fact; the refused pixel is said, not hidden.
    assert (result.outcome, result.confirmed) == (Outcome.success, True), result
    assert result.message is not None
    assert "/pixel.png" in result.message
    assert "POST /submit" in site.hits
    assert internal.hits == []


def test_redirect_to_a_private_address_is_blocked_through_an_upstream_proxy(
    tmp_path: Path, servers: Callable[[], Server]
) -> None:
    site, internal = servers(), servers()
    site.pages["/start"] = redirect(internal.origin + "/admin")
    config = ProxyConfig(ports=[0], log_dir=tmp_path / "proxies")
    with ProxiesThread(config) as proxies:
        proxy_url = proxies.service.proxy_urls[0]
        result = _attempt(
            tmp_path,
            _directory(site),
            _business(),
            allowed=f"127.0.0.1:{site.port}",
            proxy_url=proxy_url,
        )
    assert internal.hits == []
    _assert_blocked(result, f"{internal.origin}/admin")
    # The first hop really went through the upstream proxy.
    assert "/start" in (tmp_path / "proxies" / "proxy-1.log").read_text()


# --- Item 4: logos come from the portal only -----------------------------------------------


def _logo_id() -> str:
    return f"{uuid.uuid4()}.png"


def _serve_logo(content: bytes, content_type: str = "image/png") -> Callable[..., None]:
    def page(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)

    return page


def test_logo_url_pointing_at_another_host_is_fetched_from_the_portal_only(
    tmp_path: Path, servers: Callable[[], Server]
) -> None:
    site, portal, internal = servers(), servers(), servers()
    _confirming_site(site)
    logo_id = _logo_id()
    portal.pages[f"/logos/{logo_id}"] = _serve_logo(sample_logo())
    # What customers_save_logo stores when a customer calls it with their own url_base.
    business = _business(logo_url=f"{internal.origin}/logos/{logo_id}")
    result = _attempt(
        tmp_path, _directory(site), business, allowed=f"127.0.0.1:{site.port}", portal=portal
    )
    assert internal.hits == []
    assert (result.outcome, result.confirmed) == (Outcome.success, True), result
    assert portal.hits == [f"GET /logos/{logo_id}"]
    assert sample_logo() in site.bodies[site.hits.index("POST /submit")]


@pytest.mark.parametrize(
    "stored",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://127.0.0.1:9/logos/not-a-uuid.png",
        "file:///etc/passwd",
    ],
)
def test_logo_url_that_names_no_portal_logo_is_dropped_from_the_snapshot(stored: str) -> None:
    business = _business(logo_url=stored)
    assert business.logo_id is None
    assert "logo_url" not in business.model_dump()


def test_logo_redirect_off_origin_is_not_followed_and_the_attempt_goes_on_without_it(
    tmp_path: Path, servers: Callable[[], Server]
) -> None:
    site, portal, internal = servers(), servers(), servers()
    _confirming_site(site)
    logo_id = _logo_id()
    portal.pages[f"/logos/{logo_id}"] = redirect(internal.origin + "/latest/meta-data/")
    result = _attempt(
        tmp_path,
        _directory(site),
        _business(logo_url=f"{portal.origin}/logos/{logo_id}"),
        allowed=f"127.0.0.1:{site.port}",
        portal=portal,
    )
    assert internal.hits == []
    assert (result.outcome, result.confirmed) == (Outcome.success, True), result
    posted = site.bodies[site.hits.index("POST /submit")]
    assert b'name="logo"; filename=""' in posted  # the form went without a file


def test_a_required_logo_the_portal_cannot_give_fails_the_attempt_clearly(
    tmp_path: Path, servers: Callable[[], Server]
) -> None:
    site, portal = servers(), servers()
    _confirming_site(site)
    logo_id = _logo_id()
    portal.pages[f"/logos/{logo_id}"] = _serve_logo(b"<html>not an image</html>", "text/html")
    directory = _directory(site)
    directory["recipe"]["steps"][2]["optional"] = False
    result = _attempt(
        tmp_path,
        directory,
        _business(logo_url=f"{portal.origin}/logos/{logo_id}"),
        allowed=f"127.0.0.1:{site.port}",
        portal=portal,
    )
    assert (result.outcome, result.error_code) == (Outcome.transient_error, "upload_unavailable")
    assert result.message is not None
    assert "text/html, not image/png" in result.message
    assert "POST /submit" not in site.hits


@pytest.mark.parametrize("body", ["oversized", "endless"])
def test_oversized_or_endless_logo_is_left_out_and_the_attempt_goes_on(
    tmp_path: Path, servers: Callable[[], Server], body: str
) -> None:
    site, portal = servers(), servers()
    _confirming_site(site)
    logo_id = _logo_id()
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * 2_000_000
    if body == "oversized":
        portal.pages[f"/logos/{logo_id}"] = _serve_logo(big)
    else:
        portal.pages[f"/logos/{logo_id}"] = _endless_png
    result = _attempt(
        tmp_path,
        _directory(site),
        _business(logo_url=f"{portal.origin}/logos/{logo_id}"),
        allowed=f"127.0.0.1:{site.port}",
        portal=portal,
    )
    assert (result.outcome, result.confirmed) == (Outcome.success, True), result
    posted = site.bodies[site.hits.index("POST /submit")]
    assert len(posted) < 100_000  # the directory was not sent the oversized file


def _endless_png(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "image/png")
    handler.end_headers()  # no length: the body never ends
    handler.wfile.write(b"\x89PNG\r\n\x1a\n")
    piece = b"\0" * 65536
    with contextlib.suppress(OSError):
        for _ in range(2000):  # 128 MiB, far past any cap; stops when the worker hangs up
            handler.wfile.write(piece)


def test_oversized_logo_is_aborted_at_the_cap(servers: Callable[[], Server]) -> None:
    portal = servers()
    logo_id = _logo_id()
    portal.pages[f"/logos/{logo_id}"] = _serve_logo(b"\x89PNG\r\n\x1a\n" + b"\0" * 2_000_000)
    with pytest.raises(LogoUnavailable, match="larger than 1048576 bytes"):
        asyncio.run(LogoSource(portal.origin).fetch(logo_id))


def test_endless_logo_body_is_aborted_and_nothing_hangs(servers: Callable[[], Server]) -> None:
    portal = servers()
    logo_id, slow_id = _logo_id(), _logo_id()
    sent: list[int] = [0, 0]

    def endless(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.end_headers()  # no length: the body never ends
        handler.wfile.write(b"\x89PNG\r\n\x1a\n")
        piece = b"\0" * 65536
        try:
            while sent[0] < 100_000_000:
                handler.wfile.write(piece)
                sent[0] += len(piece)
        except OSError:
            pass

    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        handler.wfile.write(b"\x89PNG\r\n\x1a\n")
        try:
            for _ in range(600):
                handler.wfile.write(b"\0")
                handler.wfile.flush()
                sent[1] += 1
                time.sleep(0.05)
        except OSError:
            pass

    portal.pages[f"/logos/{logo_id}"] = endless
    portal.pages[f"/logos/{slow_id}"] = trickle
    with pytest.raises(LogoUnavailable, match="larger than"):
        asyncio.run(LogoSource(portal.origin).fetch(logo_id))
    assert sent[0] < 20_000_000  # the worker hung up; it did not read on
    started = time.monotonic()
    with pytest.raises(LogoUnavailable, match="took longer than"):
        asyncio.run(LogoSource(portal.origin, timeout_seconds=1.0).fetch(slow_id))
    assert time.monotonic() - started < 10


def test_the_orchestrator_hands_out_the_logo_by_id_never_the_stored_url(
    api: TestClient, conn: psycopg.Connection[Any], queries: Queries
) -> None:
    enable_test_directories(conn, 1)
    logo_id = _logo_id()
    row = conn.execute("select dev.sample_business()").fetchone()
    assert row is not None
    business = row[0]
    # What customers_save_logo stored for a customer who passed their own url_base.
    business["logo_url"] = f"http://169.254.169.254/logos/{logo_id}"
    order = conn.execute(
        "select dev.create_paid_order(%s, 'starter', %s)",
        (f"c-{uuid.uuid4().hex[:8]}@example.com", Jsonb(business)),
    ).fetchone()
    assert order is not None
    order_id = order[0]
    queries.fetch_one(conn, "jobs_enqueue", order_id=order_id)
    response = api.post("/jobs-next", json={"worker_id": "w-1"}, headers=WORKER)
    assert response.status_code == 200, response.text
    handed_out = response.json()["business"]
    assert "logo_url" not in handed_out
    assert handed_out["logo_id"] == logo_id
    assert "169.254.169.254" not in response.text


def test_a_second_request_on_a_kept_alive_proxy_connection_cannot_reach_a_private_address(
    servers: Callable[[], Server],
) -> None:
    site, internal = servers(), servers()
    site.pages["/start"] = html("<p>hello</p>")
    internal.pages["/admin"] = html("<p>the admin console</p>")

    async def run() -> bytes:
        policy = DestinationPolicy(parse_allow_list(f"127.0.0.1:{site.port}"))
        guard = await EgressGuard(policy).start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", guard.port)
            # Two requests back to back on one connection: only the first was checked.
            writer.write(
                f"GET {site.origin}/start HTTP/1.1\r\nHost: 127.0.0.1:{site.port}\r\n"
                "Connection: keep-alive\r\n\r\n"
                f"GET {internal.origin}/admin HTTP/1.1\r\nHost: 127.0.0.1:{internal.port}\r\n"
                "\r\n".encode()
            )
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 10)
            writer.close()
            return answer
        finally:
            await guard.close()

    answer = asyncio.run(run())
    assert answer.startswith(b"HTTP/1.0 200") or answer.startswith(b"HTTP/1.1 200")
    assert b"connection: close" in answer.lower()
    assert internal.hits == []


def test_the_allow_list_is_exact_host_port_pairs_and_empty_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WORKER_ALLOWED_PRIVATE_HOSTS", raising=False)
    assert WorkerSettings().worker_allowed_private_hosts == ""
    monkeypatch.setenv("WORKER_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")  # no port: refused
    with pytest.raises(ValueError, match=r"'127\.0\.0\.1' is not host:port"):
        WorkerSettings()
    policy = DestinationPolicy(parse_allow_list("127.0.0.1:8400, [::1]:8400"))
    assert policy.is_allowed("127.0.0.1", 8400)
    assert policy.is_allowed("::1", 8400)
    assert not policy.is_allowed("127.0.0.1", 8401)
    assert not policy.is_allowed("localhost", 8400)


ASSETS = """<style>@font-face {{ font-family: F; src: url(/font.woff2); }}
body {{ font-family: F; }}</style><img src="/pixel.png" alt="">
<script src="http://localhost:{other}/widget.js"></script>"""


@pytest.mark.parametrize("block", [[], ["image", "font", "media", "third_party"]])
def test_a_recipe_blocks_only_what_it_names_and_still_submits(
    tmp_path: Path, servers: Callable[[], Server], block: list[str]
) -> None:
    site, other = servers(), servers()
    site.pages["/start"] = html(FORM.format(extra=ASSETS.format(other=other.port)))
    site.pages["/submit"] = html('<p class="confirmation">Thanks</p>')
    directory = _directory(site)
    directory["recipe"]["block"] = block
    allowed = f"127.0.0.1:{site.port},localhost:{other.port}"
    result = _attempt(tmp_path, directory, _business(), allowed=allowed)
    assert (result.outcome, result.confirmed) == (Outcome.success, True), result.message
    assert any(hit.startswith("POST /submit") for hit in site.hits)
    fetched = {hit.split(" ")[1] for hit in site.hits} | {hit.split(" ")[1] for hit in other.hits}
    assets = {"/pixel.png", "/font.woff2", "/widget.js"}
    # Without a block list the page loads all three (so the blocked run proves something).
    assert not (assets & fetched) if block else assets <= fetched
