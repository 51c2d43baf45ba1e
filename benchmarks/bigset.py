"""``python -m benchmarks.bigset --n N``: the big-set job end to end on N synthetic pictures.

Writes a synthetic job in the real formats into a local folder (:mod:`gridtsne_dev.synthetic`: clustered
vectors, coloured-square thumbnails, shards of 64), then runs ``jobs/bigset/run.py`` fully local on it in a
child process and prints the job's seconds and peak resident memory per stage (load, reduce = PCA + t-SNE,
assign, refine, quality, render = pictures (mosaic, scatter and tiles, drawn together) + page, write; each
stage's own high-water mark, ``VmHWM`` reset as it starts), the whole job's peak (the largest of them) and a
rough quality check against the clusters, next to the child's resident memory sampled from outside every
0.2 s. A grid too big for one mosaic picture gets its deep-zoom archive, as on AWS.

The render draws its pictures in worker processes (:mod:`gridtsne.output.parts`), which the job's own peak
does not count: beside it comes the largest sum of the proportional set size (PSS) of the job process and
its workers, sampled from outside (what they hold together, shared pages counted once).
``--render-workers 1,2`` runs once per number of workers (alternating, ``--repeat`` times);
``--render-only`` runs the render stage alone, on N synthetic thumbnails at random cells of the job's grid
(no t-SNE), and prints each run and the median seconds per number of workers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import IO, Any

import numpy as np
from gridtsne.output.parts import WORKERS_ENV
from gridtsne_dev.lambdas import load_module
from gridtsne_dev.synthetic import cluster_of, synthetic_thumbs, write_synthetic_job

from benchmarks.measure import high_water, median, reset_high_water, table

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("load", "reduce", "pca", "tsne", "assign", "refine", "quality", "render")
RENDER = ("pictures", "page")


class Stages:
    """Seconds and peak resident memory of each stage; stages may nest (PCA inside the reduction).

    The peak of a stage is the process's high-water mark (``VmHWM``) reset as the stage starts
    (``/proc/self/clear_refs``), so each stage shows its own peak, not the process's so far.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak: dict[str, int] = {}
        self.active: list[str] = []

    def _fold(self) -> None:
        mark = high_water()
        for name in self.active:
            self.peak[name] = max(self.peak.get(name, 0), mark)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Measure the ``with`` block as ``name``."""
        self._fold()
        reset_high_water()
        self.active.append(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
            self._fold()
            self.active.pop()
            print(f"{name}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)

    @contextmanager
    def wrap(self, module: Any, attribute: str, name: str) -> Iterator[None]:
        """Measure every call of ``module.attribute`` as stage ``name`` while in the block."""
        original = getattr(module, attribute)

        def measured(*args: Any, **kwargs: Any) -> Any:
            with self.stage(name):
                return original(*args, **kwargs)

        setattr(module, attribute, measured)
        try:
            yield
        finally:
            setattr(module, attribute, original)


def run_job(root: Path, out: Path) -> dict[str, Any]:
    """Run the big-set job on the synthetic job under ``root``; seconds and peak memory per stage."""
    import gridtsne.aws.steps as steps
    import gridtsne.core.reduce as reduce
    import gridtsne.output.files as files
    import gridtsne.pipeline as pipeline
    from gridtsne_dev.synthetic import JOB

    job = load_module(ROOT / "jobs" / "bigset" / "run.py", "gridtsne_bigset_bench")
    stages = Stages()
    measured = {
        (steps, "load_collection"): "load",
        (steps, "reduce_stage"): "reduce",
        (reduce, "pca"): "pca",
        (pipeline, "assign_stage"): "assign",
        (pipeline, "refine"): "refine",
        (pipeline, "layout_quality"): "quality",
        (files, "run_parts"): "pictures",
    }
    with ExitStack() as patches:
        patches.enter_context(stages.wrap(steps, "render_outputs", "render"))
        for (module, attribute), name in measured.items():
            patches.enter_context(stages.wrap(module, attribute, name))
        load = os.getloadavg()[0]
        with stages.stage("job"):
            job.run(JOB, None, input_root=root, output_root=out)
    seconds, peak = stages.seconds, stages.peak
    seconds["tsne"], peak["tsne"] = seconds["reduce"] - seconds.get("pca", 0.0), peak["reduce"]
    seconds["page"] = seconds["render"] - seconds["pictures"]
    measured_stages = ("load", "reduce", "assign", "refine", "quality", "render")
    seconds["write"] = seconds["job"] - sum(seconds[s] for s in measured_stages)
    return {
        "seconds": seconds,
        "peak": peak,
        "load": [load, os.getloadavg()[0]],
        "layout": str(out / "visualizations" / JOB / "layout.json"),
    }


def run_render(n: int, out: Path, *, side: int = 64, seed: int = 0) -> dict[str, Any]:
    """The render stage alone on ``n`` synthetic thumbnails (spooled, as the job's) at random cells of the
    job's grid, its archive written under ``out``; seconds and peak memory of its parts."""
    import gridtsne.output.files as files
    from gridtsne.core.assign import cell_targets, grid_shape
    from gridtsne.core.thumbs import ThumbSpool
    from gridtsne.output.layout import Layout
    from gridtsne.output.parts import render_workers

    rng = np.random.default_rng(seed)
    rows, cols = grid_shape(n)
    colours = rng.integers(30, 226, (32, 3))
    spool = ThumbSpool(n, side)
    for start in range(0, n, 4096):
        spool.write(
            start, synthetic_thumbs(colours[rng.integers(0, 32, min(n, start + 4096) - start)], side, rng)
        )
    cells = cell_targets(n, rows, cols)[rng.permutation(n)]
    layout = Layout(rows, cols, side, [f"{i:07d}.png" for i in range(n)], cells, rng.standard_normal((n, 2)))
    out.mkdir(parents=True, exist_ok=True)

    def write(name: str, file: IO[bytes]) -> None:
        with (out / name).open("wb") as target:
            shutil.copyfileobj(file, target)

    stages = Stages()
    before = _cpu()
    with stages.wrap(files, "run_parts", "pictures"), stages.stage("render"):
        files.render_outputs(layout, spool, write_tiles=write)
    stages.seconds["page"] = stages.seconds["render"] - stages.seconds["pictures"]
    cpu = [after - then for after, then in zip(_cpu(), before, strict=True)]
    return {"seconds": stages.seconds, "peak": stages.peak, "workers": render_workers(n), "cpu": cpu}


def _cpu() -> tuple[float, float]:
    """CPU seconds (user + system) of this process and of its ended children (the render's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def cluster_agreement(layout: dict[str, Any]) -> float:
    """Mean share of an image's occupied surrounding cells (8) that hold an image of its own cluster."""
    labels = np.array([cluster_of(image["key"]) for image in layout["images"]])
    cells = np.array([(image["row"], image["col"]) for image in layout["images"]], dtype=np.int64)
    grid = np.full((layout["grid"]["rows"] + 2, layout["grid"]["cols"] + 2), -1, dtype=np.int64)
    grid[cells[:, 0] + 1, cells[:, 1] + 1] = labels
    same, occupied = np.zeros(len(cells)), np.zeros(len(cells))
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr or dc:
                around = grid[cells[:, 0] + 1 + dr, cells[:, 1] + 1 + dc]
                occupied += around >= 0
                same += around == labels
    return float((same / np.maximum(occupied, 1))[occupied > 0].mean())


def _child(argv: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``argv`` in a fresh process (its memory is the job's alone); its JSON answer, its largest
    resident memory seen from outside (``sampled_rss``) and the largest PSS of it and its workers together
    (``sampled_pss``)."""
    with tempfile.TemporaryFile("w+") as output:
        # its stage-by-stage lines go to stderr
        child = subprocess.Popen(argv, stdout=output, cwd=ROOT, env={**os.environ, **(env or {})})
        rss = pss = 0
        while child.poll() is None:
            with suppress(OSError, ValueError, IndexError):  # IndexError: exited, no VmRSS any more
                status = Path(f"/proc/{child.pid}/status").read_text()
                rss = max(rss, int(status.split("VmRSS:")[1].split()[0]) * 1024)
            pss = max(pss, _tree_pss(child.pid))
            time.sleep(0.2)
        output.seek(0)
        if child.returncode != 0:
            raise SystemExit(f"the job failed with exit status {child.returncode}")
        answer: dict[str, Any] = json.loads(output.read().strip().splitlines()[-1])
    answer["sampled_rss"], answer["sampled_pss"] = rss, pss
    return answer


def _tree_pss(pid: int) -> int:
    """Proportional set size of process ``pid`` and its descendants, in bytes (0 once it has exited)."""
    total = 0
    with suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) * 1024
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += _tree_pss(int(child))
    return total


def _mib(value: int | None) -> str:
    return f"{value / 2**20:.0f}" if value else ""


def report(n: int, made: float, answer: dict[str, Any]) -> str:
    """The figures as text."""
    seconds: dict[str, float] = answer["seconds"]
    layout = json.loads(Path(answer["layout"]).read_text())
    peaks: dict[str, int] = answer["peak"]
    rows: list[list[object]] = [["synthetic data (not the job)", made, ""]]
    for stage in STAGES:
        rows.append([stage, seconds.get(stage, 0.0), _mib(peaks.get(stage))])
    for part in RENDER:
        rows.append([f"  render: {part}", seconds.get(part, 0.0), _mib(peaks.get(part))])
    rows.append(["write (and the rest)", seconds["write"], ""])
    rows.append(["job total", seconds["job"], _mib(peaks.get("job"))])
    quality = layout.get("quality", {})
    lines = [
        f"big-set job, N = {n} synthetic pictures ({layout['grid']['rows']} x {layout['grid']['cols']} grid, "
        f"{os.cpu_count()} CPUs; load average {answer['load'][0]:.1f} at the start, "
        f"{answer['load'][1]:.1f} at the end)",
        table(["stage", "seconds", "peak RSS MiB"], rows),
        f"peak RSS of the job process: {peaks['job'] / 2**20:.0f} MiB (the largest stage's; "
        f"{answer['sampled_rss'] / 2**20:.0f} MiB sampled from outside; with the render's workers, "
        f"largest PSS {answer['sampled_pss'] / 2**20:.0f} MiB)",
        f"quality: dpq16 {quality.get('dpq16')}, neighbours {quality.get('neighbours')}, "
        f"same-cluster share of the 8 surrounding cells {cluster_agreement(layout):.3f}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bigset", description=__doc__)
    parser.add_argument("--n", type=int, default=10_000, help="synthetic pictures")
    parser.add_argument("--clusters", type=int, default=32)
    parser.add_argument("--dim", type=int, default=1280, help="vector dimension (the model's: 1280)")
    parser.add_argument("--root", type=Path, help="working folder (default: a temporary one, removed)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="run on the job already written under --root",
    )
    parser.add_argument(
        "--render-workers",
        help="render processes, e.g. 1,2: one run per value, alternating (default: the usable cores)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per number of render workers")
    parser.add_argument("--render-only", action="store_true", help="the render stage alone (no t-SNE)")
    parser.add_argument("--job-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--render-case", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.job_only:
        print(json.dumps(run_job(args.root, args.root / "out")))
        return
    if args.render_case:
        print(json.dumps(run_render(args.n, args.root / "out")))
        return
    counts = [int(w) for w in args.render_workers.split(",")] if args.render_workers else [0]
    runs = [w for _ in range(args.repeat) for w in counts]
    root = args.root or Path(tempfile.mkdtemp(prefix="gridtsne-bigset-"))
    try:
        start = time.perf_counter()
        if not ((args.reuse and args.root) or args.render_only):
            write_synthetic_job(root, args.n, clusters=args.clusters, dim=args.dim)
        made = time.perf_counter() - start
        mode = "--render-case" if args.render_only else "--job-only"
        command = [sys.executable, "-m", "benchmarks.bigset", mode, "--root", str(root), "--n", str(args.n)]
        answers = []
        for workers in runs:
            answer = _child(command, {WORKERS_ENV: str(workers)} if workers else None)
            answers.append(answer)
            if not args.render_only:
                print(report(args.n, made, answer), flush=True)
        if args.render_only:
            print(render_report(args.n, answers), flush=True)
    finally:
        if args.root is None:
            shutil.rmtree(root, ignore_errors=True)


def render_report(n: int, answers: list[dict[str, Any]]) -> str:
    """The render-only runs, and the median seconds per number of workers."""
    rows: list[list[object]] = []
    by_workers: dict[int, list[float]] = {}
    for run, answer in enumerate(answers, 1):
        seconds, peak = answer["seconds"], answer["peak"]
        by_workers.setdefault(answer["workers"], []).append(seconds["render"])
        row = [
            run,
            answer["workers"],
            seconds["render"],
            seconds["pictures"],
            seconds["page"],
            *answer["cpu"],
        ]
        rows.append([*row, _mib(peak["render"]), _mib(answer["sampled_pss"])])
    header = ["run", "workers", "render s", "pictures s", "page s", "CPU s", "workers' CPU s", "peak RSS MiB"]
    header.append("peak PSS+workers MiB")
    medians = [f"{w} workers: median {median(v):.1f} s over {len(v)}" for w, v in sorted(by_workers.items())]
    return "\n".join(
        [
            f"render stage alone, N = {n} synthetic pictures ({os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.1f} at the end)",
            table(header, rows),
            "; ".join(medians),
        ]
    )


if __name__ == "__main__":
    main()
