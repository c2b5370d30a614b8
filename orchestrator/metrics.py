"""Prometheus metrics, all prefixed `directorybolt_`.

Counters of things the database records (attempts, retries, captchas, proxy failures,
completed jobs) are read from the database's append-only tables by the stats loop, so they
are right across restarts and replicas; latency histograms are this process's own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass
class QueueSnapshot:
    """The latest read of queue_stats() and metrics_totals(), refreshed by the stats loop."""

    stats: dict[str, Any] = field(default_factory=dict)
    totals: dict[str, Any] = field(default_factory=dict)
    providers: dict[str, Any] = field(default_factory=dict)
    outbox: dict[str, Any] = field(default_factory=dict)
    desired_workers: int = 0


class DatabaseCollector(Collector):
    def __init__(self, snapshot: QueueSnapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterable[Any]:
        stats, totals = self.snapshot.stats, self.snapshot.totals
        depth = GaugeMetricFamily("directorybolt_queue_depth", "Jobs by status.", labels=["status"])
        for status, count in sorted(stats.get("jobs", {}).items()):
            depth.add_metric([status], count)
        yield depth
        yield GaugeMetricFamily(
            "directorybolt_active_workers",
            "Workers that claimed or heartbeated in the last two minutes.",
            value=stats.get("active_workers", 0),
        )
        yield GaugeMetricFamily(
            "directorybolt_oldest_pending_seconds",
            "Age of the oldest pending job.",
            value=stats.get("oldest_pending_seconds", 0),
        )
        running = GaugeMetricFamily(
            "directorybolt_tier_running_jobs", "Running jobs per tier.", labels=["tier"]
        )
        cap = GaugeMetricFamily(
            "directorybolt_tier_max_running",
            "Effective cap on running jobs per tier (lowered while throttled).",
            labels=["tier"],
        )
        for tier, values in sorted(stats.get("tiers", {}).items()):
            running.add_metric([tier], values["running"])
            cap.add_metric([tier], values["effective_max_running"])
        yield running
        yield cap
        yield GaugeMetricFamily(
            "directorybolt_desired_workers",
            "Autoscaling signal: workers needed to drain the queue in the target time.",
            value=self.snapshot.desired_workers,
        )
        yield from self._outbox()
        if not totals:
            return
        yield CounterMetricFamily(
            "directorybolt_jobs_completed", "Jobs completed.", value=totals["jobs_completed"]
        )
        attempts = CounterMetricFamily(
            "directorybolt_directory_attempts", "Directory attempts by outcome.", labels=["outcome"]
        )
        for outcome, count in sorted(totals["attempts_by_outcome"].items()):
            attempts.add_metric([outcome], count)
        yield attempts
        # The attempts a success or failure rate divides by: succeeded (confirmed, or already
        # listed) or failed (an error), as the staff dashboard counts them. Attempts waiting
        # on the customer or on a review are in neither (private.attempt_result).
        finished = CounterMetricFamily(
            "directorybolt_directory_attempts_finished",
            "Directory attempts that finished, by result (succeeded or failed).",
            labels=["result"],
        )
        for result, count in sorted(totals.get("attempts_finished", {}).items()):
            finished.add_metric([result], count)
        yield finished
        yield CounterMetricFamily(
            "directorybolt_retries", "Attempts after the first.", value=totals["retries"]
        )
        yield CounterMetricFamily(
            "directorybolt_captchas_solved", "Captchas solved.", value=totals["captchas_solved"]
        )
        yield CounterMetricFamily(
            "directorybolt_captchas_failed",
            "Captchas not solved.",
            value=totals["captchas_failed"],
        )
        yield CounterMetricFamily(
            "directorybolt_proxy_rotation_failures",
            "Attempts that failed on a proxy error.",
            value=totals["proxy_failures"],
        )

    def _outbox(self) -> Iterable[Any]:
        outbox = self.snapshot.outbox
        if not outbox:
            return
        yield GaugeMetricFamily(
            "directorybolt_emails_unsent",
            "Customer emails queued in the outbox and not sent yet.",
            value=outbox["emails_unsent"],
        )
        yield GaugeMetricFamily(
            "directorybolt_oldest_unsent_email_seconds",
            "Age of the oldest customer email not sent yet (0 when none waits).",
            value=float(outbox["oldest_unsent_email_seconds"]),
        )
        yield GaugeMetricFamily(
            "directorybolt_emails_dead",
            "Customer emails given up on after every retry (kept with their last error).",
            value=outbox["emails_dead"],
        )
        yield GaugeMetricFamily(
            "directorybolt_stripe_events_rejected",
            "Stripe events recorded but not applied (kept with their error until a resend).",
            value=outbox["stripe_events_rejected"],
        )


class Metrics:
    def __init__(self, snapshot: QueueSnapshot) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(DatabaseCollector(snapshot))
        self.dispatch_paused = Gauge(
            "directorybolt_dispatch_paused",
            "1 while jobs-next answers 503 (database unreachable).",
            registry=self.registry,
        )
        self.degraded = Gauge(
            "directorybolt_provider_degraded",
            "1 while a provider's failure rate is above its threshold.",
            ["provider"],
            registry=self.registry,
        )
        self.jobs_next_seconds = Histogram(
            "directorybolt_jobs_next_duration_seconds",
            "Time to answer POST /jobs-next.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.attempt_report_seconds = Histogram(
            "directorybolt_attempt_report_duration_seconds",
            "Time to record one attempt report.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.loop_errors = Gauge(
            "directorybolt_background_loop_errors",
            "Consecutive failures of each background loop (0 when healthy).",
            ["loop"],
            registry=self.registry,
        )
