"""The whole pipeline against the seed's method, in one process, on the same images.

The seed's method, as first published: decode every file with Pillow at full size, embed at 224 px with
ONNX Runtime one batch after another, PCA to 50 then openTSNE with its defaults, dense ``lapjv`` on the
N×N squared-distance matrix, paste tiles with Pillow. Both run in turn ``repeat`` times; figures are
medians, and the ratio is ours / seed's per pair, then the median. Our ``assign`` stage is
:func:`gridtsne.pipeline.place`: the assignment, the refinement and the layout's quality block.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from gridtsne.core.assign import grid_shape
from gridtsne.core.embed import Embedder, cpu_count
from gridtsne.core.model import load_spec
from gridtsne.core.quality import dpq, knn_label_accuracy
from gridtsne.output.files import render_outputs
from gridtsne.pipeline import Params, embed_stage, list_inputs, place, reduce_stage
from gridtsne.store import LocalStore
from gridtsne_dev.samples import label_of
from gridtsne_dev.seed import dense_lapjv, tensor
from openTSNE import TSNE
from PIL import Image
from sklearn.decomposition import PCA

from benchmarks.measure import Sample, measured, median, table

STAGES = ("embed", "reduce", "assign", "render")


@dataclass
class Run:
    """One method's run: per-stage samples, placement and quality."""

    stages: dict[str, Sample] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    cells: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))

    @property
    def total(self) -> float:
        return sum(s.seconds for s in self.stages.values())


def seed_method(folder: Path, keys: list[str], tile: int = 64, seed: int = 0) -> Run:
    """The seed's method, stage by stage."""
    run = Run(keys=list(keys))
    embedder = Embedder(load_spec(), size=224)
    with measured() as run.stages["embed"]:
        images = [Image.open(folder / key).convert("RGB") for key in keys]
        batches = []
        for start in range(0, len(images), 32):
            chunk = images[start : start + 32]
            batches.append(embedder.run(np.stack([tensor(im) for im in chunk])))
        run.vectors = np.concatenate(batches)
    with measured() as run.stages["reduce"]:
        reduced = PCA(n_components=50, random_state=seed).fit_transform(run.vectors)
        points = np.asarray(TSNE(random_state=seed, n_jobs=cpu_count()).fit(reduced))  # all cores, as ours
    with measured() as run.stages["assign"]:
        run.cells = dense_lapjv(points)
        rows, cols = grid_shape(len(points))
    with measured() as run.stages["render"]:
        canvas = Image.new("RGB", (cols * tile, rows * tile))
        for image, (r, c) in zip(images, run.cells, strict=True):
            canvas.paste(image.resize((tile, tile)), (int(c) * tile, int(r) * tile))
        canvas.save(io.BytesIO(), "JPEG", quality=88)
    return run


def our_method(folder: Path, params: Params) -> tuple[Run, Embedder]:
    """gridtsne's stages, exactly as the pipeline chains them."""
    store = LocalStore(folder)
    keys = list_inputs(store).keys
    run = Run()
    with measured() as run.stages["embed"]:
        embedded, embedder = embed_stage(store, keys, params)
    with measured() as run.stages["reduce"]:
        points = reduce_stage(embedded.vectors, params).points
    with measured() as run.stages["assign"]:
        layout = place(embedded.keys, points, params, vectors=embedded.vectors)
    with measured() as run.stages["render"]:
        assert embedded.thumbnails is not None
        render_outputs(layout, embedded.thumbnails)
    run.keys, run.cells, run.vectors = embedded.keys, layout.cells, embedded.vectors
    return run, embedder


def raw_throughput(folder: Path, keys: list[str], size: int, count: int = 256) -> float:
    """Images per second of the model alone on preprocessed tensors (no decoding), at ``size`` px."""
    embedder = Embedder(load_spec(), size=size)
    tensors = np.stack([embedder.preprocess(Image.open(folder / k).convert("RGB")) for k in keys[:count]])
    embedder.run(tensors[:32])  # warm-up
    with measured() as sample:
        for start in range(0, len(tensors), 32):
            embedder.run(tensors[start : start + 32])
    return len(tensors) / sample.seconds


def quality(run: Run, reference: dict[str, np.ndarray]) -> tuple[float, float, float]:
    """kNN10 label accuracy, DPQ16 on the method's own vectors and on the reference vectors."""
    labels = [label_of(k) for k in run.keys]
    ref = np.stack([reference[k] for k in run.keys])
    return (
        knn_label_accuracy(run.cells, labels, k=10),
        dpq(run.vectors, run.cells, p=16),
        dpq(ref, run.cells, p=16),
    )


def run(folder: Path, repeat: int = 3, params: Params | None = None) -> str:
    """Benchmark ours against the seed's method on ``folder``; return the report."""
    params = params or Params()
    keys = list_inputs(LocalStore(folder)).keys
    seeds: list[Run] = []
    ours: list[Run] = []
    embedder: Embedder | None = None
    for _ in range(repeat):
        seeds.append(seed_method(folder, keys))
        mine, embedder = our_method(folder, params)
        ours.append(mine)
    assert embedder is not None
    n = len(keys)
    raw_ours = raw_throughput(folder, keys, embedder.size)
    raw_seed = raw_throughput(folder, keys, 224)
    reference = dict(zip(seeds[0].keys, seeds[0].vectors, strict=True))
    q_seed, q_ours = quality(seeds[0], reference), quality(ours[0], reference)

    rows = []
    for stage in STAGES:
        s = median([r.stages[stage].seconds for r in seeds])
        o = median([r.stages[stage].seconds for r in ours])
        ratio = median(
            [b.stages[stage].seconds / a.stages[stage].seconds for a, b in zip(seeds, ours, strict=True)]
        )
        rows.append(
            [
                stage,
                s,
                o,
                ratio,
                median([r.stages[stage].peak_mib for r in seeds]),
                median([r.stages[stage].peak_mib for r in ours]),
            ]
        )
    total_ratio = median([b.total / a.total for a, b in zip(seeds, ours, strict=True)])
    rows.append(
        ["total", median([r.total for r in seeds]), median([r.total for r in ours]), total_ratio, "", ""]
    )
    embed_rate = n / median([r.stages["embed"].seconds for r in ours])
    lines = [
        f"End to end on {folder} ({n} images), median of {repeat} runs each, in one process",
        table(["stage", "seed s", "ours s", "ours/seed", "seed peak MiB", "ours peak MiB"], rows),
        "",
        table(
            [
                "method",
                "input px",
                "embed img/s",
                "raw model img/s",
                "embed/raw",
                "kNN10",
                "DPQ16 own",
                "DPQ16 ref",
            ],
            [
                [
                    "seed",
                    224,
                    n / median([r.stages["embed"].seconds for r in seeds]),
                    raw_seed,
                    n / median([r.stages["embed"].seconds for r in seeds]) / raw_seed,
                    *q_seed,
                ],
                ["ours", embedder.size, embed_rate, raw_ours, embed_rate / raw_ours, *q_ours],
            ],
        ),
        "DPQ16 own: on the method's own embedding; ref: on the seed's 224 px embedding, the same for both.",
    ]
    return "\n".join(lines)
