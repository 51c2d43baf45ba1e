"""Deep-zoom tile pyramids: time and peak memory against the size of the whole picture.

:func:`gridtsne.output.tiles.build_pyramid` never holds the mosaic; its memory should stay
O(levels × tile²) whatever the grid. Each grid of 64 px cells is built in its own process (so that its
peak resident memory is its own) with the tiles encoded and dropped. ``python -m benchmarks.tiles
[--quick]`` (``--quick`` skips the 512 × 512 grid).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from gridtsne.output.tiles import build_pyramid
from PIL import Image

from benchmarks.measure import measured, table

SIDES = (128, 256, 512)
CELL = 64


def case(side: int) -> dict[str, Any]:
    """Build the pyramid of a side × side grid of ``CELL`` px noise thumbnails; measure it."""
    palette = [Image.effect_noise((CELL, CELL), 40 + 10 * i).convert("RGB") for i in range(8)]
    written = 0

    def write(level: int, col: int, row: int, data: bytes) -> None:
        nonlocal written
        written += 1

    with measured() as sample:
        info = build_pyramid(lambda r, c: palette[(r * 7 + c) % 8], side, side, CELL, write, quality=70)
    assert written == info.tile_count()
    return {
        "grid": f"{side}x{side}",
        "picture_mib": side * CELL * side * CELL * 3 / 2**20,
        "levels": info.levels,
        "tiles": written,
        "seconds": sample.seconds,
        "peak_mib": sample.peak_mib,
    }


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Every case, each in a fresh interpreter."""
    rows = []
    for side in SIDES[:-1] if quick else SIDES:
        command = [sys.executable, "-m", "benchmarks.tiles", "--case", str(side)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout))
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    """Print the table (``--case SIDE`` measures one grid and prints it as JSON)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tiles", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the largest grid")
    parser.add_argument("--case", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(case(args.case)))
        return
    print(f"Tile pyramids of {CELL} px cells (peak = resident memory above the start, own process)")
    header = ("grid", "picture_mib", "levels", "tiles", "seconds", "peak_mib")
    print(table(header, [[row[h] for h in header] for row in run(args.quick)]), flush=True)


if __name__ == "__main__":
    main()
