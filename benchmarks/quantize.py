"""Static INT8 quantization of the embedding model: speed and fidelity against fp32.

``python -m benchmarks.quantize [--sets a,b] [--calibration 256]`` calibrates a QDQ model with ONNX
Runtime's ``quantize_static`` (per-channel signed weights, unsigned activations, MinMax or percentile
ranges) on images drawn evenly from the suite's collections (:mod:`gridtsne_dev.collections`) as the product
embeds them (whole picture squashed to 224 px), then reports

- images/s of the model alone (batches of 32, preprocessed tensors) for fp32 and INT8;
- fidelity of the INT8 embedding: mean cosine similarity to fp32 and the share of each image's 10
  nearest neighbours (in the embedding) that fp32 and INT8 agree on, per collection.

The quantized model is written to ``samples/.cache/quality/<stem>.int8.onnx`` (not used by the product).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
from gridtsne.core.embed import Embedder
from gridtsne.core.model import load_spec
from gridtsne_dev.collections import BUILDERS, build
from PIL import Image

from benchmarks.quality import CACHE, load


def tensors(embedder: Embedder, images: list[Image.Image]) -> np.ndarray:
    """The product's model input for ``images`` (whole pictures squashed), as one (B, 3, s, s) array."""
    return np.stack([embedder.preprocess(im) for im in images])


class _Reader:
    """Feeds calibration batches to ``quantize_static``."""

    def __init__(self, batches: list[np.ndarray], input_name: str) -> None:
        self._batches: Iterator[np.ndarray] = iter(batches)
        self._name = input_name

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._batches, None)
        return None if batch is None else {self._name: batch}


def quantize(model: Path, calibration: np.ndarray, out: Path, *, method: str = "minmax") -> Path:
    """Write a static QDQ INT8 copy of ``model`` calibrated on ``calibration`` tensors; return its path."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = out.with_suffix(".prep.onnx")
    quant_pre_process(str(model), str(prepared))
    batches = [calibration[i : i + 16] for i in range(0, len(calibration), 16)]
    quantize_static(
        str(prepared),
        str(out),
        _Reader(batches, "image"),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        weight_type=QuantType.QInt8,
        activation_type=QuantType.QUInt8,
        calibrate_method=CalibrationMethod.Percentile if method == "percentile" else CalibrationMethod.MinMax,
        extra_options={"CalibPercentile": 99.99} if method == "percentile" else {},
    )
    prepared.unlink(missing_ok=True)
    return out


def throughput(embedder: Embedder, batch: np.ndarray, rounds: int = 4) -> float:
    """Images per second of ``embedder`` on ``batch`` (after one warm-up run), best of ``rounds``."""
    embedder.run(batch)
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        embedder.run(batch)
        best = min(best, time.perf_counter() - start)
    return len(batch) / best


def agreement(a: np.ndarray, b: np.ndarray, k: int = 10) -> tuple[float, float]:
    """Mean cosine similarity of matching rows, and mean overlap of their k-nearest-neighbour sets."""
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))

    def knn(x: np.ndarray) -> np.ndarray:
        sq = (x * x).sum(1)
        d = sq[:, None] - 2 * x @ x.T + sq[None, :]
        np.fill_diagonal(d, np.inf)
        return np.argsort(d, axis=1)[:, :k]

    na, nb = knn(a), knn(b)
    overlap = np.mean([len(set(x) & set(y)) / k for x, y in zip(na, nb, strict=True)])
    return float(cos.mean()), float(overlap)


def main(argv: list[str] | None = None) -> None:
    """Quantize, then print speed and fidelity."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quantize", description=__doc__)
    parser.add_argument("--sets", default=",".join(BUILDERS))
    parser.add_argument("--calibration", type=int, default=256, help="calibration images in all")
    parser.add_argument("--method", choices=("minmax", "percentile"), default="minmax")
    args = parser.parse_args(argv)
    spec = load_spec()
    collections = [load(folder) for folder in build(args.sets.split(",")).values()]
    per_set = max(1, args.calibration // len(collections))
    calib_images: list[Image.Image] = []
    for collection in collections:
        step = max(1, len(collection.images) // per_set)
        calib_images += collection.images[::step][:per_set]
    fp32 = Embedder(spec, size=224)
    calibration = tensors(fp32, calib_images)
    out = quantize(spec.path, calibration, CACHE / f"{spec.path.stem}.int8.onnx", method=args.method)
    int8 = Embedder(replace(spec, path=out), size=224)
    probe = tensors(fp32, collections[0].images[:32])
    print(f"model alone, batch 32: fp32 {throughput(fp32, probe):.0f} img/s, ", end="")
    print(f"int8 {throughput(int8, probe):.0f} img/s ({args.method} calibration)")
    for collection in collections:
        x = tensors(fp32, collection.images)
        a = np.concatenate([fp32.run(x[i : i + 32]) for i in range(0, len(x), 32)])
        b = np.concatenate([int8.run(x[i : i + 32]) for i in range(0, len(x), 32)])
        cos, overlap = agreement(a, b)
        print(f"{collection.name:8s} cosine {cos:.4f}  10-NN overlap {overlap:.3f}", flush=True)


if __name__ == "__main__":
    main()
