"""The command line at scale: a folder of N synthetic pictures, and ``gridtsne run`` measured stage by stage.

``python -m benchmarks.cli_scale make DIR --count 100000`` writes N small JPEGs (``DIR/<thousands>/<n>.jpg``:
ten families of colour and shape, each picture its own position, size and jitter), fast (about 0.3 ms each).

``python -m benchmarks.cli_scale run DIR --out OUT [gridtsne run options]`` runs ``gridtsne run`` in this
process and prints, per stage (``list`` until the first progress report, then each stage the progress bars
name), the wall seconds and the peak resident memory during that stage (the kernel's high-water mark, reset
at each stage change through ``/proc/self/clear_refs``), then the peak of the whole run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from benchmarks.measure import high_water, reset_high_water, table

FAMILIES = 10


def make(folder: Path, count: int, side: int = 64, seed: int = 0) -> None:
    """Write ``count`` synthetic JPEGs of ``side`` px under ``folder``."""
    rng = np.random.default_rng(seed)
    hues = rng.integers(0, 256, size=(FAMILIES, 2, 3))
    for n in range(count):
        family = n % FAMILIES
        background = np.clip(hues[family, 0] + rng.integers(-30, 31, 3), 0, 255)
        ink = np.clip(hues[family, 1] + rng.integers(-30, 31, 3), 0, 255)
        image = Image.new("RGB", (side, side), tuple(int(c) for c in background))
        draw = ImageDraw.Draw(image)
        x, y = rng.integers(0, side // 2, 2)
        size = int(rng.integers(side // 4, side // 2))
        box = (int(x), int(y), int(x) + size, int(y) + size)
        fill = tuple(int(c) for c in ink)
        if family % 3 == 0:
            draw.ellipse(box, fill=fill)
        elif family % 3 == 1:
            draw.rectangle(box, fill=fill)
        else:
            draw.polygon([(box[0], box[3]), ((box[0] + box[2]) // 2, box[1]), (box[2], box[3])], fill=fill)
        target = folder / f"{n // 1000:04d}" / f"{n:07d}.jpg"
        if n % 1000 == 0:
            target.parent.mkdir(parents=True, exist_ok=True)
        image.save(target, "JPEG", quality=85)


class StagePeaks:
    """Wall seconds and peak RSS (MiB) per stage, from the progress reports of ``gridtsne run``."""

    def __init__(self) -> None:
        self.stage = "list"
        self.started = time.perf_counter()
        self.rows: list[tuple[str, float, float]] = []
        reset_high_water()

    def switch(self, stage: str) -> None:
        """Close the current stage and open ``stage`` (nothing when it is the current one)."""
        if stage == self.stage:
            return
        now = time.perf_counter()
        row = (self.stage, now - self.started, high_water() / 2**20)
        self.rows.append(row)
        # Also as it happens, so that an interrupted run still tells its finished stages.
        print(f"[stage] {row[0]} {row[1]:.1f} s, peak RSS {row[2]:.0f} MiB", file=sys.stderr, flush=True)
        self.stage, self.started = stage, now
        reset_high_water()

    def report(self) -> str:
        """The table of stages, closing the last one."""
        self.switch("")
        rows = [(s, f"{t:.1f}", f"{m:.0f}") for s, t, m in self.rows]
        whole = max((m for _, _, m in self.rows), default=0.0)
        return table(["stage", "seconds", "peak RSS MiB"], rows) + f"\nwhole run: peak RSS {whole:.0f} MiB"


def run(argv: list[str]) -> int:
    """``gridtsne run`` with per-stage measurements printed to stderr; returns its exit status."""
    from gridtsne import cli

    peaks = StagePeaks()
    original = cli.ProgressBar.__call__

    def observed(self: cli.ProgressBar, stage: str, done: int, total: int) -> None:
        peaks.switch(stage)
        original(self, stage, done, total)

    cli.ProgressBar.__call__ = observed  # type: ignore[method-assign]
    start = time.perf_counter()
    status = cli.main(["run", *argv])
    print(peaks.report(), file=sys.stderr)
    print(f"total {time.perf_counter() - start:.1f} s, exit status {status}", file=sys.stderr)
    return status


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cli_scale", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    make_p = sub.add_parser("make", help="write a folder of synthetic pictures")
    make_p.add_argument("folder", type=Path)
    make_p.add_argument("--count", type=int, default=100_000)
    make_p.add_argument("--side", type=int, default=64)
    sub.add_parser("run", help="gridtsne run, measured per stage (the rest: its arguments)", add_help=False)
    args, rest = parser.parse_known_args()
    if args.command == "make":
        start = time.perf_counter()
        make(args.folder, args.count, args.side)
        print(f"{args.count} pictures in {time.perf_counter() - start:.1f} s -> {args.folder}")
        return
    sys.exit(run(rest))


if __name__ == "__main__":
    main()
