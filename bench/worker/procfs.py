"""Memory and CPU of process trees, read from /proc (Linux only, like the rest of the stack).

PSS, not RSS: Chromium's processes share most of their pages (the binary, the zygote's
copy-on-write heap), so adding up RSS would count those pages once per process. PSS splits
every shared page among the processes sharing it, so the sum over a tree is what the tree
really costs. This kernel has no /proc/<pid>/task/<tid>/children, so trees are found through
the parent pid of every process.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PYTHON, DRIVER, CHROMIUM = "python", "driver", "chromium"


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()


def parents() -> dict[int, int]:
    """pid → parent pid of every live process."""
    found: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = int(_stat_fields(int(entry.name))[1])
            except (OSError, ValueError, IndexError):
                continue  # gone between the listing and the read
    return found


def descendants(root: int, parent_of: dict[int, int] | None = None) -> list[int]:
    """Every live process below `root`, children before grandchildren."""
    parent_of = parents() if parent_of is None else parent_of
    children: dict[int, list[int]] = {}
    for pid, parent in parent_of.items():
        children.setdefault(parent, []).append(pid)
    found: list[int] = []
    frontier = [root]
    while frontier:
        below = [child for pid in frontier for child in children.get(pid, [])]
        found.extend(below)
        frontier = below
    return found


def _executable(pid: int) -> str:
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return ""


def groups(root: int) -> dict[str, list[int]]:
    """A Playwright process tree by role: the Python process at the root, Playwright's Node
    driver (its child), and Chromium with everything below it (zygotes, renderers, the GPU
    and network services, crashpad)."""
    found: dict[str, list[int]] = {PYTHON: [root], DRIVER: [], CHROMIUM: []}
    for pid in descendants(root):
        found[DRIVER if _executable(pid) == "node" else CHROMIUM].append(pid)
    return found


def pss_bytes(pid: int) -> int:
    """Proportional set size; 0 for a process that has just gone."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and of its children it has already reaped.

    Chromium starts and ends a renderer for every browser context; once reaped, a renderer's
    CPU time shows only in its parent's cutime/cstime, so those count too (a live child's
    time is in its own utime/stime and nowhere else: nothing is counted twice).
    """
    try:
        fields = _stat_fields(pid)
    except (OSError, ValueError):
        return 0.0
    # utime, stime, cutime, cstime are fields 14-17 of the line, 12-15 after the name.
    return sum(int(value) for value in fields[11:15]) / _CLOCK_TICKS


def total_cpu_seconds(pids: Iterable[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


def total_pss_bytes(pids: Iterable[int]) -> int:
    return sum(pss_bytes(pid) for pid in pids)


def machine_busy_seconds() -> float:
    """CPU seconds all CPUs have spent on anything but idling since boot: the machine may be
    shared, and this shows how much of it the measured processes do not account for."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()
    ticks = [int(value) for value in fields[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / _CLOCK_TICKS
