"""The DynamoDB job table: one :class:`~gridtsne.aws.job.JobRecord` per job.

The table is keyed by ``id`` with a global secondary index ``by-collection`` (partition key
``collection``, sort key ``created``) for listing, and ``expires_at`` (epoch seconds) as its time-to-live
attribute. Idempotency records share the table: ``id`` ``request#<key>`` and ``job``, the id of the job
that request created (:meth:`JobTable.claim`); they have no ``collection``, so the index leaves them out.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from gridtsne.aws.job import JobParams, JobRecord

__all__ = ["JobTable"]

#: The id prefix of idempotency records.
REQUEST = "request#"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _now() -> str:
    return _iso(datetime.now(UTC))


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals back to int/float, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class JobTable:
    """The DynamoDB job table."""

    def __init__(self, name: str, resource: Any = None, ttl_days: int | None = None) -> None:
        if resource is None:
            import boto3

            resource = boto3.resource("dynamodb")
        self.name = name
        self.ttl_days = ttl_days
        self.table = resource.Table(name)

    def _expiry(self, item: dict[str, Any]) -> dict[str, Any]:
        if self.ttl_days:
            # DynamoDB's time to live removes the record this long after creation.
            item["expires_at"] = int(time.time()) + int(self.ttl_days) * 86400
        return item

    def claim(self, key: str, job: str) -> str:
        """Bind the idempotency ``key`` to ``job`` unless it is bound already; return the bound job id.

        One conditional write: of two requests with the same key, exactly one binds its job.
        """
        item = self._expiry({"id": REQUEST + key, "job": job, "created": _now()})
        try:
            self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(id)")
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            found = self.table.get_item(Key={"id": REQUEST + key}, ConsistentRead=True).get("Item")
            if found is None:  # expired in between: try once more
                return self.claim(key, job)
            return str(found["job"])
        return job

    def create(
        self, job: str, collection: str, params: JobParams, principal: str = ""
    ) -> tuple[JobRecord, bool]:
        """Create a PENDING record owned by ``principal``; return ``(record, created)``, the existing
        record if the id is taken."""
        now = _now()
        item: dict[str, Any] = self._expiry(
            {
                "id": job,
                "collection": collection,
                "status": "PENDING",
                "params": json.dumps(params.model_dump(), sort_keys=True),
                "progress": {"stage": "queued", "percent": 0},
                "created": now,
                "updated": now,
                "principal": principal,
                "secret": secrets.token_hex(32),
            }
        )
        try:
            self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(id)")
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            existing = self.get(job)
            if existing is None:  # deleted in between: try once more
                return self.create(job, collection, params, principal)
            return existing, False
        record = self._record(item)
        return record, True

    def started(self, job: str, execution_arn: str) -> None:
        """Remember the execution that runs the job."""
        self._update(job, {"execution_arn": execution_arn})

    def progress(self, job: str, stage: str, percent: int, eta: float | None = None) -> None:
        """Record the stage now running, the job's percent and the seconds the stage has left (kept as the
        time it should end); a finished job is left alone."""
        now = datetime.now(UTC)
        value: dict[str, Any] = {"stage": stage, "percent": max(0, min(100, int(percent)))}
        if eta is not None:
            value["eta"] = _iso(now + timedelta(seconds=max(0.0, eta)))
        with contextlib.suppress(self.table.meta.client.exceptions.ConditionalCheckFailedException):
            self.table.update_item(
                Key={"id": job},
                UpdateExpression="SET progress = :p, #s = :running, updated = :u",
                ConditionExpression="attribute_exists(id) AND NOT #s IN (:done, :failed)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":p": value,
                    ":running": "RUNNING",
                    ":done": "SUCCEEDED",
                    ":failed": "FAILED",
                    ":u": _iso(now),
                },
            )

    def succeed(
        self,
        job: str,
        outputs: dict[str, str],
        count: int | None = None,
        quality: dict[str, Any] | None = None,
    ) -> None:
        """Mark the job SUCCEEDED with its output keys, image count and the layout's quality block."""
        values: dict[str, Any] = {
            "status": "SUCCEEDED",
            "outputs": outputs,
            "progress": {"stage": "done", "percent": 100},
        }
        if count is not None:
            values["count"] = count
        if quality:
            values["quality"] = json.dumps(quality, sort_keys=True)  # as text: DynamoDB takes no floats
        self._update(job, values)

    def fail(self, job: str, error: str, cause: str) -> bool:
        """Mark the job FAILED with the error name and its cause (the stage it failed in is kept).

        A finished job (SUCCEEDED or FAILED) is left alone: a late failure never undoes a success nor
        replaces the first cause.

        Returns
        -------
        bool
            True if this call marked the job FAILED, False if it had already finished.

        Raises
        ------
        KeyError
            The job has no record.
        """
        try:
            self._update(job, {"status": "FAILED", "error": error, "cause": cause[:4000]}, unfinished=True)
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            if self.get(job) is None:
                raise KeyError(f"no job record {job!r}") from None
            return False
        return True

    def get(self, job: str) -> JobRecord | None:
        """The record, or None (also for an idempotency record's id)."""
        if job.startswith(REQUEST):
            return None
        item = self.table.get_item(Key={"id": job}, ConsistentRead=True).get("Item")
        return None if item is None else self._record(item)

    def list(self, collection: str, limit: int = 50) -> list[JobRecord]:
        """The collection's jobs, newest first."""
        from boto3.dynamodb.conditions import Key

        response = self.table.query(
            IndexName="by-collection",
            KeyConditionExpression=Key("collection").eq(collection),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [self._record(item) for item in response.get("Items", [])]

    def _update(self, job: str, values: dict[str, Any], *, unfinished: bool = False) -> None:
        """Set ``values`` on an existing record (KeyError if none); with ``unfinished``, only on a record
        that is neither SUCCEEDED nor FAILED (DynamoDB's ConditionalCheckFailedException otherwise)."""
        values = {**values, "updated": _now()}
        names = {f"#k{i}": k for i, k in enumerate(values)}
        attributes = {f":v{i}": v for i, v in enumerate(values.values())}
        condition = "attribute_exists(id)"
        if unfinished:
            condition += " AND NOT #status IN (:done, :failed)"
            names["#status"] = "status"
            attributes.update({":done": "SUCCEEDED", ":failed": "FAILED"})
        try:
            self.table.update_item(
                Key={"id": job},
                UpdateExpression="SET " + ", ".join(f"#k{i} = :v{i}" for i in range(len(values))),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=attributes,
            )
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            if unfinished:
                raise
            raise KeyError(f"no job record {job!r}") from None

    @staticmethod
    def _record(item: dict[str, Any]) -> JobRecord:
        data = _plain(item)
        for name in ("params", "quality"):
            if isinstance(data.get(name), str):
                data[name] = json.loads(data[name])
        return JobRecord.model_validate(data)
