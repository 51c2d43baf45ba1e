"""The command line never loses a picture: every entry of a hostile folder ends in ``layout.json`` once.

Each kind of entry (odd images, non-images, links of every sort, FIFOs, sockets, devices, unreadable files
and folders, odd names, hidden files) is written into one folder, the real command line runs on it in a
subprocess with a timeout (so a hang fails), and every entry's outcome is checked: placed, duplicate,
skipped with a reason starting as expected, or ignored (absent).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from gridtsne.core.images import Limits
from gridtsne.output.layout import check
from gridtsne.pipeline import Params, run
from gridtsne.store import LocalStore, ObjectInfo
from PIL import Image

from tests.support import encode, exif_rotated_jpeg, png_claiming, run_cli

PLACED, DUPLICATE, IGNORED = "placed", "duplicate", "ignored"
TIMEOUT = 240
OUTPUTS = {"layout.json", "mosaic.jpg", "viewer.html", "scatter.png"}
RNG = np.random.default_rng(0)


def noise(size: tuple[int, int] = (48, 48), mode: str = "RGB") -> Image.Image:
    pixels = RNG.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels).convert(mode)


def png(image: Image.Image | None = None, **kwargs: object) -> bytes:
    return encode(image or noise(), "PNG", **kwargs)


def animated_gif() -> bytes:
    buffer = io.BytesIO()
    frames = [noise() for _ in range(3)]
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


@dataclass(frozen=True)
class Entry:
    """One entry of the corpus: its key, its expected outcome and how to make it under a root."""

    key: str
    expected: str
    make: Callable[[Path], None]
    needs_denial: bool = False


def data(content: bytes | Callable[[], bytes]) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.write_bytes(content() if callable(content) else content)

    return make


def link(target: str | Path) -> Callable[[Path], None]:
    return lambda path: path.symlink_to(target)


def fifo(path: Path) -> None:
    os.mkfifo(path)


def unix_socket(path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))


def sparse(size: int) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        with path.open("wb") as handle:
            handle.truncate(size)

    return make


def folder_with(name: str, content: bytes, mode: int | None = None) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.mkdir()
        (path / name).write_bytes(content)
        if mode is not None:
            path.chmod(mode)

    return make


def unreadable(content: bytes) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.write_bytes(content)
        path.chmod(0)

    return make


def corpus(outside: Path) -> list[Entry]:
    """Every kind of entry, with what must become of it; ``outside`` is a folder beside the input."""
    (outside / "elsewhere.png").write_bytes(png())
    fifo(outside / "fifo")
    first = png()
    return [
        # Images in every format and mode, with awkward names: placed.
        *(Entry(f"plain/{i}.png", PLACED, data(png)) for i in range(6)),
        Entry("a-first.png", PLACED, data(first)),
        Entry("tiny.png", PLACED, data(png(Image.new("RGB", (1, 1), "red")))),
        Entry("cmyk.jpg", PLACED, data(encode(Image.new("CMYK", (40, 40), (0, 200, 200, 0)), "JPEG"))),
        Entry("grey.jpg", PLACED, data(lambda: encode(noise(mode="L"), "JPEG"))),
        Entry("rgba.png", PLACED, data(lambda: png(noise(mode="RGBA")))),
        Entry(
            "deep.png",
            PLACED,
            data(png(Image.fromarray((np.arange(48 * 48).reshape(48, 48) * 28).astype(np.uint16)))),
        ),
        Entry("palette.png", PLACED, data(lambda: png(noise().convert("P"), transparency=0))),
        Entry("animated.gif", PLACED, data(animated_gif)),
        Entry("picture.bmp", PLACED, data(lambda: encode(noise(), "BMP"))),
        Entry("picture.tiff", PLACED, data(lambda: encode(noise(), "TIFF"))),
        Entry("picture.webp", PLACED, data(lambda: encode(noise(), "WEBP"))),
        Entry("UPPER.JPG", PLACED, data(lambda: encode(noise(), "JPEG"))),
        Entry("png-named.jpg", PLACED, data(png)),
        Entry("trailing-garbage.jpg", PLACED, data(lambda: encode(noise(), "JPEG") + b"\0garbage" * 100)),
        Entry("copy-of-rotated.jpg", PLACED, data(exif_rotated_jpeg())),
        Entry("with space.png", PLACED, data(png)),
        Entry("ünïcödé 写真.png", PLACED, data(png)),
        Entry("100% #1?&.png", PLACED, data(png)),
        Entry("back\\slash.png", PLACED, data(png)),
        Entry("new\nline.png", PLACED, data(png)),
        Entry("x" * 240 + ".png", PLACED, data(png)),
        Entry("nested/deeper/leaf.webp", PLACED, data(lambda: encode(noise(), "WEBP"))),
        Entry("folder.jpg/inside.png", PLACED, data(png)),
        Entry("d/" * 1200 + "d.png", PLACED, data(png)),  # deeper than Python recursion goes
        Entry("link-outside.png", PLACED, link(outside / "elsewhere.png")),
        # Identical content: the first key (in key order) is placed, the others are duplicates.
        Entry("rotated.jpg", DUPLICATE, data(exif_rotated_jpeg())),
        Entry("b-copy.png", DUPLICATE, data(first)),
        Entry("link-inside.png", DUPLICATE, link("a-first.png")),
        Entry("nested/link-up.png", DUPLICATE, link("../a-first.png")),
        Entry("hardlink.png", DUPLICATE, lambda path: path.hardlink_to(path.parent / "a-first.png")),
        # Image names whose content is no usable image.
        Entry("empty.jpg", "empty file", data(b"")),
        Entry("truncated.jpg", "corrupt image", data(lambda: encode(noise((200, 200)), "JPEG")[:400])),
        Entry("header-only.png", "not an image (unknown format)", data(b"\x89PNG\r\n\x1a\n")),
        Entry("text.jpg", "not an image (unknown format)", data(b"this is not a picture\n")),
        Entry("page.png", "not an image (unknown format)", data(b"<html><script>alert(1)</script>")),
        Entry("zeros.gif", "not an image (unknown format)", data(bytes(4096))),
        Entry("bomb.png", "image too large", data(png_claiming(30000, 30000))),
        Entry("huge-sparse.jpg", "file too large", sparse(Limits().max_bytes + 1)),
        Entry("lying-proc.png", "not an image (unknown format)", link("/proc/self/status")),
        # Names that are not an image's.
        Entry("notes.txt", "not an image file", data(b"just notes")),
        Entry("data.csv", "not an image file", data(b"a,b\n1,2\n")),
        Entry("README", "not an image file", data(b"no suffix")),
        Entry("picture.png.txt", "not an image file", data(png)),
        Entry("nested/_visualize.json", "not an image file", data(b"{}")),
        # Entries that are not regular files, or not reachable.
        Entry("fifo.jpg", "not a regular file (a FIFO)", fifo),
        Entry("socket.png", "not a regular file (a socket)", unix_socket),
        Entry("zero.png", "not a regular file (link to a character device)", link("/dev/zero")),
        Entry("null.jpg", "not a regular file (link to a character device)", link("/dev/null")),
        Entry("fifo-link.png", "not a regular file (link to a FIFO)", link(outside / "fifo")),
        Entry("folder-link.png", "not a regular file (link to a folder)", link(outside)),
        Entry("folder-link", "not a regular file (link to a folder)", link("nested")),
        Entry("dangling.jpg", "broken link", link("does-not-exist.jpg")),
        Entry("dangling.txt", "broken link", link("does-not-exist.txt")),
        Entry("loop-a.png", "link loop", link("loop-b.png")),
        Entry("loop-b.png", "link loop", link("loop-a.png")),
        Entry("self.png", "link loop", link("self.png")),
        Entry("secret.png", "unreadable (Permission denied)", unreadable(png()), needs_denial=True),
        Entry("locked/", "unreadable folder (Permission denied)", folder_with("a.png", png(), 0), True),
        # Hidden entries and the control file are not inputs: they appear nowhere.
        Entry(".hidden.png", IGNORED, data(png)),
        Entry(".cache/thumb.png", IGNORED, data(png)),
        Entry(".broken.png", IGNORED, link("nowhere.png")),
        Entry(".fifo.jpg", IGNORED, fifo),
        Entry(".locked/", IGNORED, folder_with("a.png", png(), 0), True),
        Entry("nested/.DS_Store", IGNORED, data(b"\0\0\0\1Bud1")),
        Entry("_visualize.json", IGNORED, data(b"{}")),
    ]


def denial_wrapper() -> list[str] | None:
    """How to run the command line so that file permissions apply to it; None when impossible here."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"] if setpriv else None


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str], list[str]]]:
    """The corpus written under ``tmp_path/in``: (root, expected outcome by key, command wrapper)."""
    root, outside = tmp_path / "in", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    wrapper = denial_wrapper()
    expected: dict[str, str] = {}
    for entry in corpus(outside):
        if entry.needs_denial and wrapper is None:
            continue
        path = root / entry.key.rstrip("/")
        for parent in reversed(path.relative_to(root).parents):  # one by one: some are 1200 deep
            (root / parent).mkdir(exist_ok=True)
        entry.make(path)
        expected[entry.key] = entry.expected
    raw = os.open(os.fsencode(root) + b"/\xff-latin1.png", os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(raw, png())
    os.close(raw)
    expected["\\xff-latin1.png"] = "file name is not valid UTF-8"
    yield root, expected, wrapper or []
    for path in (root / "locked", root / ".locked", root / "secret.png"):
        if path.exists():
            path.chmod(0o700)
    # pytest's own clean-up of old temporary folders recurses, and the deep folder is deeper than Python's
    # recursion limit: remove it here, without recursion.
    subprocess.run(["rm", "-rf", "--", str(root / "d")], check=True)


def outcomes(layout: dict[str, object]) -> dict[str, str]:
    """Every key of a layout with its outcome: placed, duplicate or the skip reason."""
    images, duplicates, skipped = layout["images"], layout["duplicates"], layout["skipped"]
    assert isinstance(images, list) and isinstance(duplicates, list) and isinstance(skipped, list)
    found = {im["key"]: PLACED for im in images}
    found |= {d["key"]: DUPLICATE for d in duplicates}
    found |= {s["key"]: s["reason"] for s in skipped}
    return found


def test_every_hostile_entry_ends_in_the_layout_once(
    hostile: tuple[Path, dict[str, str], list[str]], tmp_path: Path
) -> None:
    root, expected, wrapper = hostile
    assert len(expected) >= 60
    proc = run_cli("run", root, "--out", tmp_path / "out", timeout=TIMEOUT, wrapper=wrapper)
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in (tmp_path / "out").iterdir()} >= OUTPUTS
    layout = json.loads((tmp_path / "out" / "layout.json").read_text())
    inputs = [key for key, want in expected.items() if want != IGNORED]
    check(layout, inputs)  # each input exactly once, none extra (so no ignored entry), no shared cell
    found = outcomes(layout)
    wrong = {key: found[key] for key in inputs if not found[key].startswith(expected[key])}
    assert wrong == {}
    assert {d["key"]: d["same_as"] for d in layout["duplicates"]} == {
        "rotated.jpg": "copy-of-rotated.jpg",
        "b-copy.png": "a-first.png",
        "link-inside.png": "a-first.png",
        "nested/link-up.png": "a-first.png",
        "hardlink.png": "a-first.png",
    }
    skipped = sum(not want.startswith((PLACED, DUPLICATE, IGNORED)) for want in expected.values())
    assert f"skipped {skipped}: " in proc.stderr


def test_a_folder_of_only_bad_entries_still_writes_the_layout(
    hostile: tuple[Path, dict[str, str], list[str]], tmp_path: Path
) -> None:
    root, expected, wrapper = hostile
    for key, want in expected.items():
        if want in (PLACED, DUPLICATE):
            path = root / key
            path.unlink()
    bad = {key: want for key, want in expected.items() if want not in (PLACED, DUPLICATE, IGNORED)}
    out = tmp_path / "out"
    proc = run_cli("run", root, "--out", out, timeout=TIMEOUT, wrapper=wrapper)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f"gridtsne: failed: no usable images among {len(bad)} files (why: {out / 'layout.json'})"
    )
    assert {p.name for p in out.iterdir()} >= OUTPUTS
    layout = json.loads((out / "layout.json").read_text())
    check(layout, list(bad))
    assert layout["grid"]["rows"] == layout["grid"]["cols"] == 1 and layout["images"] == []
    found = outcomes(layout)
    assert {key: found[key] for key in bad if not found[key].startswith(bad[key])} == {}


def test_an_empty_folder_writes_an_empty_layout_and_fails(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / ".hidden.png").write_bytes(png())
    proc = run_cli("run", tmp_path / "in", "--out", tmp_path / "out", timeout=TIMEOUT)
    assert proc.returncode == 1
    assert "no usable images among 0 files" in proc.stderr.splitlines()[-1]
    layout = json.loads((tmp_path / "out" / "layout.json").read_text())
    assert (layout["images"], layout["skipped"], layout["duplicates"]) == ([], [], [])


class ChangingStore(LocalStore):
    """A folder whose files change right after they are listed, before they are read."""

    def __init__(self, root: Path, change: Callable[[], None]) -> None:
        super().__init__(root)
        self.change = change

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        listed = list(super().list(prefix))
        self.change()
        yield from listed


def test_files_that_change_between_listing_and_reading_are_skipped_with_their_reason(tmp_path: Path) -> None:
    limits = Limits(max_bytes=50_000)
    for i in range(5):
        (tmp_path / f"plain-{i}.png").write_bytes(png())
    names = ["gone.png", "grows.png", "shrinks.png", "to-fifo.png", "to-folder.png", "to-link.png"]
    for name in names:
        (tmp_path / name).write_bytes(png())

    def change() -> None:
        (tmp_path / "gone.png").unlink()
        with (tmp_path / "grows.png").open("ab") as handle:
            handle.write(bytes(limits.max_bytes))
        (tmp_path / "shrinks.png").write_bytes((tmp_path / "shrinks.png").read_bytes()[:100])
        (tmp_path / "to-fifo.png").unlink()
        os.mkfifo(tmp_path / "to-fifo.png")
        (tmp_path / "to-folder.png").unlink()
        (tmp_path / "to-folder.png").mkdir()
        (tmp_path / "to-link.png").unlink()
        (tmp_path / "to-link.png").symlink_to("/dev/zero")

    layout = run(ChangingStore(tmp_path, change), Params(limits=limits)).layout.to_dict()
    check(layout, [f"plain-{i}.png" for i in range(5)] + names)
    expected = {
        "gone.png": "deleted before it could be read",
        "grows.png": "file too large (",
        "shrinks.png": "corrupt image (",
        "to-fifo.png": "not a regular file (a FIFO)",
        "to-folder.png": "not a regular file (a folder)",
        "to-link.png": "not a regular file (a character device)",
    }
    found = outcomes(layout)
    assert {name: found[name] for name in names if not found[name].startswith(expected[name])} == {}
    assert [im["key"] for im in layout["images"]] == [f"plain-{i}.png" for i in range(5)]
