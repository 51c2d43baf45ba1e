"""The serverless application on an embedded AWS emulator (moto), in one process.

:class:`LocalStack` starts moto (S3, SQS, DynamoDB, EventBridge, Step Functions with
``execute_state_machine``), creates the resources as ``template.yaml`` does and runs the real
``statemachine/visualize.asl.json``. Lambda tasks are answered in-process by the real handlers in
``functions/<name>/app.py``: a botocore ``before-send.lambda.Invoke`` handler, inserted at the front of
``botocore.handlers.BUILTIN_HANDLERS`` before any client is made, calls the handler and returns its result
as the Invoke response (an exception becomes a function error, as in Lambda).

What the emulator lacks is substituted through the ASL's ``DefinitionSubstitutions``, and only that:
``BigSetResource`` (``arn:aws:states:::sagemaker:createProcessingJob.sync`` in AWS, which moto cannot run)
becomes the ARN of a local function that runs ``jobs/bigset/run.py`` in-process with the same request.

:func:`main` is ``gridtsne local``: upload sample images, deliver their upload events to the embed
function (as EventBridge -> SQS would), ask the API for a visualization, follow it to SUCCEEDED, download
the results and print the presigned URLs; ``--serve`` keeps a moto server on 127.0.0.1 so they open in a
browser.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote_plus, unquote

__all__ = ["FUNCTIONS", "LocalStack", "main", "repository_root"]

REGION = "us-east-1"
ACCOUNT = "123456789012"
#: The functions of the application, by short name (``functions/<name>/app.py``).
FUNCTIONS = ("prepare", "embed", "reduce", "render", "publish", "fail", "api", "trigger")
#: Short name of the local stand-in for the SageMaker Processing job.
BIGSET = "bigset"
FUNCTION_PREFIX = "gridtsne-"

Handler = Callable[[dict[str, Any], Any], Any]


def repository_root() -> Path:
    """The checkout holding ``functions/``, ``statemachine/`` and ``jobs/`` (``$GRIDTSNE_ROOT`` overrides)."""
    if env := os.environ.get("GRIDTSNE_ROOT"):
        return Path(env)
    for candidate in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (candidate / "statemachine" / "visualize.asl.json").is_file():
            return candidate
    raise FileNotFoundError("cannot find the repository (statemachine/visualize.asl.json); set GRIDTSNE_ROOT")


def function_arn(name: str) -> str:
    """The ARN the local stack gives function ``name``."""
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION_PREFIX}{name}"


def load_module(path: Path, name: str) -> ModuleType:
    """Import a handler file under a unique module name."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Context:
    """The parts of the Lambda context object the handlers (and Powertools) read."""

    function_name: str
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


class LambdaShim:
    """Answers ``lambda.Invoke`` calls in-process with registered handlers.

    ``faults`` lets tests make a function raise: ``faults[name] = exception`` (every call) or a list of
    exceptions consumed one per call.
    """

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self.calls: list[str] = []
        self.faults: dict[str, BaseException | list[BaseException]] = {}
        self._lock = threading.Lock()

    def register(self, name: str, handler: Handler) -> None:
        """Answer invocations of ``gridtsne-<name>`` (by name or ARN) with ``handler``."""
        self.handlers[name] = handler

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        """Call the handler as Lambda would (exceptions propagate)."""
        with self._lock:
            self.calls.append(name)
            fault = self.faults.get(name)
            if isinstance(fault, list):
                fault = fault.pop(0) if fault else None
        if fault is not None:
            raise fault
        return self.handlers[name](event, Context(FUNCTION_PREFIX + name))

    def __call__(self, request: Any, **kwargs: Any) -> Any:
        """The botocore ``before-send.lambda.Invoke`` handler."""
        from botocore.awsrequest import AWSResponse
        from botocore.compat import HTTPHeaders
        from moto.core.botocore_stubber import MockRawResponse

        path = unquote(request.url.split("/functions/", 1)[1].split("/", 1)[0])
        name = path.split(":function:", 1)[-1].split(":", 1)[0]
        name = name.removeprefix(FUNCTION_PREFIX)
        if name not in self.handlers:
            return None  # not ours: let the emulator answer
        body = request.body or b"{}"
        event = json.loads(body.decode() if isinstance(body, bytes) else body)
        headers = {"Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST"}
        try:
            payload = self.invoke(name, event)
        except Exception as exc:
            headers["X-Amz-Function-Error"] = "Unhandled"
            payload = {"errorType": type(exc).__name__, "errorMessage": str(exc), "stackTrace": []}
        raw = MockRawResponse(json.dumps(payload, default=str).encode())
        http_headers = HTTPHeaders()
        for key, value in headers.items():
            http_headers[key] = value
        return AWSResponse(request.url, 200, http_headers, raw)


def _without_metrics(module: ModuleType) -> Handler:
    """The module's handler, dropping its metrics after each call: with metrics disabled Powertools keeps
    them in memory and prints them once a hundred pile up."""
    handler: Handler = module.lambda_handler

    def call(event: dict[str, Any], context: Any) -> Any:
        try:
            return handler(event, context)
        finally:
            metrics = getattr(module, "metrics", None)
            if metrics is not None:
                metrics.clear_metrics()

    return call


@dataclass
class ApiResponse:
    """What API Gateway would answer."""

    status: int
    body: Any


class LocalStack:
    """The application's resources on moto, with the real handlers and the real state machine.

    ``execute=False`` records executions without running them (for testing one handler at a time).
    """

    bucket = "gridtsne-local"
    table = "gridtsne-jobs"
    upload_queue = "gridtsne-uploads"
    events_queue = "gridtsne-events"
    state_machine = "gridtsne-visualize"

    def __init__(
        self,
        root: Path | None = None,
        *,
        big_set_threshold: int = 4096,
        url_expires: int = 3600,
        embed_batch: int = 64,
        endpoint: str | None = None,
        execute: bool = True,
    ) -> None:
        self.root = root or repository_root()
        self.execute = execute
        self.big_set_threshold = big_set_threshold
        self.url_expires = url_expires
        self.embed_batch = embed_batch
        self.endpoint = endpoint
        self.shim = LambdaShim()
        self._mock: Any = None
        self._env: dict[str, str | None] = {}
        self.modules: dict[str, ModuleType] = {}
        self.state_machine_arn = ""
        self.upload_queue_url = ""
        self.events_queue_url = ""

    # -- life cycle ---------------------------------------------------------------------------------
    def environment(self) -> dict[str, str]:
        """The functions' environment (what the template sets), plus fake credentials."""
        env = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "GRIDTSNE_BUCKET": self.bucket,
            "JOB_TABLE": self.table,
            "EVENT_BUS": "default",
            "STATE_MACHINE_ARN": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{self.state_machine}",
            "URL_EXPIRES": str(self.url_expires),
            "BIG_SET_THRESHOLD": str(self.big_set_threshold),
            "EMBED_BATCH": str(self.embed_batch),
            "JOB_TTL_DAYS": "30",
            "POWERTOOLS_SERVICE_NAME": "gridtsne",
            "POWERTOOLS_METRICS_NAMESPACE": "gridtsne",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
        }
        if self.endpoint:
            env["AWS_ENDPOINT_URL_S3"] = self.endpoint
        return env

    def start(self) -> LocalStack:
        """Start the emulator and create every resource."""
        import botocore.handlers
        from moto import mock_aws

        for key, value in self.environment().items():
            self._env.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        # Requests that emit no metric (a GET) are normal here; Powertools warns about each.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        botocore.handlers.BUILTIN_HANDLERS.insert(0, ("before-send.lambda.Invoke", self.shim))
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": self.execute}})
        self._mock.start()
        for name in FUNCTIONS:
            module = load_module(self.root / "functions" / name / "app.py", f"gridtsne_function_{name}")
            self.modules[name] = module
            self.shim.register(name, _without_metrics(module))
        bigset = load_module(self.root / "jobs" / "bigset" / "run.py", "gridtsne_job_bigset")
        self.modules[BIGSET] = bigset
        self.shim.register(BIGSET, lambda event, _context: bigset.processing_handler(event))
        self._create_resources()
        return self

    def stop(self) -> None:
        """Stop the emulator and restore the environment."""
        import botocore.handlers

        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        entry = ("before-send.lambda.Invoke", self.shim)
        if entry in botocore.handlers.BUILTIN_HANDLERS:
            botocore.handlers.BUILTIN_HANDLERS.remove(entry)
        for key, value in self._env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._env.clear()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, service: str) -> Any:
        """A boto3 client on the emulator."""
        import boto3

        return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]

    def substitutions(self) -> dict[str, str]:
        """DefinitionSubstitutions as the template sets them, with the local stand-in for the big-set job."""
        subs = {
            f"{name.capitalize()}FunctionArn": function_arn(name)
            for name in ("prepare", "embed", "reduce", "render", "publish", "fail")
        }
        subs.update(
            BigSetResource=function_arn(BIGSET),  # AWS: arn:aws:states:::sagemaker:createProcessingJob.sync
            BigSetRoleArn=f"arn:aws:iam::{ACCOUNT}:role/gridtsne-bigset",
            BigSetImageUri=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/gridtsne-bigset:latest",
            BigSetInstanceType="ml.g5.xlarge",
            BucketName=self.bucket,
            JobTableName=self.table,
            # AWS: DISTRIBUTED with EXPRESS children; the emulator's interpreter runs Maps inline only.
            EmbedMapMode="INLINE",
            EmbedMapExecutionType="STANDARD",
        )
        return subs

    def definition(self) -> str:
        """The ASL text with the substitutions applied."""
        text = (self.root / "statemachine" / "visualize.asl.json").read_text()
        for name, value in self.substitutions().items():
            text = text.replace("${" + name + "}", value)
        if "${" in text:
            raise ValueError(f"unsubstituted name in the state machine: {text[text.index('${') :][:40]}")
        return text

    def _create_resources(self) -> None:
        s3 = self.client("s3")
        s3.create_bucket(Bucket=self.bucket)
        self.client("dynamodb").create_table(
            TableName=self.table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "id", "AttributeType": "S"},
                {"AttributeName": "collection", "AttributeType": "S"},
                {"AttributeName": "created", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-collection",
                    "KeySchema": [
                        {"AttributeName": "collection", "KeyType": "HASH"},
                        {"AttributeName": "created", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        sqs = self.client("sqs")
        self.upload_queue_url = sqs.create_queue(QueueName=self.upload_queue)["QueueUrl"]
        self.events_queue_url = sqs.create_queue(QueueName=self.events_queue)["QueueUrl"]
        queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{self.events_queue}"
        events = self.client("events")
        events.put_rule(
            Name="gridtsne-visualization-events",
            EventPattern=json.dumps({"source": ["gridtsne"]}),
            State="ENABLED",
        )
        events.put_targets(Rule="gridtsne-visualization-events", Targets=[{"Id": "queue", "Arn": queue_arn}])
        sfn = self.client("stepfunctions")
        self.state_machine_arn = sfn.create_state_machine(
            name=self.state_machine,
            definition=self.definition(),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/gridtsne-visualize",
        )["stateMachineArn"]

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
        """Put one object; return the EventBridge "Object Created" event S3 would emit."""
        s3 = s3 or self.client("s3")
        response = s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        return object_created_event(self.bucket, key, len(data), response["ETag"].strip('"'))

    def deliver(
        self, events: list[dict[str, Any]], *, batch_size: int = 32, via_queue: bool = False
    ) -> dict[str, int]:
        """Hand upload events to the embed function in SQS batches, as the EventBridge rule -> SQS -> Lambda
        event source mapping does; return how many messages succeeded and failed.

        ``via_queue`` sends them through the emulated queue (send, receive, delete the successes; failures
        stay on it); by default the batches are built directly, which is much faster on the emulator.
        """
        if via_queue:
            return self._deliver_via_queue(events, min(batch_size, 10))
        done = failed = 0
        for start in range(0, len(events), batch_size):
            chunk = events[start : start + batch_size]
            messages = [
                {"MessageId": str(uuid.uuid4()), "ReceiptHandle": uuid.uuid4().hex, "Body": json.dumps(e)}
                for e in chunk
            ]
            failures = self._embed_batch(messages)
            done += len(messages) - len(failures)
            failed += len(failures)
        return {"delivered": done, "failed": failed}

    def _embed_batch(self, messages: list[dict[str, Any]]) -> set[str]:
        try:
            response = self.shim.invoke("embed", sqs_event(messages, self.upload_queue))
        except Exception:  # the whole batch failed: Lambda leaves every message on the queue
            return {m["MessageId"] for m in messages}
        return {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}

    def _deliver_via_queue(self, events: list[dict[str, Any]], batch_size: int) -> dict[str, int]:
        sqs = self.client("sqs")
        for start in range(0, len(events), 10):
            chunk = events[start : start + 10]
            sqs.send_message_batch(
                QueueUrl=self.upload_queue_url,
                Entries=[{"Id": str(i), "MessageBody": json.dumps(e)} for i, e in enumerate(chunk)],
            )
        done = failed = 0
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.upload_queue_url, MaxNumberOfMessages=batch_size, VisibilityTimeout=900
            ).get("Messages", [])
            if not messages:
                break
            failures = self._embed_batch(messages)
            ok = [m for m in messages if m["MessageId"] not in failures]
            if ok:
                sqs.delete_message_batch(
                    QueueUrl=self.upload_queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(ok)],
                )
            done += len(ok)
            failed += len(failures)
        return {"delivered": done, "failed": failed}

    def api(
        self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None
    ) -> ApiResponse:
        """Call the API function with the event API Gateway (REST, proxy) would send."""
        response = self.shim.invoke("api", api_event(method, path, body, query))
        text = response.get("body") or "null"
        return ApiResponse(int(response["statusCode"]), json.loads(text))

    def wait(self, job: str, timeout: float = 600, interval: float = 0.5) -> dict[str, Any]:
        """Poll ``GET /v2/visualizations/{id}`` until the job succeeds or fails; return its output."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.api("GET", f"/v2/visualizations/{job}")
            output: dict[str, Any] = answer.body["output"]
            if output["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
                return output
            time.sleep(interval)

    def execution(self, job: str) -> dict[str, Any]:
        """The Step Functions execution of a job (its name is the job id)."""
        arn = self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{job}"
        result: dict[str, Any] = self.client("stepfunctions").describe_execution(executionArn=arn)
        return result

    def received_events(self, wait: float = 0) -> list[dict[str, Any]]:
        """Drain the queue the "gridtsne" EventBridge rule feeds (Visualization Succeeded / Failed)."""
        sqs = self.client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.events_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=int(wait)
            ).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.events_queue_url, ReceiptHandle=message["ReceiptHandle"])

    def download(self, job: str, out: Path) -> list[Path]:
        """Copy ``visualizations/<id>/`` outputs into ``out``."""
        from gridtsne.aws.job import OUTPUT_NAMES, job_prefix

        s3 = self.client("s3")
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name in OUTPUT_NAMES.values():
            data = s3.get_object(Bucket=self.bucket, Key=job_prefix(job) + name)["Body"].read()
            (out / name).write_bytes(data)
            written.append(out / name)
        return written


def object_created_event(bucket: str, key: str, size: int, etag: str) -> dict[str, Any]:
    """The EventBridge event S3 sends for a new object (the key URL-encoded, as S3 does)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": quote_plus(key, safe="/"), "size": size, "etag": etag, "sequencer": "0"},
            "request-id": uuid.uuid4().hex[:16],
            "requester": ACCOUNT,
            "reason": "PutObject",
        },
    }


def sqs_event(messages: list[dict[str, Any]], queue: str) -> dict[str, Any]:
    """The event Lambda's SQS poller sends for received messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


def api_event(
    method: str, path: str, body: Any = None, query: dict[str, str] | None = None
) -> dict[str, Any]:
    """An API Gateway REST proxy event."""
    resource = "/v2/visualizations/{id}" if path.rstrip("/").count("/") >= 3 else "/v2/visualizations"
    text = body if isinstance(body, str) or body is None else json.dumps(body)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json", "Host": "localhost"},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {"id": path.rsplit("/", 1)[-1]} if "{id}" in resource else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/Prod{path}",
            "stage": "Prod",
            "requestId": str(uuid.uuid4()),
            "accountId": ACCOUNT,
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": text,
        "isBase64Encoded": False,
    }


# -- gridtsne local ---------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``gridtsne local``."""
    parser.add_argument(
        "--images", type=Path, help="folder of images (default: samples/digits, or generated)"
    )
    parser.add_argument("--collection", default="demo", help="collection name (default: demo)")
    parser.add_argument("--out", type=Path, default=Path("out/demo"), help="where results are downloaded")
    parser.add_argument("--limit", type=int, help="upload at most this many images")
    parser.add_argument("--grid", help="RxC, either side optional")
    parser.add_argument("--tile", type=int, default=64, help="tile size in pixels")
    parser.add_argument("--perplexity", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--big-set-threshold", type=int, default=4096, help="N above which the big-set job runs"
    )
    parser.add_argument("--expires", type=int, default=3600, help="presigned URL lifetime in seconds")
    parser.add_argument("--serve", action="store_true", help="keep a moto server on 127.0.0.1 for the URLs")
    parser.add_argument("--port", type=int, default=5123, help="port of --serve")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for the job")


@dataclass
class _Say:
    quiet: bool = False

    def __call__(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)


def _sample_images(images: Path | None, limit: int | None, tmp: Path) -> Path:
    if images is not None:
        return images
    default = Path("samples/digits")
    if default.is_dir() and any(default.rglob("*.png")):
        return default
    from gridtsne_dev.samples import write_digits

    write_digits(tmp / "digits", limit=limit)
    return tmp / "digits"


def run_demo(args: argparse.Namespace, say: Callable[[str], None] | None = None) -> int:
    """``gridtsne local``: the whole application end to end on the embedded stack."""
    say = say or _Say()
    server = None
    endpoint = None
    if args.serve:
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
        server.start()
        endpoint = f"http://127.0.0.1:{args.port}"
    stack = LocalStack(big_set_threshold=args.big_set_threshold, url_expires=args.expires, endpoint=endpoint)
    params: dict[str, Any] = {"tile": args.tile, "perplexity": args.perplexity, "seed": args.seed}
    if args.grid:
        from gridtsne.core.assign import parse_grid

        rows, cols = parse_grid(args.grid)
        params.update({k: v for k, v in (("rows", rows), ("cols", cols)) if v})
    try:
        with stack, tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            folder = _sample_images(args.images, args.limit, Path(tmp))
            events = stack.upload(folder, args.collection, args.limit)
            say(f"uploaded {len(events)} files to s3://{stack.bucket}/uploads/{args.collection}/")
            counts = stack.deliver(events)
            say(f"embed function: {counts['delivered']} upload events handled, {counts['failed']} failed")
            answer = stack.api(
                "POST", "/v2/visualizations", {"collection": args.collection, "params": params}
            )
            if answer.status != 202:
                say(f"POST /v2/visualizations answered {answer.status}: {answer.body}")
                return 1
            job = answer.body["output"]["id"]
            say(f"POST /v2/visualizations -> 202 {answer.body['output']}")
            output = _follow(stack, job, args.timeout, say)
            if output["status"] != "succeeded":
                say(f"visualization {job} {output['status']}: {output.get('error')}")
                return 1
            files = stack.download(job, args.out)
            say(f"done in {time.perf_counter() - started:.1f} s; {output.get('count')} images placed")
            say(f"downloaded {', '.join(p.name for p in files)} to {args.out}/")
            for name, link in output["data"].items():
                print(f"{name}: {link['url']}")
            if server is not None:
                say(f"serving the results on {endpoint}; Ctrl-C to stop")
                _serve_forever()
            return 0
    finally:
        if server is not None:
            server.stop()


def _follow(stack: LocalStack, job: str, timeout: float, say: Callable[[str], None]) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last = None
    while True:
        output: dict[str, Any] = stack.api("GET", f"/v2/visualizations/{job}").body["output"]
        now = (output["status"], output["progress"]["stage"], output["progress"]["percent"])
        if now != last:
            say(f"  {output['status']:<9} {now[1]:<8} {now[2]:>3}%")
            last = now
        if output["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return output
        time.sleep(0.3)


def _serve_forever() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``gridtsne local`` (and ``python -m gridtsne_dev.stack``)."""
    parser = argparse.ArgumentParser(prog="gridtsne local", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run_demo(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
