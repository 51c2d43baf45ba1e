"""The big-set job as SageMaker runs it: inputs copied to a local folder, outputs written to another."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gridtsne.aws.job import JobParams
from gridtsne.aws.table import JobTable
from gridtsne.output.layout import check
from gridtsne.pipeline import list_inputs
from gridtsne.store import LocalStore, S3Store
from gridtsne_dev.lambdas import load_module
from gridtsne_dev.stack import EmbeddedStack

from tests.unit.serverless import ROOT, png, put

#: Handlers that emit no metric (a GET, a failure) make Powertools warn; that is expected here.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


def test_container_entry_point_reads_and_writes_local_folders(stack: EmbeddedStack, tmp_path: Path) -> None:
    for i in range(5):
        put(stack, f"uploads/sage/{i}.png", png((50 * i, 20, 255 - 50 * i)))
    job = "sage-0123456789abcdef0123456789abcdef"
    JobTable(stack.table).create(job, "sage", JobParams(tile=16))
    state = {"job_id": job, "collection": "sage", "params": {"tile": 16}}
    prepared = stack.shim.invoke("prepare", state)
    for batch in prepared["batches"]:
        stack.shim.invoke(
            "embed", {"job_id": job, "inputs": prepared["inputs"], "batch": batch, "batches": 1}
        )

    # What the ProcessingInputs of the ASL copy: the collection's shards and the job's inputs.json.
    bucket = S3Store(stack.bucket)
    local_in = LocalStore(tmp_path / "input")
    for prefix in ("vectors/sage/shards/", f"visualizations/{job}/inputs.json"):
        for obj in bucket.list(prefix):
            local_in.write(obj.key, bucket.read(obj.key))
    run = load_module(ROOT / "jobs" / "bigset" / "run.py", "bigset_run_under_test")
    code = run.main(
        [
            "--job-id",
            job,
            "--bucket",
            stack.bucket,
            "--table",
            stack.table,
            "--input",
            str(tmp_path / "input"),
            "--output",
            str(tmp_path / "output"),
        ]
    )
    assert code == 0
    out = tmp_path / "output" / "visualizations" / job
    assert sorted(p.name for p in out.iterdir()) == [
        "layout.json",
        "mosaic.jpg",
        "scatter.png",
        "viewer.html",
    ]
    layout = json.loads((out / "layout.json").read_text())
    check(layout, [o.key for o in list_inputs(bucket, "uploads/sage/").images])
    # No CUDA device here: openTSNE ran, and the layout says so (on the GPU instance: "pytorch").
    assert layout["params"]["tsne"]["backend"] == "opentsne"
    # Nothing was written to the bucket: SageMaker uploads the output folder itself.
    assert not bucket.exists(f"visualizations/{job}/layout.json")
    # Links in the viewer are presigned bucket URLs, not container paths.
    assert "/opt/ml" not in (out / "viewer.html").read_text()
    record = JobTable(stack.table).get(job)
    assert record is not None and record.progress.stage == "render"
