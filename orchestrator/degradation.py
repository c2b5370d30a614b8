"""Graceful degradation (seed §9 and §10): a failing captcha provider or proxy pool raises an
alert for staff, emails STAFF_ALERT_EMAIL, and throttles dispatch for the tier that depends
on them most; recovery undoes all of it.

Judged from the attempt log over a sliding window, so every orchestrator replica reaches
the same verdict and a restart forgets nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from psycopg.types.json import Jsonb

from dbolt import mailer
from dbolt.words import count_of, duration
from orchestrator.state import AppState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Provider:
    name: str
    alert_kind: str
    attempts_key: str
    failures_key: str
    what: str


PROVIDERS = (
    Provider(
        "captcha",
        "captcha_provider_down",
        "captcha_attempts",
        "captcha_failures",
        "Captcha solving is failing",
    ),
    Provider(
        "proxy", "proxy_pool_exhausted", "proxy_attempts", "proxy_failures", "Proxies are failing"
    ),
)


def _threshold(state: AppState, provider: Provider) -> float:
    settings = state.settings
    return (
        settings.captcha_failure_threshold
        if provider.name == "captcha"
        else (settings.proxy_failure_threshold)
    )


def judge(state: AppState) -> dict[str, tuple[bool, int, int]]:
    """provider name → (degraded, failures, attempts) over the window."""
    verdicts = {}
    for provider in PROVIDERS:
        attempts = int(state.snapshot.providers.get(provider.attempts_key, 0))
        failures = int(state.snapshot.providers.get(provider.failures_key, 0))
        degraded = (
            attempts >= state.settings.degradation_min_samples
            and failures / attempts >= _threshold(state, provider)
        )
        verdicts[provider.name] = (degraded, failures, attempts)
    return verdicts


async def _notify_staff(state: AppState, subject: str, text: str) -> None:
    settings = state.settings
    if not settings.staff_alert_email or settings.smtp_url is None:
        return
    message = mailer.build_message(settings.staff_alert_email, subject, text)
    try:
        await mailer.send_async(settings.smtp_url.get_secret_value(), message)
    except (OSError, ValueError) as error:
        # Email is a courtesy on top of the alert row and the log line; never fatal.
        log.warning(
            "could not email staff", extra={"action": "alert.email_failed", "error": str(error)}
        )


async def evaluate(state: AppState) -> None:
    verdicts = judge(state)
    now_degraded = {name for name, (degraded, _, _) in verdicts.items() if degraded}
    before = state.degraded
    window = state.settings.degradation_window_seconds
    for provider in PROVIDERS:
        degraded, failures, attempts = verdicts[provider.name]
        state.metrics.degraded.labels(provider.name).set(1 if degraded else 0)
        was = None if before is None else provider.name in before
        if degraded and was is not True:
            last = count_of(attempts, "attempt")
            message = (
                f"{provider.what}: {failures} of the last {last} failed in "
                f"{duration(window)}; {state.settings.throttled_tier} dispatch throttled to "
                f"{count_of(state.settings.throttled_max_running, 'running job')}."
            )
            row = await state.db.fetch_one(
                "alerts_raise",
                kind=provider.alert_kind,
                message=message,
                details=Jsonb(
                    {"failures": failures, "attempts": attempts, "window_seconds": window}
                ),
            )
            log.warning(message, extra={"action": "alert.raised", "kind": provider.alert_kind})
            if row is not None and row["raised"]:
                await _notify_staff(state, f"[DirectoryBolt] {provider.what}", message)
        elif not degraded and was is not False:
            row = await state.db.fetch_one("alerts_clear", kind=provider.alert_kind)
            if row is not None and row["cleared"]:
                log.info(
                    f"{provider.name} recovered",
                    extra={"action": "alert.cleared", "kind": provider.alert_kind},
                )
    throttle_before = None if before is None else bool(before)
    if bool(now_degraded) != throttle_before:
        await state.db.fetch_one(
            "tiers_throttle",
            tier=state.settings.throttled_tier,
            max_running=state.settings.throttled_max_running if now_degraded else None,
            actor="orchestrator",
        )
    state.degraded = now_degraded


async def record_outage(state: AppState, seconds: float) -> None:
    """After the database comes back: a cleared alert so staff see the outage happened."""
    message = f"Database unreachable for {seconds:.0f} s; dispatch was paused and has resumed."
    await state.db.fetch_one(
        "alerts_raise", kind="database_outage", message=message, details=Jsonb({"seconds": seconds})
    )
    await state.db.fetch_one("alerts_clear", kind="database_outage")
    await _notify_staff(state, "[DirectoryBolt] Database outage recovered", message)
