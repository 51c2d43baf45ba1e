"""gridtsne: lay out a pile of images on a regular grid so that similar images sit next to each other.

Stages, one module each: :mod:`~gridtsne.images` (decode), :mod:`~gridtsne.embed` (ONNX Runtime),
:mod:`~gridtsne.reduce` (PCA + openTSNE), :mod:`~gridtsne.grid` (grid shape and assignment),
:mod:`~gridtsne.render` and :mod:`~gridtsne.viewer` (pictures and the HTML viewer), :mod:`~gridtsne.layout`
(the ``layout.json`` contract), :mod:`~gridtsne.quality` (metrics), :mod:`~gridtsne.store` (S3 or a folder),
:mod:`~gridtsne.pipeline` (the stages end to end) and :mod:`~gridtsne.cli`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gridtsne")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that is not installed
    __version__ = "0.0.0"
