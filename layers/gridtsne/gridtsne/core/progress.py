"""Progress of long stages: the reduction's steps as one count, and the time a stage has left.

:class:`ReduceProgress` is what :func:`~gridtsne.core.reduce.reduce` reports, whatever computes the map: a
backend announces its phases to a :class:`PhasedProgress` (PCA, the affinities, then the iterations) and
the caller sees one ``done`` of ``total`` that moves from the first phase to the last. :class:`Eta` turns a
stage's completed fraction into the seconds it still needs; the command line's bars and the job record both
use it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "REPORT_EVERY",
    "Eta",
    "PhasedProgress",
    "ReduceCallback",
    "ReduceProgress",
    "duration_text",
    "reduce_phases",
]

#: t-SNE iterations between two progress reports. openTSNE evaluates the KL divergence for each report, which
#: made that iteration 55 % slower (measured at 20,000 points): every 25 iterations costs about 2 % of the
#: t-SNE, and still moves the job's percent at each of its steps.
REPORT_EVERY = 25


@dataclass(frozen=True)
class ReduceProgress:
    """How far a reduction is: ``done`` of ``total`` steps, now in ``phase``.

    Steps are weighted so that each is about the same time: see :func:`reduce_phases`.
    """

    done: int
    total: int
    phase: str

    @property
    def fraction(self) -> float:
        """``done / total``, between 0 and 1."""
        return min(1.0, max(0.0, self.done / self.total)) if self.total > 0 else 1.0


#: Called with each new :class:`ReduceProgress`.
ReduceCallback = Callable[[ReduceProgress], None]

#: Share of a CPU reduction's time before the first t-SNE iteration, measured with openTSNE at 20,000
#: points of 1,280 dimensions on two cores: PCA to 50 dimensions about 8 %, the nearest neighbours and
#: affinities about 20 %, the iterations the rest.
PCA_SHARE = 0.08
AFFINITY_SHARE = 0.20


def reduce_phases(
    iterations: int, *, pca: float = PCA_SHARE, affinities: float = AFFINITY_SHARE
) -> dict[str, int]:
    """The weights, in iterations, of a reduction's phases: ``pca``, ``affinities``, ``optimize``.

    Parameters
    ----------
    iterations
        t-SNE iterations (every phase of the schedule together).
    pca, affinities
        The first two phases' shares of the whole time (a GPU backend passes its own).
    """
    iterations = max(1, iterations)
    whole = iterations / max(1e-6, 1.0 - pca - affinities)
    return {
        "pca": round(whole * pca),
        "affinities": round(whole * affinities),
        "optimize": iterations,
    }


class PhasedProgress:
    """Reports a computation's ordered phases as one :class:`ReduceProgress` count.

    A backend calls :meth:`start` as each phase begins, :meth:`advance` as a phase moves (steps done within
    it) and :meth:`finish` at the end. Reports never go backwards and end at ``total``.

    Parameters
    ----------
    callback
        Told each report (None: nothing is reported).
    phases
        Each phase's weight in steps, in the order they run (:func:`reduce_phases`).
    """

    def __init__(self, callback: ReduceCallback | None, phases: Mapping[str, int]) -> None:
        self.callback = callback
        self.phases = dict(phases)
        self.total = max(1, sum(self.phases.values()))
        self.done = 0
        self.phase = next(iter(self.phases), "")
        self._offset = 0

    def start(self, phase: str) -> None:
        """Phase ``phase`` begins: every phase before it is done."""
        names = list(self.phases)
        self.phase = phase
        self._offset = sum(self.phases[name] for name in names[: names.index(phase)])
        self._report(self._offset)

    def advance(self, done: int) -> None:
        """``done`` steps of the current phase are done."""
        self._report(self._offset + min(max(0, done), self.phases[self.phase]))

    def finish(self) -> None:
        """Every phase is done."""
        self.phase = "done"
        self._report(self.total)

    def _report(self, done: int) -> None:
        self.done = max(self.done, min(done, self.total))
        if self.callback is not None:
            self.callback(ReduceProgress(self.done, self.total, self.phase))


class Eta:
    """The seconds a stage has left, from its completed fraction over time.

    The rate (seconds per unit of fraction) starts as elapsed / fraction once the stage has run ``WINDOW``
    seconds, then follows the rate of each later window of at least ``WINDOW`` seconds, smoothed over about
    ``horizon`` seconds: a stage whose later steps run faster or slower than its first converges to their
    pace, whether it reports every item or every minute, without jumping at each report.

    Parameters
    ----------
    horizon
        Seconds over which recent rates are averaged (an exponential moving average in time).
    clock
        Seconds, monotonic (for tests).
    """

    #: Least seconds a measured rate spans: reports closer than this only move the fraction.
    WINDOW = 1.0

    def __init__(self, horizon: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.horizon = horizon
        self.clock = clock
        self.started = clock()
        self._rate: float | None = None
        self._last = (0.0, self.started)

    def update(self, fraction: float) -> float | None:
        """Tell the fraction done now; return the seconds left (None until the stage has run a while)."""
        now = self.clock()
        if fraction >= 1.0:
            return 0.0
        last_fraction, last_time = self._last
        if fraction > last_fraction and now - last_time >= self.WINDOW:
            recent = (now - last_time) / (fraction - last_fraction)
            if self._rate is None:
                self._rate = recent
            else:
                self._rate += (1.0 - math.exp(-(now - last_time) / self.horizon)) * (recent - self._rate)
            self._last = (fraction, now)
        if self._rate is None:
            return None
        return max(0.0, self._rate * (1.0 - fraction))


def duration_text(time_left: float) -> str:
    """``time_left`` seconds for people: ``45s``, ``3m05s``, ``1h02m``."""
    seconds = round(time_left)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
