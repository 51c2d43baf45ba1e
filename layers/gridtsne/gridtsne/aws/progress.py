"""A running job's progress in its record: what the steps report, written sparingly.

The steps report ``(stage, percent, eta)`` (:class:`~gridtsne.aws.job.JobProgress`); :class:`ProgressWriter`
writes them to the job table at most every few seconds, and :func:`stage_steps` turns a long stage's steps
(the reduction's :class:`~gridtsne.core.progress.ReduceProgress`) into the job's percent and the seconds the
stage has left.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gridtsne.aws.job import JobProgress
from gridtsne.aws.table import JobTable
from gridtsne.core.progress import Eta, ReduceCallback, ReduceProgress

__all__ = ["REDUCE_PERCENT", "ProgressWriter", "silent", "stage_steps"]

#: The job's percent while it reduces, from the first to the last step (the assignment starts at the last).
REDUCE_PERCENT = (55, 75)


def silent(stage: str, percent: int, eta: float | None = None) -> None:
    """A :class:`~gridtsne.aws.job.JobProgress` that tells no one."""


def stage_steps(progress: JobProgress, stage: str, span: tuple[int, int]) -> ReduceCallback:
    """A callback for a stage's steps that tells ``progress`` the job's percent within ``span`` and the
    seconds the stage has left (:class:`~gridtsne.core.progress.Eta`, from the first step)."""
    first, last = span
    eta = Eta()

    def step(done: ReduceProgress) -> None:
        progress(stage, first + int((last - first) * done.fraction), eta.update(done.fraction))

    return step


class ProgressWriter:
    """A :class:`~gridtsne.aws.job.JobProgress` that writes to the job's record, sparingly.

    A new stage is written at once; within a stage, a new percent at most every ``interval`` seconds. A
    stage's writes are thus bounded by its share of the percent and by its duration, whatever the number of
    reports (a t-SNE reports every few iterations).

    Parameters
    ----------
    table, job
        The record to write.
    interval
        Least seconds between two writes within a stage.
    clock
        Seconds, monotonic (for tests).
    """

    def __init__(
        self,
        table: JobTable,
        job: str,
        *,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.table = table
        self.job = job
        self.interval = interval
        self.clock = clock
        self.writes = 0
        self._last: tuple[str, int, float] | None = None

    def __call__(self, stage: str, percent: int, eta: float | None = None) -> None:
        """Write the report unless the last write was of the same stage, the same percent or too recent."""
        now = self.clock()
        if self._last is not None:
            last_stage, last_percent, written = self._last
            if stage == last_stage and (percent == last_percent or now - written < self.interval):
                return
        self.table.progress(self.job, stage, percent, eta)
        self.writes += 1
        self._last = (stage, percent, now)
