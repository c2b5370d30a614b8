"""Memory and CPU sampled in a background thread while a measured process tree runs, and
summarised over the timed window only (Chromium's launch and the idle tail do not count)."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bench.worker import procfs

ROLES = (procfs.PYTHON, procfs.DRIVER, procfs.CHROMIUM)
MACHINE = "machine"
# This benchmark's own process: the sampler thread and the progress polling.
BENCH = "bench"


@dataclass(frozen=True)
class Sample:
    at: float  # wall clock, comparable with Postgres's now() and the bare loop's time.time()
    pss: dict[str, int]
    cpu: dict[str, float]
    processes: dict[str, int]


@dataclass(frozen=True)
class Usage:
    """One side of one configuration, over its timed window."""

    peak_pss: dict[str, int]
    mean_pss: dict[str, int]
    cpu_seconds: dict[str, float]
    # How long the CPU figures cover: from the last sample before the window to the first after.
    cpu_span: float
    peak_processes: dict[str, int]
    samples: int


def take(root: int, others: Mapping[str, Sequence[int]]) -> Sample:
    """One sample of the tree under `root` by role, plus the CPU of the named groups of
    processes in `others` (the orchestrator, its Postgres backends, the sandbox), of this
    process and of the whole machine."""
    by_role = procfs.groups(root)
    cpu = {role: procfs.total_cpu_seconds(pids) for role, pids in by_role.items()}
    cpu |= {name: procfs.total_cpu_seconds(pids) for name, pids in others.items()}
    cpu[BENCH] = procfs.cpu_seconds(os.getpid())
    cpu[MACHINE] = procfs.machine_busy_seconds()
    return Sample(
        at=time.time(),
        pss={role: procfs.total_pss_bytes(pids) for role, pids in by_role.items()},
        cpu=cpu,
        processes={role: len(pids) for role, pids in by_role.items()},
    )


@dataclass
class Sampler:
    root: int
    others: Mapping[str, Sequence[int]]
    interval: float = 0.5
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            # A process can end mid-sample (the tree is being shut down); skip that sample.
            with contextlib.suppress(OSError, ValueError):
                self.samples.append(take(self.root, self.others))
            self._stop.wait(self.interval)

    def wait_for_sample_after(self, moment: float, timeout: float = 10.0) -> None:
        """Block until a sample later than `moment` exists, so the window has an end."""
        deadline = time.monotonic() + timeout
        while not any(sample.at > moment for sample in self.samples):
            if time.monotonic() > deadline:
                raise RuntimeError("the sampler took no sample after the timed window")
            time.sleep(self.interval / 5)


def summarise(samples: Sequence[Sample], start: float, end: float) -> Usage:
    """Peak and mean PSS of the samples inside [start, end]; CPU from the last sample before
    the window to the first one after it (so it errs by at most one interval each side)."""
    inside = [sample for sample in samples if start <= sample.at <= end]
    if not inside:
        raise RuntimeError("no memory sample fell inside the timed window; is it too short?")
    before = [sample for sample in samples if sample.at <= start] or samples[:1]
    after = [sample for sample in samples if sample.at >= end] or samples[-1:]
    first, last = before[-1], after[0]
    return Usage(
        peak_pss={role: max(sample.pss[role] for sample in inside) for role in ROLES},
        mean_pss={role: sum(s.pss[role] for s in inside) // len(inside) for role in ROLES},
        cpu_seconds={name: last.cpu[name] - first.cpu[name] for name in first.cpu},
        cpu_span=last.at - first.at,
        peak_processes={role: max(sample.processes[role] for sample in inside) for role in ROLES},
        samples=len(inside),
    )


def combine(usages: Sequence[Usage]) -> Usage:
    """Several rounds of the same side as one: peaks of the peaks, means weighted by their
    sample counts, CPU and its span added up."""
    samples = sum(usage.samples for usage in usages)
    cpu_names = set.intersection(*(set(usage.cpu_seconds) for usage in usages))
    return Usage(
        peak_pss={role: max(usage.peak_pss[role] for usage in usages) for role in ROLES},
        mean_pss={
            role: sum(usage.mean_pss[role] * usage.samples for usage in usages) // samples
            for role in ROLES
        },
        cpu_seconds={name: sum(usage.cpu_seconds[name] for usage in usages) for name in cpu_names},
        cpu_span=sum(usage.cpu_span for usage in usages),
        peak_processes={role: max(u.peak_processes[role] for u in usages) for role in ROLES},
        samples=samples,
    )
