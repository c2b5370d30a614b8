"""The images `make images` builds, run as Kubernetes will run them: read-only root
filesystem, uid 10001, every capability dropped, a writable /tmp only. Each service answers
/healthz from its image, the worker image drives Chromium through Playwright, tini is PID 1
and a SIGTERM stops the worker promptly. Needs podman; `make test-images` runs these."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from deploy.podman import podman
from devstack import localdb
from tests.support.podman import ARTIFACTS_TMPFS, CONTAINERFILE, HARDENED, ROOT, build_images, image
from tests.support.ports import free_port

pytestmark = pytest.mark.images

DEVELOPMENT = ("--env", "ENVIRONMENT=development", "--env", "HOST=127.0.0.1")


@pytest.fixture(scope="session")
def tag() -> str:
    return build_images()


@pytest.fixture
def container_names() -> Iterator[list[str]]:
    """Names of the containers a test starts; each is removed afterwards, pass or fail."""
    names: list[str] = []
    yield names
    for name in names:
        podman("rm", "--force", "--time", "0", name, check=False)


def get_json(url: str, timeout: float = 2) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 — http://127.0.0.1
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {}


def wait_for(url: str, ready: str, container: str, seconds: float = 90) -> dict[str, object]:
    """Poll `url` until it answers 200 (and, if `ready` is set, its `state` is `ready`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            status, body = get_json(url)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            status, body = 0, {}
        if status == 200 and (not ready or body.get("state") == ready):
            return body
        running = podman("inspect", "--format", "{{.State.Running}}", container, check=False)
        if running.stdout.strip() != "true":
            logs = podman("logs", container, check=False)
            pytest.fail(f"{container} exited before {url} was ready:\n{logs.stdout}{logs.stderr}")
        time.sleep(0.5)
    logs = podman("logs", container, check=False)
    pytest.fail(f"{url} not ready within {seconds}s:\n{logs.stdout}{logs.stderr}")


def test_containerfile_is_hadolint_clean() -> None:
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "hadolint"), str(CONTAINERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", ["services", "worker"])
def test_images_run_as_uid_10001(tag: str, name: str) -> None:
    result = podman("run", "--rm", *HARDENED, "--entrypoint", "id", image(name, tag))
    assert result.stdout.split()[:2] == ["uid=10001(directorybolt)", "gid=10001(directorybolt)"]
    default_user = podman("image", "inspect", "--format", "{{.Config.User}}", image(name, tag))
    assert default_user.stdout.strip() == "10001:10001"


@pytest.mark.parametrize(
    ("name", "entrypoint", "command"),
    [
        ("services", ["/usr/bin/tini", "--", "/opt/venv/bin/python", "-m"], ["orchestrator"]),
        ("worker", ["/usr/bin/tini", "--", "/opt/venv/bin/python", "-m", "worker"], []),
    ],
)
def test_images_start_under_tini_from_an_empty_workdir(
    tag: str, name: str, entrypoint: list[str], command: list[str]
) -> None:
    config = json.loads(
        podman("image", "inspect", "--format", "{{json .Config}}", image(name, tag)).stdout
    )
    assert config["Entrypoint"] == entrypoint
    assert (config.get("Cmd") or []) == command
    # pydantic-settings would read a .env from the working directory: there must be none.
    listing = podman(
        "run", "--rm", *HARDENED, "--entrypoint", "ls", image(name, tag), "-A", config["WorkingDir"]
    )
    assert listing.stdout == ""


@pytest.mark.parametrize("service", ["orchestrator", "webhook", "portal"])
def test_service_answers_healthz_from_its_image(
    tag: str, service: str, cluster: None, container_names: list[str]
) -> None:
    database_url = localdb.fresh(f"images_{service}")
    port = free_port()
    name = f"dbolt-test-{service}-{port}"
    container_names.append(name)
    podman(
        "run", "--detach", "--name", name, *HARDENED, *DEVELOPMENT,
        "--env", f"PORT={port}", "--env", f"DATABASE_URL={database_url}",
        image("services", tag), service,
    )  # fmt: skip
    wait_for(f"http://127.0.0.1:{port}/healthz", "", name)


class FormSite(ThreadingHTTPServer):
    """A one-page directory on 127.0.0.1: a form, and the values posted to it."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FormHandler)
        self.submitted: list[dict[str, list[str]]] = []


class FormHandler(BaseHTTPRequestHandler):
    server: FormSite

    def do_GET(self) -> None:
        self._reply(
            b'<form method="post" action="/submit"><input id="business" name="business">'
            b'<button type="submit">Submit</button></form>'
        )

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.submitted.append(parse_qs(self.rfile.read(length).decode()))
        self._reply(b"<h1>Thank you</h1>")

    def _reply(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def form_site() -> Iterator[FormSite]:
    site = FormSite()
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    yield site
    site.shutdown()
    site.server_close()


# Runs inside the worker image: the worker's own Chromium path and launch flags.
DRIVE_CHROMIUM = """
import asyncio, os, sys
from playwright.async_api import async_playwright
from worker.browser_launch import launch_options
from worker.settings import WorkerSettings

async def main(url):
    options = launch_options(WorkerSettings())
    chromium = options["executable_path"]
    async with async_playwright() as p:
        browser = await p.chromium.launch(**options)
        page = await browser.new_page()
        await page.goto(url)
        await page.fill("#business", "Bolt Bakery")
        await page.click("button")
        await page.wait_for_selector("text=Thank you")
        shot = os.path.join(os.environ["ARTIFACTS_DIR"], "thanks.png")
        await page.screenshot(path=shot)
        print(chromium, os.path.getsize(shot))
        await browser.close()

asyncio.run(main(sys.argv[1]))
"""


# The services image too: the portal renders PDF reports with the same Chromium.
@pytest.mark.parametrize("name", ["worker", "services"])
def test_image_drives_chromium_read_only(tag: str, name: str, form_site: FormSite) -> None:
    url = f"http://127.0.0.1:{form_site.server_address[1]}/"
    result = podman(
        "run", "--rm", *HARDENED, "--shm-size", "64m", *ARTIFACTS_TMPFS,
        "--env", "ENVIRONMENT=development",
        "--entrypoint", "/opt/venv/bin/python", image(name, tag), "-c", DRIVE_CHROMIUM, url,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert form_site.submitted == [{"business": ["Bolt Bakery"]}]
    chromium, screenshot_bytes = result.stdout.split()
    # The lean build the worker submits with is in the image (worker/browser_launch.py).
    assert chromium == "/usr/lib/chromium/chromium-headless-shell"
    assert int(screenshot_bytes) > 1000


def test_worker_runs_under_tini_and_stops_promptly_on_sigterm(
    tag: str, container_names: list[str]
) -> None:
    health_port, nowhere = free_port(), free_port()
    name = f"dbolt-test-worker-{health_port}"
    container_names.append(name)
    # No orchestrator and no Realtime: the worker launches Chromium, then polls with backoff,
    # which is the state a scale-down finds an idle worker in.
    podman(
        "run", "--detach", "--name", name, *HARDENED, "--shm-size", "64m",
        *ARTIFACTS_TMPFS, "--env", "ENVIRONMENT=development",
        "--env", f"HEALTH_PORT={health_port}",
        "--env", f"ORCHESTRATOR_URL=http://127.0.0.1:{nowhere}",
        "--env", f"SUPABASE_URL=http://127.0.0.1:{nowhere}",
        image("worker", tag),
    )  # fmt: skip
    wait_for(f"http://127.0.0.1:{health_port}/healthz", "idle", name)
    pid_1 = podman("exec", name, "cat", "/proc/1/cmdline").stdout.split("\0")
    assert pid_1[:4] == ["/usr/bin/tini", "--", "/opt/venv/bin/python", "-m"]

    started = time.monotonic()
    podman("stop", "--time", "30", name, timeout=60)
    stopped_in = time.monotonic() - started
    exit_code = podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
    output = podman("logs", name, check=False)
    logs = output.stdout + output.stderr
    assert exit_code == "0", logs
    assert stopped_in < 10, f"took {stopped_in:.1f}s to stop"
    assert '"action": "worker.shutdown"' in logs
