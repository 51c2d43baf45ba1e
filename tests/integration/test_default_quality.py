"""The default places a collection that is not the digits at least as well as the seed's method.

300 crops of scikit-image's bundled photographs (12 labels, 48–512 px, aspect ratios 0.4–2.5; no
download) through the pipeline with its defaults, against the seed's method on the seed's own embedding
(the whole picture resized to 224 px, PCA to 50, openTSNE's defaults on every core, dense ``lapjv``),
with the same seed. Both grids are measured in that one embedding (DPQ16) and by the labels of their 10
nearest cells. The suite's full table, with times, is ``make bench``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gridtsne.core.embed import Embedder
from gridtsne.core.images import decode
from gridtsne.core.model import load_spec
from gridtsne.core.quality import dpq, knn_label_accuracy
from gridtsne.core.reduce import reduce
from gridtsne.pipeline import Params, run
from gridtsne.store import LocalStore
from gridtsne_dev.collections import write_crops
from gridtsne_dev.samples import label_of
from gridtsne_dev.seed import dense_lapjv, reduce_params, tensor

#: What the default may lose to the seed's method, within the seed's own spread over seeds on this set.
KNN_MARGIN = 0.02
DPQ_MARGIN = 0.005


@pytest.fixture(scope="module")
def crops(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("crops")
    assert write_crops(dest, per_source=25) == 300
    return dest


def seed_embedding(folder: Path, keys: list[str]) -> np.ndarray:
    """The seed's vectors: each picture resized whole to 224 × 224, scaled to [-1, 1]."""
    embedder = Embedder(load_spec(), size=224)
    vectors = []
    for start in range(0, len(keys), 32):
        batch = [tensor(decode((folder / key).read_bytes())) for key in keys[start : start + 32]]
        vectors.append(embedder.run(np.stack(batch)))
    return np.concatenate(vectors)


def test_the_default_places_crops_at_least_as_well_as_the_seed(crops: Path) -> None:
    result = run(LocalStore(crops), Params())
    keys, cells = result.layout.keys, result.layout.cells
    assert len(keys) == 300
    labels = [label_of(key) for key in keys]
    # The default embeds as the seed does (checked on a sample), so its vectors are the reference.
    reference = result.vectors
    sample = seed_embedding(crops, keys[::20])
    cosine = (
        (sample * reference[::20]).sum(1)
        / np.linalg.norm(sample, axis=1)
        / np.linalg.norm(reference[::20], axis=1)
    )
    assert cosine.min() > 0.99
    seed_cells = dense_lapjv(reduce(reference, reduce_params(0)))
    ours = (knn_label_accuracy(cells, labels), dpq(reference, cells, p=16))
    seeds = (knn_label_accuracy(seed_cells, labels), dpq(reference, seed_cells, p=16))
    assert ours[0] >= seeds[0] - KNN_MARGIN, f"10-NN: default {ours[0]:.3f}, seed's method {seeds[0]:.3f}"
    assert ours[1] >= seeds[1] - DPQ_MARGIN, f"DPQ16: default {ours[1]:.3f}, seed's method {seeds[1]:.3f}"
    assert result.layout.quality["dpq16"] == pytest.approx(ours[1], abs=1e-4)
