"""A collection's vector shards in the bucket: redelivery, reuse by content, and loading a collection."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import numpy as np
import pytest
from gridtsne.aws.collection import load_collection
from gridtsne.aws.vectors import embed_objects, known_content, missing, scan
from gridtsne.core.embed import Embedder
from gridtsne.core.model import ModelSpec
from gridtsne.store import ObjectInfo, S3Store
from moto import mock_aws
from PIL import Image

BUCKET = "vectors-test"


class MeanColour(Embedder):
    """A stand-in model: an image's vector is its mean colour; counts the images it embeds."""

    def __init__(self, name: str = "mean-colour") -> None:
        self.spec = ModelSpec(path=Path(f"{name}.onnx"), name=name, size=32, dim=3, sha256="0" * 64)
        self.batch_size = 8
        self.size = 32
        self.embedded = 0

    def preprocess(self, image: Image.Image) -> np.ndarray:
        return np.asarray(image.convert("RGB"), np.float32).mean(axis=(0, 1))

    def run(self, batch: np.ndarray) -> np.ndarray:
        self.embedded += len(batch)
        return batch.astype(np.float32)


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), colour).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def store() -> Iterator[S3Store]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield S3Store(BUCKET, client=client)


def upload(store: S3Store, name: str, data: bytes, collection: str = "c") -> ObjectInfo:
    key = f"uploads/{collection}/{name}"
    store.write(key, data)
    (info,) = [o for o in store.list(key) if o.key == key]
    return info


def files(store: S3Store) -> list[str]:
    return sorted(o.key for o in store.list("vectors/"))


def test_a_redelivered_batch_is_a_no_op(store: S3Store) -> None:
    model = MeanColour()
    batch = [upload(store, "red.png", png((255, 0, 0))), upload(store, "blue.png", png((0, 0, 255)))]
    first = embed_objects(store, "c", batch, model)
    assert (first.embedded, first.reused, first.redelivered) == (2, 0, False)
    written = files(store)
    # The same batch again, in another order: the shard's manifest exists, nothing is read or written.
    again = embed_objects(store, "c", batch[::-1], model)
    assert (again.shard, again.redelivered, again.embedded) == (first.shard, True, 0)
    assert model.embedded == 2 and files(store) == written


def test_known_content_is_reused_not_embedded(store: S3Store) -> None:
    model = MeanColour()
    red = png((255, 0, 0))
    embed_objects(store, "c", [upload(store, "red.png", red)], model)
    shards = [k for k in files(store) if k.endswith(".npz")]
    copy = upload(store, "copy of red.png", red)
    result = embed_objects(store, "c", [copy], model, known=known_content(scan(store, "c")))
    assert (result.embedded, result.reused) == (0, 1)
    assert model.embedded == 1 and [k for k in files(store) if k.endswith(".npz")] == shards
    entry = scan(store, "c")[(copy.key, copy.etag)]
    assert entry["shard"] == shards[0].split("/")[-1].removesuffix(".npz") and entry["row"] == 0
    assert result.content == {entry["hash"]: {"shard": entry["shard"], "row": 0}}


def test_a_batch_writes_its_shard_and_manifest_and_nothing_per_picture(store: S3Store) -> None:
    model = MeanColour()
    red = png((255, 0, 0))
    batch = [upload(store, f"{name}.png", data) for name, data in [("a", red), ("b", png((0, 0, 255)))]]
    embed_objects(store, "c", batch, model)
    assert [k.rsplit(".", 1)[1] for k in files(store)] == ["json", "npz"]
    # Without what the caller knows, content in another shard is embedded again (cheaper than an index);
    # identical pictures within one batch are embedded once.
    again = [upload(store, "copy of a.png", red), upload(store, "another copy of a.png", red)]
    result = embed_objects(store, "c", again, model)
    assert (result.embedded, result.reused, model.embedded) == (1, 1, 3)
    assert len(files(store)) == 4


def test_load_collection_places_skips_and_reports_duplicates_and_missing(store: S3Store) -> None:
    model = MeanColour()
    red, blue = png((255, 0, 0)), png((0, 0, 255))
    embedded = [
        upload(store, "a red.png", red),
        upload(store, "b blue.png", blue),
        upload(store, "c red copy.png", red),
        upload(store, "d broken.png", b"\x89PNG\r\n\x1a\n broken"),
    ]
    embed_objects(store, "c", embedded, model)
    late = upload(store, "e late.png", png((0, 255, 0)))  # uploaded, never embedded
    changed = upload(store, "b blue.png", png((0, 0, 128)))  # the same key, new content since embedding
    inputs = [*embedded[:1], changed, *embedded[2:], late]
    assert [o.key for o in missing(inputs, scan(store, "c"))] == [changed.key, late.key]

    collected = load_collection(store, "c", [*embedded, late])
    assert collected.keys == ["uploads/c/a red.png", "uploads/c/b blue.png"]
    np.testing.assert_allclose(collected.vectors, [[255, 0, 0], [0, 0, 255]])
    assert len(collected.thumbs) == 2 and collected.thumbs.side == 64
    assert tuple(collected.thumbs.get(0)[0, 0]) == (255, 0, 0)
    assert tuple(collected.thumbs.get(1)[0, 0]) == (0, 0, 255)
    assert collected.duplicates == [{"key": "uploads/c/c red copy.png", "same_as": "uploads/c/a red.png"}]
    assert [s["key"] for s in collected.skipped] == ["uploads/c/d broken.png"]
    assert "not an image" in collected.skipped[0]["reason"]
    assert collected.missing == ["uploads/c/e late.png"]
    # The model that made the vectors is named without loading it.
    assert collected.model == json.loads(json.dumps(model.describe()))
    assert load_collection(store, "c", [late]).keys == []


def test_vectors_of_two_models_are_both_named(store: S3Store) -> None:
    embed_objects(store, "c", [upload(store, "red.png", png((255, 0, 0)))], MeanColour("old"))
    embed_objects(store, "c", [upload(store, "blue.png", png((0, 0, 255)))], MeanColour("new"))
    collected = load_collection(store, "c", list(store.list("uploads/c/")), with_thumbs=False)
    assert sorted(m["name"] for m in collected.model["models"]) == ["new", "old"]
