"""gridtsne: lay out a pile of images on a regular grid so that similar images sit next to each other.

Stages, one module each: :mod:`~gridtsne.images` (decode), :mod:`~gridtsne.embed` (ONNX Runtime, with
:mod:`~gridtsne.model` for the model's spec), :mod:`~gridtsne.reduce` (PCA + openTSNE), :mod:`~gridtsne.grid`
(grid shape and assignment, solved by :mod:`~gridtsne.lap`), :mod:`~gridtsne.render`, :mod:`~gridtsne.viewer`
and :mod:`~gridtsne.tiles` (pictures, the HTML viewer, deep-zoom tiles), :mod:`~gridtsne.layout` (the
``layout.json`` contract) and :mod:`~gridtsne.quality` (metrics). :mod:`~gridtsne.pipeline` chains them over a
:mod:`~gridtsne.store` (S3 or a folder) for :mod:`~gridtsne.cli`. The serverless application's steps are
:mod:`~gridtsne.visualize`, with :mod:`~gridtsne.vectors` (vector shards) and :mod:`~gridtsne.jobs` (job
records); :mod:`~gridtsne.local` runs it on an embedded AWS emulator.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gridtsne")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that is not installed
    __version__ = "0.0.0"
