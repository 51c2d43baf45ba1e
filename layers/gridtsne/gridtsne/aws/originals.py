"""A signed redirect to a job's original pictures, for the viewer's "Open original" link.

The viewer's link carries one token per job in its fragment, ``originals=<endpoint>?job=..&exp=..&sig=..``,
with ``sig`` an HMAC-SHA256 of ``"<job>:<exp>"`` under the job's own secret (kept in its record). The page
appends ``&key=<key>``; the endpoint checks the signature, its expiry and that the key is one of the job's
collection's uploads, then redirects to a freshly presigned URL of the original. One token serves any number
of pictures; a leaked one opens only that job's collection, and only until it expires.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from gridtsne.aws.job import JobRecord
from gridtsne.aws.table import JobTable
from gridtsne.store import Store

__all__ = ["Answer", "originals_link", "redirect", "signature"]

#: Seconds the presigned URL of an original is valid: the redirect is followed at once.
ORIGINAL_EXPIRES = 300


@dataclass(frozen=True)
class Answer:
    """What the endpoint answers: a status and either the redirect's location or a plain message."""

    status: int
    location: str = ""
    message: str = ""


def signature(secret: str, job: str, expires_at: int) -> str:
    """The hex HMAC-SHA256 of ``"<job>:<expires_at>"`` under the job's ``secret``."""
    return hmac.new(secret.encode(), f"{job}:{expires_at}".encode(), hashlib.sha256).hexdigest()


def originals_link(endpoint: str, record: JobRecord, expires: int, now: float | None = None) -> str | None:
    """The job's signed originals link (without ``&key=``), or None for a record with no secret.

    Parameters
    ----------
    endpoint
        The redirect's URL (``ORIGINALS_URL``).
    record
        The job record; its ``secret`` signs the link.
    expires
        Seconds the link is valid.
    now
        The current Unix time (default: the clock).
    """
    if not record.secret:
        return None
    expires_at = int(time.time() if now is None else now) + expires
    query = {"job": record.id, "exp": expires_at, "sig": signature(record.secret, record.id, expires_at)}
    return endpoint + ("&" if "?" in endpoint else "?") + urlencode(query)


def redirect(table: JobTable, store: Store, query: dict[str, str], now: float | None = None) -> Answer:
    """Answer one request ``?job=&exp=&sig=&key=``: 302 to the original, 403 or 404 with a message.

    Parameters
    ----------
    table
        The job table.
    store
        The bucket.
    query
        The request's query string parameters.
    now
        The current Unix time (default: the clock).
    """
    job, key, sig = query.get("job", ""), query.get("key", ""), query.get("sig", "")
    try:
        expires_at = int(query.get("exp", ""))
    except ValueError:
        return Answer(403, message="invalid link")
    if not job or not sig:
        return Answer(403, message="invalid link")
    if expires_at <= (time.time() if now is None else now):
        return Answer(403, message="this link has expired: ask the API for a fresh viewer link")
    record = table.get(job)
    if record is None or not record.secret:
        return Answer(404, message="no such job")
    if not hmac.compare_digest(sig, signature(record.secret, job, expires_at)):
        return Answer(403, message="invalid link")
    if not key.startswith(f"uploads/{record.collection}/") or not store.exists(key):
        return Answer(404, message="no such picture in this job's collection")
    return Answer(302, location=store.url(key, ORIGINAL_EXPIRES))
