"""The whole system as real processes for end-to-end tests: orchestrator, Realtime
stand-in, sandbox directories, 2Captcha stand-in, proxies and workers (real Chromium),
against a fresh database of the local cluster. Everything on free loopback ports.

The customer journey's parts are optional (`start_services(mail=…, stripe=…, functions=…,
webhook=…, portal=…)`, or `journey=True` for all of them): the mail catcher, the Stripe
stand-in (webhooks to the webhook receiver), the Edge Functions under Deno behind the
Supabase stand-in's /functions/v1, the webhook receiver and the portal — wired as `make up`
wires them, so browser tests of the journey and of the staff dashboard share one harness."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from dbolt.directories import load_directories, sync_directories
from devstack import functions as functions_module
from devstack import jwt_keys
from devstack.stripe.settings import (
    DEFAULT_CHECKOUT_SIGNING_SECRET,
    DEFAULT_PRICES,
    DEFAULT_SECRET_KEY,
    DEFAULT_WEBHOOK_SECRET,
)
from devstack.supabase_api.accounts import ensure_worker_account, worker_password
from tests.support.orchestrator_harness import STAFF_KEY, WORKER_TOKEN
from tests.support.ports import free_ports

ROOT = Path(__file__).resolve().parents[2]
SANDBOX_DEFAULT = "http://127.0.0.1:8400"
PROXY_USER, PROXY_PASSWORD = "dbolt", "e2e-proxy-pass"
STRIPE_SECRET_KEY = DEFAULT_SECRET_KEY
STRIPE_WEBHOOK_SECRET = DEFAULT_WEBHOOK_SECRET
STRIPE_PRICES = {price.tier: price.id for price in DEFAULT_PRICES}


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


@dataclass
class Stack:
    db_url: str
    tmp: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    edge_functions: functions_module.EdgeFunctions | None = None
    _supabase_env: dict[str, str] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def proxy_urls(self) -> str:
        return ",".join(
            f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{port}" for port in self.proxy_ports
        )

    proxy_ports: list[int] = field(default_factory=list)

    def _spawn(
        self,
        name: str,
        args: list[str],
        env: dict[str, str] | None = None,
        ready: str | None = None,
    ) -> None:
        log = (self.tmp / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            # Every service is in production unless told otherwise; this is the local stack.
            env=os.environ | {"ENVIRONMENT": "development"} | (env or {}),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes[name] = process
        if ready:
            _wait_http(ready, process)

    # The keys and URLs the journey's services share ----------------------------------

    @property
    def anon_key(self) -> str:
        return jwt_keys.mint_api_key("anon")

    @property
    def service_role_key(self) -> str:
        return jwt_keys.mint_api_key("service_role")

    @property
    def portal_url(self) -> str:
        return self.url("portal")

    @property
    def smtp_url(self) -> str:
        return f"smtp://127.0.0.1:{self.ports['smtp']}"

    @property
    def artifacts_dir(self) -> Path:
        return self.tmp / "artifacts"

    def start_services(
        self,
        slow_delay: float = 6.0,
        lease_seconds: int = 30,
        *,
        journey: bool = False,
        orchestrator: bool = True,
        mail: bool = False,
        stripe: bool = False,
        functions: bool = False,
        webhook: bool = False,
        portal: bool = False,
        orchestrator_env: dict[str, str] | None = None,
        sandbox_env: dict[str, str] | None = None,
    ) -> None:
        """The worker's world always; the journey's services when asked (`journey` = all).
        Edge Functions need the Stripe stand-in; the webhook's emails need the mail catcher.
        `orchestrator=False` leaves its port chosen but nothing on it (the local rehearsal
        runs the containerised one there)."""
        mail, stripe, functions, webhook, portal = (
            flag or journey for flag in (mail, stripe, functions, webhook, portal)
        )
        stripe = stripe or functions
        mail = mail or webhook
        # Every port is known before anything starts: each service is told the others'. The
        # portal's is chosen even when it does not run: Auth's site URL and Stripe's return
        # URLs name it.
        names = ["orchestrator", "supabase", "sandbox", "captcha", "proxy_admin", "portal"]
        names += [
            name
            for name, wanted in (
                ("smtp", mail),
                ("mail", mail),
                ("stripe", stripe),
                ("webhook", webhook),
            )
            if wanted
        ]
        function_names = functions_module.discover() if functions else []
        ports = free_ports(len(names) + 3 + len(function_names))
        self.ports.update(zip(names, ports, strict=False))
        self.proxy_ports = ports[len(names) : len(names) + 3]
        function_ports = dict(zip(function_names, ports[len(names) + 3 :], strict=True))
        if mail:
            self._start_mail()
        if functions:
            self._start_functions(function_ports)
        if orchestrator:
            self._start_orchestrator(lease_seconds, orchestrator_env or {})
        supabase_env = {
            "SUPABASE_URL": self.url("supabase"),
            "GOTRUE_SITE_URL": self.portal_url,
            "SMTP_URL": self.smtp_url if mail else "smtp://127.0.0.1:9",
        }
        if self.edge_functions is not None:
            supabase_env[functions_module.UPSTREAMS_ENV] = functions_module.format_upstreams(
                self.edge_functions.upstreams
            )
        self._supabase_env = supabase_env
        self.start_supabase()
        self._spawn(
            "sandbox",
            [
                "-m",
                "devstack.sandbox",
                "--port",
                str(self.ports["sandbox"]),
                "--slow-delay",
                str(slow_delay),
            ],
            # The lifecycle directories' verification emails go to this stack's mail catcher.
            ({"SMTP_URL": self.smtp_url} if mail else {}) | (sandbox_env or {}),
            ready=self.url("sandbox") + "/_admin/submissions",
        )
        self._spawn(
            "captcha",
            [
                "-m",
                "devstack.twocaptcha",
                "--port",
                str(self.ports["captcha"]),
                "--solve-delay",
                "0.2",
            ],
            ready=self.url("captcha") + "/_admin/stats",
        )
        self._spawn(
            "proxies",
            [
                "-m",
                "devstack.proxies",
                "--ports",
                ",".join(map(str, self.proxy_ports)),
                "--user",
                PROXY_USER,
                "--password",
                PROXY_PASSWORD,
                "--admin-port",
                str(self.ports["proxy_admin"]),
                "--log-dir",
                str(self.tmp / "proxies"),
            ],
            ready=self.url("proxy_admin") + "/_admin/stats",
        )
        if stripe:
            self._start_stripe()
        if webhook:
            self._start_webhook()
        if portal:
            self._start_portal()

    def start_supabase(self) -> None:
        """Auth and the Realtime stand-in, on the port chosen for them (again after
        `kill_supabase`: clients reconnect to the same address)."""
        self._spawn(
            "supabase",
            [
                "-m",
                "devstack.supabase_api",
                "--port",
                str(self.ports["supabase"]),
                "--database-url",
                self.db_url,
            ],
            self._supabase_env,
            ready=self.url("supabase") + "/auth/v1/.well-known/jwks.json",
        )

    def kill_supabase(self) -> None:
        """Auth and Realtime gone at once, as a crashed pod: no close frame, the kernel
        resets the sockets."""
        process = self.processes.pop("supabase")
        process.kill()
        process.wait(timeout=15)

    def _start_orchestrator(self, lease_seconds: int, extra_env: dict[str, str]) -> None:
        self._spawn(
            "orchestrator",
            ["-m", "orchestrator"],
            {
                "DATABASE_URL": self.db_url,
                "PORT": str(self.ports["orchestrator"]),
                "WORKER_TOKEN": WORKER_TOKEN,
                "STAFF_API_KEY": STAFF_KEY,
                "LEASE_SECONDS": str(lease_seconds),
                "REAPER_INTERVAL_SECONDS": "0.5",
                "STATS_INTERVAL_SECONDS": "0.5",
                **extra_env,
            },
            ready=self.url("orchestrator") + "/healthz",
        )

    def _start_mail(self) -> None:
        self._spawn(
            "mail",
            [
                "-m",
                "devstack.mailcatcher",
                "--smtp-port",
                str(self.ports["smtp"]),
                "--http-port",
                str(self.ports["mail"]),
            ],
            # Mail for the campaign mailboxes goes on to the webhook, as Mailgun would post it
            # (docs/inbound-mail.md); both use the local default signing key and domain.
            env=(
                {"INBOUND_WEBHOOK_URL": self.url("webhook") + "/inbound/mailgun"}
                if "webhook" in self.ports
                else None
            ),
            ready=self.url("mail") + "/api/messages",
        )

    def _start_functions(self, ports: dict[str, int]) -> None:
        secrets = {
            "SUPABASE_URL": self.url("supabase"),
            "SUPABASE_ANON_KEY": self.anon_key,
            "PORTAL_URL": self.portal_url,
            "STRIPE_API_BASE": self.url("stripe"),
            "STRIPE_SECRET_KEY": STRIPE_SECRET_KEY,
            "CHECKOUT_SIGNING_SECRET": DEFAULT_CHECKOUT_SIGNING_SECRET,
        } | {f"STRIPE_PRICE_{tier.upper()}": price for tier, price in STRIPE_PRICES.items()}
        self.edge_functions = functions_module.EdgeFunctions(
            secrets, names=list(ports), ports=ports, log_dir=self.tmp
        )
        self.edge_functions.start()

    def _start_stripe(self) -> None:
        args = ["-m", "devstack.stripe", "--port", str(self.ports["stripe"])]
        if "webhook" in self.ports:
            args += ["--webhook-url", self.url("webhook") + "/stripe/webhook"]
        self._spawn(
            "stripe",
            args,
            {
                "STRIPE_SECRET_KEY": STRIPE_SECRET_KEY,
                "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET,
                "STRIPE_WEBHOOK_RETRY_BASE_SECONDS": "0.5",
            },
            ready=self.url("stripe") + "/_admin/webhook_endpoints",
        )

    def _start_webhook(self) -> None:
        self._spawn(
            "webhook",
            ["-m", "webhook"],
            {
                "PORT": str(self.ports["webhook"]),
                "DATABASE_URL": self.db_url,
                "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET,
                "CHECKOUT_SIGNING_SECRET": DEFAULT_CHECKOUT_SIGNING_SECRET,
                "SUPABASE_URL": self.url("supabase"),
                "SUPABASE_SERVICE_ROLE_KEY": self.service_role_key,
                "SMTP_URL": self.smtp_url,
                "PORTAL_URL": self.portal_url,
                "NOTIFIER_POLL_SECONDS": "0.5",
                # The refunder pays back a job's shortfall through the Stripe stand-in.
                "STRIPE_SECRET_KEY": STRIPE_SECRET_KEY,
                "REFUNDER_POLL_SECONDS": "0.5",
                **({"STRIPE_API_BASE": self.url("stripe")} if "stripe" in self.ports else {}),
            },
            ready=self.url("webhook") + "/healthz",
        )

    def _start_portal(self) -> None:
        env = {
            "PORT": str(self.ports["portal"]),
            "PORTAL_URL": self.portal_url,
            "DATABASE_URL": self.db_url,
            "SUPABASE_URL": self.url("supabase"),
            "SUPABASE_ANON_KEY": self.anon_key,
            "SUPABASE_SERVICE_ROLE_KEY": self.service_role_key,
            "STRIPE_SECRET_KEY": STRIPE_SECRET_KEY,
            "ORCHESTRATOR_URL": self.url("orchestrator"),
            "STAFF_API_KEY": STAFF_KEY,
            "CHROMIUM_PATH": os.environ.get("CHROMIUM_PATH", "/usr/lib/chromium/chromium"),
            "ARTIFACTS_DIR": str(self.artifacts_dir),
        }
        if "stripe" in self.ports:
            env["STRIPE_API_BASE"] = self.url("stripe")
        self._spawn("portal", ["-m", "portal"], env, ready=self.url("portal") + "/healthz")

    def sync_sandbox_directories(self, only: set[str] | None = None) -> list[dict[str, Any]]:
        """directories.json's sandbox entries (or only those named, which may include the
        `lifecycle-` ones: devstack/sandbox/sites/lifecycle.py), pointed at this test's
        sandbox port."""
        text = json.dumps(
            {"version": 1, "directories": load_directories(ROOT / "directories.json")}
        )
        entries = json.loads(text.replace(SANDBOX_DEFAULT, self.url("sandbox")))["directories"]
        sandbox = [
            e
            for e in entries
            if (e["id"] in only if only is not None else e["id"].startswith("sandbox-"))
        ]
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            sync_directories(conn, sandbox)
            # The workers sign in to Auth as this service account for Realtime.
            ensure_worker_account(conn)
        return sandbox

    def worker_env(self, worker_id: str, **overrides: str) -> dict[str, str]:
        env = {
            "WORKER_ID": worker_id,
            "ORCHESTRATOR_URL": self.url("orchestrator"),
            "WORKER_TOKEN": WORKER_TOKEN,
            "SUPABASE_URL": self.url("supabase"),
            "SUPABASE_ANON_KEY": jwt_keys.mint_api_key("anon"),
            "WORKER_AUTH_EMAIL": jwt_keys.WORKER_ACCOUNT_EMAIL,
            "WORKER_AUTH_PASSWORD": worker_password(),
            "TWOCAPTCHA_API_KEY": "local-dev-2captcha-key",
            "TWOCAPTCHA_BASE_URL": self.url("captcha"),
            "CAPTCHA_POLL_SECONDS": "0.2",
            "PROXY_URLS": self.proxy_urls,
            "NAVIGATION_TIMEOUT_MS": "3000",
            "STEP_TIMEOUT_MS": "3000",
            "RETRY_BACKOFF_SECONDS": "0.2",
            "POLL_MIN_SECONDS": "0.2",
            "POLL_MAX_SECONDS": "1",
            "REALTIME_POLL_SECONDS": "2",
            "STOP_GRACE_SECONDS": "5",
            "ARTIFACTS_DIR": str(self.artifacts_dir),
            "CONTEXTS": "2",
            # The sandbox is on loopback, which workers refuse unless allowed (127.0.0.1:2 is
            # the sandbox's "nobody home" directory, refused on purpose).
            "WORKER_ALLOWED_PRIVATE_HOSTS": f"127.0.0.1:{self.ports['sandbox']},127.0.0.1:2",
            # Logos are fetched from the portal only (worker/logo.py).
            "PORTAL_URL": self.portal_url,
        }
        return env | overrides

    def start_worker(self, worker_id: str, **overrides: str) -> subprocess.Popen[bytes]:
        self._spawn(worker_id, ["-m", "worker"], self.worker_env(worker_id, **overrides))
        return self.processes[worker_id]

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.edge_functions is not None:
            self.edge_functions.stop()

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    # Reading the outcome --------------------------------------------------------------

    def staff(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url("orchestrator"),
            headers={"Authorization": f"Bearer {STAFF_KEY}", "X-Actor": "e2e"},
            timeout=10,
        )

    def submissions(self) -> list[dict[str, Any]]:
        body: Any = httpx.get(self.url("sandbox") + "/_admin/submissions", timeout=5).json()
        return list(body if isinstance(body, list) else body.get("submissions", []))

    def mail(self, to: str | None = None) -> list[dict[str, Any]]:
        """The mail catcher's messages (newest first), optionally only those to `to`."""
        params = {"to": to} if to else {}
        body: Any = httpx.get(self.url("mail") + "/api/messages", params=params, timeout=5).json()
        return list(body["messages"])

    def mail_message(self, message_id: str) -> dict[str, Any]:
        """One message with its text, html and links."""
        message: dict[str, Any] = httpx.get(
            self.url("mail") + f"/api/messages/{message_id}", timeout=5
        ).json()
        return message

    def wait_for_mail(
        self, to: str, subject_contains: str = "", timeout: float = 30
    ) -> dict[str, Any]:
        """The newest message to `to` whose subject contains `subject_contains`, in full."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for summary in self.mail(to):
                if subject_contains.lower() in summary["subject"].lower():
                    return self.mail_message(summary["id"])
            time.sleep(0.2)
        subjects = [m["subject"] for m in self.mail(to)]
        raise AssertionError(f"no mail to {to} about {subject_contains!r}; got {subjects}")


@contextmanager
def running_stack(
    db_url: str,
    tmp: Path,
    slow_delay: float = 6.0,
    lease_seconds: int = 30,
    orchestrator_env: dict[str, str] | None = None,
    sandbox_env: dict[str, str] | None = None,
    **journey: bool,
) -> Iterator[Stack]:
    """A lease long enough that a loaded machine never loses one by accident; the crash
    test asks for a short one, since it waits for a lease to expire. `journey=True` (or
    mail=, stripe=, functions=, webhook=, portal=) adds the customer journey's services."""
    stack = Stack(db_url=db_url, tmp=tmp)
    try:
        stack.start_services(
            slow_delay=slow_delay,
            lease_seconds=lease_seconds,
            orchestrator_env=orchestrator_env,
            sandbox_env=sandbox_env,
            **journey,
        )
        yield stack
    finally:
        stack.stop()


def wait_for_job(
    stack: Stack, job_id: str, statuses: set[str], timeout: float = 180
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with stack.staff() as staff:
        while time.monotonic() < deadline:
            detail: dict[str, Any] = staff.get(f"/jobs/{job_id}").json()
            if detail["job"]["status"] in statuses:
                return detail
            time.sleep(0.5)
    raise AssertionError(
        f"job {job_id} not {statuses} within {timeout} s; last: {detail['job']['status']}"
    )


def job_audit(stack: Stack, job_id: str) -> list[dict[str, Any]]:
    """The job's audit trail, as the staff API shows it."""
    with stack.staff() as staff:
        audit: list[dict[str, Any]] = staff.get(f"/jobs/{job_id}").json()["audit"]
        return audit


def wait_until(predicate: Any, timeout: float = 60, what: str = "condition") -> Any:
    """Poll until predicate() is truthy; returns its value or fails naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"{what} not met within {timeout} s")
