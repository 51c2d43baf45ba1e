"""Decode image files into RGB pictures, safely.

Every supported format (JPEG, PNG, WebP, GIF first frame, BMP, TIFF) comes out as an 8-bit RGB image,
rotated by its EXIF orientation, with transparency composited on white. Files over a byte limit and images
over a pixel limit (decompression bombs) are refused before any pixel is decoded. Every failure raises
:class:`ImageError` with a short reason meant for people, so a batch can skip the file and say why.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

#: File name suffixes considered images when a folder or a bucket prefix is listed.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})

#: Pillow formats accepted; anything else Pillow happens to read is refused.
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")

WHITE = (255, 255, 255)


class ImageError(ValueError):
    """A file that cannot be used as an image; ``reason`` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    """What a single input may cost: bytes on disk and decoded pixels."""

    max_bytes: int = 50 * 1024 * 1024
    max_pixels: int = 80_000_000


def is_image_name(name: str) -> bool:
    """True when ``name`` has an image suffix (case-insensitive)."""
    return PurePath(name).suffix.lower() in IMAGE_SUFFIXES


def decode(data: bytes, *, min_side: int | None = None, limits: Limits | None = None) -> Image.Image:
    """Decode ``data`` into an RGB image, EXIF-oriented, alpha composited on white.

    Parameters
    ----------
    data
        The file's bytes.
    min_side
        Lets JPEGs decode in draft mode (DCT scaling) to the smallest size whose shorter side is still
        at least ``min_side`` pixels, which makes large photos several times cheaper.
    limits
        Byte and pixel limits (default :class:`Limits`).

    Raises
    ------
    ImageError
        For empty, oversized, truncated, unknown or bomb-like input.
    """
    limits = limits or Limits()
    if not data:
        raise ImageError("empty file")
    if len(data) > limits.max_bytes:
        raise ImageError(f"file too large ({len(data)} bytes > {limits.max_bytes})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
        width, height = image.size
        if width * height > limits.max_pixels:
            raise ImageError(f"image too large ({width}x{height} pixels > {limits.max_pixels})")
        if width < 1 or height < 1:
            raise ImageError("image has no pixels")
        if min_side and image.format in ("JPEG", "MPO"):
            image.draft("RGB", _draft_size(width, height, min_side))
        image.load()
        return to_rgb(ImageOps.exif_transpose(image) or image)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("image too large (decompression bomb)") from exc
    except UnidentifiedImageError as exc:
        raise ImageError("not an image (unknown format)") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"corrupt image ({_first_line(exc)})") from exc


def sniff(head: bytes) -> None:
    """Refuse, from its first bytes, a file no accepted format can read (with :func:`decode`'s reasons).

    Parameters
    ----------
    head
        The file's first bytes (at least 16 unless the file is shorter).

    Raises
    ------
    ImageError
        For an empty file, or one whose signature matches none of :data:`FORMATS`.
    """
    if not head:
        raise ImageError("empty file")
    Image.init()
    for fmt in FORMATS:
        accept = Image.OPEN[fmt][1] if fmt in Image.OPEN else None
        verdict = accept(head) if accept else True
        if verdict and not isinstance(verdict, str):  # a string is Pillow's reason for refusing
            return
    raise ImageError("not an image (unknown format)")


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any mode (palette, greyscale, CMYK, 16-bit, with or without alpha) to 8-bit RGB on white."""
    if image.mode == "RGB":
        return image
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode.startswith(("I", "F")):
        image = _to_8bit(image)
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, WHITE)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


def square(image: Image.Image, side: int) -> Image.Image:
    """Centre-crop ``image`` to a square and resize it to ``side`` × ``side`` pixels."""
    return ImageOps.fit(image, (side, side), Image.Resampling.BILINEAR, centering=(0.5, 0.5))


def _to_8bit(image: Image.Image) -> Image.Image:
    """Greyscale of 16 or 32 bits per pixel, scaled to 8 bits (16-bit range when values exceed 255)."""
    pixels = np.asarray(image, dtype=np.float64)
    if pixels.size and pixels.max() > 255:
        pixels = pixels / 257.0
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8), "L")


def _draft_size(width: int, height: int, min_side: int) -> tuple[int, int]:
    scale = min_side / min(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:120] if text else type(exc).__name__


# Truncated files must fail loudly rather than decode as grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False
