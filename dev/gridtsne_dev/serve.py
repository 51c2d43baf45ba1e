"""The embedded stack's S3 over HTTP, so that its presigned URLs open in a real browser.

moto's server answers the requests from the same in-process state the embedded stack writes (start it
before the stack: :class:`~gridtsne_dev.stack.EmbeddedStack` ``endpoint``). In front of it, what moto leaves
out and a browser meets on AWS: a presigned URL past its expiry is refused with S3's answer (403
``AccessDenied``, "Request has expired"), so a page that keeps a signed URL too long fails here as it would
there. Range requests, CORS and the rest are moto's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from threading import Thread
from typing import Any
from urllib.parse import parse_qs

__all__ = ["S3Server", "expired"]

_EXPIRED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Request has expired</Message></Error>"
)


def expired(query: str, now: float | None = None) -> bool:
    """Whether a presigned URL's query string (signature version 2 or 4) is past its expiry."""
    params = {name: values[-1] for name, values in parse_qs(query).items()}
    now = time.time() if now is None else now
    if "Expires" in params and "Signature" in params:  # version 2: the expiry as Unix time
        return now > float(params["Expires"])
    if "X-Amz-Date" in params and "X-Amz-Expires" in params:  # version 4: the signing time and a lifetime
        signed = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return now > signed.timestamp() + float(params["X-Amz-Expires"])
    return False


class S3Server:
    """moto's server on ``host:port`` (0: a free port) refusing expired presigned URLs.

    Use as a context manager, or :meth:`start` and :meth:`stop`; :attr:`endpoint` is its URL.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self._server: Any = None
        self._thread: Thread | None = None

    @property
    def endpoint(self) -> str:
        """``http://host:port`` once started."""
        if self._server is None:
            raise RuntimeError("the server is not started")
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> S3Server:
        """Serve in a daemon thread."""
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        class Quiet(MotoRequestHandler):
            def log_request(self, *args: Any) -> None:
                pass

        app = _refuse_expired(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self.host, self.port, app, True, request_handler=Quiet)
        self._thread = Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _refuse_expired(app: Wsgi) -> Wsgi:
    def check(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if expired(environ.get("QUERY_STRING", "")):
            start_response(
                "403 Forbidden",
                [("Content-Type", "application/xml"), ("Content-Length", str(len(_EXPIRED)))],
            )
            return [_EXPIRED]
        return app(environ, start_response)

    return check
