"""What each function of ``template.yaml`` ships: its code and its layers, unzipped."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gridtsne_dev.template import ROOT, resources_of_type

__all__ = ["LAMBDA_UNZIPPED_LIMIT", "function_layers", "function_sizes", "tree_size"]

#: Lambda's limit on a function's code plus all its layers, unzipped.
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024


def tree_size(root: Path) -> int:
    """Bytes of all files under ``root`` (what Lambda counts once the zip is unpacked)."""
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file() and not path.is_symlink())


def function_layers(template: dict[str, Any], root: Path = ROOT) -> dict[str, tuple[Path, list[str]]]:
    """For each function: its code folder and the logical ids of its layers, in order."""
    global_layers = template.get("Globals", {}).get("Function", {}).get("Layers", [])
    found = {}
    for logical_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        props = resource.get("Properties", {})
        layers = [
            ref["Ref"] if isinstance(ref, dict) else ref for ref in [*global_layers, *props.get("Layers", [])]
        ]
        found[logical_id] = (root / props["CodeUri"], layers)
    return found


def function_sizes(template: dict[str, Any], layers: Mapping[str, Path]) -> dict[str, dict[str, int]]:
    """Bytes each function ships, by part.

    Parameters
    ----------
    template
        The template (:func:`gridtsne_dev.template.load_template`).
    layers
        The built contents of each layer, by logical id.

    Returns
    -------
    dict
        ``{function: {"code": bytes, <layer id>: bytes, ...}}``, code first, layers in template order.
    """
    sizes: dict[str, dict[str, int]] = {}
    for function, (code, layer_ids) in function_layers(template).items():
        sizes[function] = {"code": tree_size(code), **{i: tree_size(layers[i]) for i in layer_ids}}
    return sizes
