"""``python -m benchmarks``: the quality suite, the end-to-end comparison, the assignment solvers, then
tile pyramids."""

from __future__ import annotations

import argparse
from pathlib import Path

from gridtsne_dev.samples import write_photo_patches

from benchmarks import end_to_end, quality


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--images", type=Path, action="append", help="folder of labelled images (default: digits and photos)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each method (medians are quoted)")
    parser.add_argument("--quick", action="store_true", help="skip the largest assignment case")
    parser.add_argument(
        "--methods",
        default=",".join(quality.DEFAULT_METHODS),
        help="quality suite: the methods to compare, e.g. seed,default,previous,squash224+refine",
    )
    parser.add_argument("--sets", help="quality suite: the collections (default: all six)")
    args = parser.parse_args()
    # Every collection of the suite, three seeds, the seed's method against the default (or --methods).
    quality.main(["--seeds", "3", "--methods", args.methods, *(["--sets", args.sets] if args.sets else [])])
    print(flush=True)
    folders = args.images or [Path("samples/digits"), Path("samples/photos")]
    if not args.images:
        write_photo_patches(folders[1])
    for folder in folders:
        print(end_to_end.run(folder, repeat=args.repeat), flush=True)
        print(flush=True)
    from benchmarks import assign, tiles

    assign.main(["--quick"] if args.quick else [])
    print(flush=True)
    tiles.main(["--quick"] if args.quick else [])


if __name__ == "__main__":
    main()
