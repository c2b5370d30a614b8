"""The Markdown the benchmark prints and writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.common import MIB
from bench.webhook.load import Level
from bench.webhook.results import RunResult


@dataclass(frozen=True)
class Context:
    command: str
    started_at: str
    server_version: str
    cpu_count: int
    events: int
    concurrencies: tuple[int, ...]
    replay_concurrency: int
    pool_size: int
    rounds: int
    notifier: str
    bench_peak_rss_bytes: int


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| --- |" + " ---: |" * (len(header) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _median_level(runs: Sequence[RunResult], pick: str) -> Level:
    """The level with the median throughput over the rounds (the lower one of an even count)."""
    levels = sorted((_pick(run, pick) for run in runs), key=lambda level: level.per_second)
    return levels[(len(levels) - 1) // 2]


def _pick(run: RunResult, pick: str) -> Level:
    return run.replay if pick == "replay" else run.level(int(pick))


def _round_ratios(http: Sequence[RunResult], direct: Sequence[RunResult], pick: str) -> str:
    ratios = sorted(
        _pick(h, pick).per_second / _pick(d, pick).per_second
        for h, d in zip(http, direct, strict=True)
    )
    return ", ".join(f"{ratio:.2f}" for ratio in ratios)


def throughput_table(
    context: Context, http: Sequence[RunResult], direct: Sequence[RunResult]
) -> str:
    picks = [str(c) for c in context.concurrencies] + ["replay"]
    rows = []
    for pick in picks:
        h, d = _median_level(http, pick), _median_level(direct, pick)
        label = (
            f"replays, concurrency {context.replay_concurrency}"
            if pick == "replay"
            else f"new events, concurrency {pick}"
        )
        rows.append(
            [
                label,
                f"{h.per_second:.1f}",
                f"{d.per_second:.1f}",
                f"**{h.per_second / d.per_second:.2f}**",
                f"{h.p50_ms:.2f} / {h.p99_ms:.2f}",
                f"{d.p50_ms:.2f} / {d.p99_ms:.2f}",
                f"{h.p50_ms / d.p50_ms:.2f} / {h.p99_ms / d.p99_ms:.2f}",
                _round_ratios(http, direct, pick),
            ]
        )
    header = [
        "load",
        "HTTP events/s",
        "direct events/s",
        "HTTP / direct",
        "HTTP p50 / p99 ms",
        "direct p50 / p99 ms",
        "latency HTTP / direct (p50 / p99)",
        "HTTP / direct events/s per round",
    ]
    return _table(header, rows)


def memory_lines(context: Context, http: Sequence[RunResult], direct: Sequence[RunResult]) -> str:
    sides = [run.server for run in http if run.server is not None]
    peak = max(side.peak_rss_bytes for side in sides)
    rest = max(side.rss_at_rest_bytes for side in sides)
    http_rss = max(run.bench_rss_bytes for run in http)
    direct_rss = max(run.bench_rss_bytes for run in direct)
    return "\n".join(
        [
            f"- webhook process peak RSS (VmHWM of `python -m webhook`, highest of the rounds):"
            f" **{peak / MIB:.1f} MiB** ({rest / MIB:.1f} MiB at rest: started, pool of "
            f"{context.pool_size} full, before the load)",
            f"- this benchmark process: peak RSS {context.bench_peak_rss_bytes / MIB:.1f} MiB "
            f"(ru_maxrss; it drives both paths); at the end of a run {http_rss / MIB:.1f} MiB "
            f"on the HTTP path ({max(context.concurrencies)} httpx clients) and "
            f"{direct_rss / MIB:.1f} MiB on the direct path (a pool of {context.pool_size})",
        ]
    )


def notifier_line(context: Context, http: Sequence[RunResult]) -> str:
    if context.notifier == "off":
        return (
            "Notifier: `--notifier off` — SUPABASE_URL and SMTP_URL point at a closed port, so "
            "each payment email failed at its first step (the Auth call) and was put back for "
            "a retry 30 s later; no mail was composed or sent."
        )
    caught = [run.server.mails_caught for run in http if run.server is not None]
    listed = ", ".join(str(count) for count in caught)
    return (
        "Notifier: running as in production, in the webhook process, woken by every paid "
        "order; SMTP_URL pointed at a mail catcher (`python -m devstack.mailcatcher`) and "
        "SUPABASE_URL at the Auth stand-in (`python -m devstack.supabase_api`), both "
        "subprocesses on free loopback ports, so each payment email was really composed (Auth "
        "admin generate_link, customer linked) and sent, to the catcher only. Emails caught "
        f"during each round's HTTP run: {listed} (of {context.events * len(context.concurrencies)}"
        " paid orders; the rest were still queued when the run ended). The direct path has "
        "no notifier: its queued emails are never sent, so the HTTP figures carry the "
        "notifier's share of the webhook process's CPU and database connections."
    )


def document(context: Context, http: Sequence[RunResult], direct: Sequence[RunResult]) -> str:
    rounds = (
        "one round"
        if context.rounds == 1
        else f"median of {context.rounds} rounds per row by events/s (alternating which path "
        "goes first)"
    )
    levels = ", ".join(str(c) for c in context.concurrencies)
    return "\n".join(
        [
            "# Webhook benchmark",
            "",
            f"`{context.command}` — {context.started_at}; PostgreSQL {context.server_version}, "
            f"{context.cpu_count} CPUs; {context.events} new signed `checkout.session.completed` "
            f"events per concurrency level ({levels}) per path, then the events of the "
            f"concurrency-{context.replay_concurrency} level replayed; database pool "
            f"{context.pool_size} connections on both paths; {rounds}.",
            "",
            "Each event has its own id and Checkout Session (a new customer and a new paid "
            "order), signed as Stripe signs: `Stripe-Signature: t=<unix>,v1=hex(HMAC_SHA256("
            'secret, f"{t}.{payload}"))`. HTTP = `POST /stripe/webhook` to a real `python -m '
            "webhook` subprocess on a free loopback port, one keep-alive httpx connection per "
            "concurrent sender; direct SQL = the receiver's own named query "
            "(`stripe_events_apply`: `select stripe_events_apply(%(event)s::jsonb)`) with the "
            "same JSON text on a pool built like the receiver's, from the same number of "
            "asyncio tasks. So the ratio is what HTTP + signature verification + FastAPI (and "
            "the notifier sharing the process, see below) cost. Replays are the same event ids "
            "again, freshly signed as Stripe re-signs a retry; every one answered "
            "`duplicate: true` and changed nothing. Each path runs on its own fresh database; "
            "every run is checked (all events recorded and processed, one paid order each) "
            "before it is reported. Latency is per event as the sender sees it; throughput "
            "below 1 and latency above 1 mean HTTP is slower.",
            "",
            throughput_table(context, http, direct),
            "",
            notifier_line(context, http),
            "",
            "Memory:",
            "",
            memory_lines(context, http, direct),
            "",
        ]
    )
