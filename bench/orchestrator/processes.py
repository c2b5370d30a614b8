"""CPU time and memory of processes, read from /proc (Linux only, like the rest of the stack).

The orchestrator is a subprocess and Postgres backends belong to another user, so getrusage
cannot see them; /proc can, as long as they live.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Mapping, Sequence
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (all its threads)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces; the fields after its closing ')' do not.
    fields = stat[stat.rindex(")") + 2 :].split()
    # utime and stime are fields 14 and 15 of the line, 12 and 13 after the command name.
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / _CLOCK_TICKS


def self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def self_peak_rss_bytes() -> int:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {field}")


def peak_rss_bytes(pid: int) -> int:
    """VmHWM: the most resident memory the process ever had."""
    return _status_kib(pid, "VmHWM") * 1024


def rss_bytes(pid: int) -> int:
    return _status_kib(pid, "VmRSS") * 1024


def machine_busy_seconds() -> float:
    """CPU seconds all CPUs together have spent on anything but idling, since boot.

    The machine may be shared (other people's test suites, Postgres's own background
    processes); this shows how much of it the measured processes did not account for.
    """
    fields = Path("/proc/stat").read_text().splitlines()[0].split()
    # cpu user nice system idle iowait irq softirq steal ...; guest time is already in user.
    ticks = [int(value) for value in fields[1:9]]
    idle, iowait = ticks[3], ticks[4]
    return (sum(ticks) - idle - iowait) / _CLOCK_TICKS


def cpu_snapshot(groups: Mapping[str, Sequence[int]]) -> dict[str, float]:
    """CPU seconds so far of the whole machine ("machine"), of this process ("bench") and of
    each named group of pids."""
    snapshot = {"machine": machine_busy_seconds(), "bench": self_cpu_seconds()}
    for name, pids in groups.items():
        snapshot[name] = sum(cpu_seconds(pid) for pid in pids)
    return snapshot


def cpu_used(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before}
