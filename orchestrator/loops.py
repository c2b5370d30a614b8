"""Background loops: the lease reaper, the waker of parked directories, the stats refresh
(metrics, health, degradation) and the check for directories whose failure rate jumped.

Each loop catches, logs and continues: one failed round (the database restarting, say) must
never stop the loop for good.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from dbolt.sql import DatabaseUnavailable
from orchestrator import degradation
from orchestrator.autoscale import desired_workers
from orchestrator.state import AppState

log = logging.getLogger(__name__)


async def run_forever(
    state: AppState, name: str, interval: float, step: Callable[[AppState], Awaitable[None]]
) -> None:
    failures = 0
    while True:
        try:
            await step(state)
            failures = 0
        except asyncio.CancelledError:
            raise
        except DatabaseUnavailable as error:
            failures += 1
            if failures == 1:
                log.warning(
                    f"{name}: database unreachable",
                    extra={"action": f"{name}.db_down", "error": str(error)},
                )
        except Exception:
            # Catch everything else too, log it and go on: a bug in one round must not
            # silently stop reaping leases for the rest of the process's life.
            failures += 1
            log.exception(f"{name} failed", extra={"action": f"{name}.failed"})
        state.metrics.loop_errors.labels(name).set(failures)
        await asyncio.sleep(interval)


async def reap(state: AppState) -> None:
    rows = await state.db.fetch_all(
        "jobs_reap_expired", max_lost_leases=state.settings.max_lost_leases
    )
    for row in rows:
        log.warning(
            "lease expired",
            extra={
                "action": "job.lease_expired",
                "job_id": str(row["job_id"]),
                "status": row["status"],
                "lost_leases": row["lost_leases"],
            },
        )


async def wake_due(state: AppState) -> None:
    """Parked directories whose time has come: an email that never arrived signs up again
    once, then needs action; a waiting job with work due goes back to pending (and workers
    hear job_available). Idempotent and row-locked in SQL, so every replica may run it."""
    rows = await state.db.fetch_all(
        "jobs_wake_due", actor="waker", mailbox_domain=state.settings.mailbox_domain
    )
    for row in rows:
        log.info(
            "parked directory woken" if row["directory_id"] else "waiting job woken",
            extra={
                "action": f"parking.{row['action']}",
                "job_id": str(row["job_id"]),
                "directory_id": row["directory_id"],
            },
        )


async def fold_counter_shards(state: AppState) -> None:
    """Move the metrics counters of backends that are gone into one row (migration
    20261208000140), and the charts' rollup rows no transaction holds into shard 0 (20261208001000),
    so each refresh and chart sums a few rows, not one per pid ever used. A failed
    fold only leaves more rows to sum: it is logged and the refresh goes on."""
    try:
        await state.db.fetch_one("queue_fold_metrics_counters")
    except DatabaseUnavailable:
        raise
    except Exception:
        log.exception("counter fold failed", extra={"action": "stats.fold_failed"})


async def refresh(state: AppState) -> None:
    try:
        await fold_counter_shards(state)
        row = await state.db.fetch_one(
            "queue_stats_with_health", window_seconds=state.settings.degradation_window_seconds
        )
        workers = await state.db.fetch_one(
            "workers_health", stale_seconds=state.settings.worker_stale_seconds
        )
    finally:
        state.metrics.dispatch_paused.set(0 if state.db.reachable else 1)
    assert row is not None
    assert workers is not None
    if state.db.last_outage_seconds is not None:
        seconds, state.db.last_outage_seconds = state.db.last_outage_seconds, None
        log.warning(
            "database reachable again",
            extra={"action": "db.recovered", "seconds": round(seconds, 1)},
        )
        await degradation.record_outage(state, seconds)
    snapshot = state.snapshot
    snapshot.stats, snapshot.totals, snapshot.providers, snapshot.outbox = (
        row["stats"],
        row["totals"],
        row["providers"],
        row["outbox"],
    )
    settings = state.settings
    snapshot.desired_workers = desired_workers(
        snapshot.stats,
        min_workers=settings.autoscale_min_workers,
        max_workers=settings.autoscale_max_workers,
        target_drain_minutes=settings.autoscale_target_drain_minutes,
        default_jobs_per_worker_hour=settings.autoscale_default_jobs_per_worker_hour,
    )
    state.workers.healthy, state.workers.stale = int(workers["healthy"]), int(workers["stale"])
    await degradation.evaluate(state)


async def check_directory_failures(state: AppState) -> None:
    """Raise (or clear) the alert naming directories whose failure rate jumped: recipe drift.

    Idempotent in SQL (one alert, refreshed or cleared), so every replica may run it.
    """
    row = await state.db.fetch_one("alerts_check_directory_failures")
    result = row["result"] if row else {}
    if result.get("alert") in ("raised", "cleared"):
        log.warning(
            f"directory failure-rate alert {result['alert']}",
            extra={
                "action": f"alert.directory_failure_rate_{result['alert']}",
                "directories": [d.get("directory_id") for d in result.get("directories") or []],
            },
        )
