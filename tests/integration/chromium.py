"""Helpers of the viewer's tests in headless Chromium: what a page did, waiting for it, its pixels, and a
folder served with range requests (as S3 serves them; Python's ``http.server`` ignores ``Range``)."""

from __future__ import annotations

import functools
import http.server
import io
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

CHROMIUM = Path("/usr/bin/chromium")

#: Marks of a test module that needs Chromium.
NEEDS_CHROMIUM = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium (make browser)"
    ),
]


@dataclass
class Watch:
    """Everything a page did that a test must check: requests, console errors, dialogs."""

    requests: list[str] = field(default_factory=list)
    ranges: list[tuple[str, str]] = field(default_factory=list)  # (URL, Range header) of range requests
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on("request", self._request)
        page.on("response", lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

        def dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)

    def _request(self, request: Any) -> None:
        self.requests.append(request.url)
        if "range" in request.headers:
            self.ranges.append((request.url, request.headers["range"]))

    def check(self) -> None:
        assert not self.errors, self.errors
        assert not self.dialogs, self.dialogs
        assert not self.blocked, self.blocked
        outside = [u for u in self.requests if not u.startswith(("http://127.0.0.1:", "data:"))]
        assert not outside, outside


def open_viewer(browser: Any, url: str, watch: Watch) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})

    def route(r: Any) -> None:
        if r.request.url.startswith(("http://127.0.0.1:", "data:")):
            r.continue_()
        else:
            watch.blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    context.on("page", watch.attach)
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("body[data-state=ready]", timeout=15_000)
    wait_until(page, "gridtsneViewer.idle()")
    return context, page


def wait_until(page: Any, expression: str, timeout: float = 5.0) -> None:
    """Poll a JS expression (the page's CSP forbids the eval that ``wait_for_function`` uses)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(30)


def shot(page: Any, path: Path) -> Image.Image:
    wait_until(page, "gridtsneViewer.idle()")
    data = page.screenshot(path=str(path))
    return Image.open(io.BytesIO(data)).convert("RGB")


def rgb_at(image: Image.Image, x: float, y: float) -> tuple[int, int, int]:
    r, g, b = image.getpixel((round(x), round(y)))  # type: ignore[misc]
    return int(r), int(g), int(b)


def near(pixel: tuple[int, ...], expected: tuple[int, int, int], tol: int = 14) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(pixel, expected, strict=False))


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files, quietly, answering ``Range: bytes=a-b`` with 206 and ``Content-Range``, and the
    browser's ``/favicon.ico`` with 204 (no icon, no error in the page's console)."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_head(self) -> Any:
        if self.path == "/favicon.ico":  # asked for by a tab that shows a picture; none is not an error
            self.send_response(204)
            self.end_headers()
            return None
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        path = Path(self.translate_path(self.path))
        if match is None or not path.is_file():
            return super().send_head()
        data = path.read_bytes()
        start = int(match[1])
        end = min(int(match[2]) if match[2] else len(data) - 1, len(data) - 1)
        if start >= len(data):
            self.send_error(416)
            return None
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        return io.BytesIO(data[start : end + 1])


@contextmanager
def serve_folder(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 (with range requests); yield its base URL."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(RangeHandler, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
