"""The autoscaling signal exported as directorybolt_desired_workers.

    backlog          = pending + in_progress jobs   (not `waiting`: a job whose directories
                                                   are parked holds no worker until woken)
    per_worker_rate  = completed_last_hour / active_workers      (jobs per worker-hour;
                       the configured default until both are non-zero)
    desired          = ceil(backlog / (per_worker_rate * target_drain_hours))
                       clamped to [min_workers, max_workers]

That is: enough workers that, at the throughput observed over the last hour, today's backlog
would drain within the target time. docs/autoscaling.md explains how to wire it to a scaler.
"""

from __future__ import annotations

import math
from typing import Any


def desired_workers(
    stats: dict[str, Any],
    *,
    min_workers: int,
    max_workers: int,
    target_drain_minutes: float,
    default_jobs_per_worker_hour: float,
) -> int:
    jobs = stats.get("jobs", {})
    backlog = int(jobs.get("pending", 0)) + int(jobs.get("in_progress", 0))
    if backlog == 0:
        return min_workers
    active = int(stats.get("active_workers", 0))
    completed = int(stats.get("completed_last_hour", 0))
    per_worker_rate = completed / active if active and completed else default_jobs_per_worker_hour
    needed = math.ceil(backlog / (per_worker_rate * target_drain_minutes / 60.0))
    return max(min_workers, min(max_workers, needed))
