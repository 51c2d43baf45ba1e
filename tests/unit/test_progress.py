"""Progress of long stages: phases as one count, the time left, and how the command line shows both."""

from __future__ import annotations

import io
import math

import pytest
from gridtsne.cli import ProgressBar
from gridtsne.core.progress import Eta, PhasedProgress, ReduceProgress, duration_text, reduce_phases


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_phases_weigh_the_preparation_by_its_measured_share() -> None:
    phases = reduce_phases(375)
    assert list(phases) == ["pca", "affinities", "optimize"]
    total = sum(phases.values())
    assert phases["optimize"] == 375
    assert phases["pca"] / total == pytest.approx(0.08, abs=0.01)
    assert phases["affinities"] / total == pytest.approx(0.20, abs=0.01)
    assert reduce_phases(100, pca=0.0, affinities=0.5) == {"pca": 0, "affinities": 100, "optimize": 100}


def test_phased_progress_counts_across_phases_and_never_goes_back() -> None:
    seen: list[ReduceProgress] = []
    report = PhasedProgress(seen.append, {"pca": 10, "affinities": 20, "optimize": 100})
    report.start("pca")
    report.start("affinities")
    report.start("optimize")
    report.advance(40)
    report.advance(30)  # late or repeated: the count stays
    report.advance(500)  # beyond the phase: capped at its end
    report.finish()
    assert [(p.done, p.phase) for p in seen] == [
        (0, "pca"),
        (10, "affinities"),
        (30, "optimize"),
        (70, "optimize"),
        (70, "optimize"),
        (130, "optimize"),
        (130, "done"),
    ]
    assert {p.total for p in seen} == {130}
    assert seen[3].fraction == pytest.approx(70 / 130) and seen[-1].fraction == 1.0


def test_eta_is_elapsed_over_fraction_then_follows_the_pace() -> None:
    clock = Clock()
    eta = Eta(horizon=10.0, clock=clock)
    assert eta.update(0.0) is None  # nothing done yet: no estimate
    clock.now += 0.5
    assert eta.update(0.05) is None  # too soon to tell a pace
    clock.now += 9.5
    assert eta.update(0.1) == pytest.approx(90)  # 10 s for 10 %: 90 s for the rest
    clock.now += 10
    assert eta.update(0.2) == pytest.approx(80)  # the same pace
    clock.now += 5
    # Twice the pace for 5 s: the rate (100 s per whole) moves towards 50 by 1 - e^(-5/10), not all at once.
    rate = 100 - (1 - math.exp(-0.5)) * 50
    assert eta.update(0.3) == pytest.approx(0.7 * rate)
    clock.now += 0.1
    assert eta.update(0.4) == pytest.approx(0.6 * rate)  # too soon to measure a pace: the rate stays
    assert eta.update(1.0) == 0.0


def test_eta_converges_to_a_new_pace() -> None:
    clock = Clock()
    eta = Eta(horizon=10.0, clock=clock)
    fraction = 0.0
    for _ in range(10):  # slow start: 1 % per 10 s
        clock.now += 10
        fraction += 0.01
        eta.update(fraction)
    left = None
    for _ in range(60):  # then 1 % per second for a minute
        clock.now += 1
        fraction += 0.01
        left = eta.update(fraction)
    assert left is not None
    assert left == pytest.approx((1 - fraction) * 100, rel=0.05)  # 1 s per remaining percent


def test_duration_text() -> None:
    assert [duration_text(s) for s in (0, 44.6, 185, 3725)] == ["0s", "45s", "3m05s", "1h02m"]


def test_progress_bar_shows_the_time_left_on_a_terminal() -> None:
    clock = Clock()
    stream = Terminal()
    bar = ProgressBar(stream, width=10, clock=clock)
    for done in range(0, 101, 10):
        bar("reduce", done, 100)
        clock.now += 1
    lines = stream.getvalue().split("\r")[1:]
    assert lines[0].startswith("reduce  [----------] 0/100")
    assert "left" not in lines[0]  # nothing done: no estimate yet
    assert lines[5].startswith("reduce  [#####-----] 50/100") and "5s left" in lines[5]
    assert lines[-1].startswith("reduce  [##########] 100/100") and lines[-1].endswith("\n")
    assert "left" not in lines[-1]
    bar("reduce", 100, 100)  # told again that the stage is done: drawn once
    assert stream.getvalue().count("100/100") == 1


def test_progress_bar_logs_a_line_now_and_then_off_a_terminal() -> None:
    clock = Clock()
    stream = io.StringIO()
    bar = ProgressBar(stream, width=10, log_every=30, clock=clock)
    for done in range(101):
        bar("reduce", done, 100)
        clock.now += 1  # 100 s in all: a line every 30 s, and one at the end
    lines = stream.getvalue().splitlines()
    assert [line.split()[2] for line in lines] == ["30/100", "60/100", "90/100", "100/100"]
    assert "1m10s left" in lines[0] and "left" not in lines[-1]
