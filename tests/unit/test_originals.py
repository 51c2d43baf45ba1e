"""The signed redirect to a job's originals, and the viewer links that carry its token (moto)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from gridtsne.aws.job import JobParams
from gridtsne.aws.originals import originals_link, redirect
from gridtsne.aws.table import JobTable
from gridtsne.aws.view import job_view
from gridtsne.store import S3Store
from gridtsne_dev.stack import EmbeddedStack
from gridtsne_dev.template import load_template, plain
from moto import mock_aws

BUCKET = "originals-test"
ENDPOINT = "https://abc.lambda-url.us-east-1.on.aws/"
KEY = "uploads/cats/a b.png"
OUTPUTS = {"image": "visualizations/j/mosaic.jpg", "viewer": "visualizations/j/viewer.html"}


@pytest.fixture
def aws() -> Iterator[tuple[JobTable, S3Store]]:
    properties = plain(load_template()["Resources"]["JobTable"]["Properties"])
    keep = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        dynamodb.create_table(TableName="jobs", **{key: properties[key] for key in keep})
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        for key in (KEY, "uploads/dogs/d.png"):
            s3.put_object(Bucket=BUCKET, Key=key, Body=b"picture")
        table = JobTable("jobs", resource=dynamodb)
        table.create("j", "cats", JobParams())
        yield table, S3Store(BUCKET, client=s3)


def _query(link: str, **extra: str) -> dict[str, str]:
    query = {name: values[0] for name, values in parse_qs(urlsplit(link).query).items()}
    return query | extra


def _signed(table: JobTable, expires: int = 60) -> str:
    record = table.get("j")
    assert record is not None
    link = originals_link(ENDPOINT, record, expires)
    assert link is not None and link.startswith(ENDPOINT + "?job=j&exp=")
    return link


def test_a_valid_link_redirects_to_a_presigned_original(aws: tuple[JobTable, S3Store]) -> None:
    table, store = aws
    answer = redirect(table, store, _query(_signed(table), key=KEY))
    assert answer.status == 302
    location = urlsplit(answer.location)
    assert location.path.endswith("/uploads/cats/a%20b.png") and "Signature" in location.query
    # one token serves any picture of the collection
    other = redirect(table, store, _query(_signed(table), key="uploads/cats/missing.png"))
    assert other.status == 404


def test_an_expired_link_is_refused(aws: tuple[JobTable, S3Store]) -> None:
    table, store = aws
    query = _query(_signed(table, expires=60), key=KEY)
    assert redirect(table, store, query, now=time.time() + 61).status == 403
    assert redirect(table, store, query, now=time.time()).status == 302


def test_a_tampered_link_is_refused(aws: tuple[JobTable, S3Store]) -> None:
    table, store = aws
    query = _query(_signed(table), key=KEY)
    later = str(int(query["exp"]) + 3600)
    assert redirect(table, store, query | {"exp": later}).status == 403
    flipped = ("0" if query["sig"][0] != "0" else "1") + query["sig"][1:]
    assert redirect(table, store, query | {"sig": flipped}).status == 403
    assert redirect(table, store, query | {"exp": "soon"}).status == 403


def test_another_collection_or_job_is_not_found(aws: tuple[JobTable, S3Store]) -> None:
    table, store = aws
    query = _query(_signed(table))
    answer = redirect(table, store, query | {"key": "uploads/dogs/d.png"})
    assert answer.status == 404 and answer.location == ""
    assert redirect(table, store, query | {"key": "uploads/cats-more/a.png"}).status == 404
    assert redirect(table, store, query | {"key": KEY, "job": "unknown"}).status == 404


def test_the_viewer_link_carries_the_token_only_when_configured(aws: tuple[JobTable, S3Store]) -> None:
    table, store = aws
    table.succeed("j", OUTPUTS, count=1)
    record = table.get("j")
    assert record is not None

    def fragment(view: dict[str, Any]) -> dict[str, str]:
        url = view["data"]["viewer"]["url"]
        return {name: values[0] for name, values in parse_qs(urlsplit(url).fragment).items()}

    plain_view = fragment(job_view(record, store, 600))
    assert "originals" not in plain_view and plain_view["mosaic"].startswith("https://")
    linked = fragment(job_view(record, store, 600, ENDPOINT))
    token = linked["originals"]
    assert token.startswith(ENDPOINT + "?")
    query = _query(token, key=KEY)
    assert abs(int(query["exp"]) - (time.time() + 600)) < 5
    assert redirect(table, store, query).status == 302
    assert "secret" not in job_view(record, store, 600, ENDPOINT)


def test_the_handler_answers_a_redirect_or_a_plain_refusal(stack: EmbeddedStack) -> None:
    table = JobTable(stack.table)
    table.create("handler-job", "handled", JobParams())
    stack.put_object("uploads/handled/p.png", b"picture")
    record = table.get("handler-job")
    assert record is not None
    link = originals_link(ENDPOINT, record, 60)
    assert link is not None
    query = _query(link, key="uploads/handled/p.png")
    answer = stack.shim.invoke("originals", {"rawPath": "/", "queryStringParameters": query})
    assert answer["statusCode"] == 302 and "/uploads/handled/p.png?" in answer["headers"]["Location"]
    refused = stack.shim.invoke("originals", {"rawPath": "/", "queryStringParameters": query | {"sig": "0"}})
    assert refused["statusCode"] == 403 and "Location" not in refused["headers"]
    assert refused["headers"]["Content-Type"].startswith("text/plain") and refused["body"]
