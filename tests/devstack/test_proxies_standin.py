"""The forward-proxy stand-in (devstack.proxies) with real sockets: Basic proxy auth, the Via
header, bodies relayed intact both ways, CONNECT tunnels, the failure modes the admin API
switches on, the loopback-only rule, and the per-proxy request logs.

The proxies run in a thread with their own event loop; the origin is a small Starlette app
under uvicorn that echoes what it received. Clients are httpx, or raw sockets where the exact
bytes on the wire matter.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from devstack.proxies import ProxyConfig
from devstack.proxies.runner import ProxiesThread
from tests.support.ports import free_port

USER = "dbolt"
PASSWORD = "test-proxy-pass"
GOOD_AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
# Built once: each httpx client would otherwise load the CA bundle again (~0.2 s), and
# nothing here speaks TLS to the client anyway.
TLS = ssl.create_default_context()


# -- the origin: echoes what reached it -----------------------------------------------------
@dataclass
class Origin:
    url: str
    port: int
    received: list[dict[str, Any]] = field(default_factory=list)


def origin_app(origin: Origin) -> Starlette:
    async def echo(request: Request) -> Response:
        body = await request.body()
        seen = {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": [[name, value] for name, value in request.headers.items()],
            "body_length": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
        }
        origin.received.append(seen)
        return JSONResponse(seen)

    async def stream(request: Request) -> Response:
        async def pieces() -> AsyncIterator[bytes]:
            for number in range(50):
                yield f"piece {number:03d}\n".encode() * 100

        # No Content-Length: uvicorn sends it chunked.
        return StreamingResponse(pieces(), media_type="text/plain")

    return Starlette(
        routes=[
            Route("/stream", stream),
            Route("/{path:path}", echo, methods=["GET", "POST", "PUT", "DELETE", "HEAD"]),
        ]
    )


@pytest.fixture(scope="module")
def origin() -> Iterator[Origin]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    served = Origin(f"http://127.0.0.1:{port}", port)
    server = uvicorn.Server(uvicorn.Config(origin_app(served), log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_until(lambda: server.started)
    yield served
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


# -- the proxies ----------------------------------------------------------------------------
@dataclass
class Proxies:
    urls: list[str]
    ports: list[int]
    admin: httpx.Client
    log_dir: Path

    def client(self, index: int, proxy_url: str | None = None) -> httpx.Client:
        return httpx.Client(
            proxy=proxy_url or self.urls[index - 1], timeout=5, trust_env=False, verify=TLS
        )

    def stats(self, index: int) -> dict[str, Any]:
        response = self.admin.get("/_admin/stats")
        response.raise_for_status()
        entry: dict[str, Any] = response.json()["proxies"][index - 1]
        assert entry["index"] == index
        return entry

    def set_mode(self, index: int, mode: str) -> httpx.Response:
        return self.admin.post(f"/_admin/proxies/{index}/mode", json={"mode": mode})

    def log_lines(self, index: int) -> list[dict[str, Any]]:
        path = self.log_dir / f"proxy-{index}.log"
        return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxiesThread]:
    config = ProxyConfig(
        ports=[0, 0, 0],
        user=USER,
        password=PASSWORD,
        admin_port=0,
        log_dir=tmp_path_factory.mktemp("proxy-logs"),
    )
    with ProxiesThread(config) as thread:
        yield thread


@pytest.fixture
def proxies(running: ProxiesThread) -> Iterator[Proxies]:
    service = running.service
    assert service.admin_url is not None
    with httpx.Client(base_url=service.admin_url, timeout=5, trust_env=False, verify=TLS) as admin:
        admin.post("/_admin/reset").raise_for_status()
        yield Proxies(
            urls=service.proxy_urls,
            ports=[proxy.port for proxy in service.proxies],
            admin=admin,
            log_dir=service.config.log_dir,
        )


# -- helpers --------------------------------------------------------------------------------
def wait_until(predicate: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.01)
    return value


def header(seen: dict[str, Any], name: str) -> list[str]:
    return [value for key, value in seen["headers"] if key == name]


def raw_request(port: int, request: bytes, then: bytes = b"") -> tuple[bytes, bytes]:
    """Send `request`, read the proxy's answer head; send `then`; read to the end.

    Returns (head, everything after it).
    """
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received:
            piece = sock.recv(65536)
            if not piece:
                break
            received += piece
        head, _, rest = received.partition(b"\r\n\r\n")
        if then:
            sock.sendall(then)
        while piece := sock.recv(65536):
            rest += piece
    return head, rest


def proxy_request(method: str, target: str, auth: str | None = GOOD_AUTH) -> bytes:
    lines = [
        f"{method} {target} HTTP/1.1",
        f"Host: {target.split('/')[2] if '//' in target else target}",
    ]
    if auth:
        lines.append(f"Proxy-Authorization: {auth}")
    return ("\r\n".join([*lines, "", ""])).encode()


# -- forwarding -----------------------------------------------------------------------------
def test_get_is_forwarded_with_the_proxys_via_header(proxies: Proxies, origin: Origin) -> None:
    with proxies.client(1) as client:
        response = client.get(f"{origin.url}/listing?id=42&q=a+b")

    assert response.status_code == 200
    seen = response.json()
    assert seen["path"] == "/listing"
    assert seen["query"] == "id=42&q=a+b"
    assert header(seen, "via") == ["1.1 dbolt-proxy-1"]
    assert header(seen, "host") == [f"127.0.0.1:{origin.port}"]
    # The credentials are for the proxy only; the origin never sees them.
    assert header(seen, "proxy-authorization") == []
    assert header(seen, "connection") == ["close"]
    assert response.headers["via"] == "1.1 dbolt-proxy-1"
    # RFC 9209: the status is the origin's, not the proxy's.
    assert response.headers["proxy-status"] == "dbolt-proxy-1; received-status=200"


def test_each_proxy_names_itself(proxies: Proxies, origin: Origin) -> None:
    for index in (1, 2, 3):
        with proxies.client(index) as client:
            seen = client.get(f"{origin.url}/who").json()
        assert header(seen, "via") == [f"1.1 dbolt-proxy-{index}"]
        assert proxies.stats(index)["requests"] == 1


def test_localhost_is_an_allowed_target(proxies: Proxies, origin: Origin) -> None:
    with proxies.client(2) as client:
        response = client.get(f"http://localhost:{origin.port}/by-name")

    assert response.status_code == 200
    assert header(response.json(), "host") == [f"localhost:{origin.port}"]


def test_an_existing_via_header_is_extended(proxies: Proxies, origin: Origin) -> None:
    with proxies.client(1) as client:
        seen = client.get(f"{origin.url}/chain", headers={"Via": "1.1 upstream"}).json()

    assert header(seen, "via") == ["1.1 upstream, 1.1 dbolt-proxy-1"]


@pytest.mark.parametrize(
    "proxy_auth",
    [None, f"{USER}:wrong-password", f"someone:{PASSWORD}"],
    ids=["no credentials", "wrong password", "wrong user"],
)
def test_bad_credentials_get_407(proxies: Proxies, origin: Origin, proxy_auth: str | None) -> None:
    port = proxies.ports[0]
    url = f"http://{proxy_auth}@127.0.0.1:{port}" if proxy_auth else f"http://127.0.0.1:{port}"
    before = len(origin.received)

    with proxies.client(1, proxy_url=url) as client:
        response = client.get(f"{origin.url}/secret")

    assert response.status_code == 407
    assert response.headers["proxy-authenticate"] == 'Basic realm="dbolt"'
    assert len(origin.received) == before
    stats = proxies.stats(1)
    # Asking without credentials is how Basic auth starts (Chromium always does): a
    # challenge, not a failure. Wrong credentials are a failure.
    assert (stats["challenges"], stats["failures"]) == ((1, 0) if proxy_auth is None else (0, 1))


def test_a_non_basic_scheme_gets_407(proxies: Proxies, origin: Origin) -> None:
    head, _ = raw_request(
        proxies.ports[0], proxy_request("GET", f"{origin.url}/", auth="Bearer " + PASSWORD)
    )

    assert head.startswith(b"HTTP/1.1 407 ")


def test_post_body_with_content_length_arrives_intact(proxies: Proxies, origin: Origin) -> None:
    body = os.urandom(300_000)

    with proxies.client(1) as client:
        seen = client.post(f"{origin.url}/upload", content=body).json()

    assert seen["method"] == "POST"
    assert seen["body_length"] == len(body)
    assert seen["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert proxies.stats(1)["bytes_to_origin"] == len(body)


def test_chunked_post_body_arrives_intact(proxies: Proxies, origin: Origin) -> None:
    pieces = [os.urandom(size) for size in (1, 70_000, 5, 0x1000)]

    with proxies.client(3) as client:
        seen = client.post(f"{origin.url}/chunked", content=iter(pieces)).json()

    assert header(seen, "transfer-encoding") == ["chunked"]
    assert seen["body_length"] == sum(map(len, pieces))
    assert seen["body_sha256"] == hashlib.sha256(b"".join(pieces)).hexdigest()


def test_a_form_post_is_forwarded(proxies: Proxies, origin: Origin) -> None:
    with proxies.client(2) as client:
        seen = client.post(f"{origin.url}/submit", data={"name": "Bluebird Bakery"}).json()

    expected = b"name=Bluebird+Bakery"
    assert seen["body_sha256"] == hashlib.sha256(expected).hexdigest()
    assert header(seen, "content-type") == ["application/x-www-form-urlencoded"]


def test_a_chunked_response_is_relayed_whole(proxies: Proxies, origin: Origin) -> None:
    with proxies.client(1) as client:
        response = client.get(f"{origin.url}/stream")

    assert response.headers["transfer-encoding"] == "chunked"
    expected = b"".join(f"piece {n:03d}\n".encode() * 100 for n in range(50))
    assert response.content == expected


def test_head_requests_have_no_body(proxies: Proxies, origin: Origin) -> None:
    with proxies.client(1) as client:
        response = client.head(f"{origin.url}/head")
        again = client.get(f"{origin.url}/after-head")

    assert response.status_code == 200
    assert response.content == b""
    assert again.json()["path"] == "/after-head"


def test_the_client_connection_is_kept_alive(proxies: Proxies, origin: Origin) -> None:
    with socket.create_connection(("127.0.0.1", proxies.ports[0]), timeout=5) as sock:
        paths = []
        for number in range(3):
            sock.sendall(proxy_request("GET", f"{origin.url}/keep/{number}"))
            response = http.client.HTTPResponse(sock)
            response.begin()
            paths.append(json.loads(response.read())["path"])
            assert response.getheader("connection") is None

    assert paths == ["/keep/0", "/keep/1", "/keep/2"]
    assert proxies.stats(1)["requests"] == 3


def test_an_origin_that_is_down_gets_502_naming_the_cause(proxies: Proxies) -> None:
    port = free_port()
    with proxies.client(1) as client:
        response = client.get(f"http://127.0.0.1:{port}/")

    assert response.status_code == 502
    # What the worker reads to call the site down rather than blame the proxy.
    assert response.headers["proxy-status"] == (
        f'dbolt-proxy-1; error=connection_refused; details="cannot connect to '
        f'127.0.0.1:{port}: Connection refused"'
    )
    assert proxies.stats(1)["failures"] == 1


def test_an_origin_form_request_is_not_a_proxy_request(proxies: Proxies) -> None:
    head, _ = raw_request(proxies.ports[0], proxy_request("GET", "/relative"))

    assert head.startswith(b"HTTP/1.1 400 ")


@pytest.mark.parametrize(
    ("extra_headers", "status"),
    [
        (["Transfer-Encoding: gzip"], 400),
        (["Content-Length: 5", "Content-Length: 6"], 400),
        (["Content-Length: -1"], 400),
        (["X-Folded: one", " two"], 400),
        ([f"X-Huge: {'a' * 70_000}"], 431),
    ],
    ids=["unknown coding", "two lengths", "negative length", "obs-fold", "huge head"],
)
def test_ambiguous_requests_are_refused(
    proxies: Proxies, origin: Origin, extra_headers: list[str], status: int
) -> None:
    before = len(origin.received)
    request = proxy_request("POST", f"{origin.url}/smuggle")[:-2]
    request += "".join(f"{line}\r\n" for line in extra_headers).encode() + b"\r\n"

    head, _ = raw_request(proxies.ports[0], request)

    assert head.startswith(f"HTTP/1.1 {status} ".encode()), head[:80]
    assert len(origin.received) == before
    assert proxies.stats(1)["failures"] == 1


def test_expect_100_continue_is_answered_by_the_proxy(proxies: Proxies, origin: Origin) -> None:
    body = b"z" * 2000
    request = (
        proxy_request("PUT", f"{origin.url}/expect")[:-2]
        + (
            f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
        ).encode()
    )

    head, rest = raw_request(proxies.ports[0], request, then=body)

    assert head == b"HTTP/1.1 100 Continue"
    final_head, _, final_body = rest.partition(b"\r\n\r\n")
    assert final_head.startswith(b"HTTP/1.1 200 ")
    seen = json.loads(final_body)
    assert seen["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert header(seen, "expect") == []


# -- CONNECT ----------------------------------------------------------------------------------
def test_connect_tunnels_to_the_local_origin(proxies: Proxies, origin: Origin) -> None:
    inside = (
        f"GET /through-tunnel HTTP/1.1\r\nHost: 127.0.0.1:{origin.port}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()

    head, rest = raw_request(
        proxies.ports[1], proxy_request("CONNECT", f"127.0.0.1:{origin.port}"), then=inside
    )

    assert head.startswith(b"HTTP/1.1 200 ")
    status_line, _, after = rest.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 200 OK"
    seen = json.loads(after.partition(b"\r\n\r\n")[2])
    assert seen["path"] == "/through-tunnel"
    # A tunnel is opaque: the proxy cannot add Via inside it.
    assert header(seen, "via") == []
    stats = wait_until(lambda: proxies.stats(2) if proxies.stats(2)["requests"] else None)
    assert stats["tunnels"] == 1
    assert stats["failures"] == 0
    assert stats["bytes_to_origin"] == len(inside)


def test_connect_needs_credentials_too(proxies: Proxies, origin: Origin) -> None:
    head, _ = raw_request(
        proxies.ports[1], proxy_request("CONNECT", f"127.0.0.1:{origin.port}", auth=None)
    )

    assert head.startswith(b"HTTP/1.1 407 ")
    assert b'Proxy-Authenticate: Basic realm="dbolt"' in head
    assert proxies.stats(2)["challenges"] == 1
    assert proxies.stats(2)["tunnels"] == 0


# -- loopback only --------------------------------------------------------------------------
@pytest.fixture
def connection_attempts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, Any]]:
    """Every outgoing connection the proxies try (they run in this process)."""
    attempts: list[tuple[Any, Any]] = []
    original = asyncio.open_connection

    async def recording(
        host: Any, port: Any, **kwargs: Any
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        attempts.append((host, port))
        return await original(host, port, **kwargs)

    monkeypatch.setattr(asyncio, "open_connection", recording)
    return attempts


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("GET", "http://example.com/"),
        ("GET", "http://93.184.215.14/"),
        ("GET", "http://10.0.0.1:8080/"),
        ("GET", "http://169.254.169.254/latest/meta-data/"),
        ("GET", "http://[2001:db8::1]/"),
        ("GET", "http://0.0.0.0/"),
        ("GET", "http://2130706433/"),  # 127.0.0.1 as one number: not an address we accept
        ("GET", "http://127.0.0.1.nip.io/"),  # a name: never resolved, so never trusted
        ("GET", "http://localhost.example.com/"),
        ("CONNECT", "example.com:443"),
        ("CONNECT", "8.8.8.8:443"),
    ],
)
def test_non_loopback_targets_are_refused_before_any_connection(
    proxies: Proxies, connection_attempts: list[tuple[Any, Any]], method: str, target: str
) -> None:
    head, _ = raw_request(proxies.ports[0], proxy_request(method, target))

    assert head.startswith(b"HTTP/1.1 403 "), head
    assert b"Proxy-Status: dbolt-proxy-1; error=destination_ip_prohibited;" in head
    assert connection_attempts == []
    assert proxies.stats(1)["failures"] == 1


def test_the_connection_recorder_sees_loopback_connections(
    proxies: Proxies, origin: Origin, connection_attempts: list[tuple[Any, Any]]
) -> None:
    # Guards the test above: an empty list there means "refused", not "not recorded".
    with proxies.client(1) as client:
        assert client.get(f"{origin.url}/").status_code == 200

    assert connection_attempts == [("127.0.0.1", origin.port)]


# -- failure modes --------------------------------------------------------------------------
def test_error_mode_answers_502(proxies: Proxies, origin: Origin) -> None:
    assert proxies.set_mode(2, "error").json()["mode"] == "error"

    with proxies.client(2) as client:
        failed = client.get(f"{origin.url}/")
    assert failed.status_code == 502
    # The proxy's own failure, which the worker retries on another proxy.
    assert failed.headers["proxy-status"].startswith("dbolt-proxy-2; error=proxy_internal_error")
    with proxies.client(1) as client:
        assert client.get(f"{origin.url}/").status_code == 200

    assert proxies.stats(2) | {"port": 0} == {
        "index": 2,
        "port": 0,
        "mode": "error",
        "requests": 1,
        "failures": 1,
        "challenges": 0,
        "tunnels": 0,
        "bytes_to_client": proxies.stats(2)["bytes_to_client"],
        "bytes_to_origin": 0,
    }
    assert proxies.stats(1)["failures"] == 0


def test_auth_mode_answers_407_to_good_credentials(proxies: Proxies, origin: Origin) -> None:
    proxies.set_mode(3, "auth").raise_for_status()
    before = len(origin.received)

    with proxies.client(3) as client:
        response = client.get(f"{origin.url}/")

    assert response.status_code == 407
    assert len(origin.received) == before
    assert proxies.stats(3)["mode"] == "auth"


def test_refuse_mode_closes_the_connection_at_once(proxies: Proxies, origin: Origin) -> None:
    proxies.set_mode(1, "refuse").raise_for_status()

    with proxies.client(1) as client, pytest.raises(httpx.TransportError):
        client.get(f"{origin.url}/")

    stats = wait_until(lambda: proxies.stats(1) if proxies.stats(1)["failures"] else None)
    assert stats["requests"] == 1
    assert stats["mode"] == "refuse"


def test_a_proxy_recovers_when_set_back_to_ok(proxies: Proxies, origin: Origin) -> None:
    for mode in ("refuse", "error", "auth"):
        proxies.set_mode(1, mode).raise_for_status()
        proxies.set_mode(1, "ok").raise_for_status()
        with proxies.client(1) as client:
            assert client.get(f"{origin.url}/again").status_code == 200


def test_the_admin_api_names_what_is_wrong(proxies: Proxies) -> None:
    bad_mode = proxies.set_mode(1, "explode")
    no_such_proxy = proxies.set_mode(9, "ok")
    not_json = proxies.admin.post("/_admin/proxies/1/mode", content=b"mode=ok")

    assert bad_mode.status_code == 400
    assert bad_mode.json() == {"detail": "mode: must be one of ok, refuse, error, auth"}
    assert no_such_proxy.status_code == 404
    assert not_json.status_code == 400
    assert proxies.admin.get("/_admin/nothing").status_code == 404
    assert proxies.stats(1)["mode"] == "ok"


# -- request logs ---------------------------------------------------------------------------
def test_every_request_is_a_log_line_without_secrets(proxies: Proxies, origin: Origin) -> None:
    marker = f"/logged-{time.monotonic_ns()}"
    with proxies.client(2) as client:
        client.get(f"{origin.url}{marker}?key=query-secret-value")
        client.post(f"{origin.url}{marker}", content=b"x" * 1000)
    with proxies.client(2, proxy_url=f"http://{USER}:nope@127.0.0.1:{proxies.ports[1]}") as bad:
        bad.get(f"{origin.url}{marker}")

    def logged() -> list[dict[str, Any]]:
        lines = [line for line in proxies.log_lines(2) if marker in line["target"]]
        return lines if len(lines) == 3 else []

    # The line is appended as the answer goes out; this thread may read the file first.
    lines = wait_until(logged, timeout=5)

    assert [(line["method"], line["status"]) for line in lines] == [
        ("GET", 200),
        ("POST", 200),
        ("GET", 407),
    ]
    assert all(line["proxy"] == 2 and line["port"] == proxies.ports[1] for line in lines)
    assert lines[0]["target"] == f"http://127.0.0.1:{origin.port}{marker}"
    assert lines[1]["bytes_to_origin"] == 1000
    assert all(line["bytes"] > 0 for line in lines)
    assert lines[2]["error"] == "proxy authentication required"
    assert proxies.stats(2)["failures"] == 1
    text = (proxies.log_dir / "proxy-2.log").read_text()
    assert "query-secret-value" not in text
    assert PASSWORD not in text


# -- the command line -----------------------------------------------------------------------
def test_the_command_line_prints_proxy_urls_and_serves(tmp_path: Path, origin: Origin) -> None:
    ports = [free_port(), free_port()]
    admin_port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devstack.proxies",
            "--ports",
            ",".join(map(str, ports)),
            "--user",
            USER,
            "--password",
            PASSWORD,
            "--admin-port",
            str(admin_port),
            "--log-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline().strip()
        expected = ",".join(f"http://{USER}:{PASSWORD}@127.0.0.1:{port}" for port in ports)
        assert first_line == f"PROXY_URLS={expected}"

        with httpx.Client(
            proxy=expected.split(",")[1], timeout=5, trust_env=False, verify=TLS
        ) as client:
            seen = client.get(f"{origin.url}/from-cli").json()
        assert header(seen, "via") == ["1.1 dbolt-proxy-2"]
        stats = httpx.get(f"http://127.0.0.1:{admin_port}/_admin/stats", trust_env=False).json()
        assert [entry["port"] for entry in stats["proxies"]] == ports
        assert stats["proxies"][1]["requests"] == 1
        assert (tmp_path / "proxy-2.log").read_text().count("\n") == 1
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    assert PASSWORD not in stderr
