"""``template.yaml``, read as data: the one description of the application's resources.

The embedded stack creates its resources from it, the layer build measures the functions it names, and the
tests check it. Short-form intrinsic functions (``!Ref``, ``!GetAtt``, ``!Sub``...) come back in their long
form (``{"Ref": ...}``, ``{"Fn::GetAtt": [...]}``), as cfn-lint's decoder reads them.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["ROOT", "TEMPLATE", "load_template", "plain", "resources_of_type"]

#: The repository root (``dev/gridtsne_dev/`` is two levels below it).
ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


@cache
def _load(path: Path) -> dict[str, Any]:
    from cfnlint.decode import cfn_yaml

    data = cfn_yaml.load(str(path))
    if not isinstance(data, dict) or "Resources" not in data:
        raise ValueError(f"{path} is not a CloudFormation template")
    return plain(data)  # type: ignore[no-any-return]


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """Parse a CloudFormation/SAM template into plain dicts, lists and strings.

    Parameters
    ----------
    path
        The template (default: the repository's ``template.yaml``).

    Returns
    -------
    dict
        The template; a fresh copy on every call, so callers may change it.
    """
    loaded: dict[str, Any] = json.loads(json.dumps(_load(path.resolve())))
    return loaded


def plain(value: Any) -> Any:
    """cfn-lint's decoded nodes (``dict``/``str`` subclasses with line marks) as plain Python data."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """The template's resources of one type (e.g. ``AWS::Serverless::Function``), by logical id."""
    return {name: res for name, res in template["Resources"].items() if res.get("Type") == kind}
