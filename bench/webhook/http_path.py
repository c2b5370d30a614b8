"""The HTTP path: signed POST /stripe/webhook to a real `python -m webhook` subprocess.

Around it, when the notifier is on (`catcher`, the default), the two things its payment
email talks to, each a subprocess on free loopback ports: the Auth stand-in (admin
generate_link) and the mail catcher (SMTP), so no mail leaves the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.orchestrator import processes
from bench.orchestrator.server import free_port
from bench.webhook import events
from bench.webhook.load import Level, run_level
from bench.webhook.results import RunResult, ServerSide
from bench.webhook.settings import RunSettings
from devstack import jwt_keys

ROOT = Path(__file__).resolve().parent.parent.parent
STARTUP_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
REQUEST_TIMEOUT_SECONDS = 30.0
# The webhook's own connections carry this name, so its pool is told apart from the Auth
# stand-in's connections to the same database.
APPLICATION_NAME = "bench-webhook"
POOL_SQL = "select count(*) from pg_stat_activity where application_name = %s"
# Nothing listens on the discard port: with `--notifier off` each payment email fails at once.
CLOSED = "127.0.0.1:9"

Send = Callable[[tuple[events.Event, str]], Awaitable[dict[str, Any]]]


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn shuts down gracefully), then kill if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def _process(
    what: str, args: list[str], env: dict[str, str], log_path: Path, ready: Callable[[], bool]
) -> Iterator[subprocess.Popen[bytes]]:
    """A subprocess of this interpreter, waited for until `ready()`; stopped on the way out."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            # Services are in production unless told otherwise; these run on local defaults.
            env={**os.environ, "ENVIRONMENT": "development", **env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not ready():
            if process.poll() is not None:
                raise RuntimeError(
                    f"{what} exited with {process.returncode} while starting:\n"
                    + _log_tail(log_path)
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} was not ready in time:\n" + _log_tail(log_path))
            time.sleep(0.1)
        yield process
    finally:
        _stop(process)


def _healthy(base_url: str) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            return httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    return probe


def _pool_full(database_url: str, size: int) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            row = conn.execute(POOL_SQL, (APPLICATION_NAME,)).fetchone()
            if row is not None and int(row[0]) >= size:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the webhook's pool did not reach {size} connections")
            time.sleep(0.1)


def _with_application_name(database_url: str) -> str:
    joiner = "&" if "?" in database_url else "?"
    return f"{database_url}{joiner}application_name={APPLICATION_NAME}"


@contextlib.contextmanager
def _notifier_peers(
    database_url: str, settings: RunSettings
) -> Iterator[tuple[dict[str, str], str | None]]:
    """The notifier's environment, and the mail catcher's inbox URL (None when it is off)."""
    if settings.notifier == "off":
        yield {"SUPABASE_URL": f"http://{CLOSED}", "SMTP_URL": f"smtp://{CLOSED}"}, None
        return
    smtp_port, inbox_port, auth_port = free_port(), free_port(), free_port()
    smtp_url = f"smtp://127.0.0.1:{smtp_port}"
    inbox = f"http://127.0.0.1:{inbox_port}"
    quiet = {"LOG_LEVEL": "WARNING"}
    mail_args = ["-m", "devstack.mailcatcher", "--smtp-port", str(smtp_port)]
    mail_args += ["--http-port", str(inbox_port), "--max-messages", "100000"]
    auth_args = ["-m", "devstack.supabase_api", "--port", str(auth_port)]
    auth_args += ["--database-url", database_url]
    with (
        _process(
            "the mail catcher",
            mail_args,
            quiet,
            settings.log_dir / "mailcatcher.log",
            lambda: _listening(smtp_port) and _listening(inbox_port),
        ),
        _process(
            "the Auth stand-in",
            auth_args,
            {**quiet, "SMTP_URL": smtp_url},
            settings.log_dir / "supabase-api.log",
            lambda: _listening(auth_port),
        ),
    ):
        env = {"SUPABASE_URL": f"http://127.0.0.1:{auth_port}", "SMTP_URL": smtp_url}
        yield env, inbox


def _mail_count(inbox: str | None) -> int | None:
    if inbox is None:
        return None
    answer = httpx.get(f"{inbox}/api/messages", timeout=10)
    answer.raise_for_status()
    return int(answer.json()["total"])


def _sender(client: httpx.AsyncClient) -> Send:
    async def send(signed: tuple[events.Event, str]) -> dict[str, Any]:
        event, signature = signed
        answer = await client.post(
            "/stripe/webhook",
            content=event.payload.encode(),
            headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
        )
        if answer.status_code != 200:
            raise RuntimeError(f"{event.id}: HTTP {answer.status_code} {answer.text[:200]}")
        body: dict[str, Any] = answer.json()
        return body

    return send


async def _drive(base_url: str, settings: RunSettings) -> tuple[list[Level], Level, int]:
    # One TLS context for all clients (plain HTTP here; httpx would load a CA bundle each).
    tls = ssl.create_default_context()
    largest = max(settings.concurrencies)
    async with contextlib.AsyncExitStack() as stack:
        # A client (one keep-alive connection) per sender, opened before any clock starts.
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=base_url,
                    timeout=REQUEST_TIMEOUT_SECONDS,
                    verify=tls,
                    limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                )
            )
            for _ in range(largest)
        ]
        for answer in await asyncio.gather(*(client.get("/healthz") for client in clients)):
            answer.raise_for_status()

        def signed(batch: list[events.Event]) -> list[tuple[events.Event, str]]:
            # Signed just before sending, outside the clock (Stripe signs on its side).
            secret = settings.webhook_secret
            return [(event, events.signature_header(event.payload, secret)) for event in batch]

        levels: list[Level] = []
        replayed: list[events.Event] = []
        for concurrency in settings.concurrencies:
            batch = events.batch(concurrency, settings.events)
            senders = [_sender(client) for client in clients[:concurrency]]
            levels.append(await run_level("apply", signed(batch), senders))
            if concurrency == settings.replay_concurrency:
                replayed = batch
        senders = [_sender(client) for client in clients[: settings.replay_concurrency]]
        replay = await run_level("replay", signed(replayed), senders)
        rss = processes.rss_bytes(os.getpid())
    return levels, replay, rss


def run(database_url: str, settings: RunSettings) -> RunResult:
    port = free_port()
    with _notifier_peers(database_url, settings) as (peer_env, inbox):
        env = {
            **peer_env,
            "DATABASE_URL": _with_application_name(database_url),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "STRIPE_WEBHOOK_SECRET": settings.webhook_secret,
            "CHECKOUT_SIGNING_SECRET": events.CHECKOUT_SIGNING_SECRET,
            "SUPABASE_SERVICE_ROLE_KEY": jwt_keys.mint_api_key("service_role"),
            "PORTAL_URL": "http://127.0.0.1:8300",
            # min = max: the pool is full before the clock starts, as in a service that has
            # been up a while.
            "DB_POOL_MIN_SIZE": str(settings.pool_size),
            "DB_POOL_MAX_SIZE": str(settings.pool_size),
            # Warnings and errors only: an INFO line per event would measure the log sink.
            "LOG_LEVEL": "WARNING",
        }
        base_url = f"http://127.0.0.1:{port}"
        with _process(
            "the webhook",
            ["-m", "webhook"],
            env,
            settings.log_dir / "webhook-server.log",
            _healthy(base_url),
        ) as webhook:
            _pool_full(database_url, settings.pool_size)
            rss_at_rest = processes.rss_bytes(webhook.pid)
            mails_before = _mail_count(inbox)
            levels, replay, bench_rss = asyncio.run(_drive(base_url, settings))
            peak = processes.peak_rss_bytes(webhook.pid)
            mails_after = _mail_count(inbox)
    caught = None if mails_after is None or mails_before is None else mails_after - mails_before
    side = ServerSide(rss_at_rest, peak, caught)
    return RunResult("HTTP", levels, replay, bench_rss, side)
