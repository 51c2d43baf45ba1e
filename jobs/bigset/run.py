"""The big-set job: reduce, assign and render a large collection on one (GPU) instance.

In AWS it runs as a SageMaker Processing job started by the state machine
(``arn:aws:states:::sagemaker:createProcessingJob.sync``): SageMaker copies the collection's vector shards
and the job's ``inputs.json`` under ``/opt/ml/processing/input`` (same keys as in the bucket) and uploads
``/opt/ml/processing/output`` to ``visualizations/<id>/``. Environment: ``GRIDTSNE_BUCKET`` (the
originals), ``JOB_TABLE`` (progress), ``GRIDTSNE_JOB_ID``.

The embedded stack (``dev/gridtsne_dev``) calls :func:`processing_handler` in-process with the same
CreateProcessingJob request, reading and writing the bucket directly. Both run the library's stages through
:func:`gridtsne.aws.steps.render_job` with ``reduce=True``; nothing here re-implements a stage.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from gridtsne.aws.progress import ProgressWriter, silent
from gridtsne.aws.steps import render_job
from gridtsne.aws.table import JobTable
from gridtsne.store import LocalStore, S3Store, Store


def run(
    job: str,
    bucket: str | None,
    *,
    table: str | None = None,
    input_root: Path | None = None,
    output_root: Path | None = None,
) -> dict[str, Any]:
    """Run the job; inputs from ``input_root`` (or the bucket), outputs to ``output_root`` (or the bucket).

    Without a bucket the job runs fully local: originals and their links come from ``input_root``.
    """
    if bucket is None and (input_root is None or output_root is None):
        raise ValueError("without a bucket, input_root and output_root are required")
    source: Store = LocalStore(input_root) if input_root else S3Store(str(bucket))
    bucket_store = S3Store(bucket) if bucket else source
    target: Store = LocalStore(output_root) if output_root else bucket_store
    progress = ProgressWriter(JobTable(table), job) if table else silent
    return render_job(
        source,
        job,
        reduce=True,
        out=target,
        originals=bucket_store,
        progress=progress,
    )


def processing_handler(request: dict[str, Any]) -> dict[str, Any]:
    """Run a CreateProcessingJob request in this process (the embedded stack's stand-in for SageMaker)."""
    env = request.get("Environment", {})
    result = run(
        env["GRIDTSNE_JOB_ID"],
        env["GRIDTSNE_BUCKET"],
        table=env.get("JOB_TABLE"),
    )
    return {
        "ProcessingJobName": request.get("ProcessingJobName"),
        "ProcessingJobStatus": "Completed",
        "Result": result,
    }


def main(argv: list[str] | None = None) -> int:
    """Container entry point: ``run.py --job-id ID --input DIR --output DIR``."""
    parser = argparse.ArgumentParser(description="gridtsne big-set job")
    parser.add_argument("--job-id", default=os.environ.get("GRIDTSNE_JOB_ID"))
    parser.add_argument("--bucket", default=os.environ.get("GRIDTSNE_BUCKET"))
    parser.add_argument("--table", default=os.environ.get("JOB_TABLE"))
    parser.add_argument("--input", type=Path, help="local copy of the inputs (default: read the bucket)")
    parser.add_argument("--output", type=Path, help="where outputs go (default: write the bucket)")
    args = parser.parse_args(argv)
    input_root = args.input if args.input and args.input.is_dir() else None
    if not args.job_id or not (args.bucket or (input_root and args.output)):
        parser.error(
            "--job-id and --bucket (or GRIDTSNE_JOB_ID and GRIDTSNE_BUCKET) are required; "
            "without a bucket, --input and --output"
        )
    result = run(
        args.job_id,
        args.bucket,
        table=args.table,
        input_root=input_root,
        output_root=args.output,
    )
    print(result, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
