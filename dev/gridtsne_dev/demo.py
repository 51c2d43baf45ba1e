"""``gridtsne local``: the whole application end to end on the embedded stack.

Upload sample images, deliver their upload events to the embed function (as the upload rule and queue
would), ask the API for a visualization, follow it to SUCCEEDED, download the results and print the
presigned URLs; ``--serve`` keeps the bucket served on 127.0.0.1 (:mod:`~gridtsne_dev.serve`: presigned URLs
expire as on AWS) so that they open in a browser.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gridtsne.core.progress import duration_text

from gridtsne_dev.stack import EmbeddedStack

__all__ = ["add_arguments", "main", "run_demo", "say"]


def say(text: str) -> None:
    """Tell the user how it goes (on stderr: stdout carries only the URLs)."""
    print(text, file=sys.stderr, flush=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``gridtsne local``."""
    parser.add_argument(
        "--images", type=Path, help="folder of images (default: samples/digits, or generated)"
    )
    parser.add_argument("--collection", default="demo", help="collection name (default: demo)")
    parser.add_argument("--out", type=Path, default=Path("out/demo"), help="where results are downloaded")
    parser.add_argument("--limit", type=int, help="upload at most this many images")
    parser.add_argument("--grid", help="RxC, either side optional")
    parser.add_argument("--tile", type=int, default=64, help="tile size in pixels")
    parser.add_argument("--perplexity", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--big-set-threshold", type=int, default=100_000, help="N above which the big-set job runs"
    )
    parser.add_argument("--expires", type=int, default=3600, help="presigned URL lifetime in seconds")
    parser.add_argument("--serve", action="store_true", help="serve the bucket on 127.0.0.1 for the URLs")
    parser.add_argument("--port", type=int, default=5123, help="port of --serve")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for the job")


def _images(images: Path | None, limit: int | None, tmp: Path) -> Path:
    """The folder to upload: ``images``, else ``samples/digits``, else digits written to ``tmp``."""
    if images is not None:
        return images
    default = Path("samples/digits")
    if default.is_dir() and any(default.rglob("*.png")):
        return default
    from gridtsne_dev.samples import write_digits

    write_digits(tmp / "digits", limit=limit)
    return tmp / "digits"


def _progress(output: dict[str, Any]) -> None:
    progress = output["progress"]
    left = f"  {duration_text(progress['eta_seconds'])} left" if "eta_seconds" in progress else ""
    say(f"  {output['status']:<9} {progress['stage']:<8} {progress['percent']:>3}%{left}")


def run_demo(args: argparse.Namespace) -> int:
    """Run ``gridtsne local`` with parsed ``args``; return the exit status."""
    server = None
    endpoint = None
    if args.serve:
        from gridtsne_dev.serve import S3Server

        server = S3Server("127.0.0.1", args.port).start()
        endpoint = server.endpoint
    stack = EmbeddedStack(
        big_set_threshold=args.big_set_threshold, url_expires=args.expires, endpoint=endpoint
    )
    params: dict[str, Any] = {"tile": args.tile, "perplexity": args.perplexity, "seed": args.seed}
    if args.grid:
        from gridtsne.core.assign import parse_grid

        rows, cols = parse_grid(args.grid)
        params.update({k: v for k, v in (("rows", rows), ("cols", cols)) if v})
    try:
        with stack, tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            events = stack.upload(_images(args.images, args.limit, Path(tmp)), args.collection, args.limit)
            say(f"uploaded {len(events)} files to s3://{stack.bucket}/uploads/{args.collection}/")
            counts = stack.deliver(events)
            say(f"embed function: {counts['delivered']} upload events handled, {counts['failed']} failed")
            answer = stack.api(
                "POST", "/v2/visualizations", {"collection": args.collection, "params": params}
            )
            if answer.status != 202:
                say(f"POST /v2/visualizations answered {answer.status}: {answer.body}")
                return 1
            job = answer.body["output"]["id"]
            say(f"POST /v2/visualizations -> 202 {answer.body['output']}")
            output = stack.wait(job, args.timeout, on_change=_progress)
            if output["status"] != "succeeded":
                say(f"visualization {job} {output['status']}: {output.get('error')}")
                return 1
            files = stack.download(job, args.out)
            say(f"done in {time.perf_counter() - started:.1f} s; {output.get('count')} images placed")
            say(f"downloaded {', '.join(p.name for p in files)} to {args.out}/")
            for name, link in output["data"].items():
                print(f"{name}: {link['url']}")
            if server is not None:
                say(f"serving the results on {endpoint}; Ctrl-C to stop")
                _serve_forever()
            return 0
    finally:
        if server is not None:
            server.stop()


def _serve_forever() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return


def main(argv: list[str] | None = None) -> int:
    """``python -m gridtsne_dev.demo``: the same as ``gridtsne local``."""
    parser = argparse.ArgumentParser(prog="gridtsne local", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run_demo(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
