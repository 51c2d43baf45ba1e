"""Sample images: scikit-learn's 1,797 handwritten digits as PNG files, in folders named by label."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits


def write_digits(dest: str | Path, *, size: int = 64, limit: int | None = None) -> list[Path]:
    """Write the digits as ``dest/<label>/<index>.png``; return the paths.

    Each is ``size`` px, dark ink on white, smoothly upscaled from 8 × 8.

    ``limit`` keeps the first ``limit`` digits only.
    """
    digits = load_digits()
    root = Path(dest)
    paths: list[Path] = []
    count = len(digits.images) if limit is None else min(limit, len(digits.images))
    for index in range(count):
        pixels = (255 - digits.images[index] * (255 / 16)).clip(0, 255).astype(np.uint8)
        image = Image.fromarray(pixels, "L").resize((size, size), Image.Resampling.BICUBIC)
        path = root / str(int(digits.target[index])) / f"{index:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path)
        paths.append(path)
    return paths


def label_of(key: str) -> str:
    """The label of a sample key ``<label>/<name>``: its first folder."""
    return key.split("/", 1)[0]
