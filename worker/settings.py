"""The worker's configuration (environment, `.env`, `.env.local`). It holds no database
credentials, not even a DATABASE_URL field (no DatabaseSettingsMixin): a
DATABASE_URL in its environment is never read; everything goes through the orchestrator."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator

from dbolt.contracts import LOGO_MAX_BYTES
from dbolt.settings import ServiceSettings
from worker.addresses import parse_allow_list


def _default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class WorkerSettings(ServiceSettings):
    worker_id: str = Field(default_factory=_default_worker_id)
    orchestrator_url: str = "http://127.0.0.1:8100"
    worker_token: SecretStr = SecretStr("local-dev-worker-token")

    # Realtime wake-ups and pause/cancel; without a token the worker polls.
    supabase_url: str = "http://127.0.0.1:54321"
    supabase_anon_key: SecretStr | None = None
    # The worker service account (app_metadata.role = worker): signed in at start-up and
    # refreshed. REALTIME_ACCESS_TOKEN (a ready token) is the fallback without an account.
    worker_auth_email: str | None = None
    worker_auth_password: SecretStr | None = None
    realtime_access_token: SecretStr | None = None

    chromium_path: str = "/usr/lib/chromium/chromium"
    # Submissions run in Chromium's headless shell when it is installed (Debian's
    # chromium-headless-shell): a third of the CPU per submission (worker/browser_launch.py).
    headless_shell_path: str = "/usr/lib/chromium/chromium-headless-shell"
    # false: the full browser with the older flags (the benchmark's baseline; a way back).
    browser_lean: bool = True
    # Lean only: the network service inside the browser process (one process, ~10 MiB fewer;
    # worker/browser_launch.py). false: its own process, as before (the benchmark's A/B).
    browser_network_in_process: bool = True
    contexts: int = Field(default=2, ge=1, le=16)
    navigation_timeout_ms: int = 15_000
    step_timeout_ms: int = 8_000
    artifacts_dir: Path = Path(".local/artifacts")
    # Screenshots and page HTML hold customer data: deleted after this many days.
    artifacts_retention_days: int = Field(default=30, ge=1)
    artifacts_sweep_seconds: float = Field(default=3600.0, gt=0)

    # Directory sites may send the browser only to public addresses; these exact host:port
    # pairs (comma-separated) are let through anyway. Development: the local sandbox.
    worker_allowed_private_hosts: str = ""
    # Logos are fetched from here only ({PORTAL_URL}/logos/<id>), at most logo_max_bytes.
    portal_url: str = "http://127.0.0.1:8300"
    logo_max_bytes: int = Field(default=LOGO_MAX_BYTES, ge=1)

    twocaptcha_api_key: SecretStr | None = None
    twocaptcha_base_url: str = "https://api.2captcha.com"
    captcha_timeout_seconds: float = 90.0
    captcha_poll_seconds: float = 2.0

    proxy_urls: SecretStr | None = None

    # Live checks of listings (worker/live_checks.py): how often to look for due ones, and how
    # many to take at a time (0: this worker makes none).
    live_check_interval_seconds: float = Field(default=30.0, gt=0)
    live_check_batch: int = Field(default=5, ge=0, le=100)
    # The canary (`python -m worker canary --repeat`): a dry run of every recipe this often.
    canary_interval_seconds: float = Field(default=6 * 3600, gt=0)

    retry_backoff_seconds: float = 2.0
    poll_min_seconds: float = 1.0
    poll_max_seconds: float = 15.0
    realtime_poll_seconds: float = 30.0
    # Realtime's link (worker/realtime_link.py): a ping this often, a drop when its pong is
    # this late; after a drop, reconnect attempts from retry_min doubling to retry_max.
    realtime_heartbeat_seconds: float = Field(default=10.0, gt=0)
    realtime_retry_min_seconds: float = Field(default=1.0, gt=0)
    realtime_retry_max_seconds: float = Field(default=30.0, gt=0)
    stop_grace_seconds: float = 20.0
    health_port: int | None = None

    # Jobs this large, and every enterprise job, go out only through proxies (seed §5, §12).
    proxy_required_tiers: tuple[str, ...] = ("enterprise",)
    proxy_required_over_directories: int = 100

    @field_validator("worker_allowed_private_hosts")
    @classmethod
    def _allow_list_is_host_ports(cls, value: str) -> str:
        parse_allow_list(value)  # a typo is refused at start-up, naming the entry
        return value

    @model_validator(mode="after")
    def _realtime_retry_range(self) -> WorkerSettings:
        if self.realtime_retry_min_seconds > self.realtime_retry_max_seconds:
            raise ValueError(
                "REALTIME_RETRY_MIN_SECONDS "
                f"({self.realtime_retry_min_seconds:g}) must not exceed "
                f"REALTIME_RETRY_MAX_SECONDS ({self.realtime_retry_max_seconds:g})"
            )
        return self
