"""``viewer.html``: one self-contained page to explore a layout.

Pan (drag, Shift+arrows), zoom (wheel, pinch, + / − buttons, fit), hover a tile to see its key,
click it to see it larger with its key (and to open the original where the page has its URL), search keys
by substring. The page makes no requests but the mosaic (or range requests into the deep-zoom archive,
see :mod:`gridtsne.output.archive`, read with the inlined npm ``pmtiles`` library, and into the key file)
and the originals the user opens; its Content-Security-Policy forbids everything else (and any fetch when
there is neither archive nor key file).

Links that outlive their URLs: the page names its pictures as given here (relative to itself, such as
``mosaic.jpg`` and ``tiles.pmtiles``), and the fragment of the link that opens it may replace them with
fresh absolute ones: ``viewer.html#mosaic=<url>&tiles=<url>&keys=<url>`` (each URL-encoded; see
:func:`fragment`). So a stored page carries no URL that expires, and whoever hands out a link to it (the
API) signs its pictures at that moment. Opened from ``file://``, where a page cannot read a file by
ranges, a page with an archive shows the mosaic overview (and, with a key file, no keys).

The layout is embedded compactly (keys, cells, original URLs, a summary of skipped and duplicate
inputs, the grid's quality, shown in the header); ``layout.json`` stays the full record. A page with a
key file (``keys_url``, :mod:`gridtsne.output.keyfile`) embeds no key, cell or URL: it reads the block of
keys that a hover, click or search needs by range requests, so its size does not grow with the grid.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote, urlencode, urlsplit

from gridtsne.output.layout import quality_text
from gridtsne.output.tiles import PyramidInfo

#: How many skipped / duplicate inputs the page lists by name (the counts are always exact).
LISTED = 500

_SAFE_SCHEMES = {"", "http", "https", "file"}
_TEMPLATES = Path(__file__).with_name("templates")
_PLACEHOLDER = re.compile(r"@(TITLE|CONNECT|CSS|PMTILES|JS|DATA)@")
#: What the fragment of a viewer link may carry (:func:`fragment`): its pictures, its key file, and a link to
#: originals.
FRAGMENT_NAMES = ("mosaic", "tiles", "keys", "originals")
_SOURCE_MAP = re.compile(r"\n//# sourceMappingURL=\S*\s*$")


@runtime_checkable
class SupportsToDict(Protocol):
    """A layout object that can give its JSON contract (such as :class:`gridtsne.output.layout.Layout`)."""

    def to_dict(self) -> dict[str, Any]:
        """The layout as the JSON contract."""
        ...


def viewer_html(
    layout: Mapping[str, Any] | SupportsToDict,
    mosaic_url: str,
    *,
    original_urls: Mapping[str, str] | None = None,
    tiles: PyramidInfo | Mapping[str, Any] | None = None,
    tiles_url: str = "tiles.pmtiles",
    keys_url: str | None = None,
    title: str = "gridtsne",
) -> str:
    """The viewer page for ``layout`` as one HTML document (inline CSS and JS, no external requests).

    Parameters
    ----------
    layout
        The ``layout.json`` contract (:mod:`~gridtsne.output.layout`), or an object whose ``to_dict()`` is.
    mosaic_url
        URL of the mosaic picture, relative to the page (the link's fragment may replace it). It must
        cover the whole grid; any resolution works. With ``tiles``, the picture shown when the archive
        cannot be read (may be empty).
    original_urls
        ``key -> URL`` of each original, opened when its tile is clicked. Keys missing here are not
        linked; URLs with a scheme other than http(s)/file are dropped. Relative paths must be
        URL-encoded (see :func:`local_url`).
    tiles
        The geometry of a deep-zoom pyramid (:class:`gridtsne.output.tiles.PyramidInfo` or its
        ``to_dict()``) to show instead of one mosaic picture.
    tiles_url
        URL of the pyramid's PMTiles archive, relative to the page (the link's fragment may replace it).
    keys_url
        URL of the grid's key file (:mod:`gridtsne.output.keyfile`), relative to the page (the link's
        fragment may replace it): the page then reads keys and original URLs from it and embeds none.
    title
        Page title.

    Raises
    ------
    ValueError
        When the layout breaks the contract (no grid, a cell outside it or shared) or no safe URL
        shows the picture.
    """
    data = layout.to_dict() if isinstance(layout, SupportsToDict) else layout
    payload = _payload(data, mosaic_url, original_urls or {}, tiles, tiles_url, keys_url, title)
    parts = {
        "TITLE": html.escape(title),
        # range requests into the archive and the key file, wherever the link's fragment says they are;
        # none without them
        "CONNECT": "; connect-src http: https:" if payload["tiles"] or payload["keyfile"] else "",
        "CSS": _asset("viewer.css"),
        # the archive's reader (npm pmtiles, see templates/pmtiles.LICENSE), only with an archive
        "PMTILES": f"<script>\n{_SOURCE_MAP.sub('', _asset('pmtiles.js'))}\n</script>\n"
        if payload["tiles"]
        else "",
        "JS": _asset("viewer.js"),
        "DATA": embed_json(payload),
    }
    return _PLACEHOLDER.sub(lambda m: parts[m.group(1)], _asset("viewer.html"))


def embed_json(value: Any) -> str:
    """JSON that is safe inside an HTML ``<script>`` element: no ``<``, ``>``, ``&`` or line separators."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text


def fragment(urls: Mapping[str, str]) -> str:
    """The fragment (after ``#``) of a viewer link that gives the page fresh URLs of its pictures.

    Parameters
    ----------
    urls
        ``name -> absolute URL`` for names in :data:`FRAGMENT_NAMES`.

    Raises
    ------
    ValueError
        For another name or a URL that is not http(s).
    """
    for name, url in urls.items():
        if name not in FRAGMENT_NAMES:
            raise ValueError(f"a viewer link carries only {FRAGMENT_NAMES}, got {name!r}")
        if urlsplit(url).scheme not in ("http", "https") or not safe_url(url):
            raise ValueError(f"{name} must be an http(s) URL, got {url!r}")
    return urlencode(urls)


def local_url(key: str, prefix: str = "") -> str:
    """A relative URL for a file at ``prefix + key`` (path segments percent-encoded, ``/`` kept)."""
    return quote(prefix + key, safe="/")


def original_links(keys: Sequence[str], original_urls: Mapping[str, str]) -> list[str | None]:
    """The link of each key's original, in the order of ``keys``: None where unknown or not safe."""
    urls = [original_urls.get(key) for key in keys]
    return [u if u is not None and safe_url(u) else None for u in urls]


def safe_url(url: str) -> bool:
    """Whether ``url`` may be linked: http(s), file or relative, with no control characters."""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return False
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return False
    return scheme in _SAFE_SCHEMES


def _payload(
    layout: Mapping[str, Any],
    mosaic_url: str,
    original_urls: Mapping[str, str],
    tiles: PyramidInfo | Mapping[str, Any] | None,
    tiles_url: str,
    keys_url: str | None,
    title: str,
) -> dict[str, Any]:
    grid = layout.get("grid")
    if not isinstance(grid, Mapping):
        raise ValueError("layout has no grid")
    rows, cols, tile = (_positive(grid, name) for name in ("rows", "cols", "tile"))
    keys: list[str] = []
    cells: list[int] = []
    seen: set[tuple[int, int]] = set()
    for image in layout.get("images", []):
        key, row, col = image["key"], image["row"], image["col"]
        if not isinstance(key, str) or not isinstance(row, int) or not isinstance(col, int):
            raise ValueError(f"image entry needs a str key and int row/col, got {image!r}")
        if not (0 <= row < rows and 0 <= col < cols):
            raise ValueError(f"image {key!r} at ({row}, {col}) lies outside the {rows}x{cols} grid")
        if (row, col) in seen:
            raise ValueError(f"two images share the cell ({row}, {col})")
        seen.add((row, col))
        keys.append(key)
        cells += (row, col)
    tiles_info = tiles.to_dict() if isinstance(tiles, PyramidInfo) else (dict(tiles) if tiles else None)
    if tiles_info is not None:
        for name in ("width", "height", "tile_size", "levels"):
            _positive(tiles_info, name)
        if not tiles_url or not safe_url(tiles_url):
            raise ValueError(f"tiles_url must be a non-empty http(s) or relative URL, got {tiles_url!r}")
        tiles_info["url"] = tiles_url
    if not safe_url(mosaic_url) or not (mosaic_url or tiles_info):
        raise ValueError(f"mosaic_url must be a non-empty http(s) or relative URL, got {mosaic_url!r}")
    if keys_url is not None and not (keys_url and safe_url(keys_url)):
        raise ValueError(f"keys_url must be a non-empty http(s) or relative URL, got {keys_url!r}")
    inline = keys_url is None
    skipped = list(layout.get("skipped", []))
    duplicates = list(layout.get("duplicates", []))
    quality = layout.get("quality") or None
    return {
        "title": title,
        "grid": {"rows": rows, "cols": cols, "tile": tile},
        "count": len(keys),
        "keys": keys if inline else None,
        "cells": cells if inline else None,
        "urls": original_links(keys, original_urls) if inline else None,
        "keyfile": None if inline else {"url": keys_url},
        "mosaic": mosaic_url or None,
        "tiles": tiles_info,
        "skipped": {
            "count": len(skipped),
            "items": [{"key": str(s["key"]), "reason": str(s.get("reason", ""))} for s in skipped[:LISTED]],
        },
        "duplicates": {
            "count": len(duplicates),
            "items": [
                {"key": str(d["key"]), "same_as": str(d.get("same_as", ""))} for d in duplicates[:LISTED]
            ],
        },
        "quality": (
            {
                "dpq16": float(quality["dpq16"]),
                "neighbours": float(quality["neighbours"]),
                "text": quality_text(quality),
            }
            if quality and keys
            else None
        ),
    }


def _positive(mapping: Mapping[str, Any], name: str) -> int:
    value = mapping.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


@cache
def _asset(name: str) -> str:
    text = (_TEMPLATES / name).read_text(encoding="utf-8")
    if name != "viewer.html" and re.search(r"</(script|style)", text, re.IGNORECASE):
        raise RuntimeError(f"template {name} would end its element early")
    return text
