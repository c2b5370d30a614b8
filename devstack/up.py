"""`make up`: the whole local stack in the foreground.

Starts every local service, prints what runs where, and on Ctrl-C (or SIGTERM) stops them
all, newest first. A service that dies while the stack runs is reported and takes the
stack down with it, so nothing limps on half-started.

The customer journey's parts (mail catcher, Stripe stand-in, the Edge Functions under Deno
behind the Supabase stand-in's /functions/v1/, the webhook receiver, the portal) start too;
the webhook and the portal only once their packages exist, so the stack runs while they are
being built. A local staff user is created and how to sign in as it is printed.

The database cluster is stopped on exit only if this run started it: a cluster that was
already running (`make db`, tests, other checkouts' work) is left as it was.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from dbolt.settings import LOCAL_VAULT_KEYS
from devstack import functions, jwt_keys, localdb
from devstack.stripe.settings import (
    DEFAULT_CHECKOUT_SIGNING_SECRET,
    DEFAULT_PRICES,
    DEFAULT_SECRET_KEY,
    DEFAULT_WEBHOOK_SECRET,
)
from devstack.supabase_api.accounts import ensure_user, ensure_worker_account, worker_password

ROOT = Path(__file__).resolve().parent.parent
ORCHESTRATOR_PORT = int(os.environ.get("PORT", "8100"))
SUPABASE_PORT = 54321
SANDBOX_PORT = 8400
CAPTCHA_PORT = 8410
PROXY_ADMIN_PORT = 8420
PROXY_PORTS = (8421, 8422, 8423)
PROXY_USER, PROXY_PASSWORD = "dbolt", "local-dev-proxy-pass"
CAPTCHA_KEY = "local-dev-2captcha-key"
WORKERS = 2
DEFAULT_WORKER_TOKEN = "local-dev-worker-token"  # noqa: S105 - refused in production
DEFAULT_STAFF_API_KEY = "local-dev-staff-key"
WORKER_TOKEN = os.environ.get("WORKER_TOKEN", DEFAULT_WORKER_TOKEN)
STAFF_API_KEY = os.environ.get("STAFF_API_KEY", DEFAULT_STAFF_API_KEY)
# The vault's key ring (directory account passwords, parked sessions): orchestrator and portal.
VAULT_KEYS = os.environ.get("VAULT_KEYS", LOCAL_VAULT_KEYS)
# Every service is in production unless told otherwise; everything `make up` starts is the
# local stack, on purpose.
LOCAL_ENV = {"ENVIRONMENT": "development"}
# The customer journey: the ports `supabase start` gives Inbucket (54324 web, 54325 SMTP),
# the Stripe stand-in's 54330, the Edge Functions from 54340 (reached through 54321).
MAIL_HTTP_PORT = 54324
MAIL_SMTP_PORT = 54325
STRIPE_PORT = 54330
FUNCTIONS_PORT_BASE = 54340
WEBHOOK_PORT = 8200
PORTAL_PORT = 8300
PORTAL_URL = f"http://127.0.0.1:{PORTAL_PORT}"
SUPABASE_URL = f"http://127.0.0.1:{SUPABASE_PORT}"
SMTP_URL = f"smtp://127.0.0.1:{MAIL_SMTP_PORT}"
MAIL_URL = f"http://127.0.0.1:{MAIL_HTTP_PORT}"
STRIPE_API_BASE = f"http://127.0.0.1:{STRIPE_PORT}"
STAFF_EMAIL = os.environ.get("LOCAL_STAFF_EMAIL", "staff@directorybolt.local")
ARTIFACTS_DIR = ROOT / ".local" / "artifacts"


@dataclass
class Service:
    name: str
    address: str
    note: str = ""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def alive(self) -> bool:
        return True


def _database_answers() -> bool:
    try:
        with psycopg.connect(localdb.database_url(), connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


@dataclass
class Database(Service):
    started_here: bool = False

    def start(self) -> None:
        self.started_here = not _database_answers()
        localdb.prepare("postgres")
        with psycopg.connect(localdb.database_url(), autocommit=True) as conn:
            # The workers sign in to Auth as this service account to hear Realtime.
            ensure_worker_account(conn)
            # A staff user for the dashboard; it signs in by email code (no password).
            ensure_user(conn, STAFF_EMAIL, None, "staff")

    def stop(self) -> None:
        # Others may be using a cluster that was already running: leave it be.
        if self.started_here:
            localdb.stop()
        else:
            print("  (the database cluster was running before `make up`; left running)")


@dataclass
class Process(Service):
    """A Python module run as a child process, ready once `ready_url` answers."""

    module: str = ""
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    ready_url: str = ""
    process: subprocess.Popen[bytes] | None = None

    def child_env(self) -> dict[str, str]:
        return dict(os.environ) | LOCAL_ENV | self.env

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args], cwd=ROOT, env=self.child_env()
        )
        _wait_ready(self.ready_url, self.process, self.name)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class EdgeFunctionsService(Service):
    """The Edge Functions under Deno, one process per function, on fixed loopback ports."""

    secrets: dict[str, str] = field(default_factory=dict)
    runner: functions.EdgeFunctions | None = None

    def start(self) -> None:
        names = functions.discover()
        self.runner = functions.EdgeFunctions(
            self.secrets, names=names, ports=functions.plan_ports(names, FUNCTIONS_PORT_BASE)
        )
        self.runner.start()

    def stop(self) -> None:
        if self.runner is not None:
            self.runner.stop()

    def alive(self) -> bool:
        return self.runner is not None and self.runner.alive()


def _wait_ready(url: str, process: subprocess.Popen[bytes], name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} while starting")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not answer {url} within {timeout:.0f} s")


def _package_missing(package: str) -> str | None:
    """Why a service under construction cannot start yet, or None when it can."""
    if not (ROOT / package / "__main__.py").is_file():
        return f"{package}/__main__.py does not exist yet"
    return None


def _function_secrets() -> dict[str, str]:
    """What the Edge Functions see (Supabase gives every function its URL and anon key)."""
    secrets = {
        "SUPABASE_URL": SUPABASE_URL,
        "SUPABASE_ANON_KEY": jwt_keys.mint_api_key("anon"),
        "PORTAL_URL": PORTAL_URL,
        "STRIPE_API_BASE": STRIPE_API_BASE,
        "STRIPE_SECRET_KEY": DEFAULT_SECRET_KEY,
        "CHECKOUT_SIGNING_SECRET": DEFAULT_CHECKOUT_SIGNING_SECRET,
    }
    secrets |= {f"STRIPE_PRICE_{price.tier.upper()}": price.id for price in DEFAULT_PRICES}
    return secrets


def services() -> tuple[list[Service], list[tuple[str, str]]]:
    """The services to start, in order, and the ones skipped with the reason."""
    orchestrator_url = f"http://127.0.0.1:{ORCHESTRATOR_PORT}"
    supabase_url = SUPABASE_URL
    function_names = functions.discover()
    function_ports = functions.plan_ports(function_names, FUNCTIONS_PORT_BASE)
    upstreams = {name: f"http://127.0.0.1:{port}" for name, port in function_ports.items()}
    anon_key = jwt_keys.mint_api_key("anon")
    service_role_key = jwt_keys.mint_api_key("service_role")
    skipped: list[tuple[str, str]] = []
    journey: list[Service] = []
    if (reason := _package_missing("webhook")) is None:
        journey.append(
            Process(
                name="webhook",
                address=f"http://127.0.0.1:{WEBHOOK_PORT}/stripe/webhook",
                note="Stripe webhook receiver (and the email notifier and shortfall refunder)",
                module="webhook",
                env={
                    "PORT": str(WEBHOOK_PORT),
                    "DATABASE_URL": localdb.database_url(),
                    "STRIPE_WEBHOOK_SECRET": DEFAULT_WEBHOOK_SECRET,
                    "CHECKOUT_SIGNING_SECRET": DEFAULT_CHECKOUT_SIGNING_SECRET,
                    "SUPABASE_URL": supabase_url,
                    "SUPABASE_SERVICE_ROLE_KEY": service_role_key,
                    "SMTP_URL": SMTP_URL,
                    "PORTAL_URL": PORTAL_URL,
                    "STRIPE_API_BASE": STRIPE_API_BASE,
                    "STRIPE_SECRET_KEY": DEFAULT_SECRET_KEY,
                },
                ready_url=f"http://127.0.0.1:{WEBHOOK_PORT}/healthz",
            )
        )
    else:
        skipped.append(("webhook", reason))
    if (reason := _package_missing("portal")) is None:
        journey.append(
            Process(
                name="portal",
                address=PORTAL_URL,
                note="customer portal and staff dashboard",
                module="portal",
                env={
                    "PORT": str(PORTAL_PORT),
                    "PORTAL_URL": PORTAL_URL,
                    "DATABASE_URL": localdb.database_url(),
                    "SUPABASE_URL": supabase_url,
                    "SUPABASE_ANON_KEY": anon_key,
                    "SUPABASE_SERVICE_ROLE_KEY": service_role_key,
                    "STRIPE_API_BASE": STRIPE_API_BASE,
                    "STRIPE_SECRET_KEY": DEFAULT_SECRET_KEY,
                    "ORCHESTRATOR_URL": orchestrator_url,
                    "STAFF_API_KEY": STAFF_API_KEY,
                    "VAULT_KEYS": VAULT_KEYS,
                    "CHROMIUM_PATH": os.environ.get("CHROMIUM_PATH", "/usr/lib/chromium/chromium"),
                    "ARTIFACTS_DIR": str(ARTIFACTS_DIR),
                },
                ready_url=f"{PORTAL_URL}/healthz",
            )
        )
    else:
        skipped.append(("portal", reason))

    running: list[Service] = [
        Database(
            name="postgres",
            address=localdb.database_url(),
            note="Supabase-shaped PostgreSQL 15 (migrations + seed + directories.json)",
        ),
        Process(
            name="mail",
            address=MAIL_URL,
            note=f"mail catcher: web inbox here, SMTP on {SMTP_URL} (JSON API: /api/messages)",
            module="devstack.mailcatcher",
            args=["--smtp-port", str(MAIL_SMTP_PORT), "--http-port", str(MAIL_HTTP_PORT)],
            # Mail for the campaign mailboxes goes on to the webhook, Mailgun-style, signed.
            env={"INBOUND_WEBHOOK_URL": f"http://127.0.0.1:{WEBHOOK_PORT}/inbound/mailgun"},
            ready_url=f"{MAIL_URL}/api/messages",
        ),
        EdgeFunctionsService(
            name="functions",
            address=", ".join(f"{supabase_url}/functions/v1/{name}" for name in function_names),
            note="Edge Functions (supabase/functions) under Deno, one process each on "
            + ", ".join(f"{name}→:{port}" for name, port in function_ports.items()),
            secrets=_function_secrets(),
        ),
        Process(
            name="supabase",
            address=supabase_url,
            note="stand-in for Supabase Auth (/auth/v1), Realtime (/realtime/v1) "
            "and the Edge Functions gateway (/functions/v1)",
            module="devstack.supabase_api",
            args=["--port", str(SUPABASE_PORT), "--database-url", localdb.database_url()],
            env={
                "SMTP_URL": SMTP_URL,
                "GOTRUE_SITE_URL": PORTAL_URL,
                functions.UPSTREAMS_ENV: functions.format_upstreams(upstreams),
            },
            ready_url=f"{supabase_url}/auth/v1/.well-known/jwks.json",
        ),
        Process(
            name="stripe",
            address=STRIPE_API_BASE,
            note=f"Stripe stand-in (test checkout page; signed webhooks to :{WEBHOOK_PORT}; "
            "events at /_admin/events)",
            module="devstack.stripe",
            args=[
                "--port",
                str(STRIPE_PORT),
                "--webhook-url",
                f"http://127.0.0.1:{WEBHOOK_PORT}/stripe/webhook",
            ],
            env={
                "STRIPE_SECRET_KEY": DEFAULT_SECRET_KEY,
                "STRIPE_WEBHOOK_SECRET": DEFAULT_WEBHOOK_SECRET,
            },
            ready_url=f"{STRIPE_API_BASE}/_admin/webhook_endpoints",
        ),
        Process(
            name="sandbox",
            address=f"http://127.0.0.1:{SANDBOX_PORT}",
            note="24 fake directory sites and 6 lifecycle directories the workers submit to "
            "(admin: /_admin/submissions, /_admin/lifecycle)",
            module="devstack.sandbox",
            args=["--port", str(SANDBOX_PORT)],
            # The lifecycle directories send their verification emails to the mail catcher.
            env={"SMTP_URL": SMTP_URL},
            ready_url=f"http://127.0.0.1:{SANDBOX_PORT}/_admin/submissions",
        ),
        Process(
            name="2captcha",
            address=f"http://127.0.0.1:{CAPTCHA_PORT}",
            note="2Captcha API stand-in (solves the sandbox's captchas)",
            module="devstack.twocaptcha",
            args=["--port", str(CAPTCHA_PORT)],
            env={"TWOCAPTCHA_API_KEY": CAPTCHA_KEY},
            ready_url=f"http://127.0.0.1:{CAPTCHA_PORT}/_admin/stats",
        ),
        Process(
            name="proxies",
            address=", ".join(f"127.0.0.1:{port}" for port in PROXY_PORTS),
            note=f"forward proxies (admin: http://127.0.0.1:{PROXY_ADMIN_PORT}/_admin/stats)",
            module="devstack.proxies",
            args=[
                "--ports",
                ",".join(map(str, PROXY_PORTS)),
                "--user",
                PROXY_USER,
                "--password",
                PROXY_PASSWORD,
                "--admin-port",
                str(PROXY_ADMIN_PORT),
            ],
            ready_url=f"http://127.0.0.1:{PROXY_ADMIN_PORT}/_admin/stats",
        ),
        Process(
            name="orchestrator",
            address=orchestrator_url,
            note="the queue's only door; API docs at /docs, /metrics, /healthz",
            module="orchestrator",
            env={
                "DATABASE_URL": localdb.database_url(),
                "PORT": str(ORCHESTRATOR_PORT),
                "WORKER_TOKEN": WORKER_TOKEN,
                "STAFF_API_KEY": STAFF_API_KEY,
                "VAULT_KEYS": VAULT_KEYS,
                # Its alerts (captcha provider down, …) land in the mail catcher.
                "SMTP_URL": SMTP_URL,
                "STAFF_ALERT_EMAIL": STAFF_EMAIL,
            },
            ready_url=f"{orchestrator_url}/healthz",
        ),
        *(_worker(n, orchestrator_url, supabase_url) for n in range(1, WORKERS + 1)),
        *journey,
    ]
    return running, skipped


def _worker(number: int, orchestrator_url: str, supabase_url: str) -> Process:
    health_port = 8430 + number
    proxy_urls = ",".join(
        f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{port}" for port in PROXY_PORTS
    )
    return Process(
        name=f"worker-{number}",
        address=f"http://127.0.0.1:{health_port}/healthz",
        note="Chromium via Playwright; wakes on Realtime" if number == 1 else "",
        module="worker",
        env={
            "WORKER_ID": f"local-worker-{number}",
            "ORCHESTRATOR_URL": orchestrator_url,
            "WORKER_TOKEN": WORKER_TOKEN,
            "SUPABASE_URL": supabase_url,
            "SUPABASE_ANON_KEY": jwt_keys.mint_api_key("anon"),
            "WORKER_AUTH_EMAIL": jwt_keys.WORKER_ACCOUNT_EMAIL,
            "WORKER_AUTH_PASSWORD": worker_password(),
            "TWOCAPTCHA_API_KEY": CAPTCHA_KEY,
            "TWOCAPTCHA_BASE_URL": f"http://127.0.0.1:{CAPTCHA_PORT}",
            "PROXY_URLS": proxy_urls,
            "HEALTH_PORT": str(health_port),
            # The sandbox is on loopback, which workers refuse unless allowed (127.0.0.1:2 is
            # the sandbox's "nobody home" directory, refused on purpose).
            "WORKER_ALLOWED_PRIVATE_HOSTS": f"127.0.0.1:{SANDBOX_PORT},127.0.0.1:2",
        },
        ready_url=f"http://127.0.0.1:{health_port}/healthz",
    )


def _print_table(running: list[Service], skipped: list[tuple[str, str]]) -> None:
    width = max(len(service.name) for service in running)
    print("\nDirectoryBolt local stack is up:\n")
    for service in running:
        print(f"  {service.name.ljust(width)}  {service.address}")
        if service.note:
            print(f"  {' ' * width}  {service.note}")
    for name, reason in skipped:
        print(f"  {name.ljust(width)}  NOT STARTED: {reason}")
    print(f"\n  DATABASE_URL={localdb.database_url()}")
    print(f"  WORKER_TOKEN={WORKER_TOKEN}    (workers: Authorization: Bearer …)")
    print(f"  STAFF_API_KEY={STAFF_API_KEY}    (staff API: Authorization: Bearer …)")
    print(f"  SUPABASE_URL={SUPABASE_URL}")
    print(f"  SUPABASE_ANON_KEY={jwt_keys.mint_api_key('anon')}")
    print(f"  SUPABASE_SERVICE_ROLE_KEY={jwt_keys.mint_api_key('service_role')}")
    print(f"  STRIPE_API_BASE={STRIPE_API_BASE}  STRIPE_SECRET_KEY={DEFAULT_SECRET_KEY}")
    print(f"  STRIPE_WEBHOOK_SECRET={DEFAULT_WEBHOOK_SECRET}  SMTP_URL={SMTP_URL}")
    print(f"  worker service account: {jwt_keys.WORKER_ACCOUNT_EMAIL} / {worker_password()}")
    if any(service.name == "portal" for service in running):
        banner = f"Portal: {PORTAL_URL}"
        print("\n  " + "=" * (len(banner) + 8))
        print(f"  ==  {banner}  ==")
        print("  " + "=" * (len(banner) + 8))
        print(f"\n  Buy a package: {PORTAL_URL}/pricing → the test checkout page → Pay;")
        print("  the payment email (with the link to the Business Info Form) arrives in the")
        print(f"  mail inbox at {MAIL_URL}.")
        print(f"\n  Staff: sign in at {PORTAL_URL}/sign-in as {STAFF_EMAIL}; the sign-in code")
        print(f"  and link arrive in the mail inbox at {MAIL_URL}; then {PORTAL_URL}/staff")
    else:
        print(f"\n  The portal is not built yet; mail inbox: {MAIL_URL}")
        print(f"  Staff user ready for it: {STAFF_EMAIL} (signs in by email code)")
    print("\nCreate a demo job and watch the workers submit it: make demo")
    print("\nPress Ctrl-C to stop everything.\n", flush=True)


def _watch(running: list[Service], stop_requested: threading.Event) -> None:
    while not stop_requested.wait(1.0):
        for service in running:
            if not service.alive():
                print(
                    f"{service.name} stopped unexpectedly; shutting the stack down", file=sys.stderr
                )
                stop_requested.set()
                return


def main() -> int:
    stop_requested = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop_requested.set())

    running: list[Service] = []
    return_code = 0
    try:
        planned, skipped = services()
        for name, reason in skipped:
            print(f"skipping {name}: {reason}", flush=True)
        for service in planned:
            print(f"starting {service.name} …", flush=True)
            service.start()
            running.append(service)
        _print_table(running, skipped)
        _watch(running, stop_requested)
    except (subprocess.CalledProcessError, SystemExit, OSError, RuntimeError) as error:
        print(f"could not start the stack: {error}", file=sys.stderr)
        return_code = 1
    finally:
        for service in reversed(running):
            print(f"stopping {service.name} …", flush=True)
            service.stop()
    print("stopped.")
    return return_code


if __name__ == "__main__":
    sys.exit(main())
