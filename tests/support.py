"""Helpers shared by the tests."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def run_cli(
    *args: object, timeout: float | None = None, wrapper: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """Run ``gridtsne`` in a fresh process with ``args``; output captured as text, exit status not checked.

    Parameters
    ----------
    timeout
        Seconds before the process is killed and :class:`subprocess.TimeoutExpired` raised (None: no limit).
    wrapper
        A command that runs the rest (e.g. ``setpriv ...``), empty for none.
    """
    command = [*wrapper, sys.executable, "-m", "gridtsne.cli", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout)


def encode(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    """``image`` saved in format ``fmt`` (Pillow's name, e.g. ``"JPEG"``), as bytes."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header declares width × height (the pixel data is tiny)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0"))
        + chunk(b"IEND", b"")
    )


def exif_rotated_jpeg() -> bytes:
    """A 40×20 JPEG, left half red, whose EXIF orientation says 'rotate 90° clockwise' (6)."""
    image = Image.new("RGB", (40, 20), "blue")
    image.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(image, "JPEG", exif=exif.tobytes(), quality=95)
