"""Static checks of template.yaml: wiring to the code, the state machine, and the security posture."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from gridtsne_dev.layers.build import CACHE, LAYERS, MODEL_DIR
from gridtsne_dev.layers.deps import TARGET_PYTHON
from gridtsne_dev.template import load_template

from tests.support import ROOT


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in _of_type(template, "AWS::Serverless::Function").items()}


def _statements(policies: list[Any]) -> list[dict[str, Any]]:
    found = []
    for policy in policies:
        if isinstance(policy, dict) and "Statement" in policy:
            found.extend(policy["Statement"])
    return found


def test_every_function_handler_exists(template: dict[str, Any]) -> None:
    default = template["Globals"]["Function"].get("Handler")
    functions = _functions(template)
    assert {p["CodeUri"].strip("/").split("/")[-1] for p in functions.values()} >= {
        "embed", "prepare", "reduce", "render", "publish", "fail", "api", "trigger",
    }  # fmt: skip
    for name, props in functions.items():
        module, _, attr = props.get("Handler", default).rpartition(".")
        source = ROOT / props["CodeUri"] / f"{module.replace('.', '/')}.py"
        assert source.is_file(), f"{name}: {source} missing"
        tree = ast.parse(source.read_text())
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        defined |= {
            t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)
        }
        assert attr in defined, f"{name}: {source} defines no {attr!r}"


def test_runtime_matches_the_layer_build(template: dict[str, Any]) -> None:
    glob = template["Globals"]["Function"]
    assert glob["Runtime"] == f"python{TARGET_PYTHON}"
    assert glob["Architectures"] == ["x86_64"]
    assert glob["Tracing"] == "Active"
    for name, layer in _of_type(template, "AWS::Serverless::LayerVersion").items():
        assert layer["Properties"]["CompatibleRuntimes"] == [glob["Runtime"]], name
        assert layer["Properties"]["CompatibleArchitectures"] == glob["Architectures"], name


def test_sam_build_builds_every_layer_with_its_makefile(template: dict[str, Any], tmp_path: Path) -> None:
    """Each layer's Makefile target, run the way ``sam build`` runs it, fills ``$ARTIFACTS_DIR``."""
    layers = _of_type(template, "AWS::Serverless::LayerVersion")
    assert set(layers) == set(LAYERS)
    for name, layer in layers.items():
        assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "x86_64"}, name
        content = ROOT / layer["Properties"]["ContentUri"]
        # sam build copies the ContentUri folder: builds and caches live elsewhere.
        assert not CACHE.is_relative_to(content) and not MODEL_DIR.is_relative_to(content), name
        # sam build runs `make --makefile <ContentUri>/Makefile build-<LogicalId>` in a scratch copy.
        scratch = tmp_path / name
        scratch.mkdir()
        done = subprocess.run(
            ["make", "-n", "--makefile", str(content / "Makefile"), f"build-{name}"],
            cwd=scratch,
            env={"PATH": os.environ["PATH"], "ARTIFACTS_DIR": str(tmp_path / "artifacts")},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"{name}: {done.stderr}"
        assert f'-m gridtsne_dev.layers build {name} "{tmp_path / "artifacts"}"' in done.stdout, done.stdout


def test_every_asl_placeholder_is_substituted(template: dict[str, Any]) -> None:
    machine = next(iter(_of_type(template, "AWS::Serverless::StateMachine").values()))["Properties"]
    asl_text = (ROOT / machine["DefinitionUri"]).read_text()
    json.loads(asl_text)
    placeholders = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", asl_text))
    substitutions = set(machine["DefinitionSubstitutions"])
    assert placeholders, "the ASL names its resources through DefinitionSubstitutions"
    assert placeholders - substitutions == set(), "placeholders without a substitution"
    assert substitutions - placeholders == set(), "substitutions the ASL never uses"
    assert machine["Type"] == "STANDARD"  # .sync integrations and long runs


def test_state_machine_may_invoke_every_stage_and_run_the_processing_job(template: dict[str, Any]) -> None:
    machine = next(iter(_of_type(template, "AWS::Serverless::StateMachine").values()))["Properties"]
    invoked = {
        p["LambdaInvokePolicy"]["FunctionName"]["Ref"]
        for p in machine["Policies"]
        if "LambdaInvokePolicy" in p
    }
    arns = {v["Fn::GetAtt"][0] for v in machine["DefinitionSubstitutions"].values() if "Fn::GetAtt" in v}
    assert {a for a in arns if a.endswith("Function")} <= invoked
    actions = {a for s in _statements(machine["Policies"]) for a in np_list(s["Action"])}
    assert {"sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob", "iam:PassRole"} <= actions
    pass_role = next(s for s in _statements(machine["Policies"]) if "iam:PassRole" in np_list(s["Action"]))
    assert pass_role["Resource"] == {"Fn::GetAtt": ["ProcessingRole", "Arn"]}


def np_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_bucket_is_private_encrypted_and_tls_only(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["Bucket"]["Properties"]
    block = bucket["PublicAccessBlockConfiguration"]
    assert all(block[k] is True for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls",
                                          "RestrictPublicBuckets"))  # fmt: skip
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert bucket["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"] is True
    (policy,) = (
        p["Properties"]
        for p in _of_type(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": "Bucket"}
    )
    deny = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert any(
        s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        and s["Action"] == "s3:*"
        and s["Principal"] == "*"
        and len(s["Resource"]) == 2  # the bucket and its objects
        for s in deny
    )


def test_function_s3_access_is_scoped_to_prefixes(template: dict[str, Any]) -> None:
    for name, props in _functions(template).items():
        for statement in _statements(props.get("Policies", [])):
            actions = np_list(statement["Action"])
            assert "s3:*" not in actions and "*" not in actions, name
            if any(a.startswith("s3:") and a != "s3:ListBucket" for a in actions):
                for resource in np_list(statement["Resource"]):
                    sub = resource["Fn::Sub"]
                    assert re.fullmatch(r"\$\{Bucket\.Arn\}/(uploads|vectors|visualizations)/\*", sub), (
                        name,
                        sub,
                    )
            if "s3:ListBucket" in actions:
                assert statement["Condition"]["StringLike"]["s3:prefix"], name
    embed = _functions(template)["EmbedFunction"]
    writes = [s for s in _statements(embed["Policies"]) if "s3:PutObject" in np_list(s["Action"])]
    assert [r["Fn::Sub"] for s in writes for r in np_list(s["Resource"])] == ["${Bucket.Arn}/vectors/*"]


def test_api_is_iam_authorised_with_the_three_routes(template: dict[str, Any]) -> None:
    api = template["Resources"]["Api"]["Properties"]
    assert api["Auth"]["DefaultAuthorizer"] == "AWS_IAM"
    routes = set()
    for props in _functions(template).values():
        for event in props.get("Events", {}).values():
            if event["Type"] == "Api":
                assert event["Properties"]["RestApiId"] == {"Ref": "Api"}
                assert "Auth" not in event["Properties"], "no route may override IAM auth"
                routes.add((event["Properties"]["Method"], event["Properties"]["Path"]))
    assert routes == {
        ("POST", "/v2/visualizations"),
        ("GET", "/v2/visualizations/{id}"),
        ("GET", "/v2/visualizations"),
    }


def test_uploads_flow_through_a_queue_with_a_dead_letter_queue(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    rule = resources["UploadsRule"]["Properties"]
    assert rule["EventPattern"]["detail"]["object"]["key"] == [{"prefix": "uploads/"}]
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": ["EmbedQueue", "Arn"]}
    queue = resources["EmbedQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["EmbedDeadLetterQueue", "Arn"]}
    embed = _functions(template)["EmbedFunction"]
    source = embed["Events"]["Uploads"]
    assert source["Type"] == "SQS"
    assert source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert queue["VisibilityTimeout"] >= 6 * embed["Timeout"]
    alarmed = {
        a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in _of_type(template, "AWS::CloudWatch::Alarm").values()
        if "Fn::GetAtt" in a["Properties"].get("Dimensions", [{"Value": ""}])[0]["Value"]
    }
    assert "EmbedDeadLetterQueue" in alarmed


def test_job_table_is_on_demand_with_recovery_and_ttl(template: dict[str, Any]) -> None:
    table = template["Resources"]["JobTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["TimeToLiveSpecification"]["Enabled"] is True
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["by-collection"]


def test_settings_environment_names_match_the_library(template: dict[str, Any]) -> None:
    from gridtsne.aws.settings import Settings

    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    read = Settings.variables()
    documented = Settings.from_env.__doc__ or ""
    for name in (
        "GRIDTSNE_BUCKET",
        "JOB_TABLE",
        "EVENT_BUS",
        "URL_EXPIRES",
        "BIG_SET_THRESHOLD",
        "EMBED_BATCH",
    ):
        assert name in variables and name in read and name in documented, name


def _policy_actions(props: dict[str, Any], prefix: str) -> dict[str, set[str]]:
    """A function's actions starting with ``prefix``, by the resource they apply to (as JSON text)."""
    found: dict[str, set[str]] = {}
    for statement in _statements(props.get("Policies", [])):
        for action in np_list(statement["Action"]):
            if action.startswith(prefix):
                for resource in np_list(statement["Resource"]):
                    found.setdefault(json.dumps(resource, sort_keys=True), set()).add(action)
    return found


def test_data_is_versioned_logged_and_retained(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    for name in ("Bucket", "JobTable"):
        assert resources[name]["DeletionPolicy"] == resources[name]["UpdateReplacePolicy"] == "Retain", name
    bucket = resources["Bucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    noncurrent = rules["expire-noncurrent-versions"]
    assert "Prefix" not in noncurrent  # deleted uploads, vectors and thumbnails alike
    assert noncurrent["NoncurrentVersionExpiration"]["NoncurrentDays"] == {"Ref": "NoncurrentVersionDays"}
    assert noncurrent["ExpiredObjectDeleteMarker"] is True
    logging = bucket["LoggingConfiguration"]
    assert logging["DestinationBucketName"] == {"Ref": "AccessLogBucket"}
    logs = resources["AccessLogBucket"]["Properties"]
    assert logs["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    assert logs["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == {"Ref": "AccessLogRetentionDays"}
    (policy,) = (
        p["Properties"]["PolicyDocument"]
        for p in _of_type(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": "AccessLogBucket"}
    )
    (grant,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert grant["Principal"] == {"Service": "logging.s3.amazonaws.com"} and grant["Action"] == "s3:PutObject"
    assert grant["Resource"] == {"Fn::Sub": "${AccessLogBucket.Arn}/" + logging["LogFilePrefix"] + "*"}
    assert grant["Condition"]["ArnLike"]["aws:SourceArn"] == {"Fn::GetAtt": ["Bucket", "Arn"]}


def test_api_stage_writes_access_logs(template: dict[str, Any]) -> None:
    setting = template["Resources"]["Api"]["Properties"]["AccessLogSetting"]
    (group,) = setting["DestinationArn"]["Fn::GetAtt"][:1]
    assert template["Resources"][group]["Type"] == "AWS::Logs::LogGroup"
    assert template["Resources"][group]["Properties"]["RetentionInDays"] > 0
    fields = json.loads(setting["Format"])
    assert {"requestId", "caller", "status", "resourcePath"} <= set(fields)


def test_undeliverable_events_go_to_a_dead_letter_queue(template: dict[str, Any]) -> None:
    undelivered = {"Arn": {"Fn::GetAtt": ["UndeliveredEventsQueue", "Arn"]}}
    targets = [
        t for r in _of_type(template, "AWS::Events::Rule").values() for t in r["Properties"]["Targets"]
    ]
    asynchronous = {}
    for name, props in _functions(template).items():
        for event in props.get("Events", {}).values():
            if event["Type"] == "EventBridgeRule":
                targets.append(event["Properties"])
                asynchronous[name] = props
    assert len(targets) == 4 and set(asynchronous) == {"TriggerFunction", "ReconcileFunction"}
    for target in targets:
        assert target["DeadLetterConfig"] == undelivered
        assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    for name, props in asynchronous.items():
        # EventBridge invokes them asynchronously: Lambda's own retries, then the same queue.
        assert props["DeadLetterQueue"] == {"Type": "SQS", "TargetArn": undelivered["Arn"]}, name
        assert props["EventInvokeConfig"]["MaximumRetryAttempts"] == 2, name
    (policy,) = (
        p["Properties"]["PolicyDocument"]
        for p in _of_type(template, "AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": "UndeliveredEventsQueue"}]
    )
    (grant,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert grant["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"].endswith(":rule/${AWS::StackName}-*")


def test_ended_executions_reach_the_reconcile_function(template: dict[str, Any]) -> None:
    from gridtsne.aws.reconcile import DETAIL_TYPE, ENDED

    reconcile = _functions(template)["ReconcileFunction"]
    (event,) = reconcile["Events"].values()
    pattern = event["Properties"]["Pattern"]
    assert pattern["source"] == ["aws.states"] and pattern["detail-type"] == [DETAIL_TYPE]
    assert sorted(pattern["detail"]["status"]) == sorted(ENDED)
    assert pattern["detail"]["stateMachineArn"] == [{"Ref": "VisualizeStateMachine"}]
    # Nothing runs forever: the state machine stops an execution after TimeoutSeconds, which leaves the
    # longest branch (the big-set job) room to finish.
    machine = template["Resources"]["VisualizeStateMachine"]["Properties"]
    asl = json.loads((ROOT / machine["DefinitionUri"]).read_text())
    longest = asl["States"]["BigSet"]["Parameters"]["StoppingCondition"]["MaxRuntimeInSeconds"]
    assert longest < asl["TimeoutSeconds"] <= 24 * 3600


def test_alarms_cover_every_function_and_the_job_time_budget(template: dict[str, Any]) -> None:
    alarms = [a["Properties"] for a in _of_type(template, "AWS::CloudWatch::Alarm").values()]
    functions = set(_functions(template))
    for metric in ("Errors", "Throttles"):
        covered = {
            q["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"]
            for alarm in alarms
            for q in alarm.get("Metrics", [])
            if "MetricStat" in q and q["MetricStat"]["Metric"]["MetricName"] == metric
            and q["MetricStat"]["Metric"]["Namespace"] == "AWS/Lambda"
        }  # fmt: skip
        assert covered == functions, metric
    (budget,) = [
        a for a in alarms
        if any(q.get("MetricStat", {}).get("Metric", {}).get("MetricName") == "ExecutionTime"
               for q in a.get("Metrics", []))
    ]  # fmt: skip
    assert budget["Threshold"] == {"Ref": "JobTimeBudgetMinutes"}
    (expression,) = [q["Expression"] for q in budget["Metrics"] if "Expression" in q]
    assert expression.endswith("/ 60000")  # ExecutionTime is in milliseconds
    # The events a job could not announce are counted by the handlers and alarmed on.
    (missed,) = [a for a in alarms if a.get("MetricName") == "EventsNotPublished"]
    assert (
        missed["Namespace"]
        == template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    )
    for handler in ("publish", "fail"):
        assert '"EventsNotPublished"' in (ROOT / "functions" / handler / "app.py").read_text()


def _table_actions() -> set[str]:
    """The DynamoDB actions gridtsne.aws.table.JobTable calls (``self.table.put_item`` -> PutItem)."""
    source = (ROOT / "layers/gridtsne/gridtsne/aws/table.py").read_text()
    calls = set(re.findall(r"self\.table\.(\w+)\(", source))
    return {"dynamodb:" + "".join(part.title() for part in call.split("_")) for call in calls}


def test_dynamodb_access_is_only_what_the_job_table_calls(template: dict[str, Any]) -> None:
    used = _table_actions()
    assert used == {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query"}
    table = json.dumps({"Fn::GetAtt": ["JobTable", "Arn"]}, sort_keys=True)
    index = json.dumps({"Fn::Sub": "${JobTable.Arn}/index/by-collection"}, sort_keys=True)
    for name, props in _functions(template).items():
        assert not any("DynamoDBCrudPolicy" in p for p in props.get("Policies", []) if isinstance(p, dict))
        for actions in _policy_actions(props, "dynamodb:").values():
            assert actions <= used, name
    api = _policy_actions(_functions(template)["ApiFunction"], "dynamodb:")
    assert api == {
        table: {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"},
        index: {"dynamodb:Query"},
    }
    trigger = _policy_actions(_functions(template)["TriggerFunction"], "dynamodb:")
    assert trigger == {table: {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"}}


def test_big_set_job_permissions_cover_only_its_jobs_and_repository(template: dict[str, Any]) -> None:
    from fnmatch import fnmatch

    from gridtsne.aws.steps import processing_job_name

    machine = template["Resources"]["VisualizeStateMachine"]["Properties"]
    (sagemaker,) = [
        s for s in _statements(machine["Policies"]) if "sagemaker:CreateProcessingJob" in np_list(s["Action"])
    ]
    pattern = sagemaker["Resource"]["Fn::Sub"].rsplit(":processing-job/", 1)[1]
    assert pattern != "*" and fnmatch(processing_job_name("demo-0123"), pattern)
    role = template["Resources"]["ProcessingRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    (pull,) = [s for s in statements if "ecr:BatchGetImage" in np_list(s["Action"])]
    assert pull["Resource"]["Fn::Sub"].endswith(":repository/${ProcessingRepository}")
