"""Layout quality across the suite: the seed's method against gridtsne's default and its levers.

``python -m benchmarks.quality [--sets a,b] [--seeds 3] [--methods m1,m2]`` builds the collections
(:mod:`gridtsne_dev.collections`), then for every set, method and seed places the images on a grid and
scores the grid with

- DPQ16(ref): :func:`gridtsne.core.quality.dpq` with p = 16 in ONE fixed reference embedding for every
  method: the model at its own 224 px on the whole picture (resized to 224 × 224, no crop, as the seed
  does);
- 10-NN: leave-one-out label accuracy of the 10 nearest grid cells, independent of input order
  (:func:`gridtsne.core.quality.knn_label_accuracy`).

Figures are mean ± standard deviation over the seeds (t-SNE's and PCA's ``random_state``); seconds are
the median of decode + embed (measured once per feature variant) + reduce + assign + refine, and
"reduce+" the median of the part after embedding. Embeddings and t-SNE maps are cached under
``samples/.cache/quality/`` so that levers sharing a stage share its run; ``--fresh`` recomputes them,
``--fresh-maps`` only the maps (for timings).

Every image is decoded once by :func:`gridtsne.core.images.decode` (alpha composited on white) for every
method, the seed's included, so that methods differ only in what they do after decoding. ``default`` is
the product's own settings (:class:`gridtsne.pipeline.Params`): its embedding is
:meth:`gridtsne.core.embed.Embedder.preprocess`, its reduction :func:`gridtsne.core.reduce.reduce`, its
assignment :func:`gridtsne.core.assign.snap` and its refinement :func:`gridtsne.core.refine.refine`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
from gridtsne.core.assign import grid_shape, snap
from gridtsne.core.embed import Embedder
from gridtsne.core.images import decode, square
from gridtsne.core.model import ModelSpec, load_spec
from gridtsne.core.quality import dpq, knn_label_accuracy
from gridtsne.core.reduce import ReduceParams, reduce
from gridtsne.core.refine import RefineParams, refine
from gridtsne.pipeline import Params
from gridtsne_dev import seed as seed_method
from gridtsne_dev.collections import BUILDERS, build
from gridtsne_dev.seed import dense_lapjv
from PIL import Image

Fit = Literal["crop", "pad", "squash"]
CACHE = Path("samples/.cache/quality")
_DEFAULTS = Params()


@dataclass(frozen=True)
class Features:
    """How pictures become model inputs: ``fit`` to a square at ``size`` px (None: the former size rule),
    with the fp32 model or its static INT8 copy."""

    fit: Fit = "squash"
    size: int | None = 224
    int8: bool = False

    @property
    def tag(self) -> str:
        return f"{self.fit}-{self.size or 'rule'}" + ("-int8" if self.int8 else "")


@dataclass(frozen=True)
class Method:
    """One way to place a collection on a grid."""

    name: str
    features: Features = field(default_factory=Features)
    pca: int | None = _DEFAULTS.reduce.pca_dims
    full_schedule: bool = _DEFAULTS.reduce.n_iter == 500
    perplexity: float = _DEFAULTS.reduce.perplexity
    exaggeration: float | None = _DEFAULTS.reduce.exaggeration
    dof: float = _DEFAULTS.reduce.dof
    solver: Literal["snap", "lapjv"] = "snap"
    refine: RefineParams | None = _DEFAULTS.refine

    def reduce_params(self, seed: int) -> ReduceParams:
        """The 2-D reduction's settings: openTSNE's schedule (250 + 500, as the seed's method) or its half."""
        full = seed_method.reduce_params(seed)
        return replace(
            full,
            pca_dims=self.pca,
            perplexity=self.perplexity,
            exaggeration=self.exaggeration,
            dof=self.dof,
            early_exaggeration_iter=full.early_exaggeration_iter if self.full_schedule else 125,
            n_iter=full.n_iter if self.full_schedule else 250,
        )


#: The seed's method: whole picture resized to 224, PCA to 50, openTSNE's defaults, dense lapjv.
SEED = Method(
    "seed",
    pca=50,
    full_schedule=True,
    perplexity=30.0,
    exaggeration=None,
    dof=1.0,
    solver="lapjv",
    refine=None,
)
#: The product's settings.
DEFAULT = Method("default")
#: The default before the main phase's exaggeration (1.5): the base of the levers measured before it.
UNEXAGGERATED = replace(DEFAULT, name="exag1+refine", exaggeration=None)
_PLAIN = replace(UNEXAGGERATED, refine=None)
#: The former default: centre crop, input side from the images' sizes, no refinement.
PREVIOUS = replace(_PLAIN, name="previous", features=Features("crop", None))
#: Every method the harness knows, by name, in table order.
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        SEED,
        replace(SEED, name="seed+refine", refine=RefineParams()),
        PREVIOUS,
        replace(PREVIOUS, name="previous+refine", refine=RefineParams()),
        replace(PREVIOUS, name="pad", features=Features("pad", None)),
        replace(PREVIOUS, name="squash", features=Features("squash", None)),
        replace(_PLAIN, name="crop224", features=Features("crop", 224)),
        replace(_PLAIN, name="pad224", features=Features("pad", 224)),
        replace(_PLAIN, name="squash224"),
        replace(_PLAIN, name="squash224+pca50", pca=50),
        replace(_PLAIN, name="squash224+full", full_schedule=True),
        replace(_PLAIN, name="squash224+perp50", perplexity=50.0),
        replace(_PLAIN, name="squash224+lapjv", solver="lapjv"),
        replace(UNEXAGGERATED, name="pad224+refine", features=Features("pad", 224)),
        replace(UNEXAGGERATED, name="squash224+refine"),
        replace(UNEXAGGERATED, name="pca50+refine", pca=50),
        replace(UNEXAGGERATED, name="pca50+full+refine", pca=50, full_schedule=True),
        UNEXAGGERATED,
        replace(UNEXAGGERATED, name="exag1.25+refine", exaggeration=1.25),
        replace(UNEXAGGERATED, name="exag1.5+refine", exaggeration=1.5),
        replace(UNEXAGGERATED, name="exag2+refine", exaggeration=2.0),
        replace(UNEXAGGERATED, name="exag3+refine", exaggeration=3.0),
        replace(UNEXAGGERATED, name="dof0.8+refine", dof=0.8),
        replace(UNEXAGGERATED, name="dof0.6+refine", dof=0.6),
        replace(UNEXAGGERATED, name="perp20+refine", perplexity=20.0),
        replace(UNEXAGGERATED, name="perp50+refine", perplexity=50.0),
        replace(UNEXAGGERATED, name="full+exag1.5+refine", full_schedule=True, exaggeration=1.5),
        replace(UNEXAGGERATED, name="full+exag2+refine", full_schedule=True, exaggeration=2.0),
        replace(UNEXAGGERATED, name="refine-r1", refine=RefineParams(radius=1.0)),
        replace(UNEXAGGERATED, name="refine-r2", refine=RefineParams(radius=2.0)),
        replace(UNEXAGGERATED, name="refine-r2.3", refine=RefineParams(radius=2.3)),
        replace(UNEXAGGERATED, name="refine-12sweeps", refine=RefineParams(max_sweeps=12)),
        DEFAULT,
        replace(UNEXAGGERATED, name="default-int8", features=Features("squash", 224, int8=True)),
    )
}
DEFAULT_METHODS = ("seed", "default")


@dataclass
class Collection:
    """A labelled collection, decoded once."""

    name: str
    keys: list[str]
    labels: list[str]
    images: list[Image.Image]
    decode_seconds: float

    def canonical(self, features: Features) -> Features:
        """``features``, with the fit that gives the same pixels when every image is square (squash)."""
        if all(im.width == im.height for im in self.images):
            return replace(features, fit="squash")
        return features


@dataclass
class Score:
    """One method's result on one collection with one seed."""

    dpq16: float
    knn10: float
    seconds: float
    after_embed: float


def load(folder: Path) -> Collection:
    """Decode every image of a ``<label>/<file>`` folder, in sorted key order."""
    paths = sorted(p for p in folder.glob("*/*") if p.is_file() and not p.name.startswith("."))
    start = time.perf_counter()
    images = [decode(p.read_bytes()) for p in paths]
    seconds = time.perf_counter() - start
    keys = [p.relative_to(folder).as_posix() for p in paths]
    return Collection(folder.name, keys, [k.split("/", 1)[0] for k in keys], images, seconds)


def size_rule(images: Sequence[Image.Image], spec: ModelSpec) -> int:
    """The former automatic input side: 1.25 × the median shorter side, to the model's multiple, 64–224."""
    side = 1.25 * float(np.median([min(im.size) for im in images]))
    side = -(-int(np.ceil(side)) // spec.multiple_of) * spec.multiple_of
    return int(min(spec.size, max(64, side)))


def border_colour(image: Image.Image) -> tuple[int, int, int]:
    """The median colour of an image's outermost pixels: the background to pad with."""
    pixels = np.asarray(image)
    edge = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    r, g, b = np.median(edge, axis=0).astype(int)
    return int(r), int(g), int(b)


def fit_square(image: Image.Image, side: int, fit: Fit) -> Image.Image:
    """``image`` as a ``side`` px square: centre ``crop``, ``pad`` on its border colour, or ``squash``."""
    if fit == "crop":
        return square(image, side)
    if fit == "squash":
        return image.resize((side, side), Image.Resampling.BILINEAR)
    width, height = image.size
    scale = side / max(width, height)
    inner = image.resize(
        (max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.BILINEAR
    )
    canvas = Image.new("RGB", (side, side), border_colour(image))
    canvas.paste(inner, ((side - inner.width) // 2, (side - inner.height) // 2))
    return canvas


def embed(collection: Collection, features: Features, *, fresh: bool = False) -> tuple[np.ndarray, float]:
    """Vectors (N, D) of the collection under ``features`` and the seconds they took (cached)."""
    features = collection.canonical(features)
    path = CACHE / f"{collection.name}-{features.tag}.npz"
    if path.exists() and not fresh:
        saved = np.load(path)
        return saved["vectors"], float(saved["seconds"])
    spec = load_spec()
    if features.int8:  # written by ``python -m benchmarks.quantize``
        spec = replace(spec, path=CACHE / f"{spec.path.stem}.int8.onnx")
    embedder = Embedder(spec, size=features.size or size_rule(collection.images, spec))
    start = time.perf_counter()
    batches = []
    for first in range(0, len(collection.images), embedder.batch_size):
        chunk = collection.images[first : first + embedder.batch_size]
        # The product's preprocessing squashes the whole picture; other fits hand it a square already.
        squares = (
            chunk
            if features.fit == "squash"
            else [fit_square(im, embedder.size, features.fit) for im in chunk]
        )
        batches.append(embedder.run(np.stack([embedder.preprocess(im) for im in squares])))
    vectors = np.concatenate(batches)
    seconds = time.perf_counter() - start
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, vectors=vectors, seconds=seconds, size=embedder.size)
    return vectors, seconds


def tsne_map(
    collection: Collection, vectors: np.ndarray, method: Method, seed: int, *, fresh: bool = False
) -> tuple[np.ndarray, float]:
    """The 2-D t-SNE map of ``vectors`` under ``method``'s reduction settings and its seconds (cached)."""
    tag = collection.canonical(method.features).tag
    settings: tuple[object, ...] = (collection.name, tag, method.pca, method.full_schedule, method.perplexity)
    if (method.exaggeration, method.dof) != (None, 1.0):  # keys of maps without them stay as they were
        settings += (method.exaggeration, method.dof)
    settings += (seed,)
    digest = hashlib.sha1(repr(settings).encode()).hexdigest()[:16]
    path = CACHE / f"tsne-{digest}.npz"
    if path.exists() and not fresh:
        saved = np.load(path)
        return saved["points"], float(saved["seconds"])
    start = time.perf_counter()
    points = reduce(vectors, method.reduce_params(seed))
    seconds = time.perf_counter() - start
    np.savez(path, points=points, seconds=seconds)
    return points, seconds


def place(
    collection: Collection, method: Method, seed: int, *, fresh: bool = False, fresh_maps: bool = False
) -> tuple[np.ndarray, float, float]:
    """The cells of the collection's images under ``method``, the end-to-end seconds and those after
    embedding (reduce + assign + refine)."""
    vectors, embed_seconds = embed(collection, method.features, fresh=fresh)
    points, reduce_seconds = tsne_map(collection, vectors, method, seed, fresh=fresh or fresh_maps)
    start = time.perf_counter()
    cells = dense_lapjv(points) if method.solver == "lapjv" else snap(points, *grid_shape(len(points)))
    if method.refine is not None:
        cells = refine(vectors, cells, method.refine, seed=seed)
    after = reduce_seconds + time.perf_counter() - start
    return cells, collection.decode_seconds + embed_seconds + after, after


def score(
    collection: Collection, method: Method, seed: int, *, fresh: bool = False, fresh_maps: bool = False
) -> Score:
    """Place the collection with ``method`` and ``seed`` and measure the grid."""
    reference, _ = embed(collection, Features("squash", 224))
    cells, seconds, after = place(collection, method, seed, fresh=fresh, fresh_maps=fresh_maps)
    knn = knn_label_accuracy(cells, collection.labels, k=10)
    return Score(dpq(reference, cells, p=16), knn, seconds, after)


def summary(values: Sequence[float]) -> str:
    """``mean±std`` with three decimals."""
    array = np.asarray(values, dtype=np.float64)
    return f"{array.mean():.3f}±{array.std():.3f}"


def run(
    sets: Sequence[str],
    methods: Sequence[str],
    seeds: int,
    *,
    fresh: bool = False,
    fresh_maps: bool = False,
    log: Path | None = None,
) -> str:
    """Score every method on every set with ``seeds`` seeds; return the table as text."""
    folders = build(list(sets))
    results: dict[tuple[str, str], list[Score]] = {}
    for name, folder in folders.items():
        collection = load(folder)
        for method_name in methods:
            method = METHODS[method_name]
            runs = [score(collection, method, s, fresh=fresh, fresh_maps=fresh_maps) for s in range(seeds)]
            results[name, method_name] = runs
            if log is not None:
                with log.open("a") as handle:
                    record = {"set": name, "method": method_name, "scores": [asdict(r) for r in runs]}
                    handle.write(json.dumps(record) + "\n")
            print(f"{name:8s} {method_name:18s} {_row(runs)}", flush=True)
    return table(results, list(folders), list(methods))


def _row(runs: list[Score]) -> str:
    seconds, after = np.median([r.seconds for r in runs]), np.median([r.after_embed for r in runs])
    return (
        f"{summary([r.dpq16 for r in runs]):>12s} {summary([r.knn10 for r in runs]):>12s} "
        f"{seconds:8.1f} {after:8.1f}"
    )


def table(results: dict[tuple[str, str], list[Score]], sets: list[str], methods: list[str]) -> str:
    """The per-set table plus the suite means (mean over sets of each set's mean) and deltas to the first."""
    lines = [f"{'set':8s} {'method':18s} {'DPQ16(ref)':>12s} {'10-NN':>12s} {'seconds':>8s} {'reduce+':>8s}"]
    lines += [f"{name:8s} {method:18s} {_row(results[name, method])}" for name in sets for method in methods]
    lines += [
        "",
        f"{'suite mean':18s} {'DPQ16':>8s} {'10-NN':>8s} {'Δ DPQ':>8s} {'Δ 10-NN':>8s} worst-set Δs",
    ]

    def means(method: str, metric: str) -> np.ndarray:
        return np.array([np.mean([getattr(r, metric) for r in results[s, method]]) for s in sets])

    for method in methods:
        d, k = means(method, "dpq16"), means(method, "knn10")
        dd, dk = d - means(methods[0], "dpq16"), k - means(methods[0], "knn10")
        worst_d, worst_k = sets[int(dd.argmin())], sets[int(dk.argmin())]
        lines.append(
            f"{method:18s} {d.mean():8.3f} {k.mean():8.3f} {dd.mean():+8.3f} {dk.mean():+8.3f} "
            f"DPQ {dd.min():+.3f} ({worst_d}), 10-NN {dk.min():+.3f} ({worst_k})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command line: print the quality table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=__doc__)
    parser.add_argument("--sets", default=",".join(BUILDERS), help="comma-separated collection names")
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS), help=f"of {', '.join(METHODS)}")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--fresh", action="store_true", help="recompute cached embeddings and maps")
    parser.add_argument("--fresh-maps", action="store_true", help="recompute cached t-SNE maps (timing)")
    parser.add_argument("--log", type=Path, help="append every result as a JSON line to this file")
    args = parser.parse_args(argv)
    sets, methods = args.sets.split(","), args.methods.split(",")
    print(run(sets, methods, args.seeds, fresh=args.fresh, fresh_maps=args.fresh_maps, log=args.log))


if __name__ == "__main__":
    main()
