"""``python -m benchmarks.viewer_size --n N``: the viewer page of a big grid with its keys inline, and without
them beside the key file (:mod:`gridtsne.output.keyfile`).

N keys on a grid of :func:`~gridtsne.core.assign.grid_shape` with a deep-zoom archive of 64 px cells:
``synthetic`` keys as the big-set benchmark names them (``uploads/synthetic/c<cluster>/<index>.png``, 32
clusters; :mod:`gridtsne_dev.synthetic`), placed at ``random`` (neighbouring cells share nothing) or
``clustered`` (each cluster's pictures in consecutive cells, as a good grid puts them side by side), and
``uuid`` keys (``uploads/photos/<uuid4>.jpg``, incompressible names) at random: the worst case. Prints
bytes of ``viewer.html`` before (keys inline) and after (key file), of ``keys.bin``, its blocks, and the
seconds to write it (median of ``--repeat``).

``--browser``: both pages of the synthetic keys at random, served from a local folder with range
requests (the tests' server), in headless Chromium (``make browser``): seconds until the page is ready,
until a hovered cell shows its key, until the first search (which reads every key) and a second one
answer. Over a network, add the transfer of the page (inline) or of one block per hover and the whole key
file per first search (key file).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from gridtsne.core.assign import grid_shape
from gridtsne.output.archive import tile_archive
from gridtsne.output.keyfile import KEYS, write_keys
from gridtsne.output.tiles import build_pyramid, pyramid_geometry
from gridtsne.output.viewer import viewer_html

from benchmarks.measure import table

CLUSTERS = 32
TILE = 64


#: (keys, placement) of each case.
CASES = (("synthetic", "random"), ("synthetic", "clustered"), ("uuid", "random"))


def layout(n: int, style: str, placement: str, seed: int = 0) -> dict[str, Any]:
    """The ``layout.json`` contract of ``n`` keys of ``style`` placed at random or by cluster."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLUSTERS, n)
    if style == "uuid":
        keys = [f"uploads/photos/{uuid.UUID(bytes=rng.bytes(16), version=4)}.jpg" for _ in range(n)]
    else:
        keys = [f"uploads/synthetic/c{label:03d}/{i:07d}.png" for i, label in enumerate(labels)]
    rows, cols = grid_shape(n)
    order = rng.permutation(n) if placement == "random" else np.argsort(labels, kind="stable")
    cell = np.empty(n, dtype=np.int64)
    cell[order] = np.arange(n)
    images = [
        {"key": key, "row": int(c // cols), "col": int(c % cols), "x": 0.0, "y": 0.0}
        for key, c in zip(keys, cell, strict=True)
    ]
    return {"version": 1, "grid": {"rows": rows, "cols": cols, "tile": TILE}, "images": images}


def case(n: int, style: str, placement: str, repeat: int) -> list[object]:
    data = layout(n, style, placement)
    rows, cols = data["grid"]["rows"], data["grid"]["cols"]
    info = pyramid_geometry(rows, cols, TILE)
    before = len(viewer_html(data, "mosaic.jpg", tiles=info).encode())
    after = len(viewer_html(data, "mosaic.jpg", tiles=info, keys_url=KEYS).encode())
    keys = [image["key"] for image in data["images"]]
    cells = np.array([[image["row"], image["col"]] for image in data["images"]])
    seconds = []
    for _ in range(repeat):
        out = io.BytesIO()
        start = time.perf_counter()
        index = write_keys(out, rows, cols, keys, cells)
        seconds.append(time.perf_counter() - start)
    size = len(out.getvalue())
    largest = max(index.span(b)[1] for b in range(index.blocks))
    return [
        n,
        style,
        placement,
        f"{rows}x{cols}",
        before,
        after,
        size,
        index.blocks,
        largest,
        statistics.median(seconds),
    ]


def in_browser(n: int) -> list[list[object]]:
    """Seconds to ready, hover, first and second search of both pages of ``n`` keys in Chromium."""
    from playwright.sync_api import sync_playwright

    from tests.integration.chromium import CHROMIUM, serve_folder, wait_until

    data = layout(n, "synthetic", "random")
    rows, cols, images = data["grid"]["rows"], data["grid"]["cols"], data["images"]
    middle = next(im for im in images if (im["row"], im["col"]) == (rows // 2, cols // 2))
    query = "c012/00001"
    found = f"of {sum(query in im['key'] for im in images):,}"

    def since(start: float, page: Any, done: str) -> float:
        """Seconds from ``start`` until the page's ``done`` holds."""
        wait_until(page, done, timeout=300)
        return time.perf_counter() - start

    results: list[list[object]] = []
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        root = Path(folder)
        with tile_archive() as (archive, archived):  # 2 px cells, all empty: the keys are what is measured
            info = build_pyramid(lambda r, c: None, rows, cols, 2, archive.add)
            archive.finish(info)
            (root / "tiles.pmtiles").write_bytes(archived().read())
        cells = np.array([[im["row"], im["col"]] for im in images])
        with (root / KEYS).open("wb") as out:
            write_keys(out, rows, cols, [im["key"] for im in images], cells)
        (root / "inline.html").write_text(viewer_html(data, "", tiles=info))
        (root / "keyfile.html").write_text(viewer_html(data, "", tiles=info, keys_url=KEYS))
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        with serve_folder(root) as base:
            for name in ("inline", "keyfile"):
                page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
                start = time.perf_counter()
                page.goto(base + name + ".html")
                seconds = [since(start, page, "gridtsneViewer.ready()")]
                page.evaluate("gridtsneViewer.zoom(40)")
                box = page.evaluate(f"gridtsneViewer.cellRect({middle['row']}, {middle['col']})")
                start = time.perf_counter()
                page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
                tip = f"document.querySelector('#tooltip-key').textContent === {json.dumps(middle['key'])}"
                seconds.append(since(start, page, tip))
                count = "document.querySelector('#search-count').value"
                for q, done in (
                    (query, f"{count}.endsWith('{found}')"),
                    ("c013/00002", f"/ of /.test({count})"),
                ):
                    start = time.perf_counter()
                    page.evaluate(f"gridtsneViewer.search('{q}')")
                    seconds.append(since(start, page, done))
                results.append([n, name, (root / f"{name}.html").stat().st_size, *seconds])
                page.context.close()
        browser.close()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.viewer_size", description=__doc__)
    parser.add_argument("--n", type=int, action="append", help="pictures (repeatable; default 100000)")
    parser.add_argument("--repeat", type=int, default=3, help="writes of the key file timed per case")
    parser.add_argument("--browser", action="store_true", help="also time both pages in Chromium")
    args = parser.parse_args(argv)
    rows = [case(n, *keys, args.repeat) for n in args.n or [100_000] for keys in CASES]
    header = [
        "N",
        "keys",
        "placement",
        "grid",
        "page before",
        "page after",
        "keys.bin",
        "blocks",
        "largest",
        "write s",
    ]
    print(table(header, rows))
    if args.browser:
        timed = [row for n in args.n or [100_000] for row in in_browser(n)]
        print()
        print(table(["N", "keys", "page", "ready s", "hover s", "search s", "again s"], timed))


if __name__ == "__main__":
    main()
