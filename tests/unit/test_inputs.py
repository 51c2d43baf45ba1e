"""The one input rule: what under a folder or a bucket prefix is an image, skipped, or ignored."""

from __future__ import annotations

from pathlib import Path

import pytest
from gridtsne.core.inputs import NOT_AN_IMAGE, Kind, kind_of
from gridtsne.pipeline import list_inputs
from gridtsne.store import LocalStore


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("cat.jpg", Kind.IMAGE),
        ("deep/er/Cat.JPEG", Kind.IMAGE),
        ("_DSC0001.JPG", Kind.IMAGE),  # a camera's name, not a control file
        ("_visualize.json", Kind.IGNORED),  # the control file, at the root only
        ("sub/_visualize.json", Kind.SKIPPED),  # elsewhere it is just a file that is not an image
        (".DS_Store", Kind.IGNORED),
        (".hidden.png", Kind.IGNORED),
        (".thumbs/cat.jpg", Kind.IGNORED),  # any hidden segment hides the file
        ("a/.git/b.png", Kind.IGNORED),
        ("notes.txt", Kind.SKIPPED),
        ("archive.png.zip", Kind.SKIPPED),
        ("no_suffix", Kind.SKIPPED),
    ],
)
def test_kind_of(key: str, kind: Kind) -> None:
    assert kind_of(key) is kind


def make(root: Path, names: list[str]) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def test_list_inputs_of_a_folder(tmp_path: Path) -> None:
    make(tmp_path, ["b.png", "a/c.jpg", "_DSC0001.JPG", "_visualize.json", "sub/_visualize.json"])
    make(tmp_path, [".git/x.png", "a/.cache.png", "notes.txt"])
    inputs = list_inputs(LocalStore(tmp_path))
    assert inputs.keys == ["_DSC0001.JPG", "a/c.jpg", "b.png"]
    assert inputs.skipped == [
        {"key": "notes.txt", "reason": NOT_AN_IMAGE},
        {"key": "sub/_visualize.json", "reason": NOT_AN_IMAGE},
    ]
    assert [info.size for info in inputs.images] == [1, 1, 1]


def test_list_inputs_under_a_prefix_applies_the_rule_relative_to_it(tmp_path: Path) -> None:
    make(tmp_path, ["uploads/cats/_visualize.json", "uploads/cats/.x/a.png", "uploads/cats/a.png"])
    make(tmp_path, ["uploads/cats/read me.txt", "uploads/dogs/b.png", "uploads/_visualize.json"])
    inputs = list_inputs(LocalStore(tmp_path), "uploads/cats/")
    assert inputs.keys == ["uploads/cats/a.png"]
    assert inputs.skipped == [{"key": "uploads/cats/read me.txt", "reason": NOT_AN_IMAGE}]
    everything = list_inputs(LocalStore(tmp_path / "uploads"))
    assert everything.keys == ["cats/a.png", "dogs/b.png"]
    assert [s["key"] for s in everything.skipped] == ["cats/_visualize.json", "cats/read me.txt"]


def test_a_listed_problem_is_the_skip_reason_unless_the_entry_is_ignored(tmp_path: Path) -> None:
    make(tmp_path, ["a.png"])
    (tmp_path / "broken.png").symlink_to("nowhere.png")
    (tmp_path / "broken.txt").symlink_to("nowhere.txt")
    (tmp_path / ".broken.png").symlink_to("nowhere.png")
    inputs = list_inputs(LocalStore(tmp_path))
    assert inputs.keys == ["a.png"]
    assert inputs.skipped == [
        {"key": "broken.png", "reason": "broken link (its target does not exist)"},
        {"key": "broken.txt", "reason": "broken link (its target does not exist)"},
    ]
