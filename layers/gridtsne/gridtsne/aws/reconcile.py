"""A job's record follows its execution to the end: nothing stays PENDING or RUNNING once the run is over.

The state machine records its own outcome (Publish marks the job SUCCEEDED, RecordFailure FAILED), but a
run can end without either: the failure-recording step itself fails, the execution is aborted
(``StopExecution``) or runs past the state machine's ``TimeoutSeconds``. For every such end Step Functions
puts a "Step Functions Execution Status Change" event on the default bus; the template's rule hands the
FAILED, TIMED_OUT and ABORTED ones to the ``reconcile`` function, which marks the job FAILED with the
execution's error and cause unless its record already says SUCCEEDED or FAILED (:func:`reconcile`).

The job is the execution input's ``job_id``; when the event carries no input (Step Functions leaves out
inputs over 248 KiB), the execution's name.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gridtsne.aws.outcome import record_failure
from gridtsne.aws.table import JobTable

__all__ = ["DETAIL_TYPE", "ENDED", "ExecutionStatusChange", "execution_status_change", "reconcile"]

#: The ``detail-type`` of Step Functions' execution events.
DETAIL_TYPE = "Step Functions Execution Status Change"

#: The ends of an execution that leave the job to reconcile, with the error and cause recorded when the
#: event names none.
ENDED: dict[str, tuple[str, str]] = {
    "FAILED": ("States.Failed", "the execution failed before the job's failure was recorded"),
    "TIMED_OUT": ("States.Timeout", "the execution ran past the state machine's time limit"),
    "ABORTED": ("States.Aborted", "the execution was stopped"),
}


class ExecutionStatusChange(BaseModel):
    """The ``detail`` of a "Step Functions Execution Status Change" event (the fields used here)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    execution_arn: str = Field(alias="executionArn", description="The execution.")
    state_machine_arn: str = Field(alias="stateMachineArn", description="Its state machine.")
    name: str = Field(min_length=1, description="The execution's name.")
    status: str = Field(description="RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED...")
    input: str | None = Field(None, description="The execution's input as JSON text, if included.")
    error: str | None = Field(None, description="The error the execution ended with, if any.")
    cause: str | None = Field(None, description="Its cause, if any.")

    def job_id(self) -> str:
        """The job the execution ran: its input's ``job_id``, else the execution's name."""
        try:
            given = json.loads(self.input or "")
        except ValueError:
            given = None
        if isinstance(given, dict) and isinstance(given.get("job_id"), str) and given["job_id"]:
            return str(given["job_id"])
        return self.name


class _Envelope(BaseModel):
    source: Literal["aws.states"]
    detail_type: Literal["Step Functions Execution Status Change"] = Field(alias="detail-type")
    detail: ExecutionStatusChange


def execution_status_change(event: Any) -> ExecutionStatusChange:
    """The detail of an EventBridge "Step Functions Execution Status Change" event.

    Raises
    ------
    ValueError
        The event is not one (pydantic's ``ValidationError`` is a ValueError).
    """
    return _Envelope.model_validate(event).detail


def reconcile(
    table: JobTable, change: ExecutionStatusChange, *, bus: str = "default", events: Any = None
) -> dict[str, Any]:
    """Mark the execution's job FAILED if the execution ended without finishing it.

    Parameters
    ----------
    table
        The job table.
    change
        The execution's status change (:func:`execution_status_change`).
    bus, events
        Where "Visualization Failed" goes (the bus name, an EventBridge client).

    Returns
    -------
    dict
        ``{"id", "status", "reconciled"}``: the job, its status afterwards (None without a record) and
        whether this call marked it FAILED.
    """
    job = change.job_id()
    if change.status not in ENDED:
        record = table.get(job)
        return {"id": job, "status": record.status if record else None, "reconciled": False}
    default_error, default_cause = ENDED[change.status]
    try:
        result = record_failure(
            table, job, change.error or default_error, change.cause or default_cause, bus=bus, events=events
        )
    except KeyError:  # the record has expired, or was never written
        return {"id": job, "status": None, "reconciled": False}
    return {"id": job, "status": result["status"], "reconciled": result["recorded"]}
