"""The orchestrator's configuration (environment, `.env`, `.env.local`)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from dbolt.settings import (
    DatabaseSettingsMixin,
    MailboxSettingsMixin,
    ServiceSettings,
    VaultSettingsMixin,
)


class OrchestratorSettings(
    DatabaseSettingsMixin, VaultSettingsMixin, MailboxSettingsMixin, ServiceSettings
):
    host: str = "127.0.0.1"
    port: int = 8100

    worker_token: SecretStr = SecretStr("local-dev-worker-token")
    staff_api_key: SecretStr = SecretStr("local-dev-staff-key")

    lease_seconds: int = 120
    max_lost_leases: int = 3
    reaper_interval_seconds: float = 5.0
    # How often parked directories are looked at: email waits timed out, waiting jobs due.
    wake_interval_seconds: float = 5.0
    stats_interval_seconds: float = 5.0
    worker_stale_seconds: int = 120
    max_body_bytes: int = 64 * 1024

    # The orchestrator's own pool timeout (the mixin's default is 5 s).
    db_timeout_seconds: float = 3.0
    # Four connections per Postgres core (8 for the 2-core instance): more only queue inside
    # Postgres. bench/orchestrator with 64 workers on 2 cores: Postgres CPU per request
    # 2.1-2.3 ms with a pool of 8 against 2.3-2.5 ms with 20 (docs/decisions/0006).
    db_pool_max_size: int = 8
    retry_after_seconds: int = 5

    # Graceful degradation: a provider whose failure rate over the window reaches the
    # threshold (with at least min_samples attempts) raises an alert and throttles tiers.
    # At most a day: provider_health() reads the minute rollups, kept for 25 hours.
    degradation_window_seconds: int = Field(default=300, ge=1, le=86400)
    degradation_min_samples: int = 5
    captcha_failure_threshold: float = 0.5
    proxy_failure_threshold: float = 0.5
    throttled_tier: str = "enterprise"
    throttled_max_running: int = 1

    # How often to look for directories whose failure rate jumped (recipe drift).
    directory_failure_check_seconds: float = 60.0

    # Live checks of listings after hand-over (docs/state-machine.md, live checks): offsets
    # from the hand-over, e.g. "1h,1d,7d,30d" (tests use seconds); a check that could not
    # be made is retried after live_check_error_retry_seconds, live_check_max_errors times.
    live_check_delays: str = "1h,1d,7d,30d"
    live_check_error_retry_seconds: int = Field(default=900, ge=1)
    live_check_max_errors: int = Field(default=3, ge=1, le=20)
    # Long enough for a batch of browser checks (LIVE_CHECK_BATCH times a page's timeouts).
    live_check_lease_seconds: int = Field(default=300, ge=5, le=3600)
    live_check_policy_seconds: float = 300.0

    staff_alert_email: str | None = None
    smtp_url: SecretStr | None = None

    # Autoscaling signal (see docs/autoscaling.md).
    autoscale_min_workers: int = 1
    autoscale_max_workers: int = 20
    autoscale_target_drain_minutes: float = 60.0
    autoscale_default_jobs_per_worker_hour: float = 4.0

    @field_validator("live_check_delays")
    @classmethod
    def _delays_are_a_schedule(cls, value: str) -> str:
        from orchestrator.live_check_schedule import parse_delays

        parse_delays(value)  # a typo is refused at start-up, naming the variable
        return value
