"""The deployment's settings, read from the environment."""

from __future__ import annotations

import pytest
from gridtsne.aws.settings import Settings
from pydantic import ValidationError


class Tables:
    """A DynamoDB resource stand-in: the table object is the name."""

    def Table(self, name: str) -> str:  # noqa: N802 - boto3's name
        return name


def test_settings_are_read_by_their_variable_names_with_defaults() -> None:
    env = {"GRIDTSNE_BUCKET": "pictures", "JOB_TABLE": "jobs", "URL_EXPIRES": "900"}
    settings = Settings.from_env(env | {"GRIDTSNE_MAX_MEGABYTES": "1.5"})
    assert (settings.bucket, settings.table_name, settings.url_expires) == ("pictures", "jobs", 900)
    assert (settings.bus, settings.embed_batch, settings.big_set_threshold) == ("default", 64, 100_000)
    assert settings.limits().max_bytes == int(1.5 * 1024 * 1024)
    table = settings.table(resource=Tables())
    assert (table.name, table.ttl_days) == ("jobs", None)
    assert Settings.from_env({"JOB_TTL_DAYS": "30"}).table(resource=Tables()).ttl_days == 30


def test_the_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBED_BATCH", "7")
    monkeypatch.setenv("GRIDTSNE_BUCKET", "from-env")
    assert (Settings.from_env().embed_batch, Settings.from_env().bucket) == (7, "from-env")


def test_a_malformed_setting_is_an_error_naming_the_variable() -> None:
    with pytest.raises(ValidationError, match="URL_EXPIRES"):
        Settings.from_env({"URL_EXPIRES": "an hour"})
