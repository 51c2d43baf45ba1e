"""Turn images into vectors with an ONNX model, in batches, decoding while the model runs.

Decoding happens in a thread pool (Pillow releases the GIL) while the main thread feeds full batches to
ONNX Runtime, so the two overlap. Files with identical content are embedded once: the first key (in input
order) is kept, the others are reported as duplicates of it, unless ``keep_duplicates`` is set.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice

import numpy as np
from PIL import Image

from gridtsne.core.images import ImageError, Limits, decode, square
from gridtsne.core.model import ModelSpec
from gridtsne.core.thumbs import ThumbSpool
from gridtsne.store import NotFoundError, ObjectError

#: A named input: its key and a function returning its bytes. When the function raises
#: :class:`~gridtsne.core.images.ImageError`, :class:`~gridtsne.store.NotFoundError`,
#: :class:`~gridtsne.store.ObjectError` (e.g. too large) or :class:`OSError`, the input is skipped, and why.
Source = tuple[str, Callable[[], bytes]]
#: The reason given for an input that was listed but was gone when it was read.
DELETED = "deleted before it could be read"
#: Called with the number of inputs handled so far.
Progress = Callable[[int], None]


def cpu_count() -> int:
    """Cores this process may use (the affinity mask where there is one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class Embedded:
    """What embedding a set of inputs produced; every input is in exactly one of the three lists.

    Attributes
    ----------
    keys, vectors, hashes
        The embedded inputs in input order, their (N, D) float32 vectors and content hashes.
    skipped
        ``{"key", "reason"}`` of each input that could not be used.
    duplicates
        ``{"key", "same_as"}`` of each input identical to an earlier one.
    thumbnails
        The N tile thumbnails of the embedded inputs, spooled to local disk, when a tile size was asked
        for.
    """

    keys: list[str]
    vectors: np.ndarray
    hashes: list[str]
    skipped: list[dict[str, str]] = field(default_factory=list)
    duplicates: list[dict[str, str]] = field(default_factory=list)
    thumbnails: ThumbSpool | None = None


#: How :meth:`Embedder.preprocess` fits a picture to the model's square input, as recorded with the vectors.
FIT = "squash"


class Embedder:
    """An ONNX Runtime session with the model's preprocessing.

    Parameters
    ----------
    spec
        The model.
    threads
        Inference threads (default: the available cores).
    batch_size
        Images per model call.
    size
        Input side instead of the model's own (224 px for the built-in model, measured best on every
        collection of ``make bench``), rounded up to the model's multiple.
    """

    def __init__(
        self, spec: ModelSpec, *, threads: int | None = None, batch_size: int = 32, size: int | None = None
    ) -> None:
        self.spec = spec
        self.batch_size = batch_size
        import onnxruntime as ort  # here, so that stages that never embed need no ONNX Runtime

        side = size or spec.size
        self.size = -(-side // spec.multiple_of) * spec.multiple_of
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or cpu_count()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle inference threads sleep instead of spinning, leaving the cores to the decoding threads.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(spec.path), options, providers=_providers())
        self.input_name = spec.input_name or self.session.get_inputs()[0].name
        self.output_name = spec.output_name or self.session.get_outputs()[0].name
        scale = np.full(3, spec.scale, np.float32)
        offset = np.full(3, spec.offset, np.float32)
        if spec.mean is not None and spec.std is not None:
            std = np.asarray(spec.std, np.float32)
            offset = (offset - np.asarray(spec.mean, np.float32)) / std
            scale = scale / std
        self._scale = scale.reshape(3, 1, 1)
        self._offset = offset.reshape(3, 1, 1)

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """An RGB image as the model's input tensor (3, size, size), float32: the whole picture, squashed.

        The whole picture is resized to the model's square input whatever its aspect ratio, never
        cropped: on collections of varied shapes (crops of photographs, cut-out stamps) this places
        them better than a centre crop (DPQ16 0.912 against 0.845 on the ``crops`` set) or padding
        to a square (0.878), and it is the same on square pictures (``python -m benchmarks.quality``).
        """
        resized = image.resize((self.size, self.size), Image.Resampling.BILINEAR)
        tensor = np.asarray(resized).transpose(2, 0, 1).astype(np.float32)
        tensor *= self._scale
        tensor += self._offset
        return tensor

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Embed a batch of preprocessed tensors (B, 3, size, size) into (B, D) float32 vectors."""
        (out,) = self.session.run([self.output_name], {self.input_name: batch})
        return np.asarray(out, dtype=np.float32).reshape(len(batch), -1)

    def describe(self) -> dict[str, object]:
        """The model spec plus the input side actually used and how pictures are fitted to it."""
        return {**self.spec.describe(), "input_size": self.size, "fit": FIT}


@dataclass
class _Decoded:
    key: str
    digest: str
    tensor: np.ndarray | None = None
    thumb: np.ndarray | None = None
    error: str | None = None


def embed_sources(
    sources: Iterable[Source],
    embedder: Embedder,
    *,
    tile: int | None = None,
    keep_duplicates: bool = False,
    limits: Limits | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Embedded:
    """Decode and embed every source; skip unreadable ones with their reason.

    Parameters
    ----------
    sources
        ``(key, read)`` pairs, in input order.
    embedder
        The model session.
    tile
        When given, a ``tile`` × ``tile`` RGB thumbnail of every embedded image is kept, for rendering,
        in a spool on local disk (:class:`~gridtsne.core.thumbs.ThumbSpool`).
    keep_duplicates
        Embed identical files every time instead of reporting them as duplicates of the first.
    limits
        Byte and pixel limits per file.
    workers
        Decoding threads (default: the available cores).
    progress
        Called with the number of inputs handled so far.

    Returns
    -------
    Embedded
        Every input exactly once: embedded, skipped or duplicate.
    """
    keys: list[str] = []
    hashes: list[str] = []
    thumbs = ThumbSpool(0, tile) if tile else None
    vectors: list[np.ndarray] = []
    skipped: list[dict[str, str]] = []
    duplicates: list[dict[str, str]] = []
    first_by_hash: dict[str, str] = {}
    pending: list[np.ndarray] = []
    done = 0

    def flush() -> None:
        if pending:
            vectors.append(embedder.run(np.stack(pending)))
            pending.clear()

    def work(source: Source) -> _Decoded:
        return _decode_one(source, embedder, tile, limits)

    with ThreadPoolExecutor(max_workers=workers or cpu_count()) as pool:
        for item in _ordered(pool, work, sources, window=4 * embedder.batch_size):
            done += 1
            if item.error is not None:
                skipped.append({"key": item.key, "reason": item.error})
            elif item.digest in first_by_hash and not keep_duplicates:
                duplicates.append({"key": item.key, "same_as": first_by_hash[item.digest]})
            else:
                first_by_hash.setdefault(item.digest, item.key)
                keys.append(item.key)
                hashes.append(item.digest)
                assert item.tensor is not None
                pending.append(item.tensor)
                if thumbs is not None and item.thumb is not None:
                    thumbs.append(item.thumb[None])
                if len(pending) == embedder.batch_size:
                    flush()
            if progress:
                progress(done)
        flush()
    dim = vectors[0].shape[1] if vectors else (embedder.spec.dim or 0)
    return Embedded(
        keys=keys,
        vectors=np.concatenate(vectors) if vectors else np.zeros((0, dim), np.float32),
        hashes=hashes,
        skipped=skipped,
        duplicates=duplicates,
        thumbnails=thumbs,
    )


def content_hash(data: bytes) -> str:
    """The content key of a file: hex SHA-256 of its bytes."""
    return hashlib.sha256(data).hexdigest()


def read_source(read: Callable[[], bytes]) -> bytes | str:
    """The bytes a source's reader returns, or why it cannot be read (the reason the input is skipped)."""
    try:
        return read()
    except (ImageError, ObjectError) as exc:
        return exc.reason
    except NotFoundError:
        return DELETED
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"


def _decode_one(source: Source, embedder: Embedder, tile: int | None, limits: Limits | None) -> _Decoded:
    key, read = source
    data = read_source(read)
    if isinstance(data, str):
        return _Decoded(key, "", error=data)
    digest = content_hash(data)
    try:
        image = decode(data, min_side=max(embedder.size, tile or 0), limits=limits)
    except ImageError as exc:
        return _Decoded(key, digest, error=exc.reason)
    thumb = np.asarray(square(image, tile), dtype=np.uint8) if tile else None
    return _Decoded(key, digest, tensor=embedder.preprocess(image), thumb=thumb)


def _ordered(
    pool: ThreadPoolExecutor, fn: Callable[[Source], _Decoded], items: Iterable[Source], window: int
) -> Iterator[_Decoded]:
    """``pool.map`` with at most ``window`` tasks in flight, results in input order."""
    iterator = iter(items)
    queue: deque[Future[_Decoded]] = deque(pool.submit(fn, item) for item in islice(iterator, window))
    while queue:
        result = queue.popleft().result()
        queue.extend(pool.submit(fn, item) for item in islice(iterator, 1))
        yield result


def _providers() -> list[str]:
    import onnxruntime as ort

    available = ort.get_available_providers()
    preferred = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return [p for p in preferred if p in available] or available
