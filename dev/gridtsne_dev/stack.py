"""The serverless application on an embedded AWS emulator (moto), in one process.

:class:`EmbeddedStack` starts moto, creates the resources ``template.yaml`` declares
(:mod:`~gridtsne_dev.resources`) and answers Lambda invokes with the real handlers
(:mod:`~gridtsne_dev.lambdas`). It plays the outside world (uploads, the upload queue, API requests, the
bus: :mod:`~gridtsne_dev.events`, :mod:`~gridtsne_dev.bus`) and follows a job to its end (:meth:`wait`),
playing the "Execution Status Change" event that moto does not send (:meth:`execution_ended`).
"""

from __future__ import annotations

import json
import os
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridtsne_dev.bus import drain, routes
from gridtsne_dev.events import (
    CALLER,
    api_event,
    bus_event,
    execution_status_event,
    object_created_event,
    sqs_event,
)
from gridtsne_dev.intrinsics import ACCOUNT, REGION, STACK_NAME
from gridtsne_dev.lambdas import LambdaShim, load_handler, load_module, read_again
from gridtsne_dev.resources import BIGSET, Plan, plan
from gridtsne_dev.template import ROOT

__all__ = ["ApiResponse", "EmbeddedStack"]

#: Job statuses after which nothing changes.
FINAL = ("succeeded", "failed")


@dataclass
class ApiResponse:
    """What API Gateway would answer: the status code and the decoded JSON body."""

    status: int
    body: Any


class EmbeddedStack:
    """The application's resources on moto, with the real handlers and the real state machine.

    Parameters
    ----------
    root
        The checkout holding ``functions/``, ``statemachine/`` and ``jobs/`` (default: this one).
    template
        A parsed template (default: ``template.yaml``).
    big_set_threshold, url_expires, embed_batch
        The template parameters ``BigSetThreshold``, ``UrlExpiresSeconds``, ``EmbedBatchSize``.
    endpoint
        Where presigned URLs point (a moto server), instead of AWS.
    execute
        False records executions without running them (for testing one handler at a time).
    """

    def __init__(
        self,
        root: Path | None = None,
        *,
        template: dict[str, Any] | None = None,
        big_set_threshold: int = 100_000,
        url_expires: int = 3600,
        embed_batch: int = 64,
        endpoint: str | None = None,
        execute: bool = True,
    ) -> None:
        self.root = root or ROOT
        self.execute = execute
        self.big_set_threshold = big_set_threshold
        self.endpoint = endpoint
        self.plan: Plan = plan(
            template,
            {
                "BigSetThreshold": big_set_threshold,
                "UrlExpiresSeconds": url_expires,
                "EmbedBatchSize": embed_batch,
                # A big-set image makes the template route big sets to the job; here it runs in-process.
                "ProcessingImageUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{BIGSET}:latest",
                "LogLevel": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARN"),
            },
        )
        names = self.plan.names
        env = self.plan.environment()
        # The bucket and table the functions use (the template has an access-log bucket too).
        self.bucket, self.table = env["GRIDTSNE_BUCKET"], env["JOB_TABLE"]
        ((upload_queue, (self.upload_function, self.upload_batch)),) = self.plan.queue_consumers().items()
        self.upload_queue = names[upload_queue]
        (machine,) = self.plan.of_type("AWS::Serverless::StateMachine")
        self.state_machine_arn = self.plan.attributes[machine]["Ref"]
        self.events_queue = f"{STACK_NAME}-events-listener"
        self.shim = LambdaShim()
        self._mock: Any = None
        self._saved_env: dict[str, str | None] = {}

    # -- life cycle ---------------------------------------------------------------------------------
    def environment(self) -> dict[str, str]:
        """The functions' environment as the template sets it, plus fake credentials and local switches."""
        env = self.plan.environment() | {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
        if self.endpoint:
            env["AWS_ENDPOINT_URL_S3"] = self.endpoint
        return env

    def start(self) -> EmbeddedStack:
        """Start the emulator, create every resource and register the handlers."""
        from moto import mock_aws

        for key, value in self.environment().items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        # Requests that emit no metric (a GET) are normal here; Powertools warns about each.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        self.shim.install()
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": self.execute}})
        self._mock.start()
        for name in self.plan.functions().values():
            path = self.root / "functions" / name / "app.py"
            self.shim.register(name, load_handler(path, f"gridtsne_function_{name}"))
        job = load_module(self.root / "jobs" / "bigset" / "run.py", "gridtsne_job_bigset")
        self.shim.register(BIGSET, lambda event, _context: job.processing_handler(event))
        self.plan.create(self.client, self.root)
        self._listen()
        return self

    def stop(self) -> None:
        """Stop the emulator and restore the environment."""
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        self.shim.uninstall()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def __enter__(self) -> EmbeddedStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, service: str) -> Any:
        """A boto3 client on the emulator."""
        import boto3

        return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]

    def queue_url(self, name: str) -> str:
        """The URL of the queue ``name``."""
        url: str = self.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
        return url

    def _listen(self) -> None:
        """Not in the template: a queue that receives the application's own events (the template's
        ``EventSource`` output), so that tests and the demo can see them (:meth:`received_events`)."""
        source = self.plan.template["Outputs"]["EventSource"]["Value"]
        arn = self.client("sqs").get_queue_attributes(
            QueueUrl=self.client("sqs").create_queue(QueueName=self.events_queue)["QueueUrl"],
            AttributeNames=["QueueArn"],
        )["Attributes"]["QueueArn"]
        events = self.client("events")
        events.put_rule(
            Name=self.events_queue, EventPattern=json.dumps({"source": [source]}), State="ENABLED"
        )
        events.put_targets(Rule=self.events_queue, Targets=[{"Id": "listener", "Arn": arn}])

    # -- what the outside world does ------------------------------------------------------------------
    def upload(self, folder: Path, collection: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Put ``folder``'s files under ``uploads/<collection>/``; return their "Object Created" events."""
        s3 = self.client("s3")
        files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
        events = []
        for path in files[:limit]:
            key = f"uploads/{collection}/{path.relative_to(folder).as_posix()}"
            events.append(self.put_object(key, path.read_bytes(), s3))
        return events

    def put_object(self, key: str, data: bytes, s3: Any = None) -> dict[str, Any]:
        """Put one object; return the EventBridge "Object Created" event S3 would emit.

        The bucket sends no events itself here (moto's would carry the key unencoded, unlike S3's): hand
        them to :meth:`deliver`, as the template's upload rule and queue would.
        """
        s3 = s3 or self.client("s3")
        response = s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        return object_created_event(self.bucket, key, len(data), response["ETag"].strip('"'))

    def deliver(
        self, events: list[dict[str, Any]], *, batch_size: int | None = None, via_queue: bool = False
    ) -> dict[str, int]:
        """Hand upload events to the function reading the upload queue, in SQS batches, as the template's
        rule -> queue -> event source mapping does; return how many messages succeeded and failed.

        ``batch_size`` defaults to the template's. ``via_queue`` sends them through the emulated queue
        (send, receive, delete the successes; failures stay on it); by default the batches are built
        directly, which is much faster on the emulator.
        """
        size = batch_size or self.upload_batch
        if via_queue:
            return self._deliver_via_queue(events, min(size, 10))
        done = failed = 0
        for start in range(0, len(events), size):
            messages = [
                {"MessageId": str(uuid.uuid4()), "ReceiptHandle": uuid.uuid4().hex, "Body": json.dumps(e)}
                for e in events[start : start + size]
            ]
            failures = self._consume(messages)
            done += len(messages) - len(failures)
            failed += len(failures)
        return {"delivered": done, "failed": failed}

    def _consume(self, messages: list[dict[str, Any]]) -> set[str]:
        """Invoke the queue's function with one batch; return the ids of the messages that failed."""
        try:
            response = self.shim.invoke(self.upload_function, sqs_event(messages, self.upload_queue))
        except Exception:  # the whole batch failed: Lambda leaves every message on the queue
            return {m["MessageId"] for m in messages}
        return {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}

    def _deliver_via_queue(self, events: list[dict[str, Any]], batch_size: int) -> dict[str, int]:
        sqs, url = self.client("sqs"), self.queue_url(self.upload_queue)
        for start in range(0, len(events), 10):
            entries = [
                {"Id": str(i), "MessageBody": json.dumps(e)} for i, e in enumerate(events[start : start + 10])
            ]
            sqs.send_message_batch(QueueUrl=url, Entries=entries)
        done = failed = 0
        while True:
            received = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=batch_size, VisibilityTimeout=900
            )
            messages = received.get("Messages", [])
            if not messages:
                return {"delivered": done, "failed": failed}
            failures = self._consume(messages)
            ok = [m for m in messages if m["MessageId"] not in failures]
            if ok:
                entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(ok)]
                sqs.delete_message_batch(QueueUrl=url, Entries=entries)
            done += len(ok)
            failed += len(failures)

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, str] | None = None,
        caller: str | None = CALLER,
    ) -> ApiResponse:
        """Call the API function with the event API Gateway (REST, proxy) would send, signed by ``caller``."""
        response = self.shim.invoke("api", api_event(method, path, body, query, caller))
        return ApiResponse(int(response["statusCode"]), json.loads(response.get("body") or "null"))

    def put_event(self, detail_type: str, detail: Any, source: str = "gridtsne") -> list[dict[str, Any]]:
        """Put an event on the bus, as a client would: hand it to the functions whose template rules match
        it and to the listener (:meth:`received_events`); return what the functions answered.

        The emulator's bus cannot deliver to functions (it raises on a rule with one as its target), so
        this plays the bus: the template's patterns, matched by the emulator's own matcher.
        """
        from moto.events.models import EventPattern

        event = bus_event(source, detail_type, detail)
        self.client("sqs").send_message(
            QueueUrl=self.queue_url(self.events_queue), MessageBody=json.dumps(event)
        )
        functions = self.plan.functions()
        answers = []
        for rule in self.plan.rules().values():
            if EventPattern.load(json.dumps(rule["EventPattern"])).matches_event(event):  # type: ignore[arg-type]
                for target in rule["Targets"]:
                    if target["Id"] in functions:
                        answers.append(self.shim.invoke(functions[target["Id"]], event))
        return answers

    def start_by_hand(self, payload: Any, name: str | None = None) -> str:
        """Start the state machine as a person in the console does (any input, any name); return the name."""
        name = name or f"console-{uuid.uuid4().hex[:12]}"
        self.client("stepfunctions").start_execution(
            stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(payload)
        )
        return name

    def wait(
        self,
        job: str,
        timeout: float = 600,
        on_change: Callable[[dict[str, Any]], None] | None = None,
        interval: float = 0.3,
    ) -> dict[str, Any]:
        """Poll ``GET /v2/visualizations/{id}`` until the job succeeds or fails, or ``timeout`` seconds pass.

        The job's record is final a moment before its execution is (the last task writes it); when the
        stack runs executions, this also waits for the execution to end, and plays the status-change event
        AWS sends then (:meth:`execution_ended`), once. An unknown job is waited for too (an execution
        started by hand has no record until its first step).

        Parameters
        ----------
        job
            The job id.
        timeout
            Seconds to wait; then the last answer is returned, whatever its status.
        on_change
            Called with the answer's ``output`` whenever its status, stage or percent changes.
        interval
            Seconds between polls.

        Returns
        -------
        dict
            The last ``output`` of the GET answer (``status``, ``progress``, ``data`` with the URLs...).
        """
        deadline = time.monotonic() + timeout
        last = None
        ended = not self.execute
        while True:
            answer = read_again(lambda: self.api("GET", f"/v2/visualizations/{job}"))
            if answer.status == 404 and time.monotonic() < deadline:
                # An execution started by hand is a job once its first step has registered it.
                time.sleep(interval)
                continue
            if not ended and self.execution(job)["status"] != "RUNNING":
                self.execution_ended(job)
                ended = True
                answer = read_again(lambda: self.api("GET", f"/v2/visualizations/{job}"))
            output: dict[str, Any] = answer.body["output"]
            now = (output["status"], output["progress"]["stage"], output["progress"]["percent"])
            if now != last and on_change is not None:
                on_change(output)
            last = now
            if time.monotonic() > deadline:
                return output
            if output["status"] in FINAL and ended:
                return output
            time.sleep(interval)

    def emit(self, event: dict[str, Any]) -> list[Any]:
        """Deliver an event as EventBridge would, to every function whose rule in the template matches it;
        return their answers (exceptions propagate)."""
        return [self.shim.invoke(name, event) for name in routes(self.plan, event)]

    def execution_ended(self, job: str) -> list[Any]:
        """Emit the job's execution's "Execution Status Change" event as AWS does when it ends."""
        return self.emit(execution_status_event(self.execution(job)))

    def execution(self, job: str) -> dict[str, Any]:
        """The job's latest execution (``DescribeExecution``): its record's, else the newest named by it."""
        from gridtsne.aws.table import JobTable

        sfn = self.client("stepfunctions")
        record = JobTable(self.table).get(job)
        arn = record.execution_arn if record else None
        if not arn:
            listed = sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]
            named = [e for e in listed if e["name"] == job or e["name"].startswith(job + "-")]
            if not named:
                raise KeyError(f"no execution of job {job!r}")
            arn = max(named, key=lambda e: e["startDate"])["executionArn"]
        result: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        return result

    def received_events(self, wait: float = 0) -> list[dict[str, Any]]:
        """Drain the ``gridtsne`` events received so far, checked by :func:`~gridtsne_dev.bus.drain`."""
        return drain(self.client("sqs"), self.queue_url(self.events_queue), wait)

    def download(self, job: str, out: Path) -> list[Path]:
        """Copy the job's outputs (``visualizations/<id>/``) into ``out``; return their paths."""
        from gridtsne.aws.job import OPTIONAL_OUTPUTS, OUTPUT_NAMES, job_prefix

        s3, prefix = self.client("s3"), job_prefix(job)
        stored = {o["Key"] for o in s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix).get("Contents", [])}
        out.mkdir(parents=True, exist_ok=True)
        names = [n for o, n in OUTPUT_NAMES.items() if o not in OPTIONAL_OUTPUTS or prefix + n in stored]
        for name in names:
            s3.download_file(self.bucket, prefix + name, str(out / name))
        return [out / name for name in names]
