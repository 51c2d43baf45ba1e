"""Decoding: every format and mode comes out as RGB; bad files get a clear reason."""

from __future__ import annotations

import io

import numpy as np
import pytest
from gridtsne.core.images import ImageError, Limits, decode, sniff
from PIL import Image

from tests.support import encode, exif_rotated_jpeg, png_claiming


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"])
def test_every_format_decodes_to_rgb(fmt: str) -> None:
    image = decode(encode(Image.new("RGB", (30, 20), (200, 30, 30)), fmt))
    assert image.mode == "RGB" and image.size == (30, 20)


def test_exif_orientation_is_applied() -> None:
    image = decode(exif_rotated_jpeg())
    assert image.size == (20, 40)
    top = np.asarray(image)[5, 10]
    assert top[0] > 200 and top[2] < 60  # the red half is on top after the rotation


def test_alpha_is_composited_on_white() -> None:
    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    assert np.asarray(decode(encode(rgba, "PNG"))).min() == 255


def test_palette_with_transparency() -> None:
    image = Image.new("P", (10, 10), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (0, 0, 5, 10))
    data = encode(image, "PNG", transparency=0)
    pixels = np.asarray(decode(data))
    assert pixels[0, 0].tolist() == [255, 0, 0]
    assert pixels[0, 9].tolist() == [255, 255, 255]


def test_cmyk_jpeg() -> None:
    data = encode(Image.new("CMYK", (10, 10), (0, 255, 255, 0)), "JPEG")
    pixel = np.asarray(decode(data))[5, 5]
    assert pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60


def test_16_bit_png_keeps_its_range() -> None:
    ramp = (np.linspace(0, 65535, 64).reshape(8, 8)).astype(np.uint16)
    data = encode(Image.fromarray(ramp), "PNG")
    pixels = np.asarray(decode(data))[..., 0]
    assert pixels.min() <= 1 and pixels.max() >= 254


def test_animated_gif_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (10, 10), c) for c in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    pixel = np.asarray(decode(buffer.getvalue()))[5, 5]
    assert pixel[0] > 200 and pixel[1] < 60


def test_draft_mode_decodes_large_jpegs_small() -> None:
    data = encode(Image.new("RGB", (2000, 1600), "green"), "JPEG")
    assert min(decode(data, min_side=224).size) >= 224
    assert decode(data, min_side=224).size[0] <= 500


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"hello, I am text", "not an image"),
        (png_claiming(30000, 30000), "too large"),
        (encode(Image.new("RGB", (200, 200), "red"), "JPEG")[:300], "corrupt"),
    ],
)
def test_bad_input_has_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ImageError, match=reason):
        decode(data)


def test_limits_are_enforced() -> None:
    data = encode(Image.new("RGB", (100, 100)), "PNG")
    with pytest.raises(ImageError, match="file too large"):
        decode(data, limits=Limits(max_bytes=10))
    with pytest.raises(ImageError, match="image too large"):
        decode(data, limits=Limits(max_pixels=50 * 50))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"])
def test_sniff_accepts_every_format_from_its_first_bytes(fmt: str) -> None:
    sniff(encode(Image.new("RGB", (30, 20)), fmt)[:64])


@pytest.mark.parametrize(
    ("head", "reason"),
    [
        (b"", "empty file"),
        (b"hello, not a picture", "not an image (unknown format)"),
        (bytes(64), "not an image (unknown format)"),
        (b"%PDF-1.7\n", "not an image (unknown format)"),
        (encode(Image.new("RGB", (8, 8)), "ICO")[:64], "not an image (unknown format)"),  # Pillow reads ICO
    ],
)
def test_sniff_refuses_what_decode_would_with_the_same_reason(head: bytes, reason: str) -> None:
    with pytest.raises(ImageError) as refused:
        sniff(head)
    assert refused.value.reason == reason
    with pytest.raises(ImageError) as decoded:
        decode(head)
    assert decoded.value.reason == reason
