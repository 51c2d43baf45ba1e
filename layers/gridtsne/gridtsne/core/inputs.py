"""What counts as an input: one rule for the command line and the cloud.

A collection is a folder (``gridtsne run DIR``) or a bucket prefix (``uploads/<collection>/``). Every file
under it is, by its key relative to that root, exactly one of:

- *ignored*: a folder marker (a key ending in ``/``, as the S3 console's "Create folder" writes), hidden (a
  path segment starts with ``.``) or a control file (:data:`CONTROL_FILES`, at the root); it is not an input
  and appears nowhere;
- *skipped*: a key no store can address (an empty, ``.`` or ``..`` segment: :data:`UNUSABLE_KEY`), or not an
  image by its name (:data:`NOT_AN_IMAGE`); reported in ``layout.json`` with that reason
  (:func:`skip_reason`);
- *an image*: decoded and embedded (it may still be skipped later, e.g. when it turns out to be corrupt).

A file the store's listing already knows cannot be read (a broken link, a FIFO, a folder that cannot be
listed: :attr:`~gridtsne.store.ObjectInfo.problem`) is skipped with that reason unless it is ignored.
:func:`list_inputs` applies the rule to a store and :func:`reader` reads an input within its limits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from gridtsne.core.images import Limits, is_image_name, sniff
from gridtsne.store import ObjectInfo, Store

__all__ = [
    "CONTROL_FILES",
    "NOT_AN_IMAGE",
    "UNUSABLE_KEY",
    "Inputs",
    "Kind",
    "kind_of",
    "list_inputs",
    "reader",
    "skip_reason",
]

#: Files at a collection's root that steer the service instead of being laid out.
CONTROL_FILES = frozenset({"_visualize.json"})
#: The reason given for a file whose name is not an image's.
NOT_AN_IMAGE = "not an image file"
#: The reason given for a key with an empty, ``.`` or ``..`` path segment (possible in S3, not on disk).
UNUSABLE_KEY = "unusable key (an empty, '.' or '..' path segment)"


class Kind(Enum):
    """What a file under a collection is."""

    IMAGE = "image"
    SKIPPED = "skipped"
    IGNORED = "ignored"


def kind_of(key: str) -> Kind:
    """Classify the file at ``key``, relative to the collection's root.

    Parameters
    ----------
    key
        ``/``-separated path of the file inside the collection.

    Returns
    -------
    Kind
        :attr:`Kind.IGNORED` for folder markers, hidden and control files, :attr:`Kind.SKIPPED` for
        unusable keys and names that are not an image's (:func:`skip_reason`), else :attr:`Kind.IMAGE`.
    """
    if key.endswith("/"):
        return Kind.IGNORED
    if _unusable(key):
        return Kind.SKIPPED
    if key in CONTROL_FILES or any(part.startswith(".") for part in key.split("/")):
        return Kind.IGNORED
    return Kind.IMAGE if is_image_name(key) else Kind.SKIPPED


@dataclass
class Inputs:
    """A collection's files by :func:`kind_of`: images, and files skipped (by name, or unreadable)."""

    images: list[ObjectInfo]
    skipped: list[dict[str, str]]

    @property
    def keys(self) -> list[str]:
        """The images' keys, in key order."""
        return [info.key for info in self.images]


def list_inputs(store: Store, prefix: str = "") -> Inputs:
    """The inputs under ``prefix``, classified by the one input rule (keys relative to ``prefix``).

    Parameters
    ----------
    store
        Where the collection lives.
    prefix
        The collection's root in ``store`` (``""`` for a folder, ``uploads/<name>/`` in the bucket).

    Returns
    -------
    Inputs
        The images, and the files skipped by name or because the listing found them unreadable
        (:attr:`~gridtsne.store.ObjectInfo.problem`), with their full keys; ignored files are left out.
    """
    images: list[ObjectInfo] = []
    skipped: list[dict[str, str]] = []
    for info in store.list(prefix):
        relative = info.key[len(prefix) :]
        # A folder the listing could not enter is an entry (its key ends in "/"), not a folder marker.
        kind = kind_of(relative.rstrip("/") if info.problem is not None else relative)
        if kind is Kind.IGNORED:
            continue
        if info.problem is not None:
            skipped.append({"key": info.key, "reason": info.problem})
        elif kind is Kind.IMAGE:
            images.append(info)
        else:
            skipped.append({"key": info.key, "reason": skip_reason(info.key[len(prefix) :])})
    return Inputs(images, skipped)


def reader(store: Store, key: str, limits: Limits) -> Callable[[], bytes]:
    """How an input is read: at most ``limits.max_bytes``, refused early when its first bytes are no image's.

    Returns
    -------
    Callable
        Returns the bytes; raises what :data:`~gridtsne.core.embed.Source` readers may raise.
    """
    return lambda: store.read(key, limits.max_bytes, sniff=sniff)


def skip_reason(key: str) -> str:
    """Why a file that :func:`kind_of` calls :attr:`Kind.SKIPPED` is skipped."""
    return UNUSABLE_KEY if _unusable(key) else NOT_AN_IMAGE


def _unusable(key: str) -> bool:
    return any(part in ("", ".", "..") for part in key.split("/"))
