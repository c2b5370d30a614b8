"""Markdown for the results: throughput with the worker/bare ratio, memory (PSS) per role and
per context, where the CPU went, and the time per submission by site."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import mean

from bench.common import MIB
from bench.worker import procfs
from bench.worker.results import BARE, BEFORE, WORKER, SideResult
from bench.worker.sampler import BENCH, MACHINE
from dbolt.words import count_of

CPU_GROUPS = (
    procfs.PYTHON,
    procfs.DRIVER,
    procfs.CHROMIUM,
    "orchestrator",
    "postgres",
    "sandbox",
    BENCH,
)


@dataclass(frozen=True)
class Context:
    """What a reader needs to judge (or reproduce) the numbers."""

    command: str
    started_at: str
    cpu_count: int
    load_before: str
    chromium_version: str
    playwright_version: str
    sites: tuple[str, ...]
    jobs: int  # per round
    rounds: int
    submissions: int  # per side and configuration, all rounds
    sample_interval: float
    before: str = "full"  # what the before side ran (--before)

    @property
    def before_switch(self) -> str:
        if self.before == "lean":
            return "`BROWSER_NETWORK_IN_PROCESS=false`"
        return "`BROWSER_LEAN=false`"

    @property
    def before_meaning(self) -> str:
        if self.before == "lean":
            return "the headless shell with the lean flags but without the memory flags"
        return "the full browser in its new headless mode with the older flags"


@dataclass(frozen=True)
class Pair:
    """One configuration: the worker (lean browser), the worker before (BROWSER_LEAN=false)
    and the bare loop."""

    contexts: int
    worker: SideResult
    before: SideResult
    bare: SideResult

    @property
    def ratio(self) -> float:
        return self.worker.per_minute / self.bare.per_minute

    @property
    def sides(self) -> tuple[SideResult, SideResult, SideResult]:
        return (self.worker, self.before, self.bare)

    def side(self, name: str) -> SideResult:
        return {WORKER: self.worker, BEFORE: self.before, BARE: self.bare}[name]


def _mib(value: float) -> str:
    return f"{value / MIB:.0f}"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    align = ["---:" if index else "---" for index in range(len(header))]
    return "\n".join([_row(header), _row(align), *(_row(row) for row in rows)])


def progress_line(result: SideResult) -> str:
    usage = result.usage
    return (
        f"  {result.side:<6} {count_of(result.contexts, 'context')}: "
        f"{result.submissions} confirmed in "
        f"{result.seconds:5.1f} s = {result.per_minute:5.1f}/min; PSS peak python "
        f"{_mib(usage.peak_pss[procfs.PYTHON])} MiB, Chromium "
        f"{_mib(usage.peak_pss[procfs.CHROMIUM])} MiB"
    )


def summary_table(pairs: Sequence[Pair]) -> str:
    rows = []
    for pair in pairs:
        peak = pair.worker.usage.peak_pss
        rows.append(
            [
                str(pair.contexts),
                f"{pair.worker.per_minute:.1f}",
                f"{pair.bare.per_minute:.1f}",
                f"{pair.ratio:.2f}",
                _mib(peak[procfs.PYTHON]),
                _mib(peak[procfs.DRIVER]),
                _mib(peak[procfs.CHROMIUM]),
                _mib(peak[procfs.CHROMIUM] / pair.contexts),
            ]
        )
    header = [
        "contexts",
        "worker subs/min",
        "bare subs/min",
        "ratio",
        "worker PSS MiB",
        "Playwright driver PSS MiB",
        "Chromium PSS MiB",
        "Chromium PSS per context MiB",
    ]
    return _table(header, rows)


def memory_table(pairs: Sequence[Pair]) -> str:
    rows = []
    for pair in pairs:
        for result in pair.sides:
            peak, avg = result.usage.peak_pss, result.usage.mean_pss
            rows.append(
                [
                    f"{pair.contexts}",
                    result.side,
                    *(
                        f"{_mib(peak[role])} / {_mib(avg[role])}"
                        for role in (procfs.PYTHON, procfs.DRIVER, procfs.CHROMIUM)
                    ),
                    f"{_mib(peak[procfs.CHROMIUM] / pair.contexts)}",
                    str(result.usage.peak_processes[procfs.CHROMIUM]),
                    str(result.usage.samples),
                ]
            )
    header = [
        "contexts",
        "side",
        "Python peak / mean",
        "Playwright driver peak / mean",
        "Chromium peak / mean",
        "Chromium peak per context",
        "Chromium processes (peak)",
        "samples",
    ]
    return _table(header, rows)


def _marginal_line(pairs: Sequence[Pair]) -> str:
    """What one more context adds to Chromium, from the first configuration to the last."""
    first, last = pairs[0], pairs[-1]
    if last.contexts == first.contexts:
        return ""
    parts = []
    for side in (WORKER, BEFORE, BARE):
        low = first.side(side).usage.peak_pss[procfs.CHROMIUM]
        high = last.side(side).usage.peak_pss[procfs.CHROMIUM]
        parts.append(f"{side} {_mib((high - low) / (last.contexts - first.contexts))} MiB")
    return (
        f"Each context beyond the first adds (peak Chromium PSS at "
        f"{count_of(last.contexts, 'context')} minus"
        f" at {first.contexts}, divided by the difference): {', '.join(parts)}.\n"
    )


# Share of the machine's CPUs that others took during a run, above which its row is flagged.
CONTENDED_SHARE = 0.15


def own_cpu_seconds(result: SideResult) -> float:
    """CPU of every process this side needs to submit (not this benchmark's own)."""
    cpu = result.usage.cpu_seconds
    return sum(cpu.get(group, 0.0) for group in CPU_GROUPS if group != BENCH)


def others_seconds(result: SideResult) -> float:
    """Busy CPU time on the machine that none of the measured processes account for."""
    cpu = result.usage.cpu_seconds
    return max(0.0, cpu[MACHINE] - sum(cpu.get(group, 0.0) for group in CPU_GROUPS))


def _ms_per_submission(seconds: float, result: SideResult) -> str:
    return f"{seconds / result.submissions * 1000:.0f}"


def cpu_table(pairs: Sequence[Pair], cpu_count: int) -> str:
    rows = []
    for pair in pairs:
        for result in pair.sides:
            cpu = result.usage.cpu_seconds
            per = [
                _ms_per_submission(cpu[group], result) if group in cpu else "—"
                for group in CPU_GROUPS
            ]
            busy = cpu[MACHINE] / (result.usage.cpu_span * max(1, cpu_count))
            rows.append(
                [
                    str(pair.contexts),
                    result.side,
                    f"{result.seconds:.1f}",
                    *per,
                    _ms_per_submission(own_cpu_seconds(result), result),
                    _ms_per_submission(others_seconds(result), result),
                    f"{busy:.0%}",
                ]
            )
    header = [
        "contexts",
        "side",
        "wall s",
        "Python",
        "driver",
        "Chromium",
        "orchestrator",
        "Postgres (its pool)",
        "sandbox",
        "bench",
        "all it needs",
        "rest of machine",
        "machine busy",
    ]
    return _table(header, rows)


def cpu_per_submission(result: SideResult) -> float:
    return own_cpu_seconds(result) / result.submissions


def browser_table(pairs: Sequence[Pair]) -> str:
    """The browser's cost, before and after the savings, beside the bare loop."""
    rows = []
    for pair in pairs:
        for result in pair.sides:
            cpu = result.usage.cpu_seconds
            chromium = cpu.get(procfs.CHROMIUM, 0.0) / result.submissions
            rows.append(
                [
                    str(pair.contexts),
                    result.side,
                    f"{cpu_per_submission(result):.2f}",
                    f"{chromium:.2f}",
                    _mib(result.usage.peak_pss[procfs.CHROMIUM] / pair.contexts),
                    f"{result.per_minute:.1f}",
                ]
            )
    header = [
        "contexts",
        "side",
        "CPU-s per submission",
        "of which Chromium",
        "Chromium PSS per context MiB",
        "subs/min",
    ]
    return _table(header, rows)


def savings_line(pairs: Sequence[Pair]) -> str:
    """How many times fewer CPU-seconds per submission the worker spends than before."""
    parts = []
    for pair in pairs:
        times = cpu_per_submission(pair.before) / cpu_per_submission(pair.worker)
        parts.append(f"{count_of(pair.contexts, 'context')} **{times:.2f}**")
    return (
        "How many times fewer CPU-seconds per submission the worker spends than before "
        f"(before ÷ worker): {', '.join(parts)}."
    )


def cpu_ratio_line(pairs: Sequence[Pair]) -> str:
    """Unlike submissions per minute, CPU per submission hardly depends on what else the
    machine is doing, so this ratio is the steadier reading on a shared machine."""
    parts = []
    for pair in pairs:
        worker = own_cpu_seconds(pair.worker) / pair.worker.submissions
        bare = own_cpu_seconds(pair.bare) / pair.bare.submissions
        parts.append(f"{count_of(pair.contexts, 'context')} **{worker / bare:.2f}**")
    return (
        "CPU per submission of everything each side needs (*all it needs* below), worker ÷ "
        f"bare: {', '.join(parts)}."
    )


def contention_note(pairs: Sequence[Pair], cpu_count: int) -> str:
    """Name the runs during which other work took a large share of the machine."""
    flagged = []
    for pair in pairs:
        for result in pair.sides:
            share = others_seconds(result) / (result.usage.cpu_span * max(1, cpu_count))
            if share > CONTENDED_SHARE:
                flagged.append(f"{result.side} at {count_of(pair.contexts, 'context')} {share:.0%}")
    if not flagged:
        return ""
    return (
        "\n**Other work took a large share of the CPUs during some runs** (*rest of machine* "
        f"below): {', '.join(flagged)}. Their submissions per minute are lower than the "
        "machine alone would give; the CPU ratio is the better comparison for those rows.\n"
    )


def sites_table(pair: Pair, sites: Sequence[str]) -> str:
    rows = []
    for site in sites:
        worker = mean(pair.worker.seconds_by_site[site])
        bare = mean(pair.bare.seconds_by_site[site])
        rows.append([site, f"{worker * 1000:.0f}", f"{bare * 1000:.0f}", f"{worker / bare:.2f}"])
    return _table(["site", "worker attempt ms", "bare ms", "worker ÷ bare"], rows)


def _contexts_text(pairs: Sequence[Pair]) -> str:
    counts = [str(pair.contexts) for pair in pairs]
    return counts[0] if len(counts) == 1 else f"{', '.join(counts[:-1])} and {counts[-1]}"


def document(context: Context, pairs: Sequence[Pair]) -> str:
    first = pairs[0]
    sites = ", ".join(f"`{site}`" for site in context.sites)
    per_job = len(context.sites)
    businesses = count_of(context.jobs, "business")
    rounds = (
        f"in {context.rounds} rounds of {businesses}, alternating which side goes first"
        if context.rounds > 1
        else businesses
    )
    return f"""# Worker benchmark

`{context.command}` ({context.started_at}): {context.cpu_count} CPUs, load average
{context.load_before} before the run; {context.chromium_version}; Playwright
{context.playwright_version}.

Successful sandbox submissions per minute for one worker (`python -m worker`, claiming from a
real `python -m orchestrator` on a fresh database) with {_contexts_text(pairs)} browser
contexts, side by side in the same run with a bare Playwright loop (`bench/worker/bare.py`)
that fills and submits the same forms with as many contexts and no orchestration. Each side
submits {context.submissions} times per configuration, {rounds}; each business goes to the
{count_of(per_job, "sandbox site")} {sites} (one starter job per business on the worker
side), with a fresh browser context per submission on both sides.

## The browser's cost: the worker, the worker before ({context.before_switch}), the bare loop

{browser_table(pairs)}

{savings_line(pairs)}

- **worker**: as it runs, in Chromium's headless shell with the lean flags
  (`worker/browser_launch.py`); **before**: the same worker with {context.before_switch},
  {context.before_meaning}; **bare**: the bare loop, in the
  full browser like before.
- **CPU-s per submission**: every process the side needs (*all it needs* below) over the
  timed windows, ÷ confirmed submissions; **Chromium PSS per context**: peak Chromium PSS ÷
  contexts (it still carries Chromium's fixed cost).

## Throughput and memory, worker vs the bare loop

{summary_table(pairs)}

{cpu_ratio_line(pairs)}
{contention_note(pairs, context.cpu_count)}
- **subs/min**: confirmed submissions per minute of the timed windows. Worker: from its first
  claim (`jobs.started_at`) to its last report (`job_results.reported_at`), both stamped by
  Postgres; bare loop: from Chromium up to its last confirmation. Launching Chromium is
  outside both windows.
- **ratio**: worker ÷ bare. The worker pays for the orchestrator round trips (claim, start,
  report, complete, heartbeats), recipes and the generic filler instead of hard-coded calls,
  its checks for duplicates, verification and confirmation, and the wait at the end of each
  job for its last directories before it claims the next (these jobs have
  {count_of(per_job, "directory")}, so that tail comes every {count_of(per_job, "submission")};
  a real starter job has 50).
- **PSS** (proportional set size, `/proc/<pid>/smaps_rollup`): the peak of the samples taken
  every {context.sample_interval:g} s inside the timed windows. *worker* is the worker's Python
  process, *Playwright driver* its Node child, *Chromium* every process under the driver
  (browser, zygotes, renderers, GPU and network services); *per context* is the Chromium total
  ÷ contexts, so it still carries Chromium's fixed cost.

Checked before anything was reported: every worker attempt was a confirmed success (no
retries), every job ended `complete` and every directory `submitted`; the bare loop saw the
confirmation of every submission; and in every run the sandbox recorded each (site,
business) exactly once and nothing else.

## Memory: PSS MiB, peak / mean over the timed windows

{memory_table(pairs)}

{_marginal_line(pairs)}
## CPU per submission (ms), by process

{cpu_table(pairs, context.cpu_count)}

*Python* is the worker (or the bare loop) itself, *driver* its Playwright Node process;
*Postgres (its pool)* the backends of the orchestrator's connection pool; *bench* this
benchmark's own process (the sampler and the progress polls); *all it needs* the sum of the
columns before *bench*. *Rest of the machine* is busy CPU time none of them account for:
other Postgres work, and anything else running on this machine (it may be shared: compare
the load average above). *machine busy* is the share of all CPUs busy from the sample before
each window to the one after it: near 100 %, throughput is bound by CPU, and more contexts
only share the same CPUs.

## Time per submission by site, {count_of(first.contexts, "context")}

The worker's own attempt duration (`job_results.duration_ms`: fresh context, page, recipe or
generic filler, outcome checks; not the orchestrator calls around it) beside the bare loop's
time for the same site.

{sites_table(first, context.sites)}
"""
