"""How busy the machine is: the benchmarks share a 2-core box with other work.

Before each timed measurement :class:`Measure` waits (up to ``quiet_wait`` seconds) until
the other processes leave the CPUs idle, and it records the share of all CPUs that was
busy while the measurement ran (the benchmark itself keeps about one core busy: Python
plus its PostgreSQL backend), so a disturbed repeat can be recognised in the results.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

QUIET_BUSY = 0.15  # at most this share of all CPUs busy counts as quiet


def cpu_times() -> tuple[int, int]:
    """(all, idle) jiffies since boot, summed over the CPUs (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]  # idle + iowait


def busy_between(before: tuple[int, int], after: tuple[int, int]) -> float:
    total, idle = after[0] - before[0], after[1] - before[1]
    return round(1 - idle / total, 3) if total else 0.0


def wait_quiet(max_wait: float, *, sample: float = 2.0) -> float:
    """Sleep until a ``sample``-second window is quiet or ``max_wait`` has passed."""
    start = time.monotonic()
    while time.monotonic() - start < max_wait:
        before = cpu_times()
        time.sleep(sample)
        if busy_between(before, cpu_times()) <= QUIET_BUSY:
            break
    return round(time.monotonic() - start, 1)


@dataclass(frozen=True)
class Measure:
    quiet_wait: float

    def __call__(self, run: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        waited = wait_quiet(self.quiet_wait)
        before = cpu_times()
        result = run(**kwargs)
        return {**result, "cpu_busy": busy_between(before, cpu_times()), "waited_s": waited}
