"""The embedding model carries real ImageNet weights and the documented preprocessing."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pytest
from gridtsne.core.embed import Embedder
from gridtsne.core.model import load_spec
from PIL import Image
from sklearn.datasets import load_sample_image


@pytest.fixture(scope="module")
def classifier() -> Embedder:
    spec = load_spec()
    return Embedder(dataclasses.replace(spec, output_name="logits"), threads=2)


def top5(classifier: Embedder, name: str) -> list[int]:
    image = Image.fromarray(load_sample_image(name))
    logits = classifier.run(classifier.preprocess(image)[None])[0]
    return [int(i) for i in np.argsort(-logits)[:5]]


def test_flower_is_a_daisy(classifier: Embedder) -> None:
    assert top5(classifier, "flower.jpg")[0] == 985


def test_china_is_a_building(classifier: Embedder) -> None:
    assert top5(classifier, "china.jpg")[0] in {442, 538, 663, 698}


def test_metadata_describes_the_model() -> None:
    spec = load_spec()
    meta = json.loads(spec.path.with_suffix(".json").read_text())
    assert meta["output"]["dim"] == 1280
    assert meta["input"]["size"] == 224
    assert spec.scale == pytest.approx(1 / 127.5) and spec.offset == -1.0 and spec.mean is None
    with spec.path.open("rb") as handle:
        assert meta["sha256"] == hashlib.file_digest(handle, "sha256").hexdigest()


def test_embedding_is_1280_d_at_any_multiple_of_32() -> None:
    spec = load_spec()
    for size in (64, 96, 224):
        embedder = Embedder(spec, threads=1, size=size)
        batch = np.stack([embedder.preprocess(Image.new("RGB", (50, 70), "red"))] * 2)
        vectors = embedder.run(batch)
        assert vectors.shape == (2, 1280)
        assert np.isfinite(vectors).all()
        assert np.allclose(vectors[0], vectors[1])


def test_a_spec_less_model_uses_imagenet_defaults(tmp_path) -> None:
    model = tmp_path / "other.onnx"
    model.write_bytes(load_spec().path.read_bytes())
    spec = load_spec(model)
    assert spec.name == "other" and spec.size == 224 and spec.mean is not None
    assert Embedder(spec, threads=1).output_name == "embedding"
