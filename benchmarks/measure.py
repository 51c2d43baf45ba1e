"""Small measuring tools shared by the benchmarks: wall time and peak resident memory of a block."""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """This process's resident set size now (Linux ``/proc``)."""
    with Path("/proc/self/statm").open() as handle:
        return int(handle.read().split()[1]) * _PAGE


def high_water() -> int:
    """This process's peak resident memory since the last :func:`reset_high_water`, in bytes (Linux
    ``VmHWM``; ``ru_maxrss`` where ``/proc`` has no status)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_high_water() -> None:
    """Restart :func:`high_water` from the memory resident now (``/proc/self/clear_refs``)."""
    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


@dataclass
class Sample:
    """One measured block: seconds, and the peak RSS above the RSS at its start, in MiB."""

    seconds: float = 0.0
    peak_mib: float = 0.0


@contextmanager
def measured(poll_seconds: float = 0.005) -> Iterator[Sample]:
    """Time the block and sample its resident memory in a background thread."""
    sample = Sample()
    start_rss = peak = rss_bytes()
    stop = threading.Event()

    def poll() -> None:
        nonlocal peak
        while not stop.wait(poll_seconds):
            peak = max(peak, rss_bytes())

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    start = time.perf_counter()
    try:
        yield sample
    finally:
        sample.seconds = time.perf_counter() - start
        stop.set()
        thread.join()
        sample.peak_mib = (max(peak, rss_bytes()) - start_rss) / 2**20


def median(values: Sequence[float]) -> float:
    """The median (0 for no values)."""
    return statistics.median(values) if values else 0.0


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table with right-aligned columns."""
    cells = [[str(h) for h in header]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)
