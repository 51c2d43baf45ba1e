"""Trimming an installed site folder: what the Lambda functions never load is not shipped."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import shutil
from pathlib import Path

__all__ = ["rewrite_record", "trim"]

#: Directory names removed: test suites and byte code (the runtime compiles on import).
TRIM_DIR_NAMES = frozenset({"tests", "__pycache__"})
#: Paths (relative to the site folder) removed: console scripts (never on Lambda's PATH), and ONNX Runtime's
#: model-conversion tool kits, which inference never imports.
TRIM_PATHS = ("bin", "onnxruntime/transformers", "onnxruntime/tools", "onnxruntime/quantization")
#: Files removed by pattern: ONNX Runtime's shared library for C/C++ callers (the Python extension links the
#: runtime statically and never loads it; 33 MiB).
TRIM_GLOBS = ("onnxruntime/capi/libonnxruntime.so.*",)
#: File suffixes removed: type stubs, byte code, and C/C++/Cython sources and headers (compile time only).
TRIM_SUFFIXES = frozenset({".pyi", ".pyc", ".pyx", ".pxd", ".pxi", ".h", ".c", ".cpp"})


def trim(site: Path) -> None:
    """Remove test suites, byte code, stubs and unused tool kits under ``site``.

    Every ``.dist-info/RECORD`` is rewritten to list only what is left, so it stays valid.
    """
    for relative in TRIM_PATHS:
        shutil.rmtree(site / relative, ignore_errors=True)
    for pattern in TRIM_GLOBS:
        for path in site.glob(pattern):
            path.unlink()
    for path in sorted(site.rglob("*"), key=lambda p: len(p.parts)):
        if not path.exists():
            continue
        if path.is_dir() and path.name in TRIM_DIR_NAMES:
            shutil.rmtree(path)
        elif path.is_file() and path.suffix in TRIM_SUFFIXES:
            path.unlink()
    for record in site.glob("*.dist-info/RECORD"):
        rewrite_record(site, record)


def _record_hash(path: Path) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def rewrite_record(site: Path, record: Path) -> None:
    """Drop the RECORD rows whose file is gone; refresh hash and size of the rows whose size changed.

    Parameters
    ----------
    site
        The folder the distribution is installed in (RECORD paths are relative to it).
    record
        The distribution's ``.dist-info/RECORD``.
    """
    kept: list[list[str]] = []
    for row in csv.reader(io.StringIO(record.read_text())):
        if not row:
            continue
        path = (site / row[0]).resolve()
        if row[0] == str(record.relative_to(site)):
            kept.append([row[0], "", ""])
        elif path.is_file() and site.resolve() in path.parents:
            if len(row) >= 3 and row[2] and int(row[2]) != path.stat().st_size:
                row = [row[0], _record_hash(path), str(path.stat().st_size)]
            kept.append(row)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(kept)
    record.write_text(out.getvalue())
