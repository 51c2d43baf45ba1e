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
"""

from __future__ import annotations

from enum import Enum

from gridtsne.core.images import is_image_name

__all__ = ["CONTROL_FILES", "NOT_AN_IMAGE", "UNUSABLE_KEY", "Kind", "kind_of", "skip_reason"]

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


def skip_reason(key: str) -> str:
    """Why a file that :func:`kind_of` calls :attr:`Kind.SKIPPED` is skipped."""
    return UNUSABLE_KEY if _unusable(key) else NOT_AN_IMAGE


def _unusable(key: str) -> bool:
    return any(part in ("", ".", "..") for part in key.split("/"))
