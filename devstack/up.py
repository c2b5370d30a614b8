"""`make up`: the whole local stack in the foreground.

Starts every local service and, once every one answers, prints what runs where and how to
sign in (the banner: last, so it is not buried; again on Enter, or `make status` from another
terminal, which reads `.local/up/banner.txt`). Each service's log (JSON, INFO and up, as in
production) goes to `.local/logs/<service>.log`; the console shows only WARNING and up
(LOG_CONSOLE_LEVEL=info shows them all): devstack/stack_console.py. On Ctrl-C (or SIGTERM)
everything stops, newest first.

A crashed worker, orchestrator, webhook or portal is restarted with backoff, as production
restarts them; a stand-in that dies takes the stack down (devstack/supervisor.py says why).

The customer journey's parts (mail catcher, Stripe stand-in, the Edge Functions under Deno
behind the Supabase stand-in's /functions/v1/, the webhook receiver, the portal) start too;
the webhook and the portal only once their packages exist, so the stack runs while they are
being built. A local staff user is created and how to sign in as it is printed.

The database cluster is stopped on exit only if this run started it: a cluster that was
already running (`make db`, tests, other checkouts' work) is left as it was.
"""

from __future__ import annotations

import argparse
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
from devstack.stack_console import CONSOLE_LEVEL_ENV, Console, console_level, start_pump, tail
from devstack.stripe.settings import (
    DEFAULT_CHECKOUT_SIGNING_SECRET,
    DEFAULT_PRICES,
    DEFAULT_SECRET_KEY,
    DEFAULT_WEBHOOK_SECRET,
)
from devstack.supabase_api.accounts import ensure_user, ensure_worker_account, worker_password
from devstack.supervisor import RestartPolicy, supervise

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
LOG_DIR = ROOT / ".local" / "logs"
NOTIFIER_STALE_AFTER_SECONDS = 3600
# 1 s doubling to 30 s, reset after a minute's run; left stopped after 5 crashes in 5 minutes.
RESTARTS = RestartPolicy()
# The banner, for `make status` in another terminal; and the pid of the `make up` it is from.
UP_DIR = ROOT / ".local" / "up"
BANNER_FILE = UP_DIR / "banner.txt"
PID_FILE = UP_DIR / "pid"


@dataclass
class Service:
    name: str
    address: str
    note: str = ""
    # Restarted when it crashes (devstack/supervisor.py), as production restarts it.
    restartable: bool = False
    log_dir: Path = LOG_DIR
    console: Console = field(default_factory=Console)

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def alive(self) -> bool:
        return True

    def restart(self) -> None:
        raise NotImplementedError(f"{self.name} is not restartable")

    def exit_code(self) -> int | None:
        return None

    def uptime(self) -> float:
        return 0.0

    def log_path(self) -> Path | None:
        return None


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
            self.console.line("(the database cluster was running before `make up`; left running)")

    def log_path(self) -> Path | None:
        return localdb.CLUSTER_LINK / "server.log"


@dataclass
class Process(Service):
    """A Python child process (`python -m module args`, or `python args` without a module),
    ready once `ready_url` answers (at once without one). Its output goes to its log file
    and, what is loud enough, to the console."""

    module: str = ""
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    ready_url: str = ""
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    _pump: threading.Thread | None = None

    def child_env(self) -> dict[str, str]:
        return dict(os.environ) | LOCAL_ENV | self.env

    def argv(self) -> list[str]:
        return [sys.executable, *(["-m", self.module] if self.module else []), *self.args]

    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def _spawn(self, fresh_log: bool) -> None:
        path = self.log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        # A new `make up` starts each file afresh; a restart adds to it. The pump closes it.
        log_file = path.open("wb" if fresh_log else "ab")
        try:
            self.process = subprocess.Popen(
                self.argv(),
                cwd=ROOT,
                env=self.child_env(),
                # The terminal's input is `make up`'s (Enter shows the banner again).
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        except BaseException:
            log_file.close()
            raise
        self.started_at = time.monotonic()
        assert self.process.stdout is not None
        self._pump = start_pump(self.process.stdout, log_file, self.name, self.console)

    def start(self) -> None:
        self._spawn(fresh_log=True)
        assert self.process is not None
        if self.ready_url:
            _wait_ready(self.ready_url, self.process, self.name)

    def restart(self) -> None:
        # Not waiting for it to answer: the supervisor notices if it crashes again.
        self._spawn(fresh_log=False)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self._pump is not None:
            # Its last lines (why it stopped) reach the file before `make up` exits.
            self._pump.join(timeout=5)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def uptime(self) -> float:
        return time.monotonic() - self.started_at


@dataclass
class EdgeFunctionsService(Service):
    """The Edge Functions under Deno, one process per function, on fixed loopback ports."""

    secrets: dict[str, str] = field(default_factory=dict)
    runner: functions.EdgeFunctions | None = None

    def start(self) -> None:
        names = functions.discover()
        self.runner = functions.EdgeFunctions(
            self.secrets,
            names=names,
            ports=functions.plan_ports(names, FUNCTIONS_PORT_BASE),
            log_dir=self.log_dir,
        )
        self.runner.start()

    def stop(self) -> None:
        if self.runner is not None:
            self.runner.stop()

    def alive(self) -> bool:
        return self.runner is not None and self.runner.alive()

    def log_path(self) -> Path | None:
        names = self.runner.names if self.runner is not None else functions.discover()
        return self.log_dir / f"deno-{names[0]}.log" if names else None


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
                restartable=True,
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
                    # The dev database is reused from run to run: mail queued while no
                    # `make up` ran (jobs finishing after the webhook stopped, old demo
                    # orders' reminders) is skipped, not sent now.
                    "NOTIFIER_STALE_AFTER_SECONDS": str(NOTIFIER_STALE_AFTER_SECONDS),
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
                restartable=True,
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
            restartable=True,
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
        # The scouts staff ask for at /staff/scout: the read-only scout, one at a time.
        Process(
            name="scouts",
            address="(no port)",
            note="python -m worker scouts: the scouts staff queue at /staff/scout",
            module="worker",
            args=["scouts"],
            restartable=True,
            env={
                "WORKER_ID": "local-scouts",
                "ARTIFACTS_DIR": str(ARTIFACTS_DIR),
                "ORCHESTRATOR_URL": orchestrator_url,
                "WORKER_TOKEN": WORKER_TOKEN,
                "WORKER_ALLOWED_PRIVATE_HOSTS": f"127.0.0.1:{SANDBOX_PORT}",
            },
        ),
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
        restartable=True,
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


def _shown(path: Path) -> str:
    """A path as a developer in the checkout types it."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def banner(running: list[Service], skipped: list[tuple[str, str]], log_dir: Path = LOG_DIR) -> str:
    """What runs where and how to sign in: printed once everything answers, and on demand."""
    width = max(len(service.name) for service in running)
    lines = [f"DirectoryBolt local stack is up ({len(running)} services):", ""]
    for service in running:
        lines.append(f"  {service.name.ljust(width)}  {service.address}")
        if service.note:
            lines.append(f"  {' ' * width}  {service.note}")
    for name, reason in skipped:
        lines.append(f"  {name.ljust(width)}  NOT STARTED: {reason}")
    lines += [
        "",
        f"  DATABASE_URL={localdb.database_url()}",
        f"  WORKER_TOKEN={WORKER_TOKEN}    (workers: Authorization: Bearer …)",
        f"  STAFF_API_KEY={STAFF_API_KEY}    (staff API: Authorization: Bearer …)",
        f"  SUPABASE_URL={SUPABASE_URL}",
        f"  SUPABASE_ANON_KEY={jwt_keys.mint_api_key('anon')}",
        f"  SUPABASE_SERVICE_ROLE_KEY={jwt_keys.mint_api_key('service_role')}",
        f"  STRIPE_API_BASE={STRIPE_API_BASE}  STRIPE_SECRET_KEY={DEFAULT_SECRET_KEY}",
        f"  STRIPE_WEBHOOK_SECRET={DEFAULT_WEBHOOK_SECRET}  SMTP_URL={SMTP_URL}",
        f"  worker service account: {jwt_keys.WORKER_ACCOUNT_EMAIL} / {worker_password()}",
        "",
        f"  Logs: every service's, INFO and up, in {_shown(log_dir)}/<service>.log "
        "(e.g. worker-1.log);",
        f"  this terminal shows warnings and errors only ({CONSOLE_LEVEL_ENV}=info make up "
        "shows all).",
    ]
    if any(service.name == "portal" for service in running):
        title = f"Portal: {PORTAL_URL}"
        lines += [
            "",
            "  " + "=" * (len(title) + 8),
            f"  ==  {title}  ==",
            "  " + "=" * (len(title) + 8),
            "",
            f"  Buy a package: {PORTAL_URL}/pricing → the test checkout page → Pay; the",
            "  payment email (with the link to the Business Info Form) arrives in the mail",
            f"  inbox at {MAIL_URL}.",
            "",
            f"  Staff: sign in at {PORTAL_URL}/sign-in as {STAFF_EMAIL}; the sign-in code",
            f"  and link arrive in the mail inbox at {MAIL_URL}; then {PORTAL_URL}/staff",
        ]
    else:
        lines += [
            "",
            f"  The portal is not built yet; mail inbox: {MAIL_URL}",
            f"  Staff user ready for it: {STAFF_EMAIL} (signs in by email code)",
        ]
    lines += [
        "",
        "Create a demo job and watch the workers submit it: make demo",
        "Press Enter to see this again (or `make status` in another terminal);",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def _reprint_on_enter(console: Console, text: str) -> None:
    """Enter in the `make up` terminal shows the banner again (when there is a terminal)."""
    if not sys.stdin.isatty():
        return

    def read() -> None:
        for _ in sys.stdin:
            console.line(text)

    threading.Thread(target=read, name="banner-on-enter", daemon=True).start()


def _write_banner(text: str, banner_file: Path) -> None:
    """The banner holds the service-role key, the staff key and the worker password: the
    file is created readable by its owner only (0600 from the start, never world-readable
    for a moment; one left by an older run is replaced, not rewritten with its old mode)."""
    banner_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    banner_file.unlink(missing_ok=True)
    fd = os.open(banner_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text + "\n")
    banner_file.with_name(PID_FILE.name).write_text(f"{os.getpid()}\n")


def _remove_banner(banner_file: Path) -> None:
    for path in (banner_file, banner_file.with_name(PID_FILE.name)):
        path.unlink(missing_ok=True)


def status(banner_file: Path = BANNER_FILE) -> int:
    """`make status`: the running stack's banner, or that none is running."""
    try:
        pid = int(banner_file.with_name(PID_FILE.name).read_text())
        os.kill(pid, 0)
        text = banner_file.read_text()
    except (OSError, ValueError):
        print("`make up` is not running here (or has not finished starting); start it: make up")
        return 1
    print(text, end="")
    return 0


def run(
    planned: list[Service],
    skipped: list[tuple[str, str]],
    console: Console,
    stop_requested: threading.Event,
    policy: RestartPolicy = RESTARTS,
    banner_file: Path = BANNER_FILE,
) -> int:
    """Start `planned` in order, print the banner once all answer, supervise until stopped."""
    running: list[Service] = []
    return_code = 0
    log_dir = planned[0].log_dir if planned else LOG_DIR
    console.line(
        f"Starting {len(planned)} services ({', '.join(s.name for s in planned)}); "
        f"their logs go to {_shown(log_dir)}/. The addresses follow once all are up."
    )
    current: Service | None = None
    try:
        for current in planned:
            current.console = console
            current.start()
            running.append(current)
        current = None
        text = banner(running, skipped, log_dir)
        console.line()
        console.line(text)
        _write_banner(text, banner_file)
        _reprint_on_enter(console, text)
        if supervise(list(running), stop_requested, console, policy) is not None:
            return_code = 1
    except (subprocess.CalledProcessError, SystemExit, OSError, RuntimeError) as error:
        console.line(f"could not start the stack: {error}")
        path = current.log_path() if current is not None else None
        if path is not None and (last := tail(path)):
            console.line(f"  last lines of {_shown(path)}:")
            for line in last:
                console.line(f"  | {line}")
        return_code = 1
    finally:
        _remove_banner(banner_file)
        console.line("stopping the stack …")
        for service in reversed(running):
            service.stop()
        if current is not None:
            current.stop()
    console.line("stopped.")
    return return_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.up", description=__doc__)
    parser.add_argument("--status", action="store_true", help="print the running stack's banner")
    if parser.parse_args(argv).status:
        return status()
    console = Console(console_level())
    stop_requested = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop_requested.set())
    planned, skipped = services()
    return run(planned, skipped, console, stop_requested)


if __name__ == "__main__":
    sys.exit(main())
