"""The contract of the application's events: their JSON Schemas in ``events/schemas/``, one per type.

:func:`check_event` validates an event against the schema of its ``detail-type``; the embedded stack checks
every event the application emits with it (:meth:`~gridtsne_dev.stack.EmbeddedStack.received_events`).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from gridtsne_dev.template import ROOT

__all__ = ["SCHEMAS", "check_event", "schema"]

#: Where the schemas are, ``<detail-type in snake case>.json``.
SCHEMAS = ROOT / "events" / "schemas"


@functools.cache
def schema(detail_type: str) -> dict[str, Any]:
    """The JSON Schema of events of ``detail_type`` (e.g. "Visualization Succeeded").

    Raises
    ------
    FileNotFoundError
        No schema for that type: an event without a contract.
    """
    data: dict[str, Any] = json.loads((SCHEMAS / f"{detail_type.lower().replace(' ', '_')}.json").read_text())
    return data


def check_event(event: dict[str, Any]) -> None:
    """Validate an EventBridge event against its type's schema.

    Raises
    ------
    jsonschema.ValidationError
        The event breaks its contract.
    """
    import jsonschema

    contract = schema(str(event.get("detail-type")))
    jsonschema.validate(event, contract, cls=jsonschema.Draft202012Validator)
