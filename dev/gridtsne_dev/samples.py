"""Sample images, in folders named by label: scikit-learn's 1,797 handwritten digits as PNG files
(:func:`write_digits`), and about 2,000 photo patches cut from scikit-image's bundled pictures
(:func:`write_photo_patches`, the second benchmark set)."""

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


#: The scikit-image pictures the photo patches are cut from: photographs and textures.
PHOTO_SOURCES = (
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


def write_photo_patches(dest: Path, *, per_source: int = 165, size: int = 96, seed: int = 0) -> int:
    """Write square patches of scikit-image's pictures under ``dest``; return how many there are.

    Each of twelve photographs and textures (:data:`PHOTO_SOURCES`: brick, grass, gravel, coffee, a cat, a
    rocket, the Hubble deep field, a retina, a cameraman, the moon, coins, a tissue stain) gives
    ``per_source`` (165) patches at random places and scales, saved as ``size`` px (96) JPEGs in a folder
    named after the source: the label. Written once: a marker file records completion.
    """
    import skimage.data

    marker = dest / ".written"
    if marker.exists():
        return sum(1 for _ in dest.glob("*/*.jpg"))
    rng = np.random.default_rng(seed)
    count = 0
    for name in PHOTO_SOURCES:
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


def label_of(key: str) -> str:
    """The label of a sample key ``<label>/<name>``: its first folder."""
    return key.split("/", 1)[0]
