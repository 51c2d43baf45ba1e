"""Which ONNX model embeds the images, and how its input is prepared.

A model is an ``.onnx`` file with a ``.json`` spec beside it (same stem). The spec says the input tensor's
name, size and normalisation and which output is the embedding; ``layers/model/export.py`` writes it for the
default model. Any other ONNX model can be plugged in with a spec of its own; without one, ImageNet
conventions (224 px, RGB, mean/std normalisation, first input and output) are assumed.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_NAME = "efficientnet_lite0"
#: Environment variable naming the model file; overrides the built-in search.
MODEL_ENV = "GRIDTSNE_MODEL"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelSpec:
    """An embedding model and its preprocessing.

    A pixel value ``v`` (0–255) becomes ``v × scale + offset``, then ``(· − mean) / std`` per channel
    when both are set.

    Attributes
    ----------
    path, name
        The ``.onnx`` file and the model's name.
    input_name, output_name
        Tensors to feed and read (None: the first input, the first output).
    size, multiple_of
        The model's input side, and what any other side used must be a multiple of.
    dim
        Length of the embedding, when the spec says.
    sha256, source
        The file's digest and where the weights come from, for ``layout.json``.
    extra
        The rest of the spec file, untouched.
    """

    path: Path
    name: str
    input_name: str | None = None
    output_name: str | None = None
    size: int = 224
    multiple_of: int = 32
    scale: float = 1 / 255
    offset: float = 0.0
    mean: tuple[float, float, float] | None = IMAGENET_MEAN
    std: tuple[float, float, float] | None = IMAGENET_STD
    dim: int | None = None
    sha256: str | None = None
    source: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """The spec as plain data, for ``layout.json``."""
        data = asdict(self)
        data["path"] = self.path.name
        data.pop("extra")
        return data


def default_model_path() -> Path:
    """The model to use when none is given: ``$GRIDTSNE_MODEL``, the Lambda layer, or the local build.

    Raises
    ------
    FileNotFoundError
        When none of them exists (the message names the places looked in).
    """
    if env := os.environ.get(MODEL_ENV):
        return Path(env)
    candidates = [
        Path("/opt/model") / f"{DEFAULT_NAME}.onnx",
        Path(__file__).resolve().parents[4] / "build" / "model" / f"{DEFAULT_NAME}.onnx",
        Path.cwd() / "build" / "model" / f"{DEFAULT_NAME}.onnx",
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"no embedding model found (looked in {', '.join(str(c) for c in candidates)}); "
        f"run `make model` or set {MODEL_ENV}"
    )


def load_spec(path: Path | str | None = None) -> ModelSpec:
    """Load the spec of the model at ``path`` (default: :func:`default_model_path`).

    The spec is read from the ``.json`` file beside the model; without one, ImageNet conventions apply.

    Raises
    ------
    FileNotFoundError
        When the model file does not exist.
    """
    model = Path(path) if path else default_model_path()
    if not model.is_file():
        raise FileNotFoundError(f"model file not found: {model}")
    meta_path = model.with_suffix(".json")
    if not meta_path.is_file():
        return ModelSpec(path=model, name=model.stem)
    meta = json.loads(meta_path.read_text())
    inp = meta.get("input", {})
    out = meta.get("output", {})
    mean, std = inp.get("mean"), inp.get("std")
    return ModelSpec(
        path=model,
        name=meta.get("name", model.stem),
        input_name=inp.get("name"),
        output_name=out.get("name"),
        size=int(inp.get("size", 224)),
        multiple_of=int(inp.get("multiple_of", 32)),
        scale=float(inp.get("scale", 1 / 255)),
        offset=float(inp.get("offset", 0.0)),
        mean=tuple(mean) if mean else None,
        std=tuple(std) if std else None,
        dim=out.get("dim"),
        sha256=meta.get("sha256"),
        source=meta.get("source"),
        extra={k: v for k, v in meta.items() if k not in {"input", "output"}},
    )
