"""Embedding: the whole picture at the model's size, duplicates (first key kept), skipped files, tiles."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest
from gridtsne.core.embed import DELETED, Embedded, Embedder, Source, embed_sources
from gridtsne.core.images import ImageError
from gridtsne.core.model import ModelSpec, load_spec
from gridtsne.store import NotAFileError, NotFoundError, TooLargeError
from PIL import Image


def picture(seed: int, side: int = 48) -> bytes:
    """A PNG of random blocks: different seeds give clearly different images."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
    image = Image.fromarray(blocks).resize((side, side), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def sources(files: dict[str, bytes], order: list[str]) -> list[Source]:
    def reader(data: bytes) -> Callable[[], bytes]:
        return lambda: data

    return [(key, reader(files[key])) for key in order]


@pytest.fixture(scope="module")
def spec() -> ModelSpec:
    return load_spec()


@pytest.fixture(scope="module")
def embedder(spec: ModelSpec) -> Embedder:
    return Embedder(spec, threads=1, batch_size=2, size=64)


def test_the_model_sees_the_whole_picture_at_its_own_size(spec: ModelSpec, embedder: Embedder) -> None:
    assert Embedder(spec, threads=1).size == spec.size == 224  # no size rule: the model's own input
    assert embedder.describe()["fit"] == "squash"  # recorded with every shard and layout
    wide = Image.new("RGB", (90, 30), "blue")
    wide.paste(Image.new("RGB", (30, 30), "red"), (0, 0))  # the left third is red
    tensor = embedder.preprocess(wide)
    assert tensor.shape == (3, 64, 64)
    red = embedder.preprocess(Image.new("RGB", (8, 8), "red"))[:, 0, 0]
    blue = embedder.preprocess(Image.new("RGB", (8, 8), "blue"))[:, 0, 0]
    # Squashed, not cropped: a centre crop would cut the red third away.
    assert np.allclose(tensor[:, 32, 0], red) and np.allclose(tensor[:, 32, 63], blue)
    assert np.allclose(tensor[:, 0, 10], red) and np.allclose(tensor[:, 63, 10], red)


def test_the_first_identical_file_in_input_order_is_kept(embedder: Embedder) -> None:
    files = {"a.png": picture(1), "b.png": picture(2), "c.png": picture(1), "d.png": picture(1)}
    for order in (["a.png", "b.png", "c.png", "d.png"], ["d.png", "b.png", "a.png", "c.png"]):
        done = embed_sources(sources(files, order), embedder)
        first = order[0]
        later = [key for key in order[1:] if files[key] == files[first]]
        assert done.keys == [first, "b.png"]
        assert done.duplicates == [{"key": key, "same_as": first} for key in later]
        assert len(done.vectors) == 2 and done.hashes[0] != done.hashes[1]


def test_keep_duplicates_places_every_copy(embedder: Embedder) -> None:
    files = {"a.png": picture(1), "b.png": picture(2), "c.png": picture(1)}
    done = embed_sources(sources(files, ["a.png", "b.png", "c.png"]), embedder, keep_duplicates=True)
    assert done.keys == ["a.png", "b.png", "c.png"] and done.duplicates == []
    assert np.array_equal(done.vectors[0], done.vectors[2])
    assert not np.allclose(done.vectors[0], done.vectors[1])


def test_vectors_follow_their_keys_across_batches(embedder: Embedder) -> None:
    files = {f"{i}.png": picture(i) for i in range(5)}
    forward = embed_sources(sources(files, sorted(files)), embedder)
    backward = embed_sources(sources(files, sorted(files, reverse=True)), embedder)
    assert backward.keys == forward.keys[::-1]
    np.testing.assert_allclose(backward.vectors, forward.vectors[::-1], rtol=1e-4, atol=1e-4)


def test_unusable_files_are_skipped_with_their_reason(embedder: Embedder) -> None:
    def failing(error: Exception) -> Callable[[], bytes]:
        def read() -> bytes:
            raise error

        return read

    files = {"good.png": picture(3), "empty.png": b"", "text.png": b"hello, not a picture"}
    found = [
        *sources(files, ["good.png", "empty.png", "text.png"]),
        ("locked.png", failing(PermissionError(13, "Permission denied"))),
        ("gone.png", failing(NotFoundError("gone.png"))),
        ("big.png", failing(TooLargeError("big.png", 11, 10))),
        ("fifo.png", failing(NotAFileError("fifo.png", "not a regular file (a FIFO)"))),
        ("sniffed.png", failing(ImageError("not an image (unknown format)"))),
    ]
    done = embed_sources(found, embedder)
    assert done.keys == ["good.png"]
    reasons = {s["key"]: s["reason"] for s in done.skipped}
    assert reasons == {
        "empty.png": "empty file",
        "text.png": "not an image (unknown format)",
        "locked.png": "unreadable (Permission denied)",
        "gone.png": DELETED,
        "big.png": "file too large (11 bytes > 10)",
        "fifo.png": "not a regular file (a FIFO)",
        "sniffed.png": "not an image (unknown format)",
    }


def test_thumbnails_are_kept_only_with_a_tile(embedder: Embedder) -> None:
    red = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(red, "PNG")
    files = {"red.png": red.getvalue(), "other.png": picture(4)}
    order = ["red.png", "other.png"]
    without: Embedded = embed_sources(sources(files, order), embedder)
    assert without.thumbnails is None
    with_tile = embed_sources(sources(files, order), embedder, tile=16)
    assert with_tile.thumbnails is not None
    assert len(with_tile.thumbnails) == 2 and with_tile.thumbnails.side == 16
    assert (with_tile.thumbnails.get(0) == (200, 10, 10)).all()
