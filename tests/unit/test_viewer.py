"""The viewer page as text: embedded layout, escaping of hostile keys, links, no external resources."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs

import pytest
from gridtsne.output.tiles import pyramid_geometry
from gridtsne.output.viewer import LISTED, embed_json, fragment, local_url, safe_url, viewer_html

HOSTILE = "</script><script>alert(1)</script>.png"
WEIRD = ["<!--x.png", "a\u2028b.png", "tab\there.png", "quote\"'&amp;.png", "ünï çødé/图像.jpg"]


def layout(keys: list[str], rows: int = 4, cols: int = 4, **extra: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "grid": {"rows": rows, "cols": cols, "tile": 32},
        "images": [
            {"key": key, "row": i // cols, "col": i % cols, "x": 0.5 * i, "y": -0.25 * i}
            for i, key in enumerate(keys)
        ],
        "skipped": extra.get("skipped", []),
        "duplicates": extra.get("duplicates", []),
        "timings": {},
        "model": {},
        "params": {},
        "quality": extra.get("quality", {}),
    }


class Elements(HTMLParser):
    """Collects tags with their attributes and the text of every script element."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.title = ""
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self.scripts.append((dict(attrs), ""))
        self._in = tag

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        elif self._in == "title":
            self.title += data


def parse(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    parser.close()
    return parser


def embedded(html: str) -> dict[str, Any]:
    data = [text for attrs, text in parse(html).scripts if attrs.get("id") == "gridtsne-data"]
    assert len(data) == 1
    payload: dict[str, Any] = json.loads(data[0])
    return payload


def test_page_embeds_the_layout() -> None:
    keys = ["cats/1.jpg", "cats/2.jpg", "dogs/1.jpg", "dogs/2.jpg", "x.png"]
    page = viewer_html(layout(keys), "mosaic.jpg", title="My photos")
    data = embedded(page)
    assert data["grid"] == {"rows": 4, "cols": 4, "tile": 32}
    assert data["keys"] == keys
    assert data["cells"] == [0, 0, 0, 1, 0, 2, 0, 3, 1, 0]
    assert data["mosaic"] == "mosaic.jpg"
    assert data["tiles"] is None
    assert data["urls"] == [None] * 5  # no originals given: nothing is linked
    assert parse(page).title == "My photos"
    assert page.startswith("<!doctype html>")


def test_hostile_keys_stay_data() -> None:
    keys = [HOSTILE, *WEIRD]
    page = viewer_html(layout(keys), "mosaic.jpg", title="<b>x</b> & </title>")
    assert "alert(1)</script>" not in page
    assert "<!--x" not in page
    assert "\u2028" not in page
    scripts = parse(page).scripts
    assert len(scripts) == 2  # the data block and the program, nothing injected
    assert page.lower().count("</script") == 2
    assert embedded(page)["keys"] == keys  # the keys survive the escaping exactly
    assert parse(page).title == "<b>x</b> & </title>"
    assert "<b>x</b>" not in page


def test_embed_json_escapes_markup_characters() -> None:
    text = embed_json({"k": "</script>&<!--\u2028\u2029"})
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == {"k": "</script>&<!--\u2028\u2029"}
    with pytest.raises(ValueError):
        embed_json({"x": float("nan")})


def test_originals_are_linked_and_unsafe_urls_dropped() -> None:
    keys = ["a b.jpg", "sub/c#1.png", "evil.png", "missing.png", "data.png", HOSTILE]
    urls = {
        "a b.jpg": local_url("a b.jpg", "../input/"),
        "sub/c#1.png": "https://bucket.s3.amazonaws.com/uploads/sub/c%231.png?X-Amz-Signature=abc&X-Amz-Expires=3600",
        "evil.png": "javascript:alert(1)",
        "data.png": "data:text/html,<script>alert(1)</script>",
        HOSTILE: local_url(HOSTILE, "originals/"),
    }
    page = viewer_html(layout(keys), "mosaic.jpg", original_urls=urls)
    assert embedded(page)["urls"] == [
        "../input/a%20b.jpg",
        urls["sub/c#1.png"],
        None,
        None,
        None,
        "originals/%3C/script%3E%3Cscript%3Ealert%281%29%3C/script%3E.png",
    ]
    assert "javascript:" not in page


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("mosaic.jpg", True),
        ("../a/b%20c.jpg", True),
        ("https://x.s3.amazonaws.com/k?X-Amz-Signature=1", True),
        ("http://127.0.0.1:8000/a.png", True),
        ("file:///tmp/a.png", True),
        ("JavaScript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("vbscript:x", False),
        ("data:image/png;base64,AAAA", False),
    ],
)
def test_safe_url(url: str, ok: bool) -> None:
    assert safe_url(url) is ok


def test_summary_counts_and_lists() -> None:
    skipped = [{"key": f"bad{i}.jpg", "reason": "not an image"} for i in range(LISTED + 7)]
    duplicates = [{"key": "copy.jpg", "same_as": "a.jpg"}]
    data = embedded(viewer_html(layout(["a.jpg"], skipped=skipped, duplicates=duplicates), "m.jpg"))
    assert data["skipped"]["count"] == LISTED + 7
    assert len(data["skipped"]["items"]) == LISTED
    assert data["skipped"]["items"][0] == {"key": "bad0.jpg", "reason": "not an image"}
    assert data["duplicates"] == {"count": 1, "items": [{"key": "copy.jpg", "same_as": "a.jpg"}]}


def test_header_shows_the_quality() -> None:
    block = {"dpq16": 0.9123, "neighbours": 0.61, "k": 8, "images": 2, "dpq_images": 2, "neighbour_images": 2}
    data = embedded(viewer_html(layout(["a.jpg", "b.jpg"], quality=block), "m.jpg"))
    assert data["quality"]["dpq16"] == 0.9123 and data["quality"]["neighbours"] == 0.61
    assert data["quality"]["text"].startswith("DPQ16 0.912 · neighbours 61%")
    assert embedded(viewer_html(layout(["a.jpg"]), "m.jpg"))["quality"] is None  # older layouts have none


def test_a_tile_archive_comes_with_its_reader_and_leave_to_fetch() -> None:
    info = pyramid_geometry(4, 4, 32, tile_size=64)
    page = viewer_html(layout(["a.jpg"]), "mosaic.jpg", tiles=info)
    data = embedded(page)
    assert data["mosaic"] == "mosaic.jpg"  # the overview, for a page that cannot read the archive
    assert data["tiles"]["url"] == "tiles.pmtiles"
    assert (data["tiles"]["levels"], data["tiles"]["width"], data["tiles"]["tile_size"]) == (2, 128, 64)
    same = embedded(viewer_html(layout(["a.jpg"]), "", tiles=info.to_dict(), tiles_url="t/x.pmtiles"))
    assert same["tiles"] == {**data["tiles"], "url": "t/x.pmtiles"} and same["mosaic"] is None
    scripts = [text for attrs, text in parse(page).scripts if not attrs.get("type")]
    assert any("FetchSource" in text and "sourceMappingURL" not in text for text in scripts)  # inlined
    csp = next(
        a for t, a in parse(page).tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    )
    assert "connect-src http: https:" in (csp["content"] or "")
    with pytest.raises(ValueError, match="tiles_url"):
        viewer_html(layout(["a.jpg"]), "", tiles=info, tiles_url="javascript:alert(1)")
    with pytest.raises(ValueError, match="mosaic_url"):
        viewer_html(layout(["a.jpg"]), "javascript:alert(1)", tiles=info)


def test_a_key_file_replaces_the_embedded_keys() -> None:
    info = pyramid_geometry(4, 4, 32, tile_size=64)
    keys = ["secret-a.jpg", "secret-b.jpg", "secret-c.jpg"]
    page = viewer_html(
        layout(keys), "mosaic.jpg", original_urls={"secret-a.jpg": "o/a"}, tiles=info, keys_url="keys.bin"
    )
    data = embedded(page)
    assert data["keyfile"] == {"url": "keys.bin"} and data["count"] == 3
    assert data["keys"] is data["cells"] is data["urls"] is None
    assert "secret-" not in page and "o/a" not in page
    csp = next(
        a for t, a in parse(page).tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    )
    assert "connect-src http: https:" in (csp["content"] or "")
    inline = embedded(viewer_html(layout(keys), "mosaic.jpg", tiles=info))
    assert inline["keys"] == keys and inline["keyfile"] is None and inline["count"] == 3
    with pytest.raises(ValueError, match="keys_url"):
        viewer_html(layout(keys), "mosaic.jpg", tiles=info, keys_url="javascript:alert(1)")


def test_fragment_carries_fresh_picture_urls() -> None:
    urls = {
        "mosaic": "https://b.s3.amazonaws.com/m.jpg?X-Amz-Signature=a&b=c",
        "tiles": "http://h/t",
        "keys": "http://h/k",
    }
    text = fragment(urls)
    assert "&b=c" not in text  # each URL encoded whole, so its own query stays inside it
    assert {name: values for name, values in parse_qs(text).items()} == {k: [v] for k, v in urls.items()}
    with pytest.raises(ValueError, match="carries only"):
        fragment({"original": "https://x/y"})
    with pytest.raises(ValueError, match="http"):
        fragment({"mosaic": "javascript:alert(1)"})


def test_accepts_a_layout_object() -> None:
    class Obj:
        def to_dict(self) -> dict[str, Any]:
            return layout(["k.png"])

    assert embedded(viewer_html(Obj(), "m.jpg"))["keys"] == ["k.png"]


def test_page_is_self_contained() -> None:
    page = viewer_html(layout(["a.jpg"]), "mosaic.jpg", original_urls={"a.jpg": "https://example.com/a.jpg"})
    elements = parse(page)
    for tag, attrs in elements.tags:
        assert not (tag == "script" and attrs.get("src")), "external script"
        assert not (tag == "link" and attrs.get("rel") == "stylesheet"), "external stylesheet"
        for name in ("src", "href"):
            value = attrs.get(name)
            assert value is None or value.startswith("data:"), f"<{tag} {name}={value}>"
    assert not re.search(r"@import|url\(\s*['\"]?https?:", page), "CSS pulls something in"
    csp = next(
        a for t, a in elements.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    )
    assert "default-src 'none'" in (csp["content"] or "")
    assert "connect-src" not in (csp["content"] or "")  # so no fetch/XHR/WebSocket at all
    # accessible controls: icon buttons and the search field carry labels, the canvas is focusable
    for tag, attrs in elements.tags:
        if tag == "input" or (tag == "button" and attrs.get("class") == "icon"):
            assert attrs.get("aria-label"), attrs
    canvas = next(a for t, a in elements.tags if t == "canvas")
    assert canvas.get("tabindex") == "0" and canvas.get("aria-label")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"grid": {"rows": 0, "cols": 2, "tile": 32}}, "rows"),
        ({"grid": {"rows": 2, "cols": 2, "tile": True}}, "tile"),
        ({"images": [{"key": "a", "row": 4, "col": 0}]}, "outside"),
        ({"images": [{"key": "a", "row": 0, "col": 0}, {"key": "b", "row": 0, "col": 0}]}, "share"),
        ({"images": [{"key": 3, "row": 0, "col": 0}]}, "str key"),
    ],
)
def test_rejects_broken_layouts(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        viewer_html({**layout([]), **bad}, "m.jpg")


def test_needs_a_picture() -> None:
    with pytest.raises(ValueError, match="mosaic_url"):
        viewer_html(layout(["a"]), "")
    with pytest.raises(ValueError, match="mosaic_url"):
        viewer_html(layout(["a"]), "javascript:alert(1)")
