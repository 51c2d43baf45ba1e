"""The viewer page in a real headless Chromium: loading, hover, search, zoom, opening originals."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import numpy as np
import pytest
from gridtsne.output.archive import tile_archive
from gridtsne.output.keyfile import write_keys
from gridtsne.output.tiles import build_pyramid
from gridtsne.output.viewer import local_url, viewer_html
from PIL import Image, ImageDraw

from tests.integration.chromium import (
    NEEDS_CHROMIUM,
    Watch,
    near,
    open_viewer,
    rgb_at,
    serve_folder,
    shot,
    wait_until,
)

ROWS, COLS, TILE = 6, 8, 32
HOSTILE = "</script><script>alert(1)</script>.png"
NEEDLES = {(0, 5), (2, 1), (4, 6)}  # cells whose keys contain "needle"

pytestmark = NEEDS_CHROMIUM


def colour(row: int, col: int) -> tuple[int, int, int]:
    i = row * COLS + col
    return 40 + (i * 53) % 200, 40 + (i * 97) % 200, 40 + (i * 151) % 200


def key_of(row: int, col: int) -> str:
    if (row, col) == (3, 3):
        return HOSTILE
    if (row, col) in NEEDLES:
        return f"needles/needle {row}-{col}.jpg"
    return f"photos/r{row}/c{col}.jpg"


PLACED = [(r, c) for r in range(ROWS) for c in range(COLS) if r * COLS + c < 44]  # 4 empty cells at the end


def thumb(row: int, col: int) -> Image.Image | None:
    if (row, col) not in PLACED:
        return None
    image = Image.new("RGB", (TILE, TILE), colour(row, col))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, TILE - 1, TILE - 1), outline=tuple(v // 2 for v in colour(row, col)), width=3)
    return image


@dataclass
class Site:
    root: Path
    base: str
    layout: dict[str, Any]
    urls: dict[str, str]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    layout = {
        "version": 1,
        "grid": {"rows": ROWS, "cols": COLS, "tile": TILE},
        "images": [
            {"key": key_of(r, c), "row": r, "col": c, "x": float(c), "y": float(r)} for r, c in PLACED
        ],
        "skipped": [{"key": "broken.jpg", "reason": "not an image"}],
        "duplicates": [{"key": "photos/copy.jpg", "same_as": "photos/r0/c0.jpg"}],
        "quality": {
            "dpq16": 0.9,
            "neighbours": 0.6,
            "k": 8,
            "images": 44,
            "dpq_images": 44,
            "neighbour_images": 44,
        },
    }
    (tmp_path / "layout.json").write_text(json.dumps(layout))
    mosaic = Image.new("RGB", (COLS * TILE, ROWS * TILE))
    for r, c in PLACED:
        mosaic.paste(thumb(r, c), (c * TILE, r * TILE))  # type: ignore[arg-type]
    mosaic.save(tmp_path / "mosaic.jpg", quality=95)
    urls = {}
    for r, c in PLACED:
        url = local_url(key_of(r, c), "originals/")
        urls[key_of(r, c)] = url
        if (r, c) in {(1, 2), (3, 3)}:
            target = tmp_path / "originals" / key_of(r, c)
            target.parent.mkdir(parents=True, exist_ok=True)
            buffer = io.BytesIO()
            thumb(r, c).save(buffer, format="PNG")  # type: ignore[union-attr]
            target.write_bytes(buffer.getvalue())

    with serve_folder(tmp_path) as base:
        yield Site(tmp_path, base, layout, urls)


def centre(page: Any, row: int, col: int) -> tuple[float, float]:
    rect = page.evaluate(f"gridtsneViewer.cellRect({row}, {col})")
    return rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2


def visible_cells(page: Any) -> list[tuple[int, int]]:
    """Placed cells whose centres lie on the canvas."""
    box = page.evaluate(
        "(() => { const b = canvas.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; })()"
    )
    inside = []
    for r, c in PLACED:
        x, y = centre(page, r, c)
        if box[0] + 2 < x < box[2] - 2 and box[1] + 2 < y < box[3] - 2:
            inside.append((r, c))
    return inside


def assert_cells_drawn(page: Any, image: Image.Image, cells: list[tuple[int, int]]) -> None:
    for r, c in cells:
        x, y = centre(page, r, c)
        pixel = rgb_at(image, x, y)
        assert near(pixel, colour(r, c)), f"cell {(r, c)} at {(x, y)} shows {pixel}, expected {colour(r, c)}"


def test_viewer_in_chromium(site: Site, browser: Any) -> None:
    html = viewer_html(site.layout, "mosaic.jpg", original_urls=site.urls, title="Test grid")
    (site.root / "viewer.html").write_text(html, encoding="utf-8")
    watch = Watch()
    context, page = open_viewer(browser, site.base + "viewer.html", watch)

    # the mosaic is drawn where the viewer says each cell is
    image = shot(page, site.root / "viewer.png")
    assert_cells_drawn(page, image, [(0, 0), (2, 5), (5, 3), (3, 3)])
    assert "44 placed" in page.inner_text("#summary-text")
    assert "1 skipped" in page.inner_text("#summary-text")
    assert "1 duplicates" in page.inner_text("#summary-text")
    assert "DPQ16 0.900 · neighbours 60%" in page.inner_text("#summary-text")
    assert page.text_content("#quality").startswith("DPQ16 0.900 · neighbours 60% (of the 8 cells around")

    # hovering a tile shows its key (the hostile one is text, never markup)
    page.mouse.move(*centre(page, 3, 3))
    page.wait_for_selector("#tooltip:not([hidden])")
    assert page.inner_text("#tooltip-key") == HOSTILE
    assert "row 3 · col 3" in page.inner_text("#tooltip-pos")
    assert HOSTILE in page.inner_text("#status-cell")
    page.mouse.move(*centre(page, 1, 6))
    assert page.inner_text("#tooltip-key") == key_of(1, 6)

    # search highlights the matches, jumps to the first in reading order and reports the count
    page.focus("#search")
    page.keyboard.type("NEEDLE")
    wait_until(page, "document.querySelector('#search-count').value === '1 of 3'")
    found = page.evaluate("gridtsneViewer.matches()")
    assert [(m["row"], m["col"]) for m in found] == sorted(NEEDLES)
    assert all("needle" in m["key"] for m in found)
    selected = page.evaluate("gridtsneViewer.selected()")
    assert (selected["row"], selected["col"]) == (0, 5)
    page.mouse.move(5, 5)  # away from the grid, so no tooltip covers it
    image = shot(page, site.root / "viewer-search.png")
    assert_cells_drawn(page, image, sorted(NEEDLES))
    for r, c in [(1, 1), (4, 4)]:  # others are dimmed
        x, y = centre(page, r, c)
        assert max(rgb_at(image, x, y)) < max(colour(r, c)) * 0.5
    page.keyboard.press("Enter")  # next match
    wait_until(page, "document.querySelector('#search-count').value === '2 of 3'")
    assert page.evaluate("gridtsneViewer.selected().row") == 2
    page.fill("#search", "no such key")
    wait_until(page, "document.querySelector('#search-count').value === 'No matches'")
    page.keyboard.press("Escape")
    wait_until(page, "gridtsneViewer.matches().length === 0")

    # zoom: the button scales by 1.5 about the centre, the wheel zooms about the cursor
    before = page.evaluate("gridtsneViewer.view().scale")
    width_before = page.evaluate("gridtsneViewer.cellRect(0, 0).width")
    page.click("#zoom-in")
    after = page.evaluate("gridtsneViewer.view().scale")
    assert after == pytest.approx(before * 1.5)
    assert page.evaluate("gridtsneViewer.cellRect(0, 0).width") == pytest.approx(width_before * 1.5)
    assert page.inner_text("#zoom-level") == f"{round(after * 100)}%"
    x, y = centre(page, 2, 3)
    page.mouse.move(x, y)
    page.mouse.wheel(0, -300)
    wait_until(page, f"gridtsneViewer.view().scale > {after * 1.2}")
    x2, y2 = centre(page, 2, 3)
    assert (x2, y2) == pytest.approx((x, y), abs=1.0)
    page.mouse.move(5, 5)
    shown = visible_cells(page)
    assert (2, 3) in shown
    assert len(shown) >= 4
    assert_cells_drawn(page, shot(page, site.root / "viewer-zoomed.png"), shown)
    # drag pans
    start = page.evaluate("gridtsneViewer.view()")
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 40, y - 30, steps=4)
    page.mouse.up()
    moved = page.evaluate("gridtsneViewer.view()")
    assert (moved["x"] - start["x"], moved["y"] - start["y"]) == pytest.approx((-40, -30), abs=1.0)
    page.keyboard.press("0")
    assert page.evaluate("gridtsneViewer.view().scale") == pytest.approx(before)

    # clicking a tile opens its original
    with context.expect_page() as popup:
        page.mouse.click(*centre(page, 1, 2))
    original = popup.value
    original.wait_for_load_state()
    assert original.url == site.base + site.urls[key_of(1, 2)]
    with context.expect_page() as popup:
        page.mouse.click(*centre(page, 3, 3))
    popup.value.wait_for_load_state()
    assert popup.value.url == site.base + "originals/%3C/script%3E%3Cscript%3Ealert%281%29%3C/script%3E.png"
    # an empty cell opens nothing
    page.mouse.click(*centre(page, 5, 7))
    page.wait_for_timeout(200)
    assert len(context.pages) == 3

    # keyboard: arrows move the selection, Enter opens it
    page.focus("#canvas")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("[gridtsneViewer.selected().row, gridtsneViewer.selected().col]") == [3, 4]
    page.keyboard.press("ArrowLeft")
    with context.expect_page() as popup:
        page.keyboard.press("Enter")
    popup.value.wait_for_load_state()
    assert popup.value.url.endswith("alert%281%29%3C/script%3E.png")
    scale = page.evaluate("gridtsneViewer.view().scale")
    page.keyboard.press("+")
    assert page.evaluate("gridtsneViewer.view().scale") == pytest.approx(scale * 1.5)
    page.keyboard.press("-")
    assert page.evaluate("gridtsneViewer.view().scale") == pytest.approx(scale)
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search"
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    assert page.is_visible("#help")
    page.keyboard.press("Escape")
    assert not page.is_visible("#help")

    watch.check()
    context.close()


def write_archive(site: Site) -> Any:
    """The grid's pyramid in 64 px tiles as ``tiles.pmtiles``; its geometry."""
    with tile_archive() as (archive, archived):
        info = build_pyramid(thumb, ROWS, COLS, TILE, archive.add, tile_size=64)
        archive.finish(info)
        (site.root / "tiles.pmtiles").write_bytes(archived().read())
    return info


def test_viewer_loads_a_tile_archive_by_ranges(site: Site, browser: Any) -> None:
    info = write_archive(site)
    assert info.levels == 3
    html = viewer_html(site.layout, "mosaic.jpg", original_urls=site.urls, tiles=info)
    (site.root / "viewer.html").write_text(html, encoding="utf-8")
    watch = Watch()
    context, page = open_viewer(browser, site.base + "viewer.html", watch)
    assert page.evaluate("gridtsneViewer.source()") == "tiles"
    assert not any(u.endswith("mosaic.jpg") for u in watch.requests)
    assert_cells_drawn(page, shot(page, site.root / "pyramid.png"), [(0, 0), (2, 5), (5, 3), (3, 3)])
    page.click("#zoom-in")
    page.click("#zoom-in")
    wait_until(page, "gridtsneViewer.idle()")
    # every tile came from one URL, each by a range of bytes
    assert {u for u, _ in watch.ranges} == {site.base + "tiles.pmtiles"}
    assert set(watch.requests) == {site.base + "viewer.html", site.base + "tiles.pmtiles"}
    assert len(watch.ranges) >= 3 and all(r.startswith("bytes=") for _, r in watch.ranges)
    shown = visible_cells(page)
    assert len(shown) >= 4
    assert_cells_drawn(page, shot(page, site.root / "pyramid-zoomed.png"), shown)
    # a click shows the picture larger, from the archive, with its key (and opens its original, which exists)
    page.keyboard.press("0")
    with context.expect_page():
        page.mouse.click(*centre(page, 3, 3))
    wait_until(page, "gridtsneViewer.preview() !== null")
    assert page.inner_text("#preview-key") == key_of(3, 3)
    box = page.locator("#preview-canvas").bounding_box()
    image = shot(page, site.root / "pyramid-preview.png")
    assert near(rgb_at(image, box["x"] + box["width"] / 2, box["y"] + box["height"] / 2), colour(3, 3))
    watch.check()


def test_opened_from_a_file_the_archive_gives_way_to_the_overview(site: Site, browser: Any) -> None:
    info = write_archive(site)
    html = viewer_html(site.layout, "mosaic.jpg", original_urls=site.urls, tiles=info)
    (site.root / "viewer.html").write_text(html, encoding="utf-8")
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((site.root / "viewer.html").as_uri())
    page.wait_for_selector("body[data-state=ready]", timeout=15_000)
    assert page.evaluate("gridtsneViewer.source()") == "mosaic"
    assert "HTTP" in page.inner_text("#hint")
    assert_cells_drawn(page, shot(page, site.root / "file.png"), [(0, 0), (2, 5), (5, 3)])
    # with a key file, which a page from a file cannot read either: no keys, and it says why
    html = viewer_html(site.layout, "mosaic.jpg", tiles=info, keys_url="keys.bin")
    (site.root / "viewer.html").write_text(html, encoding="utf-8")
    page.goto((site.root / "viewer.html").as_uri())
    page.wait_for_selector("body[data-state=ready]", timeout=15_000)
    wait_until(page, "document.querySelector('#hint').textContent.startsWith('Deep zoom and keys')")
    page.mouse.move(*centre(page, 2, 5))
    assert page.evaluate("gridtsneViewer.cell(2, 5)") == {
        "row": 2,
        "col": 5,
        "loading": False,
        "key": None,
        "url": None,
    }
    assert page.is_hidden("#tooltip")
    assert not errors


def test_a_link_with_an_originals_token_links_each_original(site: Site, browser: Any) -> None:
    """As on AWS: the page holds no original's URL; the link's fragment brings a signed redirect."""
    (site.root / "viewer.html").write_text(viewer_html(site.layout, "mosaic.jpg"), encoding="utf-8")
    endpoint = "https://originals.example/?job=j&exp=9&sig=ab"
    fragment = "#" + urlencode({"mosaic": site.base + "mosaic.jpg", "originals": endpoint})
    watch = Watch()
    context, page = open_viewer(browser, site.base + "viewer.html" + fragment, watch)
    with context.expect_page():
        page.mouse.click(*centre(page, 2, 5))
    wait_until(page, "gridtsneViewer.preview() !== null")
    href = page.get_attribute("#preview-open", "href")
    assert href == endpoint + "&key=" + quote(key_of(2, 5), safe="")
    assert page.is_visible("#preview-open")


def test_a_page_with_a_key_file_reads_keys_by_block(site: Site, browser: Any) -> None:
    """A big grid's page: no key in its HTML; hover, click and search read blocks of ``keys.bin``."""
    info = write_archive(site)
    keys = [key_of(r, c) for r, c in PLACED]
    with (site.root / "keys.bin").open("wb") as out:  # 8 cells a block: one row of the grid each
        write_keys(out, ROWS, COLS, keys, np.array(PLACED), [site.urls[k] for k in keys], block=COLS)
    html = viewer_html(site.layout, "mosaic.jpg", tiles=info, keys_url="keys.bin")
    assert not any(part in html for part in ("photos/r1/", "needle", "alert(1)", "originals/"))
    (site.root / "viewer.html").write_text(html, encoding="utf-8")
    watch = Watch()
    context, page = open_viewer(browser, site.base + "viewer.html", watch)
    assert "44 placed" in page.inner_text("#summary-text")
    keyfile = [r for u, r in watch.ranges if u == site.base + "keys.bin"]
    assert keyfile == ["bytes=0-16383"]  # the header, with the blocks' offsets

    # hovering a cell reads its row's block (once) and shows its key
    page.mouse.move(*centre(page, 3, 3))
    wait_until(page, f"document.querySelector('#tooltip-key').textContent === {json.dumps(HOSTILE)}")
    assert "row 3 · col 3" in page.inner_text("#tooltip-pos") and HOSTILE in page.inner_text("#status-cell")
    page.mouse.move(*centre(page, 3, 5))
    wait_until(page, f"document.querySelector('#tooltip-key').textContent === {json.dumps(key_of(3, 5))}")
    page.mouse.move(*centre(page, 1, 6))
    wait_until(page, f"document.querySelector('#tooltip-key').textContent === {json.dumps(key_of(1, 6))}")
    keyfile = [r for u, r in watch.ranges if u == site.base + "keys.bin"]
    assert len(keyfile) == 3  # the header, row 3's block, row 1's block

    # a click on a cell whose block is not read yet shows its key and opens its original
    original = site.root / "originals" / key_of(2, 5)
    original.parent.mkdir(parents=True, exist_ok=True)
    original.write_bytes((site.root / "originals" / key_of(1, 2)).read_bytes())
    with context.expect_page() as popup:
        page.mouse.click(*centre(page, 2, 5))
    wait_until(page, "gridtsneViewer.preview() !== null")
    assert page.inner_text("#preview-key") == key_of(2, 5)
    popup.value.wait_for_load_state()
    assert popup.value.url == site.base + site.urls[key_of(2, 5)]
    assert page.evaluate("gridtsneViewer.cell(5, 7)")["key"] is None  # an empty cell
    # search reads the whole file once (one request, not one per block), then finds the matches in order
    page.focus("#search")
    page.keyboard.type("needle")
    wait_until(page, "document.querySelector('#search-count').value === '1 of 3'")
    assert [(m["row"], m["col"]) for m in page.evaluate("gridtsneViewer.matches()")] == sorted(NEEDLES)
    page.fill("#search", "PHOTOS/R4")
    wait_until(page, "document.querySelector('#search-count').value === '1 of 7'")  # row 4 but its needle
    assert len([u for u, _ in watch.ranges if u == site.base + "keys.bin"]) == 5  # header, rows 3, 1, 2, 5
    assert watch.requests.count(site.base + "keys.bin") == 5 + 1
    page.mouse.move(*centre(page, 4, 2))  # a block read with the whole file: no request
    wait_until(page, f"document.querySelector('#tooltip-key').textContent === {json.dumps(key_of(4, 2))}")
    assert watch.requests.count(site.base + "keys.bin") == 5 + 1
    assert page.evaluate("gridtsneViewer.source()") == "tiles"
    watch.check()
    context.close()
