"""The ``gridtsne`` command line.

``gridtsne run DIR --out OUT`` lays out the images of a folder, or of a bucket prefix given as
``s3://bucket/prefix`` (credentials from boto3's usual chain; the outputs are written locally). Vectors are
kept in a cache (:mod:`gridtsne.cache`; ``--cache DIR``, ``$GRIDTSNE_CACHE``, ``--no-cache``), so running
again with other settings than the model's does not embed again. Other packages add subcommands through the
``gridtsne.commands`` entry-point group: the development tools (``dev/``) add ``gridtsne local`` (the
serverless application on an embedded AWS emulator) and ``gridtsne samples``. Exit status: 0 done, 1 failed
(one line says why), 2 bad usage, 130 interrupted.

Every file under DIR ends in ``layout.json`` once (placed, skipped with its reason, or a duplicate), except
hidden ones (a path segment starting with ``.``), which are ignored. Links to regular files are followed;
broken links, link loops, links to folders, FIFOs, sockets and devices are skipped, and so is a subfolder that
cannot be listed (its key ends in ``/``). When no file is a usable image, the outputs are still written (an
empty 1×1 grid; ``layout.json`` says why each file was skipped) and the exit status is 1.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points, version
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

from gridtsne.cache import CACHE_ENV, cache_dir
from gridtsne.core.assign import parse_grid
from gridtsne.core.progress import Eta, duration_text
from gridtsne.core.reduce import ReduceParams
from gridtsne.output.layout import quality_text
from gridtsne.output.render import parse_colour
from gridtsne.pipeline import Params, run, write_outputs
from gridtsne.store import LocalStore, open_store

#: Entry-point group of extra subcommands: each is ``register(subparsers)``, adding a parser whose defaults
#: set ``handler``, a function of the parsed arguments returning the exit status.
COMMANDS = "gridtsne.commands"


class UsageError(Exception):
    """Bad arguments: exit status 2."""


class ProgressBar:
    """A :data:`~gridtsne.pipeline.StageProgress`: one progress line per stage on a terminal, with the time
    the stage has left (:class:`~gridtsne.core.progress.Eta`).

    Not on a terminal, it writes a plain line every ``log_every`` seconds while a stage runs and one when it
    finishes.
    """

    def __init__(
        self,
        stream: TextIO = sys.stderr,
        width: int = 30,
        log_every: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.width = width
        self.tty = stream.isatty()
        self.clock = clock
        self.interval = 0.1 if self.tty else log_every
        self.stage: str | None = None
        self.eta = Eta(clock=clock)
        self.last_draw = -math.inf

    def __call__(self, stage: str, done: int, total: int) -> None:
        """Show that ``done`` of ``total`` items of ``stage`` are done (at most every 0.1 s on a terminal)."""
        now = self.clock()
        if stage != self.stage:
            # A terminal shows a new stage at once; a log gets its first line after ``log_every``.
            self.stage, self.eta = stage, Eta(clock=self.clock)
            self.last_draw = -math.inf if self.tty else now
        finished = done >= total
        left = self.eta.update(done / total if total else 1.0)
        if finished and self.last_draw == math.inf:  # this stage's last line is drawn already
            return
        if not finished and now - self.last_draw < self.interval:
            return
        self.last_draw = math.inf if finished else now
        filled = int(self.width * done / total) if total else self.width
        bar = "#" * filled + "-" * (self.width - filled)
        line = f"{stage:<7} [{bar}] {done}/{total} {max(0.0, now - self.eta.started):6.1f}s"
        if left is not None and not finished:
            line += f"  {duration_text(left)} left"
        if self.tty:
            line = "\r" + line + "\x1b[K" + ("\n" if finished else "")
        else:
            line += "\n"
        self.stream.write(line)
        self.stream.flush()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="gridtsne", description="Lay out images on a grid so that similar images sit side by side."
    )
    parser.add_argument("--version", action="version", version=f"gridtsne {version('gridtsne')}")
    sub = parser.add_subparsers(dest="command", required=True)

    run_p = sub.add_parser("run", help="lay out the images of a folder or a bucket prefix")
    run_p.add_argument("dir", help="folder of images (searched recursively), or s3://bucket/prefix")
    run_p.add_argument("--out", type=Path, required=True, help="output folder")
    run_p.add_argument("--grid", help="grid shape RxC, e.g. 32x32 (default: near-square)")
    run_p.add_argument("--tile", type=int, default=64, help="tile size in pixels (default: 64)")
    run_p.add_argument("--perplexity", type=float, default=30.0, help="t-SNE perplexity (default: 30)")
    run_p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    run_p.add_argument("--model", help="ONNX model file (a .json spec beside it sets its preprocessing)")
    run_p.add_argument("--input-size", type=int, help="model input side in pixels (default: the model's)")
    run_p.add_argument(
        "--background",
        default="#000000",
        help="mosaic background colour, #rrggbb or a CSS name (default: #000000)",
    )
    run_p.add_argument("--keep-duplicates", action="store_true", help="place identical files every time")
    run_p.add_argument(
        "--cache", type=Path, help=f"vector cache folder (default: ${CACHE_ENV} or {cache_dir()})"
    )
    run_p.add_argument("--no-cache", action="store_true", help="embed every image, keep no vectors")

    run_p.set_defaults(handler=command_run)
    for entry in entry_points(group=COMMANDS):
        entry.load()(sub)
    return parser


def params_from_args(args: argparse.Namespace) -> Params:
    """Validate the ``run`` arguments into :class:`Params`.

    Raises
    ------
    UsageError
        When an argument is malformed or out of range, the folder is missing or the model file is.
    """
    try:
        rows, cols = parse_grid(args.grid) if args.grid else (None, None)
        parse_colour(args.background)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not 4 <= args.tile <= 1024:
        raise UsageError("--tile must be between 4 and 1024 pixels")
    if args.perplexity <= 0:
        raise UsageError("--perplexity must be positive")
    if args.input_size is not None and not 32 <= args.input_size <= 1024:
        raise UsageError("--input-size must be between 32 and 1024 pixels")
    if not _is_s3(args.dir) and not Path(args.dir).is_dir():
        raise UsageError(f"not a folder: {args.dir}")
    if args.cache and args.no_cache:
        raise UsageError("--cache and --no-cache exclude each other")
    if args.model and not Path(args.model).is_file():
        raise UsageError(f"model file not found: {args.model}")
    return Params(
        rows=rows,
        cols=cols,
        tile=args.tile,
        background=args.background,
        keep_duplicates=args.keep_duplicates,
        model=args.model,
        input_size=args.input_size,
        reduce=ReduceParams(perplexity=args.perplexity, seed=args.seed),
    )


def command_run(args: argparse.Namespace) -> int:
    """``gridtsne run``: lay out a folder and write the outputs."""
    params = params_from_args(args)
    source = open_store(args.dir)
    cache = None if args.no_cache else LocalStore(cache_dir(args.cache))
    out = LocalStore(args.out)
    progress = ProgressBar()
    result = run(source, params, progress=progress, cache=cache)
    if _is_s3(args.dir):
        originals = {key: source.url(key) for key in result.layout.keys}
    else:
        originals = {key: _relative_url(Path(args.dir) / key, args.out) for key in result.layout.keys}
    write_outputs(result, out, params, original_urls=originals, progress=progress)
    layout = result.layout.to_dict()
    print(summary(layout, args.out), file=sys.stderr)
    if cache is not None:
        placed = len(result.layout.keys)
        print(f"cache: {result.from_cache} of {placed} vectors from {cache.root}", file=sys.stderr)
    if not result.layout.keys:
        count = len(layout["skipped"]) + len(layout["duplicates"])
        print(
            f"gridtsne: failed: no usable images among {count} files (why: {args.out / 'layout.json'})",
            file=sys.stderr,
        )
        return 1
    return 0


def summary(layout: dict[str, object], out: Path) -> str:
    """A few lines for people: what was placed, skipped and why, and where the time went."""
    images = layout["images"]
    skipped = layout["skipped"]
    duplicates = layout["duplicates"]
    grid = layout["grid"]
    timings = layout["timings"]
    assert isinstance(images, list) and isinstance(skipped, list) and isinstance(duplicates, list)
    assert isinstance(grid, dict) and isinstance(timings, dict)
    lines = [f"placed {len(images)} images on a {grid['rows']}x{grid['cols']} grid -> {out}"]
    if skipped:
        reasons = Counter(s["reason"] for s in skipped)
        lines.append(f"skipped {len(skipped)}: " + "; ".join(f"{r} ({n})" for r, n in reasons.most_common()))
    if duplicates:
        lines.append(f"duplicates {len(duplicates)} (identical files placed once)")
    quality = layout.get("quality")
    if isinstance(quality, dict) and quality and images:
        lines.append("quality: " + quality_text(quality))
    lines.append("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gridtsne`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
        return status
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"gridtsne: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gridtsne: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        print(f"gridtsne: failed: {exc}", file=sys.stderr)
        return 1


def _is_s3(location: str) -> bool:
    return location.startswith("s3://")


def _relative_url(target: Path, start: Path) -> str:
    return quote(Path(os.path.relpath(target.resolve(), start.resolve())).as_posix())


if __name__ == "__main__":
    sys.exit(main())
