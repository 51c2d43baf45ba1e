"""The command line's vector cache: a second run with other settings embeds nothing, a model change embeds
again, unusable files stay reported, and a bucket prefix lays out like the same files in a folder."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import boto3
import numpy as np
import pytest
from gridtsne.cache import model_key
from gridtsne.cli import main
from gridtsne.core.embed import Embedder
from gridtsne.core.model import load_spec
from moto import mock_aws

BUCKET = "pictures"


@pytest.fixture
def folder(small_digits_dir: Path, tmp_path: Path) -> Path:
    """60 digits, one corrupt PNG and one exact copy of a digit."""
    root = tmp_path / "in"
    pngs = sorted(small_digits_dir.rglob("*.png"))[:60]
    for path in pngs:
        target = root / path.relative_to(small_digits_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    (root / "corrupt.png").write_bytes(pngs[0].read_bytes()[:60])
    shutil.copyfile(pngs[1], root / "copy.png")
    return root


@pytest.fixture
def model_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The batch size of every model call made in this process."""
    calls: list[int] = []
    original = Embedder.run

    def counting(self: Embedder, batch: np.ndarray) -> np.ndarray:
        calls.append(len(batch))
        return original(self, batch)

    monkeypatch.setattr(Embedder, "run", counting)
    return calls


def run(source: str | Path, out: Path, *extra: str) -> dict[str, object]:
    assert main(["run", str(source), "--out", str(out), *extra]) == 0
    layout: dict[str, object] = json.loads((out / "layout.json").read_text())
    return layout


def test_a_second_run_with_other_reduce_settings_embeds_nothing(
    folder: Path, tmp_path: Path, model_calls: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    first = run(folder, tmp_path / "a")
    assert sum(model_calls) == 60  # the copy is embedded once, the corrupt file never
    assert "cache: 0 of 60 vectors from" in capsys.readouterr().err
    model_calls.clear()
    second = run(folder, tmp_path / "b", "--perplexity", "10", "--seed", "4", "--grid", "8x8")
    assert model_calls == []
    assert "cache: 60 of 60 vectors from" in capsys.readouterr().err
    assert second["params"]["perplexity"] == 10 and second["grid"]["rows"] == 8  # type: ignore[index]
    assert second["model"] == first["model"]
    assert [i["key"] for i in second["images"]] == [i["key"] for i in first["images"]]  # type: ignore[attr-defined]


def test_unusable_files_and_duplicates_are_reported_on_every_run(
    folder: Path, tmp_path: Path, model_calls: list[int]
) -> None:
    for out in ("a", "b"):
        layout = run(folder, tmp_path / out)
        (skip,) = layout["skipped"]  # type: ignore[misc]
        assert skip["key"] == "corrupt.png" and skip["reason"].startswith("corrupt image")
        (dup,) = layout["duplicates"]  # type: ignore[misc]
        assert dup["key"] == "copy.png"
    assert sum(model_calls) == 60
    kept = run(folder, tmp_path / "c", "--keep-duplicates")
    assert len(kept["images"]) == 61 and kept["duplicates"] == []  # type: ignore[arg-type]
    assert sum(model_calls) == 60  # placed twice from one cached vector


def test_another_input_size_embeds_again(
    folder: Path, tmp_path: Path, model_calls: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    run(folder, tmp_path / "a")
    model_calls.clear()
    layout = run(folder, tmp_path / "b", "--input-size", "96")
    assert sum(model_calls) == 60
    assert layout["model"]["input_size"] == 96  # type: ignore[index]
    assert "cache: 0 of 60 vectors from" in capsys.readouterr().err.splitlines()[-1]


def test_without_cache_nothing_is_kept(folder: Path, tmp_path: Path, vector_cache: Path) -> None:
    run(folder, tmp_path / "a", "--no-cache")
    assert not any(vector_cache.iterdir())
    run(folder, tmp_path / "b", "--cache", str(tmp_path / "mine"))
    assert list((tmp_path / "mine" / "vectors").iterdir())


def test_the_model_record_chooses_the_cache() -> None:
    spec = load_spec()
    base = Embedder(spec)
    assert model_key(base) == model_key(Embedder(spec))
    assert model_key(base) != model_key(Embedder(spec, size=spec.size + 32))
    assert model_key(base) != model_key(Embedder(dataclasses.replace(spec, sha256="f" * 64)))
    # A spec that does not give the file's digest: the file is hashed, which gives the digest the spec has.
    assert model_key(Embedder(dataclasses.replace(spec, sha256=None))) == model_key(base)


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield


def test_a_bucket_prefix_lays_out_like_the_same_folder(
    bucket: None, folder: Path, tmp_path: Path, model_calls: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    client = boto3.client("s3")
    for path in folder.rglob("*"):
        if path.is_file():
            client.put_object(
                Bucket=BUCKET, Key=f"set/{path.relative_to(folder).as_posix()}", Body=path.read_bytes()
            )
    client.put_object(Bucket=BUCKET, Key="other/0/0.png", Body=b"not under the prefix")
    from_bucket = run(f"s3://{BUCKET}/set", tmp_path / "s3")
    assert sum(model_calls) == 60
    from_folder = run(folder, tmp_path / "folder")
    assert sum(model_calls) == 60  # the same content: the folder's vectors come from the bucket's run
    assert "cache: 60 of 60 vectors from" in capsys.readouterr().err

    def keys(layout: dict[str, object], part: str, field: str = "key") -> list[str]:
        return sorted(item[field] for item in layout[part])  # type: ignore[attr-defined]

    for part in ("images", "skipped", "duplicates"):
        assert keys(from_bucket, part) == keys(from_folder, part)
    assert from_bucket["grid"] == from_folder["grid"]
    viewer = (tmp_path / "s3" / "viewer.html").read_text()
    first = keys(from_bucket, "images")[0]
    assert f"set/{first}?" in viewer and "Signature=" in viewer  # originals: presigned links into the bucket
