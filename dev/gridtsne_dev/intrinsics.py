"""CloudFormation's intrinsic functions, resolved against local names and values.

``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` and ``Fn::If`` (with the conditions ``Fn::Not``, ``Fn::Equals`` and
``Condition``), the ones ``template.yaml`` uses; any other raises :class:`UnresolvedError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["ACCOUNT", "PSEUDO_PARAMETERS", "REGION", "STACK_NAME", "Intrinsics", "UnresolvedError"]

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK_NAME = "gridtsne"
#: The pseudo parameters' local values.
PSEUDO_PARAMETERS = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::StackName": STACK_NAME,
    "AWS::URLSuffix": "amazonaws.com",
}


class UnresolvedError(ValueError):
    """A template value that cannot be resolved locally."""


@dataclass
class Intrinsics:
    """Resolves intrinsic functions.

    Attributes
    ----------
    parameters
        Every template parameter's value.
    attributes
        ``Fn::GetAtt`` values by logical id, then attribute name (the ``Ref`` value under ``"Ref"``).
    conditions
        The template's ``Conditions``, unevaluated.
    """

    parameters: dict[str, str]
    attributes: dict[str, dict[str, str]]
    conditions: dict[str, Any]

    def resolve(self, value: Any) -> Any:
        """``value`` with ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` and ``Fn::If`` replaced by local values."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                logical, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
                return self._get_att(logical, attribute)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::If":
                condition, then, otherwise = arg
                return self.resolve(then if self.condition(self.conditions[condition]) else otherwise)
            if key.startswith("Fn::"):
                raise UnresolvedError(f"intrinsic function {key} is not resolved locally")
        return {k: self.resolve(v) for k, v in value.items()}

    def _ref(self, name: str) -> str:
        if name in self.parameters:
            return self.parameters[name]
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        return self._get_att(name, "Ref")

    def _get_att(self, logical: str, attribute: str) -> str:
        try:
            return self.attributes[logical][attribute]
        except KeyError:
            raise UnresolvedError(f"no local value for {logical}.{attribute}") from None

    def _sub(self, arg: str | list[Any]) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in extra:
                return str(extra[name])
            if "." in name and not name.startswith("AWS::"):
                return self._get_att(*name.split(".", 1))
            return self._ref(name)

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    def condition(self, value: Any) -> bool:
        """The truth of a template condition (``Fn::Not``, ``Fn::Equals``, ``Condition``)."""
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Fn::Not":
                return not self.condition(arg[0])
            if key == "Fn::Equals":
                left, right = self.resolve(arg)
                return bool(str(left) == str(right))
            if key == "Condition":
                return self.condition(self.conditions[arg])
        raise UnresolvedError(f"condition {value!r} is not evaluated locally")
