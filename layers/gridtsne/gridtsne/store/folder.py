"""A local folder seen as a store: every entry listed once (without recursion), only regular files read."""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from gridtsne.store.base import (
    NotAFileError,
    NotFoundError,
    ObjectInfo,
    Sniffer,
    check_key,
    read_bounded,
)


class LocalStore:
    """A folder on disk seen as a store; keys are paths relative to ``root``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield every non-folder entry under the root whose key starts with ``prefix``, in key order.

        Links are followed to regular files only; an entry that cannot be read (broken link, link loop,
        link to a folder, FIFO, socket, device) and a folder that cannot be listed (its key ends in
        ``/``) are yielded with their :attr:`~ObjectInfo.problem`.
        """
        if not self.root.is_dir():
            return
        # Walk only the deepest directory the prefix names completely, then filter by the rest.
        head, _, _ = prefix.rpartition("/")
        base = self.root / head if head else self.root
        if head and not base.is_dir():
            return
        found = [
            _printable(info)
            for info in _walk(base, base.relative_to(self.root).as_posix())
            if info.key.startswith(prefix)
        ]
        yield from sorted(found, key=lambda info: info.key)

    def read(self, key: str, max_bytes: int | None = None, *, sniff: Sniffer | None = None) -> bytes:
        """Return the bytes of a regular file (links followed), bounded by ``max_bytes``."""
        path = self._path(key)
        try:
            before = path.stat()
            if not stat.S_ISREG(before.st_mode):  # refused before opening: opening a FIFO or device can block
                raise NotAFileError(key, _not_a_file(before.st_mode))
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError as exc:
            raise NotFoundError(key) from exc
        try:
            now = os.fstat(fd)  # what was opened, which may have been replaced since the stat
            if not stat.S_ISREG(now.st_mode):
                raise NotAFileError(key, _not_a_file(now.st_mode))
            return read_bounded(lambda n: os.read(fd, n), key, now.st_size, max_bytes, sniff)
        finally:
            os.close(fd)

    def write(self, key: str, data: bytes | IO[bytes], content_type: str | None = None) -> None:
        """Write atomically (temporary file, then rename); a file is copied in chunks."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            with tmp.open("wb") as target:
                shutil.copyfileobj(data, target)
        tmp.replace(path)

    def exists(self, key: str) -> bool:
        """Whether the file exists."""
        return self._path(key).is_file()

    def url(self, key: str, expires: int = 3600) -> str:
        """A ``file://`` URI (local files do not expire)."""
        return self._path(key).as_uri()


def _walk(base: Path, key_prefix: str) -> Iterator[ObjectInfo]:
    """Every non-folder entry under ``base``, unsorted; links to folders are not followed, and any depth goes.

    Raises
    ------
    OSError
        When ``base`` itself cannot be listed (a subfolder that cannot is yielded with its problem).
    """
    stack = [(base, f"{key_prefix}/" if key_prefix not in ("", ".") else "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as scan:
                entries = list(scan)
        except OSError as exc:
            if folder == base:
                raise
            yield ObjectInfo(prefix, 0, "", problem=f"unreadable folder ({exc.strerror or exc})")
            continue
        for entry in entries:
            key = prefix + entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), key + "/"))
                    continue
                st = entry.stat(follow_symlinks=True)
            except OSError as exc:
                yield ObjectInfo(key, 0, "", problem=_link_problem(exc))
                continue
            if stat.S_ISREG(st.st_mode):
                yield ObjectInfo(key, st.st_size, f"{st.st_size}-{st.st_mtime_ns}")
            else:
                yield ObjectInfo(key, 0, "", problem=_not_a_file(st.st_mode, link=entry.is_symlink()))


def _printable(info: ObjectInfo) -> ObjectInfo:
    """``info``, or a printable stand-in when its name is not valid UTF-8 (JSON could not hold it)."""
    try:
        info.key.encode()
    except UnicodeEncodeError:
        raw = info.key.encode(errors="surrogateescape").decode(errors="backslashreplace")
        return ObjectInfo(raw, info.size, info.etag, problem="file name is not valid UTF-8")
    return info


def _not_a_file(mode: int, *, link: bool = False) -> str:
    kinds = [
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ]
    kind = next((name for test, name in kinds if test(mode)), "an unknown kind of file")
    return f"not a regular file ({'link to ' if link else ''}{kind})"


def _link_problem(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "broken link (its target does not exist)"
    if exc.errno == errno.ELOOP:
        return "link loop"
    return f"unreadable ({exc.strerror or exc})"
