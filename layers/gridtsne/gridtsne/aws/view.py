"""A job as its users see it: the API's ``GET /v2/visualizations/{id}`` and a finished execution's output.

One view for every door, so a console user reads in the execution's output panel what an API client gets.
Its ``data`` holds presigned URLs, signed when it is asked for; the viewer's link carries those of the
files it reads in its fragment (``viewer.html?<signature>#mosaic=<url>&tiles=<url>&keys=<url>``), so the
stored page needs no URL of its own and opens for as long as its files are kept, through a fresh link.
Where the deployment has a signed redirect to originals, the fragment also carries the job's token for it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from gridtsne.aws.job import JobRecord, Progress
from gridtsne.aws.originals import originals_link
from gridtsne.output.viewer import fragment
from gridtsne.store import Store

__all__ = ["Failure", "Link", "ProgressView", "Visualization", "job_view", "output_urls"]


class Link(BaseModel):
    """A presigned URL."""

    url: str


class Failure(BaseModel):
    """Why a job failed."""

    error: str
    cause: str


class ProgressView(Progress):
    """Where a running job is, with the time its stage has left."""

    eta_seconds: int | None = Field(
        None, description="Seconds until ``eta``, counted when asked; absent unless the job is running."
    )


class Visualization(BaseModel):
    """A job as the API shows it."""

    id: str
    status: str = Field(description="pending, running, succeeded or failed.")
    collection: str
    progress: ProgressView
    created: str
    updated: str
    count: int | None = Field(None, description="Images placed on the grid.")
    quality: dict[str, Any] | None = Field(None, description="The layout's quality block, when succeeded.")
    data: dict[str, Link] | None = Field(
        None,
        description="image, layout, viewer, scatter and, for a grid too big for one picture, tiles (the "
        "deep-zoom archive) and keys (the keys of its cells), when succeeded. The viewer's link brings the "
        "others it reads in its fragment.",
    )
    error: Failure | None = None


def output_urls(
    outputs: dict[str, str], store: Store, expires: int = 3600, originals: str | None = None
) -> dict[str, str]:
    """Presigned URLs of a job's outputs by name; the viewer's fragment carries its pictures' URLs.

    Parameters
    ----------
    outputs
        Output name -> S3 key (:data:`~gridtsne.aws.job.OUTPUT_NAMES`).
    store
        The bucket.
    expires
        Seconds the URLs are valid.
    originals
        The job's signed link to its originals (:func:`~gridtsne.aws.originals.originals_link`), if any.
    """
    urls = {name: store.url(key, expires) for name, key in outputs.items()}
    if "viewer" in urls:
        shown = {
            "mosaic": urls.get("image"),
            "tiles": urls.get("tiles"),
            "keys": urls.get("keys"),
            "originals": originals,
        }
        urls["viewer"] += "#" + fragment({name: url for name, url in shown.items() if url})
    return urls


def job_view(
    record: JobRecord, store: Store | None = None, expires: int = 3600, originals_url: str = ""
) -> dict[str, Any]:
    """The job as plain data; with ``store``, a succeeded job's outputs as presigned URLs under ``data``.

    Parameters
    ----------
    record
        The job record.
    store
        The bucket that holds the outputs (None: no URLs, as in a listing).
    expires
        Seconds the URLs are valid.
    originals_url
        The signed redirect to originals (``ORIGINALS_URL``); with it, the viewer's link carries a token
        that opens the job's originals for ``expires`` seconds.
    """
    data = None
    if store is not None and record.status == "SUCCEEDED":
        originals = originals_link(originals_url, record, expires) if originals_url else None
        urls = output_urls(record.outputs, store, expires, originals)
        data = {name: Link(url=url) for name, url in urls.items()}
    failure = None
    if record.status == "FAILED":
        failure = Failure(error=record.error or "", cause=record.cause or "")
    view = Visualization(
        id=record.id,
        status=record.status.lower(),
        collection=record.collection,
        progress=_progress(record),
        created=record.created,
        updated=record.updated,
        count=record.count,
        quality=record.quality,
        data=data,
        error=failure,
    )
    return view.model_dump(mode="json", exclude_none=True)


def _progress(record: JobRecord) -> ProgressView:
    """The record's progress; while the job runs, with the seconds until its ``eta``."""
    data = record.progress.model_dump()
    eta = data.pop("eta", None)
    if record.status == "RUNNING" and eta is not None:
        left = (datetime.fromisoformat(eta) - datetime.now(UTC)).total_seconds()
        data.update(eta=eta, eta_seconds=max(0, round(left)))
    return ProgressView.model_validate(data)
