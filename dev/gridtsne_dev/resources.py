"""The application's resources on the emulator, created from ``template.yaml``.

:func:`plan` reads the template (through :func:`gridtsne_dev.template.load_template`), gives every resource
a local physical name and ARN, against which (and the parameters) :class:`~gridtsne_dev.intrinsics.Intrinsics`
resolves ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` and ``Fn::If``. :meth:`Plan.create` then makes
on moto what the template declares: the bucket, the job table (key schema, indexes, TTL), the queues (the
upload queue with its redrive policy to the dead-letter queue), the EventBridge rules with their event
patterns (``AWS::Events::Rule`` and the functions' ``EventBridgeRule`` events) and the state machine from
its ASL file with the template's ``DefinitionSubstitutions``. Of a bucket only the name counts here
(encryption, versioning, access logging, public-access blocks and lifecycle rules change nothing locally),
and the application bucket's EventBridge
notifications are played by ``EmbeddedStack.deliver`` (moto's would carry keys unencoded, unlike S3's).

Substituted, because the emulator lacks them (:data:`LOCAL_SUBSTITUTIONS`): ``BigSetResource`` (a
SageMaker ``.sync`` integration, which moto cannot run) becomes the ARN of the in-process function that runs
``jobs/bigset/run.py``; ``EmbedMapMode`` ``INLINE`` and ``EmbedMapExecutionType`` ``STANDARD``, because
moto's interpreter runs Maps inline only. Resource types the emulator need not create are listed with the
reason in :data:`SKIPPED`; any other type fails loudly (:class:`UnsupportedResourceError`), so the template
cannot grow a resource the embedded stack silently lacks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridtsne_dev.intrinsics import ACCOUNT, REGION, STACK_NAME, Intrinsics
from gridtsne_dev.template import load_template

__all__ = [
    "LOCAL_SUBSTITUTIONS",
    "SKIPPED",
    "Plan",
    "UnsupportedResourceError",
    "plan",
]

#: Short name of the in-process stand-in for the SageMaker Processing job.
BIGSET = "bigset"

#: Local physical names where the default ``gridtsne-<kebab-case logical id>`` will not do: the bucket
#: and queue names that the sample events under ``events/`` carry, and the table's short name.
PHYSICAL_NAMES = {"Bucket": "gridtsne-local", "EmbedQueue": "gridtsne-uploads", "JobTable": "gridtsne-jobs"}

#: ``DefinitionSubstitutions`` that differ from the template's, and why (see the module docstring).
LOCAL_SUBSTITUTIONS = {
    "BigSetResource": "arn:aws:lambda:{region}:{account}:function:{stack}-" + BIGSET,
    "EmbedMapMode": "INLINE",
    "EmbedMapExecutionType": "STANDARD",
}

#: Resource types the embedded stack does not create, and why.
SKIPPED = {
    "AWS::S3::BucketPolicy": "access policy: the emulator does not enforce IAM",
    "AWS::SQS::QueuePolicy": "access policy: the emulator does not enforce IAM",
    "AWS::IAM::Role": "the emulator does not enforce IAM; only its ARN is used",
    "AWS::Serverless::LayerVersion": "the handlers import the library and its dependencies from the checkout",
    "AWS::Serverless::Function": "answered in-process by functions/<name>/app.py (gridtsne_dev.lambdas)",
    "AWS::Serverless::Api": "EmbeddedStack.api sends the API Gateway proxy event to the api function",
    "AWS::Logs::LogGroup": "no execution logs are delivered locally",
    "AWS::CloudWatch::Alarm": "no metrics are published locally",
}

#: Function event sources and how the embedded stack plays them.
EVENT_SOURCES = {
    "EventBridgeRule": "created as a rule with the function as its target",
    "SQS": "EmbeddedStack.deliver hands the queue's batches to the function",
    "Api": "EmbeddedStack.api",
}

_ARNS = {
    "AWS::S3::Bucket": "arn:aws:s3:::{name}",
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
    "AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "AWS::Events::Rule": "arn:aws:events:{region}:{account}:rule/{name}",
    "AWS::Serverless::Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "AWS::Serverless::StateMachine": "arn:aws:states:{region}:{account}:stateMachine:{name}",
    "AWS::IAM::Role": "arn:aws:iam::{account}:role/{name}",
    "AWS::Logs::LogGroup": "arn:aws:logs:{region}:{account}:log-group:{name}",
}


class UnsupportedResourceError(ValueError):
    """The template declares something the embedded stack can neither create nor knowingly skip."""


def _arn(kind: str, name: str) -> str:
    return _ARNS[kind].format(region=REGION, account=ACCOUNT, name=name)


def _physical_name(logical: str, resource: dict[str, Any]) -> str:
    if resource["Type"] == "AWS::Serverless::Function":
        return f"{STACK_NAME}-{function_folder(resource)}"
    kebab = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", logical).lower()
    return PHYSICAL_NAMES.get(logical, f"{STACK_NAME}-{kebab}")


def function_folder(resource: dict[str, Any]) -> str:
    """The short name of a function: the folder of its ``CodeUri`` (``functions/<name>/``)."""
    return Path(str(resource["Properties"]["CodeUri"])).name


@dataclass
class Plan(Intrinsics):
    """The template with every resource named locally, its intrinsic functions resolvable.

    Attributes
    ----------
    template
        The parsed template.
    names
        Physical name by logical id.
    """

    template: dict[str, Any]
    names: dict[str, str]

    # -- what the template declares ------------------------------------------------------------------
    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        """Resources of one type by logical id, their properties resolved."""
        return {
            logical: self.resolve(resource.get("Properties", {}))
            for logical, resource in self.template["Resources"].items()
            if resource["Type"] == kind
        }

    def functions(self) -> dict[str, str]:
        """Every function's short name (its folder under ``functions/``) by logical id."""
        resources = self.template["Resources"]
        return {
            logical: function_folder(resources[logical])
            for logical in self.of_type("AWS::Serverless::Function")
        }

    def environment(self) -> dict[str, str]:
        """The functions' environment variables: the template's globals, then each function's own.

        The handlers share one process here, so two functions that set one variable differently are an
        error; ``GRIDTSNE_MODEL`` is left out (it names the model layer's mount point, ``/opt/model``,
        where the library otherwise finds the model build of the checkout).
        """
        globals_ = self.template.get("Globals", {}).get("Function", {})
        env = {
            k: str(v) for k, v in self.resolve(globals_.get("Environment", {})).get("Variables", {}).items()
        }
        own: dict[str, str] = {}
        for properties in self.of_type("AWS::Serverless::Function").values():
            for key, value in properties.get("Environment", {}).get("Variables", {}).items():
                if key == "GRIDTSNE_MODEL":
                    continue
                if own.setdefault(key, str(value)) != str(value):
                    raise UnsupportedResourceError(
                        f"functions set {key} differently; they share one process here"
                    )
        return env | own

    def rules(self) -> dict[str, dict[str, Any]]:
        """Every EventBridge rule by physical name: ``EventPattern`` and ``Targets`` (``Id``, ``Arn`` and
        any ``RetryPolicy`` and ``DeadLetterConfig``)."""
        found = {
            self.names[logical]: {"EventPattern": rule["EventPattern"], "Targets": rule.get("Targets", [])}
            for logical, rule in self.of_type("AWS::Events::Rule").items()
        }
        for logical, properties in self.of_type("AWS::Serverless::Function").items():
            for event_name, event in properties.get("Events", {}).items():
                if event["Type"] not in EVENT_SOURCES:
                    raise UnsupportedResourceError(
                        f"{logical} event {event_name}: type {event['Type']} unknown here"
                    )
                if event["Type"] == "EventBridgeRule":
                    target = {"Id": logical, "Arn": self.attributes[logical]["Arn"]}
                    target |= {k: v for k, v in event["Properties"].items() if k in _TARGET_SETTINGS}
                    found[f"{self.names[logical]}-{event_name}"] = {
                        "EventPattern": event["Properties"]["Pattern"],
                        "Targets": [target],
                    }
        return found

    def queue_consumers(self) -> dict[str, tuple[str, int]]:
        """The queues functions read (``SQS`` events), by logical id: (function short name, batch size)."""
        queues = {self.attributes[logical]["Arn"]: logical for logical in self.of_type("AWS::SQS::Queue")}
        short_names = self.functions()
        found = {}
        for logical, properties in self.of_type("AWS::Serverless::Function").items():
            for event in properties.get("Events", {}).values():
                if event["Type"] == "SQS":
                    batch = int(event["Properties"].get("BatchSize", 10))  # Lambda's default
                    found[queues[event["Properties"]["Queue"]]] = (short_names[logical], batch)
        return found

    def substitutions(self, logical: str) -> dict[str, str]:
        """The state machine's ``DefinitionSubstitutions``: the template's, resolved, then the local ones."""
        properties = self.of_type("AWS::Serverless::StateMachine")[logical]
        subs = {k: str(v) for k, v in properties.get("DefinitionSubstitutions", {}).items()}
        local = {
            k: v.format(region=REGION, account=ACCOUNT, stack=STACK_NAME)
            for k, v in LOCAL_SUBSTITUTIONS.items()
        }
        missing = set(local) - set(subs)
        if missing:
            raise UnsupportedResourceError(
                f"local substitutions for names the template lacks: {sorted(missing)}"
            )
        return subs | local

    def definition(self, logical: str, root: Path) -> str:
        """The state machine's ASL text with its substitutions applied."""
        properties = self.template["Resources"][logical]["Properties"]
        text = (root / str(properties["DefinitionUri"])).read_text()
        for name, value in self.substitutions(logical).items():
            text = text.replace("${" + name + "}", value)
        if "${" in text:
            raise UnsupportedResourceError(
                f"unsubstituted name in the state machine: {text[text.index('${') :][:40]}"
            )
        return text

    # -- creating them on the emulator -------------------------------------------------------------------
    def create(self, client: Any, root: Path) -> None:
        """Create every resource the template declares on the emulator (``client(service)`` gives boto3
        clients); resource types in :data:`SKIPPED` are left out, any other type raises."""
        kinds = {resource["Type"] for resource in self.template["Resources"].values()}
        unknown = kinds - set(SKIPPED) - set(_CREATED)
        if unknown:
            raise UnsupportedResourceError(
                f"template resource types the embedded stack cannot create: {sorted(unknown)}"
            )
        s3, dynamodb, sqs = client("s3"), client("dynamodb"), client("sqs")
        for logical, bucket in self.of_type("AWS::S3::Bucket").items():
            s3.create_bucket(Bucket=self.names[logical])
            rules = bucket.get("CorsConfiguration", {}).get("CorsRules")
            if rules:
                cors = {"CORSRules": [_cors_rule(rule) for rule in rules]}
                s3.put_bucket_cors(Bucket=self.names[logical], CORSConfiguration=cors)
        for logical, table in self.of_type("AWS::DynamoDB::Table").items():
            _create_table(dynamodb, self.names[logical], table)
        # Queues others redrive to first.
        queues = sorted(self.of_type("AWS::SQS::Queue").items(), key=lambda item: "RedrivePolicy" in item[1])
        for logical, queue in queues:
            created = sqs.create_queue(QueueName=self.names[logical], Attributes=_queue_attributes(queue))
            self.attributes[logical].update(Ref=created["QueueUrl"], QueueUrl=created["QueueUrl"])
        events = client("events")
        for name, rule in self.rules().items():
            events.put_rule(Name=name, EventPattern=json.dumps(rule["EventPattern"]), State="ENABLED")
            targets = [
                {k: v for k, v in t.items() if k in ("Id", "Arn", *_TARGET_SETTINGS)} for t in rule["Targets"]
            ]
            events.put_targets(Rule=name, Targets=targets)
        sfn = client("stepfunctions")
        for logical, machine in self.of_type("AWS::Serverless::StateMachine").items():
            sfn.create_state_machine(
                name=self.names[logical],
                definition=self.definition(logical, root),
                roleArn=_arn("AWS::IAM::Role", f"{self.names[logical]}-role"),
                type=machine.get("Type", "STANDARD"),
            )


#: CloudFormation's names of a CORS rule's fields, as the S3 API spells them.
_CORS_FIELDS = {
    "AllowedHeaders": "AllowedHeaders",
    "AllowedMethods": "AllowedMethods",
    "AllowedOrigins": "AllowedOrigins",
    "ExposedHeaders": "ExposeHeaders",
    "Id": "ID",
    "MaxAge": "MaxAgeSeconds",
}


def _cors_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A template's ``CorsRules`` entry as ``put_bucket_cors`` takes it."""
    return {_CORS_FIELDS[name]: value for name, value in rule.items()}


#: What a rule's target may set besides its id and ARN (EventBridge keeps them; nothing fails here).
_TARGET_SETTINGS = ("RetryPolicy", "DeadLetterConfig")

#: The resource types :meth:`Plan.create` makes.
_CREATED = (
    "AWS::S3::Bucket",
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::Events::Rule",
    "AWS::Serverless::StateMachine",
)


def _create_table(dynamodb: Any, name: str, table: dict[str, Any]) -> None:
    """Keys, indexes and billing as declared; TTL and point-in-time recovery by their own calls, as in AWS."""
    keys = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
    request = {key: table[key] for key in keys if key in table}
    dynamodb.create_table(TableName=name, **request)
    if ttl := table.get("TimeToLiveSpecification"):
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    if recovery := table.get("PointInTimeRecoverySpecification"):
        dynamodb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification=recovery)


def _queue_attributes(queue: dict[str, Any]) -> dict[str, str]:
    """A queue's properties as SQS attributes (the names are the same; values are strings, JSON for maps)."""

    def text(value: Any) -> str:
        if isinstance(value, dict):
            return json.dumps(value)
        return str(value).lower() if isinstance(value, bool) else str(value)

    return {key: text(value) for key, value in queue.items() if key not in ("QueueName", "Tags")}


def plan(template: dict[str, Any] | None = None, parameters: dict[str, object] | None = None) -> Plan:
    """Name the template's resources locally and bind its parameters.

    Parameters
    ----------
    template
        A parsed template (default: the repository's ``template.yaml``).
    parameters
        Parameter overrides by name; an unknown name is an error.

    Returns
    -------
    Plan
        The resources with their local names and attributes.
    """
    template = template if template is not None else load_template()
    declared = template.get("Parameters", {})
    unknown = set(parameters or {}) - set(declared)
    if unknown:
        raise KeyError(f"the template has no parameters {sorted(unknown)}")
    values = {name: str(spec.get("Default", "")) for name, spec in declared.items()}
    values.update({name: str(value) for name, value in (parameters or {}).items()})
    names: dict[str, str] = {}
    attributes: dict[str, dict[str, str]] = {}
    conditions = template.get("Conditions", {})
    for logical, resource in template["Resources"].items():
        kind = resource["Type"]
        name = _physical_name(logical, resource)
        if kind == "AWS::Serverless::StateMachine" and "Name" in resource.get("Properties", {}):
            name = Intrinsics(values, {}, conditions).resolve(resource["Properties"]["Name"])
        names[logical] = name
        attributes[logical] = {"Ref": name}
        if kind in _ARNS:
            attributes[logical]["Arn"] = _arn(kind, name)
        if kind == "AWS::Serverless::StateMachine":  # its Ref is the ARN
            attributes[logical].update(Ref=_arn(kind, name), Name=name)
        if kind == "AWS::SQS::Queue":  # its Ref is the URL, known once it exists
            attributes[logical]["QueueName"] = name
        if "FunctionUrlConfig" in resource.get("Properties", {}):  # no function URL here: no link to it
            attributes[logical + "Url"] = {"FunctionUrl": ""}
    return Plan(values, attributes, conditions, template, names)
