"""The deployment's settings, read from the environment the template gives every function.

Each field reads the environment variable named by its alias (``GRIDTSNE_BUCKET``, ``JOB_TABLE``, ...);
``template.yaml`` sets them under ``Globals.Function.Environment``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gridtsne.aws.job import JobProgress
from gridtsne.aws.progress import ProgressWriter
from gridtsne.aws.table import JobTable
from gridtsne.core.images import Limits
from gridtsne.store import S3Store

__all__ = ["Settings"]


class Settings(BaseSettings):
    """The deployment's settings; :meth:`from_env` reads them."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=True, populate_by_name=True)

    bucket: str = Field(default="", validation_alias="GRIDTSNE_BUCKET", description="The bucket.")
    table_name: str = Field(default="", validation_alias="JOB_TABLE", description="The job table.")
    bus: str = Field(default="default", validation_alias="EVENT_BUS", description="The EventBridge bus.")
    state_machine_arn: str = Field(
        default="", validation_alias="STATE_MACHINE_ARN", description="The visualize state machine."
    )
    url_expires: int = Field(
        default=3600, ge=1, validation_alias="URL_EXPIRES", description="Seconds a presigned URL is valid."
    )
    big_set_threshold: int = Field(
        default=100_000,
        ge=1,
        validation_alias="BIG_SET_THRESHOLD",
        description="Above this many images, the big-set job (fewer for tiles that do not fit the render"
        " Lambda: gridtsne.aws.job.JobParams.lambda_limit).",
    )
    embed_batch: int = Field(
        default=64, ge=1, validation_alias="EMBED_BATCH", description="Images per embedding Map item."
    )
    max_megapixels: float = Field(
        default=80.0, gt=0, validation_alias="GRIDTSNE_MAX_MEGAPIXELS", description="Largest input picture."
    )
    max_megabytes: float = Field(
        default=50.0, gt=0, validation_alias="GRIDTSNE_MAX_MEGABYTES", description="Largest input file."
    )
    originals_url: str = Field(
        default="",
        validation_alias="ORIGINALS_URL",
        description="The signed redirect to originals the viewer links (empty: none).",
    )
    job_ttl_days: int = Field(
        default=0,
        ge=0,
        validation_alias="JOB_TTL_DAYS",
        description="Days a job record is kept (0: forever).",
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``env`` (default: the process environment).

        Reads ``GRIDTSNE_BUCKET``, ``JOB_TABLE``, ``EVENT_BUS``, ``STATE_MACHINE_ARN``, ``URL_EXPIRES``,
        ``BIG_SET_THRESHOLD``, ``EMBED_BATCH``, ``GRIDTSNE_MAX_MEGAPIXELS``, ``GRIDTSNE_MAX_MEGABYTES``,
        ``ORIGINALS_URL`` and ``JOB_TTL_DAYS``; unset ones take their defaults.
        """
        return cls() if env is None else cls.model_validate(dict(env))

    @classmethod
    def variables(cls) -> list[str]:
        """The names of the environment variables the settings read."""
        return [str(info.validation_alias) for info in cls.model_fields.values()]

    def limits(self) -> Limits:
        """What one input may cost (``GRIDTSNE_MAX_MEGAPIXELS``, ``GRIDTSNE_MAX_MEGABYTES``)."""
        return Limits(
            max_bytes=int(self.max_megabytes * 1024 * 1024), max_pixels=int(self.max_megapixels * 1_000_000)
        )

    def store(self, client: Any = None) -> S3Store:
        """The bucket."""
        return S3Store(self.bucket, client=client)

    def table(self, resource: Any = None) -> JobTable:
        """The job table."""
        return JobTable(self.table_name, resource=resource, ttl_days=self.job_ttl_days or None)

    def progress(self, job: str) -> JobProgress:
        """A progress callback that writes the job's stage and percent to its record, sparingly."""
        return ProgressWriter(self.table(), job)
