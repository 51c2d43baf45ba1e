"""The embedded stack's resources are the ones template.yaml declares, and nothing drifts unnoticed."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from gridtsne_dev.resources import LOCAL_SUBSTITUTIONS, SKIPPED, UnsupportedResourceError, plan
from gridtsne_dev.serve import expired
from gridtsne_dev.stack import EmbeddedStack
from gridtsne_dev.template import load_template, resources_of_type

from tests.unit.serverless import event, png, put

TEMPLATE = load_template()


def _with_bucket(value: Any, bucket: str) -> Any:
    """``value`` with ``{"Ref": "Bucket"}`` replaced by the bucket's name."""
    if value == {"Ref": "Bucket"}:
        return bucket
    if isinstance(value, dict):
        return {k: _with_bucket(v, bucket) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_bucket(v, bucket) for v in value]
    return value


def _queue_arn(stack: EmbeddedStack, name: str) -> str:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.queue_url(name), AttributeNames=["QueueArn"]
    )
    arn: str = attributes["Attributes"]["QueueArn"]
    return arn


def test_table_has_the_template_keys_indexes_and_ttl(stack: EmbeddedStack) -> None:
    (declared,) = (r["Properties"] for r in resources_of_type(TEMPLATE, "AWS::DynamoDB::Table").values())
    table = stack.client("dynamodb").describe_table(TableName=stack.table)["Table"]
    assert table["KeySchema"] == declared["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(declared["AttributeDefinitions"], key=str)
    indexes = [
        {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
        for i in table["GlobalSecondaryIndexes"]
    ]
    assert indexes == declared["GlobalSecondaryIndexes"]
    ttl = stack.client("dynamodb").describe_time_to_live(TableName=stack.table)["TimeToLiveDescription"]
    assert ttl == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": declared["TimeToLiveSpecification"]["AttributeName"],
    }


def test_queues_are_the_template_queues_with_their_redrive(stack: EmbeddedStack) -> None:
    declared = resources_of_type(TEMPLATE, "AWS::SQS::Queue")
    urls = stack.client("sqs").list_queues()["QueueUrls"]
    names = {url.rsplit("/", 1)[1] for url in urls} - {stack.events_queue}
    assert names == {stack.plan.names[logical] for logical in declared}
    for logical, resource in declared.items():
        properties = resource["Properties"]
        name = stack.plan.names[logical]
        attributes = stack.client("sqs").get_queue_attributes(
            QueueUrl=stack.queue_url(name), AttributeNames=["All"]
        )["Attributes"]
        for key in ("VisibilityTimeout", "MessageRetentionPeriod"):
            if key in properties:
                assert attributes[key] == str(properties[key]), (logical, key)
        if "RedrivePolicy" in properties:
            redrive = json.loads(attributes["RedrivePolicy"])
            (dead_letter, _) = properties["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"]
            assert redrive["maxReceiveCount"] == properties["RedrivePolicy"]["maxReceiveCount"]
            assert redrive["deadLetterTargetArn"] == _queue_arn(stack, stack.plan.names[dead_letter])
    assert stack.upload_queue in names


def test_rules_have_the_template_patterns_and_targets(stack: EmbeddedStack) -> None:
    events = stack.client("events")
    created = {
        rule["Name"]: json.loads(rule["EventPattern"])
        for rule in events.list_rules()["Rules"]
        if rule["Name"] != stack.events_queue
    }
    uploads = resources_of_type(TEMPLATE, "AWS::Events::Rule")["UploadsRule"]["Properties"]
    functions = resources_of_type(TEMPLATE, "AWS::Serverless::Function")
    declared = [uploads["EventPattern"]] + [
        event["Properties"]["Pattern"]
        for function in functions.values()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == "EventBridgeRule"
    ]
    assert len(declared) == 4  # uploads, _visualize.json, requests, ended executions
    assert sorted(map(json.dumps, created.values())) == sorted(
        json.dumps(stack.plan.resolve(p)) for p in declared
    )
    (uploads_rule,) = [
        name
        for name, pattern in created.items()
        if pattern == _with_bucket(uploads["EventPattern"], stack.bucket)
    ]
    (target,) = events.list_targets_by_rule(Rule=uploads_rule)["Targets"]
    assert target["Arn"] == _queue_arn(stack, stack.upload_queue)
    # Every target hands what it cannot deliver to the undelivered-events queue.
    undelivered = _queue_arn(stack, stack.plan.names["UndeliveredEventsQueue"])
    for name in created:
        for each in events.list_targets_by_rule(Rule=name)["Targets"]:
            assert each["DeadLetterConfig"] == {"Arn": undelivered}, name


def test_state_machine_is_the_asl_with_the_template_substitutions(stack: EmbeddedStack) -> None:
    assert set(LOCAL_SUBSTITUTIONS) == {"BigSetResource", "EmbedMapMode", "EmbedMapExecutionType"}
    sfn = stack.client("stepfunctions")
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=stack.state_machine_arn)["definition"])
    text = json.dumps(definition)
    assert "${" not in text
    default_instance = TEMPLATE["Parameters"]["ProcessingInstanceType"]["Default"]
    assert f'"InstanceType": "{default_instance}"' in text
    assert f"s3://{stack.bucket}/vectors/" in text
    assert definition["States"]["Prepare"]["Resource"].endswith(":function:gridtsne-prepare")
    assert definition["States"]["Register"]["Resource"].endswith(":function:gridtsne-register")
    assert '"Mode": "INLINE"' in text and '"Mode": "DISTRIBUTED"' not in text


def test_every_template_type_is_created_or_skipped_for_a_reason() -> None:
    types = {resource["Type"] for resource in TEMPLATE["Resources"].values()}
    created = {"AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::Events::Rule"}
    assert types - set(SKIPPED) == created | {"AWS::Serverless::StateMachine"}
    assert all(reason for reason in SKIPPED.values())


def test_a_resource_the_stack_cannot_create_fails_loudly(stack: EmbeddedStack) -> None:
    template = load_template()
    template["Resources"]["Topic"] = {"Type": "AWS::SNS::Topic", "Properties": {}}
    with pytest.raises(UnsupportedResourceError, match="AWS::SNS::Topic"):
        plan(template).create(stack.client, stack.root)
    template = load_template()
    events = template["Resources"]["TriggerFunction"]["Properties"]["Events"]
    events["Nightly"] = {"Type": "Schedule", "Properties": {"Schedule": "rate(1 day)"}}
    with pytest.raises(UnsupportedResourceError, match="Schedule"):
        plan(template).rules()


def test_resources_follow_the_template_not_a_copy(stack: EmbeddedStack) -> None:
    template = load_template()
    table = template["Resources"]["JobTable"]
    table["Properties"]["GlobalSecondaryIndexes"][0]["IndexName"] = "by-owner"
    queue = template["Resources"]["EmbedDeadLetterQueue"]
    queue["Properties"]["VisibilityTimeout"] = 77
    changed = {"Resources": {"OtherTable": table, "OtherQueue": queue}}
    created = plan(changed)
    created.create(stack.client, stack.root)
    description = stack.client("dynamodb").describe_table(TableName=created.names["OtherTable"])["Table"]
    assert [i["IndexName"] for i in description["GlobalSecondaryIndexes"]] == ["by-owner"]
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.queue_url(created.names["OtherQueue"]), AttributeNames=["VisibilityTimeout"]
    )["Attributes"]
    assert attributes["VisibilityTimeout"] == "77"
    stack.client("dynamodb").delete_table(TableName=created.names["OtherTable"])
    stack.client("sqs").delete_queue(QueueUrl=stack.queue_url(created.names["OtherQueue"]))


def test_bucket_cors_is_the_template_rule_for_range_reads(stack: EmbeddedStack) -> None:
    (rule,) = stack.client("s3").get_bucket_cors(Bucket=stack.bucket)["CORSRules"]
    assert rule["AllowedMethods"] == ["GET"] and rule["AllowedHeaders"] == ["Range"]
    assert set(rule["ExposeHeaders"]) >= {"Content-Range", "Content-Length", "ETag"}
    (declared,) = TEMPLATE["Resources"]["Bucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    assert (
        rule["MaxAgeSeconds"] == declared["MaxAge"] and rule["AllowedOrigins"] == declared["AllowedOrigins"]
    )


@pytest.mark.parametrize(
    ("query", "refused"),
    [
        ("AWSAccessKeyId=K&Signature=s&Expires=1000", True),
        ("AWSAccessKeyId=K&Signature=s&Expires=3000", False),
        ("X-Amz-Date=19700101T000000Z&X-Amz-Expires=999&X-Amz-Signature=s", True),
        ("X-Amz-Date=19700101T000000Z&X-Amz-Expires=3600&X-Amz-Signature=s", False),
        ("prefix=uploads/", False),  # not presigned: moto's to answer
    ],
)
def test_the_served_bucket_refuses_expired_presigned_urls(query: str, refused: bool) -> None:
    assert expired(query, now=2000.0) is refused


def test_wait_reports_each_change_and_returns_once_the_job_ends(stack: EmbeddedStack) -> None:
    put(stack, "uploads/waiting/a.png", png((10, 200, 10)))
    job = stack.api("POST", "/v2/visualizations", {"collection": "waiting"}).body["output"]["id"]
    seen: list[dict[str, Any]] = []
    assert stack.wait(job, timeout=0, on_change=seen.append)["status"] == "pending"
    assert [output["status"] for output in seen] == ["pending"]
    stack.shim.invoke("fail", event("state_fail.json") | {"job_id": job, "collection": "waiting"})
    seen.clear()
    started = time.monotonic()
    output = stack.wait(job, timeout=30, on_change=seen.append)
    assert time.monotonic() - started < 10
    assert output["status"] == "failed" and seen == [output]


def test_a_read_racing_a_write_is_read_again_and_other_errors_are_not() -> None:
    from gridtsne_dev.lambdas import read_again

    answers: list[object] = [
        RuntimeError("dictionary changed size during iteration"),
        RuntimeError("dictionary changed size during iteration"),
        "record",
    ]

    def read() -> object:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert read_again(read) == "record" and not answers
    with pytest.raises(RuntimeError, match="other"):
        read_again(lambda: (_ for _ in ()).throw(RuntimeError("other")))
