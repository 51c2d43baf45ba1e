"""gridtsne: lay out a pile of images on a regular grid so that similar images sit next to each other.

Data flows one way: pictures -> vectors -> 2-D points -> cells -> pictures again. The package's folders are
its layers, each using only those above it in this list:

- :mod:`gridtsne.core`: the algorithms (decode, input rule, model spec, embed, reduce, assign + LAP solver,
  refine, quality); no storage, no AWS.
- :mod:`gridtsne.output`: what a run produces (``layout.json``, mosaic and scatter, tile pyramid, viewer).
- :mod:`gridtsne.store` (a folder or a bucket behind one interface) and :mod:`gridtsne.pipeline` (the
  stages end to end over a store), with :mod:`gridtsne.cli` on top: ``gridtsne run``.
- :mod:`gridtsne.aws`: the serverless application's settings, events, vector shards, job record and table,
  and the state machine's steps, called by the thin handlers in ``functions/`` and the big-set job.

:mod:`gridtsne.grid` is the public entry point of the assignment alone (``from gridtsne.grid import assign``).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gridtsne")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that is not installed
    __version__ = "0.0.0"
