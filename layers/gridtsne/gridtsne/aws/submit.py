"""Starting a job, once: the job record first, then the execution named by the job id."""

from __future__ import annotations

from typing import Any

from gridtsne.aws.events import JobInput
from gridtsne.aws.job import JobParams, JobRecord, job_id
from gridtsne.aws.table import JobTable

__all__ = ["submit"]


def submit(
    table: JobTable,
    sfn: Any,
    state_machine_arn: str,
    collection: str,
    params: JobParams,
    token: str = "",
) -> tuple[JobRecord, bool]:
    """Create the job record and start its execution, once: return ``(record, started)``.

    The execution name is the job id, so a duplicate request (or a redelivered event) finds the existing
    record, or Step Functions answers ExecutionAlreadyExists, and nothing runs twice.

    Parameters
    ----------
    table
        The job table.
    sfn
        A Step Functions client.
    state_machine_arn
        The ``visualize`` state machine.
    collection, params, token
        The request; together they name the job (:func:`~gridtsne.aws.job.job_id`).
    """
    job = job_id(collection, params, token)
    record, created = table.create(job, collection, params)
    if not created and (record.execution_arn or record.status != "PENDING"):
        return record, False
    payload = JobInput(job_id=job, collection=collection, params=params).model_dump_json()
    try:
        response = sfn.start_execution(stateMachineArn=state_machine_arn, name=job, input=payload)
    except sfn.exceptions.ExecutionAlreadyExists:
        return record, False
    table.started(job, response["executionArn"])
    return record, True
