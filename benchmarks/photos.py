"""A second benchmark set: about 2,000 photo patches cut from scikit-image's bundled pictures.

Each of twelve photographs and textures (brick, grass, gravel, coffee, a cat, a rocket, the Hubble deep
field, a retina, a cameraman, the moon, coins, a tissue stain) gives 165 square patches at random places
and scales, saved as 96 px JPEGs in a folder named after the source: the label.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

SOURCES = (
    "brick",
    "grass",
    "gravel",
    "coffee",
    "chelsea",
    "rocket",
    "hubble_deep_field",
    "retina",
    "camera",
    "moon",
    "coins",
    "immunohistochemistry",
)


def write_patches(dest: Path, *, per_source: int = 165, size: int = 96, seed: int = 0) -> int:
    """Write the patches under ``dest`` (once: a marker file records completion); return how many."""
    marker = dest / ".written"
    if marker.exists():
        return sum(1 for _ in dest.glob("*/*.jpg"))
    rng = np.random.default_rng(seed)
    count = 0
    for name in SOURCES:
        picture = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
        width, height = picture.size
        folder = dest / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(per_source):
            side = int(rng.integers(64, max(65, min(width, height) // 2)))
            left = int(rng.integers(0, width - side + 1))
            top = int(rng.integers(0, height - side + 1))
            patch = picture.crop((left, top, left + side, top + side)).resize(
                (size, size), Image.Resampling.BICUBIC
            )
            patch.save(folder / f"{index:03d}.jpg", quality=90)
            count += 1
    marker.touch()
    return count
