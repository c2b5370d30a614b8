"""The table the benchmark prints (Markdown)."""

from __future__ import annotations

from bench.dispatch.run import REALTIME_DOWN, REALTIME_UP, RunSettings, Samples, percentile


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def table(results: dict[str, Samples], settings: RunSettings, load: str, command: str) -> str:
    polls = settings.polls
    lines = [
        "# Dispatch latency: form saved → job pending → worker woken → first attempt started",
        "",
        f"`{command}` · {settings.workers} idle workers · rounds alternate Realtime up / down"
        f" ({settings.rounds} of each) · load: {load}",
        "",
        "| wake-up | jobs | saved → claimed p50 | saved → first attempt p50 | p99 | max |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label in (REALTIME_UP, REALTIME_DOWN):
        samples = results[label]
        if not samples.to_start:
            continue
        lines.append(
            f"| {label} | {len(samples.to_start)} | {_ms(percentile(samples.to_claim, 50))}"
            f" | {_ms(percentile(samples.to_start, 50))}"
            f" | {_ms(percentile(samples.to_start, 99))} | {_ms(max(samples.to_start))} |"
        )
    up, down = results[REALTIME_UP].to_start, results[REALTIME_DOWN].to_start
    if up and down:
        ratio = percentile(down, 50) / max(percentile(up, 50), 1e-6)
        lines += ["", f"Realtime makes the median dispatch {ratio:,.0f}x faster than polling."]
    lines += [
        "",
        "Goal with Realtime up: p50 < 1 s, p99 < 3 s.",
        "",
        "A worker's wake-up without Realtime (worker settings, each wait jittered x0.5-1.5):",
        f"- Realtime unreachable when the worker starts: it polls after"
        f" {polls.poll_min:g} s, doubling to POLL_MAX_SECONDS = {polls.poll_max:g} s while idle,"
        f" so an idle worker finds new work within {polls.poll_max * 1.5:g} s"
        f" (on average {polls.poll_max * 0.54:.1f} s for one worker).",
        f"- Realtime lost after joining: a closed socket is noticed at once, a silent one"
        f" when its ping goes unanswered (REALTIME_HEARTBEAT_SECONDS ="
        f" {polls.realtime_heartbeat:g} s,"
        f" so within {polls.realtime_heartbeat * 2:g} s); the worker claims at once, then polls"
        f" as above from {polls.poll_min:g} s while it rejoins Realtime with backoff."
        f" While Realtime is up its safety poll is REALTIME_POLL_SECONDS ="
        f" {polls.realtime_poll:g} s.",
        f"- Measured above with Realtime down: each job saved after the workers had been idle"
        f" {settings.polling_idle_seconds:g} s.",
    ]
    return "\n".join(lines) + "\n"
